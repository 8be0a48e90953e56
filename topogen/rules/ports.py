"""Rules: ports."""

from __future__ import annotations

RULES = ()
