"""The console script: a plain ``topogen validate`` runs without loading Typer (see
:mod:`topogen.startup`); everything else goes to :mod:`topogen.cli`.

Whatever the command, SIGINT exits 130 and SIGTERM 143, without a traceback; a file argument
that does not exist is a usage error (exit 2); ``-`` reads the topology from stdin.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from .startup import plain_validate, prepare, validate


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(
        128 + signum
    )  # as a shell reports a process killed by the signal; finally blocks run


def main() -> None:
    prepare()
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
    if args[:1] == ["validate"] and (plain := plain_validate(args[1:])) is not None:
        sys.exit(validate(*plain))
    from .cli import app

    app()
