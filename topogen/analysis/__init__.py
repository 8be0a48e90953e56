"""Analyses: pure functions over the resolved topology (reachability, policy proofs)."""

from __future__ import annotations
