"""Live verification on a real Docker Engine: ``topogen verify --live`` and ``validate --engine``.

:func:`verify` brings a topology up (optionally with stub images), probes every ordered pair
of endpoints from sidecar containers that share each service's network namespace, compares
the observation with :func:`topogen.analysis.reach.analyze` and tears everything down.
:func:`preflight` compares a topology with what the engine already has, before anything is
created. See ``docs/verify.md``.
"""

from __future__ import annotations

from .engine import DEFAULT_IMAGE, Engine, EngineError
from .report import Report
from .session import Options, Session


def verify(file: str, opts: Options | None = None, engine: Engine | None = None) -> Report:
    """Bring ``file`` up, probe, compare, tear down; the report says what was seen."""
    return Session(engine or Engine.detect(), file, opts or Options()).run()


__all__ = ["DEFAULT_IMAGE", "Engine", "EngineError", "Options", "Report", "verify"]
