"""Layering is tested, not hoped for: the stages before the output never import the ones after
it. The imports are read statically (``ast``), function-level ones included, so an import that
a test run never reaches still counts."""

from __future__ import annotations

import ast
import os

import pytest
from tools import ROOT

PACKAGE = os.path.join(ROOT, "topogen")
#: The checking stages, and what they must never import: lowering, output, the engine, the CLI.
EARLY = ("source", "spec", "resolve", "resolved", "rules", "analysis")
LATE = ("lower", "emit", "live", "cli", "entry")


def _modules() -> dict[str, str]:
    """{dotted module name: path} of every module of the package."""
    out = {}
    for folder, _dirs, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def imports(module: str) -> set[str]:
    """The topogen modules ``module`` imports anywhere in its file (relative ones resolved)."""
    path = MODULES[module]
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (
                package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            )
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.add(target)
            found.update(
                f"{target}.{alias.name}"
                for alias in node.names
                if f"{target}.{alias.name}" in MODULES
            )
    return {m for m in found if m in MODULES}


def stage(module: str) -> str:
    """``topogen.rules.targets.placement`` -> ``rules``."""
    return module.split(".")[1] if "." in module else ""


def test_the_walk_sees_function_level_and_relative_imports() -> None:
    """The control: entry imports the CLI inside main(), the rules their modules relatively."""
    assert "topogen.cli" in imports("topogen.entry")
    assert "topogen.rules.targets.swarm_errors" in imports("topogen.rules.targets")
    assert "topogen.resolved" in imports("topogen.rules.addressing")
    assert {stage(m) for m in MODULES} >= {*EARLY, *LATE}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if stage(m) in EARLY))
def test_early_stages_do_not_import_late_ones(module: str) -> None:
    assert {m for m in imports(module) if stage(m) in LATE} == set()


def test_cli_and_entry_do_not_import_each_other_both_ways() -> None:
    cli = {m for m in MODULES if stage(m) == "cli"}
    entry = {m for m in MODULES if stage(m) == "entry"}
    assert not (any(imports(m) & entry for m in cli) and any(imports(m) & cli for m in entry))


def test_no_import_cycle_through_the_cli() -> None:
    """Nothing the CLI or the entry point imports imports them back."""
    graph = {m: imports(m) for m in MODULES}
    for top in ("topogen.cli", "topogen.entry"):
        seen, todo = set(), [m for m in graph[top] if stage(m) not in ("cli", "entry")]
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(graph[m])
        assert {m for m in seen if stage(m) in ("cli", "entry")} == set(), top
