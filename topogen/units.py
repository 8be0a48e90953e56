"""The one parser for each kind of value the engine reads from text: byte sizes, Go
durations and Go booleans. Every stage (resolve, rules, lowering, live checks) asks here, so
a value means the same thing everywhere.
"""

from __future__ import annotations

import re

#: Go ``strconv.ParseBool``: what the engine accepts for a boolean driver option.
GO_TRUE = frozenset(("1", "t", "T", "TRUE", "true", "True"))
GO_FALSE = frozenset(("0", "f", "F", "FALSE", "false", "False"))
GO_BOOLS = (*sorted(GO_TRUE), *sorted(GO_FALSE))

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_GO_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_NANOSECONDS = {
    "ns": 1,
    "us": 1e3,
    "µs": 1e3,
    "μs": 1e3,
    "ms": 1e6,
    "s": 1e9,
    "m": 60e9,
    "h": 3600e9,
}


def go_bool(value: object) -> bool | None:
    """A boolean as Go's ``strconv.ParseBool`` reads it (``"f"`` is false); None if it is not one."""
    if isinstance(value, bool):
        return value
    text = str(value)
    if text in GO_TRUE:
        return True
    if text in GO_FALSE:
        return False
    return None


def size_bytes(value: str | float | None) -> int | None:
    """A byte size (``100m``, ``1g``, ``4096``, ``1.5g``) in bytes, binary units as docker
    reads them; None when it does not parse."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    m = _SIZE.match(value)
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def duration_ns(text: str) -> float | None:
    """A duration as the engine's health check and stop settings take it (``1m30s``, ``500ms``:
    Go's units, no sign) in nanoseconds, or None if it is not one."""
    parts = list(_GO_DURATION.finditer(text))
    if not parts or "".join(m.group() for m in parts) != text:
        return None
    return sum(float(m.group(1)) * _NANOSECONDS[m.group(2)] for m in parts)
