"""Stage 3, rules: semantic checks over the resolved topology, one small function per rule.

Each rule is ``def rule_name(topo) -> Iterator[Diagnostic]``; its docstring is its user
documentation (one sentence, then a failing example), and ``@reports(error=..., warning=...)``
on it declares the ids it reports (:mod:`.registry`). :data:`RULES` is the explicit registry,
in the order they run; :func:`ids` is every id topogen can print.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..diagnostics import Diagnostic, Level
from ..resolved import Topology
from . import (
    addressing,
    drivers,
    names,
    needs,
    policies,
    ports,
    references,
    registry,
    runtime,
    security,
    services,
    storage,
    synthesis,
    targets,
)
from .registry import Rule

RULES: tuple[Rule, ...] = (
    *references.RULES,
    *services.RULES,
    *runtime.RULES,
    *addressing.RULES,
    *ports.RULES,
    *drivers.RULES,
    *storage.RULES,
    *names.RULES,
    *security.RULES,
    *policies.RULES,
    *needs.RULES,
    *synthesis.RULES,
    *targets.RULES,
)


def run(topo: Topology, rules: Iterable[Rule] = RULES) -> Iterator[Diagnostic]:
    for rule in rules:
        yield from rule(topo)


def ids() -> dict[str, frozenset[Level]]:
    """Every id topogen can print (the rules' and the other stages'), with its levels."""
    return registry.ids(RULES)
