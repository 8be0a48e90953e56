"""The subnets the engine's networks already use, for synthesis to keep clear of
(``validate --engine``, ``build --engine``, ``suggest --engine``)."""

from __future__ import annotations

from .engine import Engine, EngineError


def subnets_in_use(engine: Engine | None = None) -> list[str]:
    """Every IPAM subnet of every network of the engine; [] when no engine answers (the
    engine checks of ``validate --engine`` say so on their own)."""
    try:
        nets = (engine or Engine.detect()).networks()
    except EngineError:
        return []
    return [
        str(c["Subnet"])
        for n in nets
        for c in ((n.get("IPAM") or {}).get("Config") or ())
        if isinstance(c, dict) and c.get("Subnet")
    ]
