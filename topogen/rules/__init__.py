"""Stage 3, rules: semantic checks over the resolved topology, one small function per rule.

Each rule is ``def rule_name(topo) -> Iterator[Diagnostic]``; its docstring is its user
documentation (one sentence, then a failing example). :data:`RULES` is the explicit
registry, in the order they run; the rule id is the function name in kebab-case unless the
rule yields several ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..diagnostics import Diagnostic
from ..resolved import Topology
from . import (
    addressing,
    drivers,
    names,
    policies,
    ports,
    references,
    runtime,
    security,
    services,
    storage,
    targets,
)

Rule = Callable[[Topology], Iterable[Diagnostic]]

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
    *targets.RULES,
)


def run(topo: Topology, rules: Iterable[Rule] = RULES) -> Iterator[Diagnostic]:
    for rule in rules:
        yield from rule(topo)
