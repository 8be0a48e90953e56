"""Compose files as input: every case passes ``validate``, ``build`` and ``import`` (see
``tests/compose_corpus.py``), judged by the real Compose binary.

The cases are our own ``tests/cases/compose/*/`` and, when ``TOPOGEN_COMPOSE_CORPUS`` names
directories (``os.pathsep``-separated), every case in them (real files written by others; they
are never committed). The checks of the selected tests run together in a thread pool at the
first test; each test then reports its own outcome.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import pytest

from tests import compose_corpus as cc
from tests.tools import compose_binary

HERE = os.path.dirname(os.path.abspath(__file__))
OWN = os.path.join(HERE, "cases", "compose")
ENV = "TOPOGEN_COMPOSE_CORPUS"


def external_roots() -> list[str]:
    return [r for r in cc.roots_from_env(os.environ.get(ENV)) if os.path.isdir(r)]


def skip_reason() -> str:
    named = cc.roots_from_env(os.environ.get(ENV))
    if not named:
        return f"{ENV} is not set: set it to directories of real Compose files (see tests/compose_corpus.py)"
    return f"{ENV} names no directory with cases: {os.pathsep.join(named)}"


OWN_CASES = cc.discover([OWN])
EXTERNAL_CASES = cc.discover(external_roots()) if external_roots() else []
CASES = {c.id: c for c in [*OWN_CASES, *EXTERNAL_CASES]}
OWN_IDS = [c.id for c in OWN_CASES]
EXTERNAL_IDS = [c.id for c in EXTERNAL_CASES]


@pytest.fixture(scope="session")
def outcomes(request: pytest.FixtureRequest) -> dict[tuple[str, str], cc.Outcome]:
    """Run, in parallel, every (case, check) that this session selected."""
    compose_binary()  # skips when the binary is missing
    wanted = []
    for item in request.session.items:
        params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
        if (
            item.module is not None
            and item.module.__name__ == __name__
            and params.get("case_id") in CASES
            and "check" in params
        ):
            wanted.append((CASES[params["case_id"]], params["check"]))
    results: dict[tuple[str, str], cc.Outcome] = {}
    for case, check in sorted(set(wanted), key=lambda pair: (pair[0].id, pair[1])):
        results[(case.id, check)] = cc.Outcome(case.id, check, "not run")
    cases = sorted({case.id: case for case, _ in wanted}.values(), key=lambda c: c.id)
    checks = sorted({check for _, check in wanted})
    # run_all runs one case's checks one after the other (build and import write beside it)
    for outcome in cc.run_all(cases, checks):
        if (outcome.case, outcome.check) in results:
            results[(outcome.case, outcome.check)] = outcome
    return results


def assert_passes(outcomes: dict[tuple[str, str], cc.Outcome], case_id: str, check: str) -> None:
    outcome = outcomes[(case_id, check)]
    assert outcome.ok, f"{outcome.klass}\n{outcome.detail}"


@pytest.mark.parametrize("check", cc.CHECKS)
@pytest.mark.parametrize("case_id", OWN_IDS)
def test_own_case(outcomes: dict[tuple[str, str], cc.Outcome], case_id: str, check: str) -> None:
    assert_passes(outcomes, case_id, check)


@pytest.mark.skipif(not EXTERNAL_IDS, reason=skip_reason())
@pytest.mark.parametrize("check", cc.CHECKS)
@pytest.mark.parametrize("case_id", EXTERNAL_IDS or ["none"])
def test_real_file(outcomes: dict[tuple[str, str], cc.Outcome], case_id: str, check: str) -> None:
    assert_passes(outcomes, case_id, check)


# --- the harness itself ------------------------------------------------------------------------


def test_own_cases_are_many_and_accepted_by_compose() -> None:
    """15-30 cases, and the real Compose accepts every one (the corpus only holds valid files)."""
    assert 15 <= len(OWN_CASES) <= 30
    for case in OWN_CASES:
        done = cc.compose_config(case, case.files, ())
        assert done.returncode == 0, f"{case.id}: {done.stderr}"


_COPIES: list[str] = []


@pytest.fixture(autouse=True)
def _remove_copies() -> Any:
    yield
    while _COPIES:
        os.unlink(_COPIES.pop())


def copy_of(case: cc.Case, tmp: str, *edits: tuple[str, str]) -> str:
    """The case's file copied under another name beside it (optionally with text replacements):
    an output is compared from the folder it is in, as topogen re-expresses relative paths
    from there, so a verbatim copy must sit in the original's folder to mean the same."""
    with open(case.files[0], encoding="utf-8") as fh:
        text = fh.read()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = os.path.join(
        case.project_dir, f".copy-{os.getpid()}-{len(_COPIES)}-{os.path.basename(tmp)}.yml"
    )
    _COPIES.append(path)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


@pytest.mark.parametrize("case_id", [c.id for c in OWN_CASES if len(c.files) == 1])
def test_a_copy_elsewhere_is_equivalent(tmp_path: Any, case_id: str) -> None:
    """The comparison's set-up (project name, project directory, .env, env) makes a file written
    in another directory mean the same as the original: a verbatim copy passes."""
    case = CASES[case_id]
    cc.equivalent(case, copy_of(case, str(tmp_path)), "copy")


def test_half_an_override_pair_is_a_difference(tmp_path: Any) -> None:
    case = CASES["override-pair"]
    with pytest.raises(cc.Failed, match="differs: services"):
        cc.equivalent(case, copy_of(case, str(tmp_path)), "copy")


def test_a_changed_port_is_a_difference(tmp_path: Any) -> None:
    case = CASES["interpolation"]
    with pytest.raises(cc.Failed, match="differs: services.\\*.ports"):
        cc.equivalent(
            case,
            copy_of(case, str(tmp_path), ("${WEB_PORT:-8080}:80", "${WEB_PORT:-8081}:80")),
            "copy",
        )


def test_a_profiled_service_is_compared(tmp_path: Any) -> None:
    """Only ``--profile '*'`` sees the gpu service: a change there is still found."""
    case = CASES["depends-on-healthcheck"]
    with pytest.raises(cc.Failed, match="differs: services.\\*.image"):
        cc.equivalent(case, copy_of(case, str(tmp_path), ("redis:7", "redis:6")), "copy")


def test_a_file_rejected_with_all_profiles_must_stay_rejected(tmp_path: Any) -> None:
    """With ``--profile '*'`` Compose rejects two profiles' services sharing a container_name; an
    output that renamed one would be accepted, and that is a change of meaning."""
    case = CASES["profiles-gpu-cpu"]
    assert cc.original_model(case, ("--profile", "*")) is None
    cc.equivalent(case, copy_of(case, str(tmp_path)), "copy")
    renamed = copy_of(
        case,
        str(tmp_path),
        ('profiles: ["gpu-nvidia"]', 'profiles: ["gpu-nvidia"]\n    container_name: ollama-gpu'),
        ('profiles: ["gpu-amd"]', 'profiles: ["gpu-amd"]\n    container_name: ollama-amd'),
    )
    with pytest.raises(cc.Failed, match="accepted where compose rejects"):
        cc.equivalent(case, renamed, "copy")


def test_normalise_keeps_what_matters() -> None:
    a = {
        "services": {"s": {"ports": [{"target": 1}, {"target": 2}], "command": ["a", "b"]}},
        "x-topogen": {},
    }
    b = {"services": {"s": {"ports": [{"target": 2}, {"target": 1}], "command": ["a", "b"]}}}
    assert cc.normalise(a) == cc.normalise(b)
    c = {"services": {"s": {"ports": [{"target": 1}, {"target": 2}], "command": ["b", "a"]}}}
    assert cc.normalise(a) != cc.normalise(c)
    assert list(cc.differing_paths(cc.normalise(a), cc.normalise(c))) == ["services.s.command"]


def test_normalise_treats_empty_options_as_none() -> None:
    mount = {"type": "volume", "source": "v", "target": "/v"}
    a = {"services": {"s": {"networks": {"n": None}, "volumes": [{**mount, "volume": {}}]}}}
    b = {"services": {"s": {"networks": {"n": {}}, "volumes": [mount]}}}
    assert cc.normalise(a) == cc.normalise(b)
    c = {
        "services": {
            "s": {
                "networks": {"n": {"aliases": ["x"]}},
                "volumes": [{**mount, "volume": {"nocopy": True}}],
            }
        }
    }
    assert list(cc.differing_paths(cc.normalise(a), cc.normalise(c))) == [
        "services.s.networks.n.aliases",
        "services.s.volumes",
    ]
    bind = {"type": "bind", "source": "/h", "target": "/c"}
    d = {"services": {"s": {"volumes": [{**bind, "bind": {"create_host_path": True}}]}}}
    assert cc.normalise(d) != cc.normalise({"services": {"s": {"volumes": [bind]}}})


def test_original_config_is_cached(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cc, "CACHE_DIR", str(tmp_path / "cache"))
    case = CASES["interpolation"]
    first = cc.original_model(case, ())
    assert len(os.listdir(tmp_path / "cache")) == 1
    monkeypatch.setattr(cc, "compose_config", lambda *a: pytest.fail("not cached"))
    assert cc.original_model(case, ()) == first


def test_discovery_reads_listing_and_default_names(tmp_path: Any) -> None:
    (tmp_path / "a" / "sub").mkdir(parents=True)
    (tmp_path / "a" / "sub" / "stack.yml").write_text("services: {}\n")
    (tmp_path / "a" / ".corpus-files").write_text("sub/stack.yml\n")
    (tmp_path / "b").mkdir()
    for name in ("compose.yaml", "compose.override.yaml", "docker-compose.yml"):
        (tmp_path / "b" / name).write_text("services: {}\n")
    (tmp_path / "c").mkdir()
    found = {
        c.id: [os.path.relpath(f, c.root) for f in c.files] for c in cc.discover([str(tmp_path)])
    }
    assert found == {"a": ["sub/stack.yml"], "b": ["compose.yaml", "compose.override.yaml"]}


def test_report_groups_by_class() -> None:
    outcomes = [
        cc.Outcome("one", "validate", "validate: unknown-key", "f:1:1: [error] x (unknown-key)"),
        cc.Outcome("two", "validate", "validate: unknown-key", "f:2:1: [error] y (unknown-key)"),
        cc.Outcome("three", "validate"),
    ]
    text = cc.report(outcomes)
    assert "== validate: 1/3 pass" in text
    assert "2  validate: unknown-key" in text
    assert "unknown-key 2" in text


def test_cli_prints_the_report(tmp_path: Any) -> None:
    shutil.copytree(os.path.join(OWN, "interpolation"), tmp_path / "interpolation")
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.compose_corpus",
            str(tmp_path),
            "--check",
            "validate",
            "--json",
        ],
        cwd=os.path.dirname(HERE),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["case"], r["check"]) for r in rows] == [("interpolation", "validate")]
    assert done.returncode == (0 if rows[0]["klass"] == "" else 1)
