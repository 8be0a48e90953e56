"""The reachability matrix as a plain-text table, one row per ordered pair."""

from __future__ import annotations

from collections.abc import Collection

from .reach import Matrix

_HEAD = ("FROM", "TO", "REACH", "VIA", "PORTS", "NAMES")


def _row(p: object) -> tuple[str, ...]:
    from .reach import Pair

    assert isinstance(p, Pair)
    ports = ",".join(map(str, p.ports)) if p.reachable else ""
    if p.published and p.reachable:
        ports = ",".join(f"{h}" for h in p.published) + (f" ->{ports}" if ports else "")
    return (
        p.source,
        p.target,
        "yes" if p.reachable else "no",
        ",".join(p.via) or "-",
        ports or "-",
        ",".join(p.names) or "-",
    )


def render(matrix: Matrix, needed: Collection[tuple[str, str]] | None = None) -> str:
    """Aligned columns: FROM, TO, REACH, VIA, PORTS (published host ports -> container ports), NAMES;
    with ``needed`` (the pairs the configuration needs), NEEDED after REACH."""
    rows = [_HEAD, *(_row(p) for p in matrix.pairs)]
    if needed is not None:
        marks = [
            "NEEDED",
            *("needed" if (p.source, p.target) in needed else "-" for p in matrix.pairs),
        ]
        rows = [(*r[:3], m, *r[3:]) for r, m in zip(rows, marks)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] + "\n" for r in rows
    )
