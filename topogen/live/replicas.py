"""Replicas in ``verify --attach``: every running container of a service is probed from and
probed at. The probes run once per replica number (:meth:`Attach._replicas`); this module
folds the rounds into one observation per pair and marks the replicas that disagree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import compare


def merge(
    slices: list[dict[tuple[str, str], compare.Observed]],
) -> dict[tuple[str, str], compare.Observed]:
    """One observation per pair from the rounds of each source replica (``verify --attach``):
    reachable when one replica reached the target; a replica that saw otherwise is a conflict."""
    seen: dict[tuple[str, str], compare.Observed] = {}
    for k, part in enumerate(slices):
        for pair, o in part.items():
            first = seen.setdefault(pair, o)
            if first is o:
                continue
            if first.reachable != o.reachable:
                first.conflicts.append(
                    f"source replica {k + 1} observed {'reachable' if o.reachable else 'unreachable'}"
                )
            _add(first, o)
    return seen


def conflicts(
    seen: Mapping[tuple[str, str], compare.Observed], replicas: Mapping[str, list[set[str]]]
) -> None:
    """Mark pairs where one replica of the target answered and another, probed at all its
    addresses, did not."""
    for (_, target), o in seen.items():
        per = replicas.get(target, [])
        hit = [bool(ips & o.reached_ips) for ips in per]
        silent = [i for i, ips in enumerate(per) if ips and ips <= o.probed_ips and not hit[i]]
        if any(hit) and silent:
            o.conflicts.append(
                f"target replica(s) {', '.join(str(i + 1) for i in silent)} did not answer"
            )


def _add(first: compare.Observed, o: compare.Observed) -> None:
    """Fold another replica's observation of the same pair into ``first``."""
    first.reachable |= o.reachable
    first.udp_path |= o.udp_path
    first.dns_probed |= o.dns_probed
    for name in (
        "ports",
        "closed",
        "names",
        "tcp_probed",
        "udp_probed",
        "udp_closed",
        "udp_silent",
        "probed_ips",
        "reached_ips",
    ):
        getattr(first, name).update(getattr(o, name))
    first.evidence += o.evidence


def addresses(up: Mapping[str, list[dict[str, Any]]]) -> dict[str, list[set[str]]]:
    """service -> the IPv4 addresses of each running replica (only services with several)."""
    found: dict[str, list[set[str]]] = {}
    for service, items in up.items():
        if len(items) > 1:
            found[service] = [
                {
                    ep.get("IPAddress", "")
                    for ep in ((c.get("NetworkSettings") or {}).get("Networks") or {}).values()
                }
                - {""}
                for c in items
            ]
    return found
