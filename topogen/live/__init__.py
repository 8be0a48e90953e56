"""Live verification on a real Docker Engine: ``topogen verify --live``, ``verify --attach``
and ``validate --engine``.

:func:`verify` brings a topology up (optionally with stub images), probes every ordered pair
of endpoints from sidecar containers that share each service's network namespace, compares
the observation with :func:`topogen.analysis.reach.analyze` and tears everything down.
:func:`attach` probes a project that already runs, with sidecars only.
:func:`preflight` compares a topology with what the engine already has, before anything is
created. See ``docs/verify.md``.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from typing import Any

from ..diagnostics import Diagnostic, error
from .attached import Attach, ProjectNotFound, Selection
from .engine import DEFAULT_IMAGE, Engine, EngineError
from .preflight import preflight as engine_preflight
from .report import Report
from .session import Options, Session, tty_progress


def verify(file: str, opts: Options | None = None, engine: Engine | None = None) -> Report:
    """Bring ``file`` up, probe, compare, tear down; the report says what was seen.

    SIGTERM is turned into KeyboardInterrupt while it runs, so that teardown happens."""
    return _terminable(Session(engine or Engine.detect(), file, opts or Options()))


def attach(
    project: str,
    file: str | None = None,
    opts: Options | None = None,
    engine: Engine | None = None,
    selection: Selection | None = None,
) -> Report:
    """Probe the running Compose ``project`` in place and compare with ``reach`` of ``file``
    (default: the files in the containers' labels); only the probe sidecars are created, and
    removed. Raises :class:`ProjectNotFound` when no container of the project exists."""
    session = Attach(
        engine or Engine.detect(), project, file, opts or Options(), selection or Selection()
    )
    return _terminable(session)


def _terminable(session: Session) -> Report:
    try:
        old = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread
        old = None
    try:
        return session.run()
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


class Terminated(KeyboardInterrupt):
    """SIGTERM during :func:`verify`: tears down like Ctrl-C, but the CLI exits 143, not 130."""


def _interrupt(signum: int, frame: Any) -> None:
    raise Terminated


def engine_diagnostics(results: Iterable[Any], engine: Engine | None = None) -> list[Diagnostic]:
    """Preflight every checked topology (a :class:`topogen.pipeline.Result`) against the engine,
    each conflict located at the topology's line."""
    results = [r for r in results if r.topology is not None]
    if not results:
        return []
    try:
        engine = engine or Engine.detect()
        why = engine.reachable()
    except EngineError as exc:
        why = str(exc)
    if why:
        return [
            r.src.finish(
                error("engine-unreachable", f"no Docker engine to check against: {why}", ())
            )
            for r in results
        ]
    assert engine is not None
    return [r.src.finish(d) for r in results for d in engine_preflight(r.topology, engine)]


__all__ = [
    "DEFAULT_IMAGE",
    "Engine",
    "EngineError",
    "Options",
    "ProjectNotFound",
    "Report",
    "Selection",
    "Terminated",
    "attach",
    "engine_diagnostics",
    "tty_progress",
    "verify",
]
