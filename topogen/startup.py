"""Start-up: what ``topogen`` does before it loads anything heavy, and ``topogen validate``
without Typer.

``validate`` is what pre-commit runs, once over every staged file. Importing Typer and
Click costs about 65 ms of CPU per call (bench/RESULTS.md: 9% of a call over 115 files, and
what keeps a single-file call under 0.8x ``check-jsonschema``), so plain ``validate``
arguments are parsed here (no file argument: the Compose project here); anything else (help,
a typo, another command) goes to the Typer app in :mod:`topogen.cli`, which reports usage
errors as usual.
The other settings are measured the same way: the garbage collector threshold saves ~5% of a
many-file call, skipping pydantic's plugin scan ~2%.
"""

from __future__ import annotations

import gc
import os
import sys
import types
from collections.abc import Iterable, Sequence
from typing import Any

FORMATS = ("text", "json", "github", "sarif")
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


def prepare() -> None:
    """Process-wide settings for a topogen run."""
    # A run allocates many long-lived, acyclic objects (source map, models, IR); collecting
    # every 700 allocations re-scans them for nothing (~20% of a 2000-service build, and
    # still ~6% at every 100,000; the peak memory is the same at 1,000,000).
    gc.set_threshold(1_000_000, 50, 1000)
    # topogen's models are internal: don't scan installed distributions for pydantic plugins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] in ("__all__", "1", "true"):
        _no_plugin_loader()


def _no_plugin_loader() -> None:
    """Stand in for ``pydantic.plugin._loader`` when plugins are off anyway.

    Pydantic imports that module when it builds its first validator, and the module imports
    ``importlib.metadata`` (with email, zipfile, csv...) only to look for entry points, which
    ``PYDANTIC_DISABLE_PLUGINS`` then tells it not to read: ~5% of the instructions of a
    one-file ``topogen validate``. Pydantic uses only its ``get_plugins()``, which returns no
    plugins when they are disabled; ``tests/test_imports.py`` holds the real module to that.
    """
    name = "pydantic.plugin._loader"
    if name not in sys.modules:
        stand_in = types.ModuleType(name, "topogen: pydantic plugins are disabled")
        stand_in.get_plugins = tuple  # type: ignore[attr-defined]  # () : no plugins
        sys.modules[name] = stand_in


def validate(
    files: Iterable[str],
    fmt: str = "text",
    strict: bool = False,
    engine: bool = False,
    show_suppressed: bool = False,
    compose_project: bool = False,
    **project: Any,
) -> int:
    """Check topologies, print their diagnostics, and return the exit code (0, 1, or 2 when a
    file argument names no file). No files: the project ``docker compose`` reads here.
    Suppressed findings print only with ``show_suppressed`` (always in json and sarif,
    marked). ``compose_project`` checks each Compose file with the files ``docker compose``
    reads with it (:mod:`topogen.composefiles`)."""
    from .diagnostics import has_errors, render, sort, visible
    from .pipeline import check

    files = list(files)
    if not files:  # the project docker compose reads here
        here = _project_here(project)
        if here is None:
            return 2
        files, project, compose_project = here[:1], {**project, "overrides": here[1:]}, False
    missing = missing_inputs(files)
    if missing:
        sys.stderr.write("".join(missing))
        return 2
    if engine:  # synthesized subnets keep clear of the engine's networks
        from .live.inuse import subnets_in_use

        project = {**project, "avoid": subnets_in_use()}
    overrides = list(project.pop("overrides", None) or [])
    if compose_project:
        from .composefiles import projects

        runs = [(f, list(o)) for f, o in projects(f for f in files if f != STDIN)]
        runs += [(STDIN, [])] if STDIN in files else []
    else:
        runs = [(f, overrides) for f in files]
    results = [
        check(STDIN_NAME, read_stdin()) if f == STDIN else check(f, **project, overrides=o)
        for f, o in runs
    ]
    diags = [d for r in results for d in r.diagnostics]
    found = []
    if engine:
        from .live import engine_diagnostics

        found = engine_diagnostics(r for r in results if not r.failed())
    diags = sort(diags + found)
    if visible(diags, fmt, show_suppressed=show_suppressed):
        out = sys.stderr if fmt == "text" else sys.stdout
        out.write(render(diags, fmt, show_suppressed=show_suppressed))
    return 1 if any(r.failed(strict=strict) for r in results) or has_errors(found) else 0


def _project_here(project: dict[str, Any]) -> list[str] | None:
    """With no FILE, the files ``docker compose`` reads here (:func:`composefiles.use`);
    None after printing why there are none (usage)."""
    from .composefiles import use

    if project.get("overrides"):
        sys.stderr.write(
            "error: --override goes with a FILE, as docker compose -f FILE -f OVERRIDE\n"
        )
        return None
    return use(project.get("env_files"))


def plain_validate(args: Sequence[str]) -> tuple[list[str], str, bool, bool, bool, bool] | None:
    """``validate`` arguments (after the command name) when they need no help from Typer, else None."""
    files: list[str] = []
    fmt, strict, engine, show_suppressed, compose_project = "text", False, False, False, False
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
        elif arg == "--show-suppressed":
            show_suppressed = True
        elif arg == "--compose-project":
            compose_project = True
        elif arg == "--":
            files.extend(it)
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            files.append(arg)
    if fmt not in FORMATS:
        return None
    return files, fmt, strict, engine, show_suppressed, compose_project
