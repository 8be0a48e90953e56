"""``python -m topogen``."""

from .cli import main

main()
