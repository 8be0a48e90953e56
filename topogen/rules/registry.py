"""Rule identity as data: every id topogen can print, declared where it is made.

A rule declares the ids it reports, with their levels, on its function::

    @reports(error=("gateway-outside-subnet", "ip-range-outside-subnet"))
    def pool_addresses(topo: Topology) -> Iterator[Diagnostic]: ...

and the stages that report problems before or beside the rules (YAML, schema, resolution,
the engine checks of ``validate --engine``) declare theirs in :data:`STAGES`. The catalogue
(docs/rules.md) and anything that names ids (suppressions) read these declarations; the
tests check them against what the code reports on the corpus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, cast

from ..diagnostics import Diagnostic, Level
from ..resolved import Topology

#: The ids of the stages that are not rules, by module (errors, but those in STAGE_WARNINGS).
STAGES: Mapping[str, tuple[str, ...]] = {
    "source": (
        "duplicate-key",
        "empty-file",
        "file-too-large",
        "invalid-utf8",
        "read-error",
        "yaml-alias-bomb",
        "yaml-recursive-alias",
        "yaml-syntax",
        "yaml-too-deep",
    ),
    "pipeline": (
        "boolean-spelling",
        "env-file",
        "invalid-interpolation",
        "invalid-value",
        "missing-key",
        "not-a-mapping",
        "obsolete-version",
        "output-is-input",
        "output-shadowed",
        "required-variable",
        "synth-pool",
        "undeclared-target",
        "unknown-key",
        "unset-variable",
    ),
    "loader": (
        "compose-extends",
        "compose-include",
        "compose-merge",
        "compose-top-level",
        "extends-loop",
        "extends-unknown-service",
        "include-conflict",
        "include-cycle",
        "include-env-file",
        "include-too-deep",
        "include-too-many",
        "missing-file",
        "read-error",
        "rebase-variable-path",
        "variable-file-path",
    ),
    "project": ("inactive-dependency",),
    "suggest": ("synth-address-dropped", "synth-pool"),
    "importer": ("invalid-compose", "output-exists", "reserved-key"),
    "resolve": (
        "invalid-cidr",
        "invalid-ip",
        "invalid-mode",
        "invalid-mount",
        "invalid-policy",
        "invalid-port",
    ),
    "suppress": ("invalid-suppression", "unused-suppression"),
    "live": (
        "engine-address-in-use",
        "engine-bridge-name-taken",
        "engine-external-missing",
        "engine-pool-overlap",
        "engine-port-in-use",
        "engine-unreachable",
    ),
}


#: The stage ids that are warnings.
STAGE_WARNINGS = frozenset(
    (
        "boolean-spelling",
        "env-file",
        "include-env-file",
        "obsolete-version",
        "output-shadowed",
        "rebase-variable-path",
        "required-variable",
        "synth-address-dropped",
        "unset-variable",
        "unused-suppression",
    )
)


#: Rules that compare services with each other: between services that share only a profile,
#: the pipeline reports their findings as warnings (Compose accepts the file; the clash happens
#: when that profile is enabled).
PROFILE_WARNINGS = frozenset(
    ("duplicate-static-ip", "duplicate-container-name", "duplicate-published-port")
)


class Rule(Protocol):
    """A rule function, with the ids it reports: ``{id: levels}``."""

    __name__: str
    __module__: str
    ids: Mapping[str, frozenset[Level]]

    def __call__(self, topo: Topology, /) -> Iterable[Diagnostic]: ...


Check = Callable[[Topology], Iterable[Diagnostic]]


def reports(
    *, error: str | tuple[str, ...] = (), warning: str | tuple[str, ...] = ()
) -> Callable[[Check], Rule]:
    """Declare the ids a rule reports as errors and as warnings (an id may be both)."""
    errors = (error,) if isinstance(error, str) else error
    warnings = (warning,) if isinstance(warning, str) else warning
    ids = {
        rid: frozenset(
            lvl for lvl, group in ((Level.ERROR, errors), (Level.WARNING, warnings)) if rid in group
        )
        for rid in (*errors, *warnings)
    }

    def declare(fn: Check) -> Rule:
        fn.ids = ids  # type: ignore[attr-defined]
        return cast(Rule, fn)

    return declare


def ids(rules: Iterable[Rule]) -> dict[str, frozenset[Level]]:
    """Every id topogen can print, with its levels: the stages' and the given rules'."""
    out: dict[str, frozenset[Level]] = {
        rid: frozenset({Level.WARNING if rid in STAGE_WARNINGS else Level.ERROR})
        for group in STAGES.values()
        for rid in group
    }
    for rule in rules:
        for rid, levels in rule.ids.items():
            out[rid] = out.get(rid, frozenset()) | levels
    for rid in (
        PROFILE_WARNINGS
    ):  # (any error about a profile-only service is a warning: pipeline._profiled)
        out[rid] = out.get(rid, frozenset()) | {Level.WARNING}
    return out
