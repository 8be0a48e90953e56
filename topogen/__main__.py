"""``python -m topogen``."""

from .entry import main

main()
