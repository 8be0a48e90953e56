"""Segmentation synthesis: from the intent, the networks (issue 13).

The stage runs on the plain document, between a first resolution (which the intent is read
from) and the final one, so that the rules, ``reach`` and the emitters all see the
synthesized layout as if it had been written by hand:

- :mod:`.intent` gathers the flows (``allow`` policies and the needed connections), egress
  and the reach Docker adds through published ports, with warnings for what a layout cannot
  express;
- :mod:`.cover` finds the fewest cliques covering the flows (a network is a clique);
- :mod:`.layout` names them, adds the egress and isolated networks, and gives subnets
  (:mod:`.subnets`);
- :func:`apply` writes the layout into the document; :mod:`.suggest` rewrites a file's text.

Services that write ``networks:`` or ``network_mode:`` keep them; the others are placed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import resolved
from . import subnets
from .intent import Flow, Intent, Note, gather
from .layout import Layout, Network, synthesize

__all__ = [
    "Flow",
    "Intent",
    "Layout",
    "Network",
    "Note",
    "apply",
    "auto_networks",
    "declared_subnets",
    "gather",
    "plan",
    "scope",
    "subnets",
    "synthesize",
]

AUTO = "auto"


def scope(data: dict[str, Any]) -> list[str]:
    """The services of a document that write neither ``networks:`` nor ``network_mode:``."""
    services = data.get("services")
    if not isinstance(services, dict):
        return []
    return sorted(
        k
        for k, s in services.items()
        if isinstance(s, dict) and "networks" not in s and "network_mode" not in s
    )


def auto_networks(data: dict[str, Any]) -> list[str]:
    """Hand-written networks with ``subnet: auto`` (typed shorthand or an ``ipam`` pool)."""
    networks = data.get("networks")
    if not isinstance(networks, dict):
        return []
    return sorted(k for k, n in networks.items() if isinstance(n, dict) and _has_auto(n))


def _has_auto(n: dict[str, Any]) -> bool:
    if n.get("subnet") == AUTO:
        return True
    return any(p.get("subnet") == AUTO for p in _ipam_pools(n) if isinstance(p, dict))


def _ipam_pools(n: dict[str, Any]) -> list[Any]:
    ipam = n.get("ipam")
    pools = ipam.get("config") if isinstance(ipam, dict) else None
    return [*(pools if isinstance(pools, list) else ()), *(n.get("subnets") or ())]


def declared_subnets(data: dict[str, Any]) -> list[str]:
    """Every subnet the document declares (``auto`` and variables included; the allocator
    skips what is not a CIDR)."""
    networks = data.get("networks")
    out: list[str] = []
    for n in networks.values() if isinstance(networks, dict) else ():
        if isinstance(n, dict):
            out += [str(n["subnet"])] if "subnet" in n else []
            out += [
                str(p["subnet"]) for p in _ipam_pools(n) if isinstance(p, dict) and "subnet" in p
            ]
    return out


def plan(
    data: dict[str, Any],
    topo: resolved.Topology,
    options: Any,
    needs: Iterable[Flow] = (),
    avoid: Iterable[str] = (),
) -> Layout:
    """The layout of a document that asks for synthesis (``options``: its ``synthesize``
    block, or None when only ``subnet: auto`` networks are there); ``needs``: the needed
    connections, ``avoid``: subnets in use elsewhere (the engine's). Raises ValueError when
    the pool cannot be used."""
    places = scope(data) if options is not None else []
    egress = list(getattr(options, "egress", None) or ())
    intent = gather(topo, places, needs if options is not None else (), egress)
    networks = data.get("networks")
    return synthesize(
        intent,
        pool=getattr(options, "pool", None) or subnets.DEFAULT_POOL,
        prefix=getattr(options, "prefix", None) or subnets.DEFAULT_PREFIX,
        taken=networks if isinstance(networks, dict) else (),
        avoid=[*declared_subnets(data), *avoid],
        auto=auto_networks(data),
    )


def apply(data: dict[str, Any], layout: Layout) -> dict[str, Any]:
    """The document with the layout written in (a copy; ``data`` is not changed)."""
    out = dict(data)
    networks = dict(out.get("networks") or {})
    for key, subnet in layout.auto.items():
        networks[key] = _fill(networks[key], subnet)
    for n in layout.networks:
        networks[n.key] = n.body()
    if networks:
        out["networks"] = networks
    services = dict(out.get("services") or {})
    for name, keys in layout.services.items():
        if isinstance(services.get(name), dict):
            services[name] = {**services[name], "networks": list(keys)}
    out["services"] = services
    return out


def _fill(n: dict[str, Any], subnet: str) -> dict[str, Any]:
    """A hand-written network with its ``auto`` subnets replaced by ``subnet``."""
    out = dict(n)
    if out.get("subnet") == AUTO:
        out["subnet"] = subnet
    ipam = out.get("ipam")
    if isinstance(ipam, dict) and isinstance(ipam.get("config"), list):
        out["ipam"] = {**ipam, "config": [_pool(p, subnet) for p in ipam["config"]]}
    if isinstance(out.get("subnets"), list):
        out["subnets"] = [_pool(p, subnet) for p in out["subnets"]]
    return out


def _pool(p: Any, subnet: str) -> Any:
    return {**p, "subnet": subnet} if isinstance(p, dict) and p.get("subnet") == AUTO else p
