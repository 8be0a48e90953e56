"""``topogen explain``: its verdict agrees with ``reach`` on every pair of every example, and
every fact it cites is at a real line of the file that holds the fact's key."""

from __future__ import annotations

import json
import os
import textwrap
from functools import cache

import pytest
from tools import EXAMPLES, examples
from typer.testing import CliRunner

from topogen import pipeline
from topogen.analysis import explain, reach
from topogen.cli import app

COMPOSE_ENV = os.path.join(EXAMPLES, "compose-environments")
#: (file, override files) of every example: the topologies, and the Compose project alone
#: and with its production override.
CASES = [(os.path.join(EXAMPLES, e, "topology.yaml"), ()) for e in examples()] + [
    (os.path.join(COMPOSE_ENV, "compose.yaml"), ()),
    (os.path.join(COMPOSE_ENV, "compose.yaml"), (os.path.join(COMPOSE_ENV, "compose.prod.yaml"),)),
]


@cache
def _lines(file: str) -> list[str]:
    with open(file, encoding="utf-8") as fh:
        return fh.read().splitlines()


def _cited(fact: explain.Fact) -> str:
    lines = _lines(fact.file)
    assert 1 <= fact.line <= len(lines), fact
    return lines[fact.line - 1]


@pytest.mark.parametrize(
    ("file", "overrides"),
    CASES,
    ids=[f"{os.path.basename(os.path.dirname(f))}-{len(o)}" for f, o in CASES],
)
def test_explain_agrees_with_reach_on_every_pair(file: str, overrides: tuple[str, ...]) -> None:
    result = pipeline.check(file, overrides=overrides)
    assert result.topology is not None
    matrix = reach.analyze(result.topology)
    index = reach.Index(result.topology)
    assert matrix.pairs
    for pair in matrix.pairs:
        found = explain.locate(explain.explain(index, pair.source, pair.target), result.where)
        assert found.reachable == pair.reachable, (pair, found.verdict)
        assert (": reachable:" in found.verdict) == pair.reachable
        for fact in [*found.facts, *([found.fix] if found.fix else [])]:
            assert fact.key in _cited(fact), (fact, _cited(fact))
        if pair.reachable:
            assert found.fix is None
    # every policy is cited by the pairs it names
    cited = {
        f.path
        for p in matrix.pairs
        for f in explain.explain(index, p.source, p.target).facts
        if f.kind == "policy"
    }
    named = {
        p.path
        for p in result.topology.policies
        if p.kind != "isolated" or len(result.topology.services) > 1
    }
    assert named <= cited


def _write(tmp_path: object, text: str, name: str = "topology.yaml") -> str:
    path = os.path.join(str(tmp_path), name)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(textwrap.dedent(text))
    return path


TOPO = """\
name: t
networks:
  front: {}
  back: {internal: true}
  quiet: {icc: false}
services:
  web:
    image: x
    ports: ["127.0.0.1:8080:80"]
    networks: [front, quiet]
  api:
    image: x
    expose: ["3000"]
    ports: ["127.0.0.1:9000:3000"]
    networks: [back, quiet]
  db:
    image: x
    networks: [back]
  tool:
    image: x
    network_mode: none
policies:
  - deny: {from: web, to: db}
  - allow: {from: api, to: db}
"""


def _explain(path: str, *args: str, code: int = 0) -> dict:  # type: ignore[type-arg]
    out = CliRunner().invoke(app, ["explain", path, *args, "--format", "json"])
    assert out.exit_code == code, out.output
    data: dict = json.loads(out.stdout)  # type: ignore[type-arg]
    for fact in data["facts"] + ([data["fix"]] if data["fix"] else []):
        assert fact["file"] == path
        assert fact["key"] in _lines(path)[fact["line"] - 1]
    return data


def test_fix_of_each_kind_of_unreachable_pair(tmp_path: object) -> None:
    path = _write(tmp_path, TOPO)
    lines = _lines(path)

    def fix_line(*args: str) -> str:
        data = _explain(path, *args)
        assert data["reachable"] is False
        return str(lines[data["fix"]["line"] - 1].strip()) + " | " + data["fix"]["text"]

    # a deny policy forbids it: the fix points at the policy
    assert fix_line("web", "db").startswith("- deny: {from: web, to: db}")
    # web and api share only "quiet", where icc is off: turn it on
    assert fix_line("web", "api").startswith("quiet: {icc: false}")
    # loopback-only published port: publish on all addresses
    assert (
        fix_line("external", "web")
        == 'ports: ["127.0.0.1:8080:80"] | publish on all addresses, not 127.0.0.1'
    )
    # internal only: make the network not internal
    assert fix_line("db", "external").startswith("back: {internal: true}")
    # network_mode none
    assert fix_line("tool", "web").startswith("network_mode: none")
    # no shared network: add db to a network of web
    assert fix_line("db", "web") == "networks: [back] | add db to network front"


def test_port_and_json_shape(tmp_path: object) -> None:
    path = _write(tmp_path, TOPO)
    data = _explain(path, "host", "api:3000")
    assert data["reachable"] is True and data["port"] == 3000 and data["protocol"] == "tcp"
    assert {f["kind"] for f in data["facts"]} >= {"attachment", "network", "internal", "port"}
    assert set(data["facts"][0]) == {"file", "line", "col", "path", "kind", "key", "text"}
    # api publishes on loopback only: the host reaches it, other machines do not
    assert _explain(path, "external", "api:3000")["reachable"] is False


def test_policies_of_a_compose_file_are_cited_in_x_topogen(tmp_path: object) -> None:
    path = _write(
        tmp_path,
        """\
        services:
          web: {image: x, networks: [front]}
          db: {image: x, networks: [front]}
        networks:
          front: {}
        x-topogen:
          policies:
            - deny: {from: web, to: db}
        """,
        "compose.yaml",
    )
    data = _explain(path, "web", "db", code=1)  # the policy is violated: an error
    [policy] = [f for f in data["facts"] if f["kind"] == "policy"]
    assert _lines(path)[policy["line"] - 1].strip() == "- deny: {from: web, to: db}"
    assert policy["text"] == "policy deny web -> db violated"
    assert data["reachable"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "{path}", "webb", "db"], "unknown endpoint webb: did you mean web?"),
        (["explain", "{path}", "web", "dbb:5432"], "unknown endpoint dbb: did you mean db?"),
        (["reach", "{path}", "--from", "ap"], "unknown endpoint ap: did you mean api?"),
        (["reach", "{path}", "--to", "zzzz"], "unknown endpoint zzzz\n"),
    ],
)
def test_unknown_names_get_did_you_mean(tmp_path: object, args: list[str], message: str) -> None:
    path = _write(tmp_path, TOPO)
    out = CliRunner().invoke(app, [a.format(path=path) for a in args])
    assert out.exit_code == 2
    assert message in out.stderr
    assert "Traceback" not in out.output


@pytest.mark.parametrize("target", ["db:http", "db:0", "db:70000", "db:53/icmp", "db:"])
def test_bad_port_is_usage(tmp_path: object, target: str) -> None:
    path = _write(tmp_path, TOPO)
    out = CliRunner().invoke(app, ["explain", path, "web", target])
    assert out.exit_code == 2
    assert "Traceback" not in out.output
