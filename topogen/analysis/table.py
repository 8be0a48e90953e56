"""The reachability matrix as a plain-text table, one row per ordered pair."""

from __future__ import annotations

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


def render(matrix: Matrix) -> str:
    """Aligned columns: FROM, TO, REACH, VIA, PORTS (published host ports -> container ports), NAMES."""
    rows = [_HEAD, *(_row(p) for p in matrix.pairs)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD) - 1)]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] + "\n" for r in rows
    )
