"""Rules: names."""

from __future__ import annotations

RULES = ()
