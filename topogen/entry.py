"""The console script: a plain ``topogen validate`` runs without loading Typer (see
:mod:`topogen.startup`); everything else goes to :mod:`topogen.cli`."""

from __future__ import annotations

import sys

from .startup import plain_validate, prepare, validate


def main() -> None:
    prepare()
    args = sys.argv[1:]
    if args[:1] == ["validate"] and (plain := plain_validate(args[1:])) is not None:
        sys.exit(validate(*plain))
    from .cli import app

    app()
