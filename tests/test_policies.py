"""Policies: the negative corpus with exact positions, the examples' policies, and scale."""

from __future__ import annotations

import glob
import os
import re

import pytest
from tools import EXAMPLES, ROOT

from topogen import pipeline
from topogen.analysis import reach
from topogen.rules import policies

CASES = os.path.join(ROOT, "tests", "cases", "policy-invalid")
CASE_FILES = sorted(glob.glob(os.path.join(CASES, "*.yaml")))
RULE_IDS = {
    "policy-violated",
    "policy-contradiction",
    "policy-undefined-endpoint",
    "invalid-policy",
    "reserved-endpoint-name",
}
_EXPECT = re.compile(r"^# expect: (\d+:\d+ [a-z0-9-]+)$")
_SAYS = re.compile(r"^# says: (.+)$")


def headers(path: str, pattern: re.Pattern[str]) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [m.group(1) for line in fh if (m := pattern.match(line.rstrip("\n")))]


@pytest.mark.parametrize("case", CASE_FILES, ids=os.path.basename)
def test_negative_corpus(case: str) -> None:
    result = pipeline.check(case)
    got = [f"{d.line}:{d.col} {d.rule}" for d in result.diagnostics if d.rule in RULE_IDS]
    assert got == headers(case, _EXPECT)
    others = [d.format() for d in result.diagnostics if d.is_error and d.rule not in RULE_IDS]
    assert others == []  # each case breaks only policies
    messages = "\n".join(d.message for d in result.diagnostics)
    for text in headers(case, _SAYS):
        assert text in messages


def test_every_policy_rule_has_a_case_and_a_documented_failing_example() -> None:
    covered = {e.split()[1] for case in CASE_FILES for e in headers(case, _EXPECT)}
    assert covered == RULE_IDS
    for rule in policies.RULES:
        doc = rule.__doc__ or ""
        assert "``" in doc and len(doc.strip().splitlines()) >= 3, rule.__name__


def test_unknown_endpoints_suggest_the_closest_name() -> None:
    result = pipeline.check(os.path.join(CASES, "unknown-endpoints.yaml"))
    hints = [d.hint for d in result.diagnostics if d.rule == "policy-undefined-endpoint"]
    assert hints == [
        "did you mean 'web-server'?",
        "did you mean 'external'?",
        "",
        "did you mean 'postgres-db'?",
    ]


def test_cli_validate_reports_a_violation_at_the_policy() -> None:
    from typer.testing import CliRunner

    from topogen.cli import app

    case = os.path.join(CASES, "deny-violated.yaml")
    out = CliRunner().invoke(app, ["validate", case])
    assert out.exit_code == 1
    assert f"{case}:16:5: [error] deny web-server -> postgres-db is violated" in out.output


EXAMPLE_FILES = sorted(glob.glob(os.path.join(EXAMPLES, "*", "topology.yaml")))


@pytest.mark.parametrize(
    "example", EXAMPLE_FILES, ids=lambda p: os.path.basename(os.path.dirname(p))
)
def test_example_policies_hold(example: str) -> None:
    result = pipeline.check(example)
    assert [d.format() for d in result.diagnostics if d.rule in RULE_IDS] == []


def test_three_tier_states_the_seed_labs_isolation() -> None:
    result = pipeline.check(os.path.join(EXAMPLES, "three-tier", "topology.yaml"))
    assert result.topology is not None
    stated = {(p.kind, p.edge.source, p.edge.target) for p in result.topology.policies if p.edge}
    assert ("deny", "web-server", "postgres-db") in stated
    assert ("allow", "api-server", "postgres-db") in stated


# ---------------------------------------------------------------------- scale


def big_topology(services: int, nets: int = 200) -> str:
    lines = ["name: big", "networks:"]
    lines += [f"  n{i}: {{internal: {'true' if i % 2 else 'false'}}}" for i in range(nets)]
    lines.append("services:")
    lines += [
        f"  s{i}: {{image: x, networks: [n{i % nets}, n{(i * 7) % nets}]}}" for i in range(services)
    ]
    lines.append("policies:")
    lines += [f"  - deny: {{from: s{i}, to: s{i + 1}}}" for i in range(0, 400, 2)]
    lines += [f"  - no_egress: s{i}" for i in range(1, 400, 2)]
    lines += ["  - isolated: s19999"]
    return "\n".join(lines) + "\n"


def test_policy_proofs_do_not_build_the_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    result = pipeline.check("big.yaml", big_topology(20000))
    assert result.topology is not None

    def forbidden(_topo: object) -> None:
        raise AssertionError("policy proofs must not materialise the matrix")

    monkeypatch.setattr(reach, "analyze", forbidden)
    found = [d for rule in policies.RULES for d in rule(result.topology)]
    assert any(d.rule == "policy-violated" for d in found)
