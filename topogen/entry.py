"""The console script: ``topogen validate`` runs without loading Typer; everything else goes
to :mod:`topogen.cli`.

``validate`` is what pre-commit runs on every commit, so its start-up time is most of its
cost. Its arguments are simple; when they are anything but plain (help, a typo, a missing
file argument) the Typer app takes over and reports the usage error as usual.

Whatever the command, SIGINT exits 130 and SIGTERM 143, without a traceback; a file argument
that does not exist is a usage error (exit 2); ``-`` reads the topology from stdin.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Iterable, Sequence
from typing import Any

FORMATS = ("text", "json", "github")
STDIN = "-"
#: The name stdin's topology has in diagnostics.
STDIN_NAME = "<stdin>"


def missing_inputs(files: Iterable[str]) -> list[str]:
    """One ``error: ...`` line per file argument that is not a readable file's name (usage: exit 2)."""
    lines = []
    for f in files:
        if f == STDIN or os.path.isfile(f):
            continue
        why = "is a directory" if os.path.isdir(f) else "no such file"
        lines.append(f"error: {f}: {why}\n")
    return lines


def read_stdin() -> bytes:
    return sys.stdin.buffer.read()


def validate(files: Iterable[str], fmt: str = "text", strict: bool = False, engine: bool = False) -> int:
    """Check topologies, print their diagnostics, and return the exit code (0, 1, or 2 when a
    file argument names no file)."""
    from .diagnostics import has_errors, render, sort
    from .pipeline import check

    files = list(files)
    missing = missing_inputs(files)
    if missing:
        sys.stderr.write("".join(missing))
        return 2
    results = [check(STDIN_NAME, read_stdin()) if f == STDIN else check(f) for f in files]
    diags = [d for r in results for d in r.diagnostics]
    found = []
    if engine:
        from .live import engine_diagnostics

        found = engine_diagnostics(r for r in results if not r.failed())
    diags = sort(diags + found)
    if diags or fmt == "json":
        (sys.stderr if fmt == "text" else sys.stdout).write(render(diags, fmt))
    return 1 if any(r.failed(strict=strict) for r in results) or has_errors(found) else 0


def _plain_validate(args: Sequence[str]) -> tuple[list[str], str, bool, bool] | None:
    """``validate`` arguments when they need no help from Typer, else None."""
    files: list[str] = []
    fmt, strict, engine = "text", False, False
    it = iter(args)
    for arg in it:
        if arg in ("--format", "-f"):
            fmt = next(it, "")
        elif arg.startswith("--format="):
            fmt = arg.partition("=")[2]
        elif arg == "--strict":
            strict = True
        elif arg == "--engine":
            engine = True
        elif arg == "--":
            files.extend(it)
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            files.append(arg)
    if not files or fmt not in FORMATS:
        return None
    return files, fmt, strict, engine


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # as a shell reports a process killed by the signal; finally blocks run


def main() -> None:
    # A run allocates many long-lived, acyclic objects (source map, models, IR); collecting
    # every 700 allocations re-scans them for nothing (~20% of a 2000-service build).
    gc.set_threshold(100_000, 50, 1000)
    # topogen's models are internal: don't scan installed distributions for pydantic plugins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        _dispatch(sys.argv[1:])
    except KeyboardInterrupt:  # Typer turns it into exit 130 itself; this is the plain validate
        sys.stderr.write("\ninterrupted\n")
        sys.exit(130)
    except BrokenPipeError:  # e.g. `topogen schema | head -1`: the reader left, nothing to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the interpreter flushes it at exit
        sys.exit(1)


def _dispatch(args: list[str]) -> None:
    if args[:1] == ["validate"] and (plain := _plain_validate(args[1:])) is not None:
        sys.exit(validate(*plain))
    from .cli import app

    app()
