"""Rules: drivers."""

from __future__ import annotations

RULES = ()
