"""Suppressions with reasons: ``# topogen: ignore[id] reason`` comments and the ``ignore:`` list.

Each case writes a topology with a known warning (``privileged: true`` is a ``privileged``
warning on its own line, a Docker socket mount a ``docker-socket`` warning on the mount's line)
and checks which findings come back suppressed, with which reason, and what the CLI prints
and exits with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sarif import errors, validator  # noqa: F401 - the fixture
from tools import compose_config

from topogen import pipeline, suppress
from topogen.diagnostics import Diagnostic

SOCKET = "/var/run/docker.sock:/var/run/docker.sock"


def check(tmp_path: Path, text: str, name: str = "topology.yaml", **kw: Any) -> list[Diagnostic]:
    path = tmp_path / name
    path.write_text(text)
    return pipeline.check(str(path), **kw).diagnostics


def summary(diags: list[Diagnostic]) -> list[tuple[int, str, str]]:
    """(line, rule, reason or "") of each diagnostic."""
    return [(d.line, d.rule, d.suppressed.reason if d.suppressed else "") for d in diags]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topogen", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_a_comment_on_the_line_of_the_finding(tmp_path: Path) -> None:
    diags = check(
        tmp_path,
        "services:\n  a:\n    image: x\n    privileged: true  # topogen: ignore[privileged] needs /dev\n",
    )
    assert summary(diags) == [(4, "privileged", "needs /dev")]
    assert diags[0].suppressed is not None and diags[0].suppressed.kind == "inSource"
    assert (diags[0].suppressed.line, diags[0].suppressed.col) == (4, 23)


def test_a_comment_alone_on_the_line_above(tmp_path: Path) -> None:
    text = (
        "services:\n  a:\n    image: x\n    volumes:\n"
        "      # topogen: ignore[docker-socket] - portainer manages the engine\n"
        "\n      # (another comment between)\n"
        f"      - {SOCKET}\n"
    )
    assert summary(check(tmp_path, text)) == [(8, "docker-socket", "portainer manages the engine")]


def test_a_trailing_comment_covers_only_its_own_line(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: x  # topogen: ignore[privileged] no\n    privileged: true\n"
    assert summary(check(tmp_path, text)) == [(3, "unused-suppression", ""), (4, "privileged", "")]


def test_several_ids_in_one_comment(tmp_path: Path) -> None:
    text = (
        "services:\n  a:\n    image: x\n    privileged: true\n"
        f"    volumes: ['{SOCKET}'] # topogen: ignore[docker-socket, privileged] a lab machine\n"
    )
    diags = check(tmp_path, text)
    # privileged is on line 4, not 5: that id of the comment is unused, the other one is used
    assert summary(diags) == [
        (4, "privileged", ""),
        (5, "docker-socket", "a lab machine"),
        (5, "unused-suppression", ""),
    ]
    assert "no privileged finding" in diags[2].message


@pytest.mark.parametrize(
    "line",
    [
        "    command: \"sh -c 'echo # topogen: ignore[bogus] x'\"\n",
        "    command: 'echo # topogen: ignore[bogus] x'\n",
        "    command: |\n      echo hi\n      # topogen: ignore[bogus] in a block scalar\n",
        "    command: >-\n      # topogen: ignore[bogus] folded\n",
        "    command: echo#topogen:ignore[bogus]x\n",
    ],
    ids=["double-quoted", "single-quoted", "literal-block", "folded-block", "plain"],
)
def test_a_hash_inside_a_scalar_is_no_comment(tmp_path: Path, line: str) -> None:
    assert check(tmp_path, "services:\n  a:\n    image: x\n" + line) == []


def test_a_comment_after_a_quoted_hash_still_counts(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: x\n    privileged: true\n    labels: {a: '#x'} # topogen: ignore[bogus] y\n"
    diags = check(tmp_path, text)
    assert [d.rule for d in diags] == ["privileged", "invalid-suppression"]
    assert "unknown rule id 'bogus'" in diags[1].message and diags[1].col == 23


def test_a_comment_in_an_override_file(tmp_path: Path) -> None:
    """A finding located in the override file is suppressed by a comment there; the same
    comment in the base file, on the same line number, suppresses nothing."""
    base = tmp_path / "compose.yaml"
    base.write_text("services:\n  a:\n    image: x\n    environment: {A: '1'}\n")
    override = tmp_path / "compose.override.yaml"
    override.write_text(
        "services:\n  a:\n    privileged: true # topogen: ignore[privileged] dev only\n"
    )
    merged = pipeline.check(str(base), overrides=[str(override)]).diagnostics
    assert [(d.file, *s) for d, s in zip(merged, summary(merged))] == [
        (str(override), 3, "privileged", "dev only")
    ]
    override.write_text("services:\n  a:\n    privileged: true\n")
    base.write_text(
        base.read_text().replace("image: x", "image: x # topogen: ignore[privileged] no")
    )
    merged = pipeline.check(str(base), overrides=[str(override)]).diagnostics
    assert sorted((d.file, d.line, d.rule, bool(d.suppressed)) for d in merged) == sorted(
        [(str(base), 3, "unused-suppression", False), (str(override), 3, "privileged", False)]
    )


WARNINGS = f"""\
services:
  web:
    image: x
    privileged: true
    volumes: ["{SOCKET}", "./data:/data"]
  db:
    image: x
    privileged: true
"""


@pytest.mark.parametrize(
    "entry, suppressed",
    [
        ("{rule: privileged, service: web, reason: r}", [4]),
        ("{rule: privileged, at: services.db, reason: r}", [8]),
        ("{rule: privileged, at: [services, db, privileged], reason: r}", [8]),
        ("{rule: privileged, reason: r}", [4, 8]),
        ("{rule: docker-socket, at: 'services.web.volumes[0]', reason: r}", [5]),
    ],
)
def test_the_ignore_list(tmp_path: Path, entry: str, suppressed: list[int]) -> None:
    diags = check(tmp_path, WARNINGS + f"ignore:\n  - {entry}\n")
    assert sorted(d.line for d in diags if d.suppressed) == suppressed
    assert all(d.suppressed.kind == "external" for d in diags if d.suppressed)
    assert all(d.rule != "unused-suppression" for d in diags)


def test_the_ignore_list_under_x_topogen_in_a_compose_file(tmp_path: Path) -> None:
    """In a plain Compose file: x-topogen: {ignore: [...]}; Compose accepts the file, and
    topogen's build leaves the key out of what it writes."""
    text = WARNINGS + "x-topogen:\n  ignore:\n    - {rule: privileged, service: db, reason: r}\n"
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    assert compose_config(str(path), "-q").returncode == 0
    diags = pipeline.check(str(path)).diagnostics
    [accepted] = [d for d in diags if d.suppressed]
    assert (accepted.line, accepted.suppressed and accepted.suppressed.line) == (8, 11)
    out = tmp_path / "out"
    assert run("build", str(path), "-o", str(out)).returncode == 0
    written = yaml.safe_load((out / "docker-compose.yml").read_text())
    assert "ignore" not in written and "x-topogen" not in written


def test_a_typed_topology_with_ignore_builds_a_file_compose_accepts(tmp_path: Path) -> None:
    path = tmp_path / "topology.yaml"
    path.write_text(WARNINGS + "ignore:\n  - {rule: privileged, reason: r}\n")
    (tmp_path / "data").mkdir()
    proc = run("build", "--strict", str(path))  # the docker-socket warning: still fails
    assert (
        proc.returncode == 1
        and "(docker-socket)" in proc.stderr
        and "(privileged)" not in proc.stderr
    )
    path.write_text(path.read_text() + "  - {rule: docker-socket, reason: r}\n")
    assert run("build", "--strict", str(path)).returncode == 0
    written = tmp_path / "docker-compose.yml"
    assert "ignore" not in yaml.safe_load(written.read_text())
    assert compose_config(str(written), "-q").returncode == 0


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "services:\n  a: {image: x, privileged: true} # topogen: ignore[privileged]\n",
            "no reason",
        ),
        (
            "services:\n  a: {image: x, privileged: true} # topogen: ignore[privilegd] r\n",
            "did you mean 'privileged'",
        ),
        (
            "services:\n  a: {image: x, privileged: true} # topogen: ignore privileged\n",
            "must read",
        ),
        ("services:\n  a: {image: x, privileged: true} # topogen: ignore[] r\n", "no rule id"),
        ("services:\n  a: {image: x}\nignore: [{rule: privileged}]\n", "no reason"),
        ("services:\n  a: {image: x}\nignore: [{rule: privileged, reason: '  '}]\n", "no reason"),
        (
            "services:\n  a: {image: x}\nignore: [{rule: privilegd, reason: r}]\n",
            "did you mean 'privileged'",
        ),
        (
            "services:\n  a: {image: x}\nignore: [{rule: missing-image, reason: r}]\n",
            "errors cannot be suppressed",
        ),
        (
            "services:\n  a: {image: x}\nignore: [{rule: unused-suppression, reason: r}]\n",
            "cannot be suppressed",
        ),
        (
            "services:\n  a: {image: x}\nignore: [{rule: privileged, service: a, at: x, reason: r}]\n",
            "one of",
        ),
        (
            "services:\n  a: {image: x}\nignore: [{rule: privileged, at: 'a..b', reason: r}]\n",
            "document path",
        ),
    ],
)
def test_invalid_suppressions_are_located_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "topology.yaml"
    path.write_text(text)
    [problem] = [
        d for d in pipeline.check(str(path)).diagnostics if d.rule == "invalid-suppression"
    ]
    assert message in problem.message and problem.is_error
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "topogen:" in t or "rule:" in t)
    assert problem.line == line
    proc = run("validate", str(path))
    assert (
        proc.returncode == 1
        and "(invalid-suppression)" in proc.stderr
        and "Traceback" not in proc.stderr
    )


def test_an_unused_suppression_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "topology.yaml"
    path.write_text(
        "services:\n  a: {image: x} # topogen: ignore[privileged] r\n"
        "ignore: [{rule: host-network, service: a, reason: r}]\n"
    )
    diags = pipeline.check(str(path)).diagnostics
    assert [(d.line, d.rule, d.is_error) for d in diags] == [
        (2, "unused-suppression", False),
        (3, "unused-suppression", False),
    ]
    assert run("validate", str(path)).returncode == 0
    assert run("validate", "--strict", str(path)).returncode == 1


def test_no_unused_warning_when_a_profile_selection_hides_findings(tmp_path: Path) -> None:
    text = (
        "services:\n  a: {image: x}\n"
        "  b:\n    image: x\n    profiles: [debug]\n    privileged: true # topogen: ignore[privileged] r\n"
    )
    assert check(tmp_path, text, profiles=["x"]) == []
    assert summary(check(tmp_path, text)) == [(6, "privileged", "r")]


def test_errors_are_never_suppressed(tmp_path: Path) -> None:
    """An id that is an error or a warning (dependency-without-healthcheck): the warning can be
    accepted, the error stays an error, and exits 1."""
    text = (
        "services:\n  web:\n    image: x\n    depends_on:\n"
        "      db: {condition: service_healthy} # topogen: ignore[dependency-without-healthcheck] r\n"
        "  db:\n    image: x\n"
    )
    assert summary(check(tmp_path, text)) == [(5, "dependency-without-healthcheck", "r")]
    broken = text.replace(
        "  db:\n    image: x\n", "  db:\n    image: x\n    healthcheck: {disable: true}\n"
    )
    error, unused = check(tmp_path, broken)
    assert (error.rule, error.is_error, error.suppressed) == (
        "dependency-without-healthcheck",
        True,
        None,
    )
    assert unused.rule == "unused-suppression" and "errors cannot be suppressed" in unused.message


SUPPRESSED = "services:\n  a:\n    image: x\n    privileged: true # topogen: ignore[privileged] reason: a, b\n"


def test_text_hides_suppressed_findings_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "topology.yaml"
    path.write_text(SUPPRESSED)
    plain = run("validate", "--strict", str(path))
    assert (plain.returncode, plain.stderr, plain.stdout) == (0, "", "")
    shown = run("validate", "--strict", "--show-suppressed", str(path))
    assert shown.returncode == 0
    assert shown.stderr.splitlines()[0] == (
        f"{path}:4:17: [warning] service a is privileged (privileged)"
    )
    assert "    suppressed (inSource): reason: a, b" in shown.stderr.splitlines()
    gh = run("validate", "-f", "github", str(path))
    assert gh.stdout == ""
    gh = run("validate", "-f", "github", "--show-suppressed", str(path))
    assert gh.stdout.startswith("::notice ") and "%0Asuppressed: reason: a, b" in gh.stdout


def test_json_and_sarif_carry_the_suppression(tmp_path: Path, validator: Any) -> None:  # noqa: F811
    path = tmp_path / "topology.yaml"
    path.write_text(SUPPRESSED)
    proc = run("validate", "--strict", "-f", "json", str(path))
    assert proc.returncode == 0
    [d] = json.loads(proc.stdout)
    assert (d["rule"], d["level"]) == ("privileged", "warning")
    assert d["suppressed"] == {
        "kind": "inSource",
        "reason": "reason: a, b",
        "file": str(path),
        "line": 4,
        "col": 22,
    }
    proc = run("validate", "--strict", "-f", "sarif", "topology.yaml", cwd=tmp_path)
    assert proc.returncode == 0
    log = json.loads(proc.stdout)
    assert errors(validator, log) == []
    [result] = log["runs"][0]["results"]
    [suppression] = result["suppressions"]
    assert suppression["kind"] == "inSource" and suppression["justification"] == "reason: a, b"
    location = suppression["location"]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "topology.yaml"
    assert location["region"] == {"startLine": 4, "startColumn": 22}
    external = SUPPRESSED.split(" #")[0] + "\nignore: [{rule: privileged, reason: lab}]\n"
    path.write_text(external)
    log = json.loads(run("validate", "-f", "sarif", str(path)).stdout)
    assert errors(validator, log) == []
    [suppression] = log["runs"][0]["results"][0]["suppressions"]
    assert (suppression["kind"], suppression["justification"]) == ("external", "lab")


def test_exit_codes_agree_across_commands(tmp_path: Path) -> None:
    """A suppressed warning fails neither validate --strict nor build --strict; reach and graph
    exit 0 and print nothing for it; an invalid suppression fails them all."""
    path = tmp_path / "topology.yaml"
    path.write_text(SUPPRESSED)
    for args in (
        ["validate", "--strict"],
        ["build", "--strict", "-o", str(tmp_path / "o")],
        ["reach"],
        ["graph"],
    ):
        proc = run(*args, str(path))
        assert proc.returncode == 0 and "privileged" not in proc.stderr, (args, proc.stderr)
    path.write_text(SUPPRESSED.replace("ignore[privileged] reason: a, b", "ignore[privileged]"))
    for args in (["validate"], ["build", "-o", str(tmp_path / "p")], ["reach"], ["graph"]):
        proc = run(*args, str(path))
        assert proc.returncode == 1 and "(invalid-suppression)" in proc.stderr, args
    assert not (tmp_path / "p").exists()


def test_stdin_comments_count(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "topogen", "validate", "--strict", "-f", "json", "-"],
        input=SUPPRESSED,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    [d] = json.loads(proc.stdout)
    assert d["suppressed"]["file"] == "<stdin>"


FRAGMENTS = [
    "# topogen: ignore[bogus] x",
    "#topogen:ignore[b]",
    " # ",
    "'",
    '"',
    "\n",
    ": ",
    "a",
    "  ",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=6).map("".join), max_size=4),
    style=st.sampled_from([None, "'", '"', "|", ">"]),
)
def test_no_comment_is_found_inside_a_scalar(values: list[str], style: str | None) -> None:
    """Strings full of ``# topogen:`` written by a YAML emitter in every scalar style: the
    parse gives them back, and no suppression comment is found in them."""
    text = yaml.safe_dump(
        {"labels": {f"k{i}": v for i, v in enumerate(values)}}, default_style=style
    )
    assert yaml.safe_load(text) == {"labels": {f"k{i}": v for i, v in enumerate(values)}}
    found: list[Diagnostic] = []
    assert suppress._inline("f.yaml", text, found) == [] and found == [], text
