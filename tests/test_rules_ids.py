"""Rule identity is data: each rule's ``@reports(...)`` and :data:`registry.STAGES` name every
id topogen prints. The corpus keeps the declarations honest both ways: what a rule reports is
declared on it, and every declared id (with each of its levels) is reported by some case."""

from __future__ import annotations

import ast
import glob
import os
import re

import pytest
from tools import EXAMPLES, ROOT

from topogen import pipeline, rules
from topogen.diagnostics import Level
from topogen.rules import registry

CORPUS = sorted(
    glob.glob(os.path.join(ROOT, "tests", "cases", "**", "*.yaml"), recursive=True)
    + glob.glob(os.path.join(EXAMPLES, "*", "topology.yaml"))
)
KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)+|[a-z0-9]+")
#: The calls that take a diagnostic id, and the index of the id among their arguments.
ID_CALLS = {"error": 0, "warning": 0, "problem": 0, "_failed": 1}


@pytest.fixture(scope="module")
def results() -> list[pipeline.Result]:
    return [pipeline.check(path) for path in CORPUS]


def _by_rule(results: list[pipeline.Result]) -> dict[str, set[tuple[str, Level]]]:
    """{rule function: {(id, level)}} of what each rule reports on the corpus, run one by one."""
    out: dict[str, set[tuple[str, Level]]] = {}
    for result in results:
        if result.topology is None:
            continue
        for rule in rules.RULES:
            out.setdefault(rule.__name__, set()).update(
                (d.rule, d.level) for d in rule(result.topology)
            )
    return out


def test_the_corpus_is_found() -> None:
    assert len(CORPUS) > 100


def test_a_rule_reports_only_the_ids_it_declares(results: list[pipeline.Result]) -> None:
    declared = {rule.__name__: rule.ids for rule in rules.RULES}
    undeclared = {
        (name, rid, level.value)
        for name, seen in _by_rule(results).items()
        for rid, level in seen
        if level not in declared[name].get(rid, ())
    }
    assert undeclared == set()


def test_every_declared_id_and_level_is_reported_by_the_corpus(
    results: list[pipeline.Result],
) -> None:
    seen = _by_rule(results)
    missing = {
        (rule.__name__, rid, level.value)
        for rule in rules.RULES
        for rid, levels in rule.ids.items()
        for level in levels
        if (rid, level) not in seen.get(rule.__name__, set())
    }
    assert missing == set(), "each declared id and level needs a case in tests/cases"


def test_everything_the_pipeline_prints_is_a_declared_id(results: list[pipeline.Result]) -> None:
    known = rules.ids()
    found = {(d.rule, d.level) for r in results for d in r.diagnostics}
    assert len(found) > 80
    assert {(rid, lvl.value) for rid, lvl in found if lvl not in known.get(rid, ())} == set()


def test_every_rule_declares_kebab_case_ids() -> None:
    for rule in rules.RULES:
        assert rule.ids, f"{rule.__name__} has no @reports(...)"
        for rid, levels in rule.ids.items():
            assert KEBAB.fullmatch(rid) and levels, (rule.__name__, rid)


def _stage_ids(path: str) -> tuple[set[str], list[str]]:
    """The literal ids a stage module passes to error/warning/problem/_failed, and the calls
    whose id is not a literal (which the declaration cannot be checked against)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    found, opaque = set(), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        index = ID_CALLS.get(name)
        if index is None or len(node.args) <= index:
            continue
        arg = node.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.add(arg.value)
        elif not (
            name == "error" and index == 0 and isinstance(arg, ast.Name) and arg.id == "rule"
        ):
            opaque.append(f"{os.path.basename(path)}:{node.lineno}")
    return found, opaque


@pytest.mark.parametrize("stage", sorted(registry.STAGES))
def test_stage_ids_are_declared(stage: str) -> None:
    """The stages that are not rules report exactly the ids declared for them in STAGES."""
    base = os.path.join(ROOT, "topogen", stage)
    paths = sorted(glob.glob(os.path.join(base, "*.py"))) if os.path.isdir(base) else [base + ".py"]
    found: set[str] = set()
    for path in paths:
        ids, opaque = _stage_ids(path)
        assert opaque == [], "an id that is not a string literal"
        found |= ids
    assert found == set(registry.STAGES[stage])


def test_no_other_module_reports_diagnostics() -> None:
    """Only the rules and the STAGES modules make diagnostics, so the declarations are complete."""
    makers = set()
    for path in glob.glob(os.path.join(ROOT, "topogen", "**", "*.py"), recursive=True):
        rel = os.path.relpath(path, os.path.join(ROOT, "topogen"))
        owner = rel.split(os.sep)[0].removesuffix(".py")
        if owner in registry.STAGES or owner in ("rules", "diagnostics"):
            continue
        ids, opaque = _stage_ids(path)
        if ids or opaque:
            makers.add(rel)
    assert makers == set()


def test_ids_lists_stages_and_rules() -> None:
    known = rules.ids()
    assert known["yaml-syntax"] == {Level.ERROR}
    assert known["engine-unreachable"] == {Level.ERROR}
    assert known["shared-parent"] == {Level.ERROR, Level.WARNING}
    assert known["swarm-dotenv"] == {Level.WARNING}
    assert set(known) == {rid for group in registry.STAGES.values() for rid in group} | {
        rid for rule in rules.RULES for rid in rule.ids
    }


def test_reports_declares_levels() -> None:
    @registry.reports(error=("a-b", "c-d"), warning="c-d")
    def check(topo: object) -> list[object]:
        return []

    assert check.ids == {"a-b": {Level.ERROR}, "c-d": {Level.ERROR, Level.WARNING}}
