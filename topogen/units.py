"""Units: byte sizes as the engine and docker/cli parse them.

Below every stage that reads a size (the rules, the swarm lowering), so none of them imports
another sideways.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def size_bytes(value: str | int | None) -> int | None:
    """A byte size (``100m``, ``1g``, ``4096``) as an integer, the way docker parses it
    (binary units); ``None`` when it does not parse."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    m = _SIZE.match(value)
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
