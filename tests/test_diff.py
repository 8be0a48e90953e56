"""``topogen diff``: the pairs it reports are exactly those whose answer ``reach`` changed (the
oracle: ``reach`` of both sides), each located at a line the change wrote (in NEW) or removed
(in OLD); the same changes made to a Compose file give the same diff; ``REV:PATH`` and
``--base`` read a real git repository without touching its checkout."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
from typing import Any

import pytest
from tools import EXAMPLES, compose_config, examples
from typer.testing import CliRunner

from topogen import pipeline, review
from topogen.analysis import reach
from topogen.analysis.diff import Change
from topogen.cli import app

# ---------------------------------------------------------------------------- the oracle


def _signature(p: reach.Pair | None) -> Any:
    if p is None:
        return None
    return (True, p.via, p.ports, p.published, p.names) if p.reachable else (False,)


def expected_pairs(old: str, new: str) -> set[tuple[str, str]]:
    """The ordered pairs whose reachability, path, ports or names ``reach`` answers differently, and
    the pairs of an endpoint only one side has that reach on that side."""
    sides = []
    for file in (old, new):
        result = pipeline.check(file)
        assert result.topology is not None
        sides.append({(p.source, p.target): p for p in reach.analyze(result.topology).pairs})
    a, b = sides
    out = set()
    for key in a.keys() | b.keys():
        pa, pb = a.get(key), b.get(key)
        if pa is None or pb is None:
            if (pa or pb).reachable:  # type: ignore[union-attr]
                out.add(key)
        elif _signature(pa) != _signature(pb):
            out.add(key)
    return out


# ---------------------------------------------------------------------------- examples


EXAMPLE_FILES = [os.path.join(EXAMPLES, e, "topology.yaml") for e in examples()] + [
    os.path.join(EXAMPLES, "compose-environments", "compose.yaml")
]


@pytest.mark.parametrize("file", EXAMPLE_FILES, ids=lambda f: os.path.basename(os.path.dirname(f)))
def test_example_against_itself_is_empty(file: str) -> None:
    for everything in (False, True):
        found = review.diff(file, file, everything=everything)
        assert found.analysed
        assert found.changes == []
    out = CliRunner().invoke(app, ["diff", file, file, "--format", "json"])
    assert json.loads(out.stdout)["changes"] == []
    assert out.exit_code == 0


# ---------------------------------------------------------------------------- hand-made changes

TOPOLOGY = """\
name: t
networks:
  front: {}
  back: {}
services:
  web:
    image: x
    ports: ["8080:80"]
    networks: [front]
  api:
    image: x
    expose: ["3000"]
    networks: [front, back]
  db:
    image: x
    expose: ["5432"]
    networks: [back]
policies:
  - deny: {from: web, to: db}
  - allow: {from: api, to: db, port: 5432}
"""

COMPOSE = """\
services:
  web:
    image: x
    ports: ["8080:80"]
    networks: [front]
  api:
    image: x
    expose: ["3000"]
    networks: [front, back]
  db:
    image: x
    expose: ["5432"]
    networks: [back]
networks:
  front: {}
  back: {}
x-topogen:
  policies:
    - deny: {from: web, to: db}
    - allow: {from: api, to: db, port: 5432}
"""

#: name -> (replacements in the topology, in the Compose file); the lines changed are the causes.
CHANGES: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    "join-network": (
        [("    networks: [front]\n  api", "    networks: [front, back]\n  api")],
        [("    networks: [front]\n  api", "    networks: [front, back]\n  api")],
    ),
    "network-internal": (
        [("  front: {}", "  front: {internal: true}")],
        [("  front: {}", "  front: {internal: true}")],
    ),
    "bind-loopback": (
        [('"8080:80"', '"127.0.0.1:8080:80"')],
        [('"8080:80"', '"127.0.0.1:8080:80"')],
    ),
    "network-mode-host": (
        [("    networks: [front, back]\n", "    network_mode: host\n")],
        [("    networks: [front, back]\n", "    network_mode: host\n")],
    ),
    "remove-policy": (
        [("  - deny: {from: web, to: db}\n", "")],
        [("    - deny: {from: web, to: db}\n", "")],
    ),
    "alias": (
        [
            (
                '    expose: ["5432"]\n    networks: [back]',
                '    expose: ["5432"]\n    networks: {back: {aliases: [database]}}',
            )
        ],
        [
            (
                '    expose: ["5432"]\n    networks: [back]',
                '    expose: ["5432"]\n    networks: {back: {aliases: [database]}}',
            )
        ],
    ),
    "container-name": (
        [("  db:\n    image: x", "  db:\n    image: x\n    container_name: pg")],
        [("  db:\n    image: x", "  db:\n    image: x\n    container_name: pg")],
    ),
    "icc-off": (
        [("  back: {}", "  back: {icc: false}")],
        [("  back: {}", '  back: {driver_opts: {com.docker.network.bridge.enable_icc: "false"}}')],
    ),
}

#: A pair each change must report (read from the topology by hand), beside the oracle's set.
MUST = {
    "join-network": ("web", "db"),
    "network-internal": ("external", "web"),
    "bind-loopback": ("external", "web"),
    "network-mode-host": ("external", "api"),
    "icc-off": ("api", "db"),
    "alias": ("api", "db"),
    "container-name": ("api", "db"),
}


def _edit(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def _sides(tmp_path: Any, form: str, change: str) -> tuple[str, str]:
    base, name = (TOPOLOGY, "topology.yaml") if form == "topology" else (COMPOSE, "compose.yaml")
    edits = CHANGES[change][0 if form == "topology" else 1]
    paths = []
    for side, text in (("old", base), ("new", _edit(base, edits))):
        os.makedirs(tmp_path / side, exist_ok=True)
        paths.append(str(tmp_path / side / name))
        with open(paths[-1], "w", encoding="utf-8") as fh:
            fh.write(text)
    return paths[0], paths[1]


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _changed_lines(old: str, new: str) -> tuple[set[int], set[int]]:
    """1-based lines removed from ``old`` and written in ``new``."""
    a, b = (_read(f).splitlines() for f in (old, new))
    removed, added = set(), set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if tag != "equal":
            removed.update(range(i1 + 1, i2 + 1))
            added.update(range(j1 + 1, j2 + 1))
    return removed, added


def _check_cause(c: Change, old: str, new: str) -> None:
    removed, added = _changed_lines(old, new)
    assert c.cause is not None, c
    if c.side == "new":
        assert c.cause.file == new and c.cause.line in added, c
    else:
        assert c.cause.file == old and c.cause.line in removed, c


@pytest.mark.parametrize("form", ["topology", "compose"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_hand_made_change_reports_exactly_the_pairs_reach_changed(
    tmp_path: Any, form: str, change: str
) -> None:
    old, new = _sides(tmp_path, form, change)
    if form == "compose":  # the real Compose accepts both sides
        for f in (old, new):
            assert compose_config(f, "-q").returncode == 0, compose_config(f, "-q").stderr
    found = review.diff(old, new)
    pairs = [c for c in found.changes if c.kind != "policy"]
    oracle = expected_pairs(old, new)
    assert {(c.source, c.target) for c in pairs} == oracle
    assert len(pairs) == len(oracle)  # each pair once
    if change in MUST:
        assert MUST[change] in oracle
    for c in found.changes:
        _check_cause(c, old, new)
    # the shortcut (only pairs of changed endpoints) finds what the whole matrix finds
    assert review.diff(old, new, everything=True).changes == found.changes


def _policy_changes(found: review.Review) -> list[tuple[str, str, str, str]]:
    return [(c.source, c.target, c.before, c.after) for c in found.changes if c.kind == "policy"]


def test_policy_outcomes(tmp_path: Any) -> None:
    old, new = _sides(tmp_path, "topology", "remove-policy")
    found = review.diff(old, new)
    assert _policy_changes(found) == [("web", "db", "holds", "absent")]
    [c] = found.changes
    line = TOPOLOGY.splitlines().index("  - deny: {from: web, to: db}") + 1
    assert c.side == "old" and c.cause is not None and c.cause.line == line
    joined = review.diff(*_sides(tmp_path / "j", "topology", "join-network"))
    assert _policy_changes(joined) == [("web", "db", "holds", "violated")]


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_same_change_to_a_compose_file_gives_the_same_diff(tmp_path: Any, change: str) -> None:
    def summary(form: str) -> list[tuple[str, ...]]:
        found = review.diff(*_sides(tmp_path / form, form, change))
        return [
            (c.kind, c.source, c.target, c.before, c.after, c.side, c.cause.kind if c.cause else "")
            for c in found.changes
        ]

    assert summary("topology") == summary("compose")


def test_bind_address_change_alone_is_exposure(tmp_path: Any) -> None:
    text = TOPOLOGY.replace('"8080:80"', '"0.0.0.0:8080:80"')
    old, new = tmp_path / "a.yaml", tmp_path / "b.yaml"
    old.write_text(text)
    new.write_text(text.replace("0.0.0.0:8080", "192.0.2.10:8080"))
    found = review.diff(str(old), str(new))
    assert [(c.kind, c.source, c.target) for c in found.changes] == [
        ("exposure", "external", "web")
    ]
    assert found.changes[0].cause is not None and found.changes[0].cause.line == 8


# ---------------------------------------------------------------------------- CLI


def test_formats_and_fail_on(tmp_path: Any) -> None:
    old, new = _sides(tmp_path, "topology", "bind-loopback")
    run = CliRunner().invoke
    data = json.loads(run(app, ["diff", old, new, "-f", "json"]).stdout)
    entry = next(c for c in data["changes"] if (c["from"], c["to"]) == ("external", "web"))
    assert {"from", "to", "before", "after", "kind", "file", "line", "col"} <= set(entry)
    assert (
        entry["kind"] == "exposure" and entry["before"].startswith("yes") and entry["after"] == "no"
    )
    md = run(app, ["diff", old, new, "-f", "markdown"]).stdout
    assert "| exposure | external | web | yes" in md
    assert run(app, ["diff", old, new]).exit_code == 0
    assert run(app, ["diff", old, new, "--fail-on", "exposure"]).exit_code == 1
    assert run(app, ["diff", old, new, "--fail-on", "policy"]).exit_code == 0
    assert run(app, ["diff", old, new, "--fail-on", "any"]).exit_code == 1
    assert run(app, ["diff", old, new, "--fail-on", "nope"]).exit_code == 2
    assert run(app, ["diff", old]).exit_code == 2
    assert run(app, ["diff", "-", new], input="name: t\n").exit_code == 2
    assert run(app, ["diff", old, str(tmp_path / "missing.yaml")]).exit_code == 2


def test_new_side_with_errors_fails(tmp_path: Any) -> None:
    old, new = _sides(tmp_path, "topology", "join-network")  # violates deny web -> db
    out = CliRunner().invoke(app, ["diff", old, new])
    assert out.exit_code == 1
    assert "policy-violated" in out.stderr
    assert "web -> db: no => yes" in out.stdout
    # the other way round the error is OLD's: the fix passes
    assert CliRunner().invoke(app, ["diff", new, old]).exit_code == 0


# ---------------------------------------------------------------------------- git


def _git(repo: Any, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    ).stdout


def test_revisions_from_a_real_repository(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    _git(repo, "init", "-q")
    compose = repo / "deploy" / "compose.yaml"
    # the port comes from .env: the old side must read the .env of its own revision
    compose.write_text(COMPOSE.replace('"8080:80"', '"${WEB_PORT}:80"'))
    (repo / "deploy" / ".env").write_text("WEB_PORT=8080\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "one")
    compose.write_text(_edit(compose.read_text(), CHANGES["join-network"][1]))
    (repo / "deploy" / ".env").write_text("WEB_PORT=9090\n")
    _git(repo, "commit", "-qam", "two")
    status = _git(repo, "status", "--porcelain")
    monkeypatch.chdir(repo / "deploy")
    by_rev = review.diff("HEAD~1:deploy/compose.yaml", "HEAD:./compose.yaml")
    base = review.diff("HEAD~1:./compose.yaml", "compose.yaml")
    cli = CliRunner().invoke(app, ["diff", "--base", "HEAD~1", "compose.yaml", "-f", "json"])
    assert _git(repo, "status", "--porcelain") == status  # the checkout is untouched
    # the same diff as the two versions written out as files
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "compose.yaml").write_text(_git(repo, "show", "HEAD~1:deploy/compose.yaml"))
    (tmp_path / "old" / ".env").write_text("WEB_PORT=8080\n")
    files = review.diff(str(tmp_path / "old" / "compose.yaml"), "compose.yaml")
    summary = [(c.kind, c.source, c.target, c.before, c.after) for c in files.changes]
    assert any("host ports 9090" in c.after for c in files.changes)
    for found in (by_rev, base):
        assert [(c.kind, c.source, c.target, c.before, c.after) for c in found.changes] == summary
    assert {c.cause.file for c in base.changes if c.cause} <= {
        "compose.yaml",
        "HEAD~1:deploy/compose.yaml",
    }
    assert {c.cause.file for c in by_rev.changes if c.cause} <= {
        "HEAD:deploy/compose.yaml",
        "HEAD~1:deploy/compose.yaml",
    }
    assert cli.exit_code == 1  # NEW violates deny web -> db
    assert [c["to"] for c in json.loads(cli.stdout)["changes"]][:1] == [summary[0][2]]
    bad = CliRunner().invoke(app, ["diff", "--base", "no-such-rev", "compose.yaml"])
    assert bad.exit_code == 2 and "unknown revision" in bad.stderr
    gone = CliRunner().invoke(app, ["diff", "HEAD:./nope.yaml", "compose.yaml"])
    assert gone.exit_code == 2 and "does not exist at HEAD" in gone.stderr


def test_override_files_are_read_at_each_revision(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "compose.yaml").write_text(COMPOSE)
    (repo / "compose.prod.yaml").write_text("services:\n  web:\n    restart: always\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "one")
    # the production override now publishes the api
    (repo / "compose.prod.yaml").write_text(
        'services:\n  web:\n    restart: always\n  api:\n    ports: ["3000:3000"]\n'
    )
    monkeypatch.chdir(repo)
    args = ["diff", "--base", "HEAD", "compose.yaml", "-f", "json"]
    alone = CliRunner().invoke(app, args)
    merged = CliRunner().invoke(app, [*args, "--override", "compose.prod.yaml"])
    assert alone.exit_code == merged.exit_code == 0, merged.output
    assert json.loads(alone.stdout)["changes"] == []
    changes = json.loads(merged.stdout)["changes"]
    ext = [c for c in changes if (c["from"], c["to"]) == ("external", "api")]
    assert ext and ext[0]["file"] == "compose.prod.yaml" and ext[0]["line"] == 5
    assert ext[0]["before"] == "no" and ext[0]["after"].startswith("yes via published-port")


def test_a_revision_follows_what_its_file_names_outside_its_folder(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An include, an extends file and an env_file in other folders (and the .env beside the
    included file) are read as they were at the revision: no missing file, and the included
    file's change is seen."""
    repo = tmp_path / "repo"
    for folder in ("app", "shared", "env"):
        (repo / folder).mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "app" / "compose.yaml").write_text(
        "include: [../shared/db.yaml]\n"
        "services:\n"
        "  api:\n"
        "    extends: {file: ../shared/base.yaml, service: base}\n"
        "    env_file: ../env/api.env\n"
        "    networks: [back]\n"
    )
    (repo / "shared" / "db.yaml").write_text(
        'services:\n  db:\n    image: postgres\n    ports: ["${DB_PORT}:5432"]\n'
        "    networks: [back]\nnetworks:\n  back: {}\n"
    )
    (repo / "shared" / ".env").write_text("DB_PORT=5432\n")
    (repo / "shared" / "base.yaml").write_text("services:\n  base:\n    image: api:1\n")
    (repo / "env" / "api.env").write_text("MODE=prod\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "one")
    db = repo / "shared" / "db.yaml"
    db.write_text(db.read_text().replace("${DB_PORT}", "6543"))
    _git(repo, "commit", "-qam", "two")
    monkeypatch.chdir(repo / "app")
    found = review.diff("HEAD~1:app/compose.yaml", "HEAD:app/compose.yaml")
    assert found.analysed, [d.format() for d in found.old.diagnostics + found.new.diagnostics]
    assert not [d for d in found.old.diagnostics + found.new.diagnostics if d.is_error]
    assert all("topogen-rev-" not in d.message for d in found.old.diagnostics)  # REV: instead
    exposure = [c for c in found.changes if (c.source, c.target) == ("external", "db")]
    assert exposure and "5432" in exposure[0].before and "6543" in exposure[0].after
