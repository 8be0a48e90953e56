"""What the engine says about a running Compose project, in the topology's own terms."""

from __future__ import annotations

from typing import Any

from .. import resolved as r
from .engine import Engine
from .plan import Runtime

_LAN = ("macvlan", "ipvlan")


def project_containers(engine: Engine, project: str) -> dict[str, list[dict[str, Any]]]:
    """service -> inspected containers (sorted by replica number)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for c in engine.containers(f"label=com.docker.compose.project={project}"):
        labels = c.get("Config", {}).get("Labels") or {}
        found.setdefault(labels.get("com.docker.compose.service", ""), []).append(c)
    for items in found.values():
        items.sort(
            key=lambda c: int(
                (c["Config"]["Labels"] or {}).get("com.docker.compose.container-number", "1")
            )
        )
    return found


def network_names(topo: r.Topology, project: str) -> dict[str, str]:
    """engine network name -> topology key, for this project (plus the default bridge)."""
    names = {"bridge": "bridge"}
    for key, n in topo.networks.items():
        default = n.key if n.external else f"{topo.name}_{key}"
        engine_name = n.name if n.name != default else (key if n.external else f"{project}_{key}")
        names[engine_name] = key
    return names


def collect(
    engine: Engine, topo: r.Topology, project: str
) -> tuple[Runtime, dict[str, list[dict[str, Any]]]]:
    containers = project_containers(engine, project)
    names = network_names(topo, project)
    nets = {n["Name"]: n for n in engine.inspect("network", sorted(names))}
    gateways: dict[str, str] = {}
    drivers: dict[str, str] = {}
    isolated: dict[str, bool] = {}
    for name, n in nets.items():
        key = names[name]
        drivers[key] = n.get("Driver", "")
        parent = (n.get("Options") or {}).get("parent", "")
        isolated[key] = bool(n.get("Internal")) or (
            drivers[key] in _LAN and (not parent or parent.startswith("dm-"))
        )
        for cfg in (n.get("IPAM") or {}).get("Config") or []:
            if cfg.get("Gateway") and ":" not in cfg["Gateway"]:
                gateways.setdefault(key, cfg["Gateway"])
    addresses: dict[str, dict[str, tuple[str, ...]]] = {}
    for service, items in containers.items():
        per: dict[str, list[str]] = {}
        for c in items:
            for name, ep in ((c.get("NetworkSettings") or {}).get("Networks") or {}).items():
                net_key = names.get(name)
                if net_key and ep.get("IPAddress"):
                    key = net_key
                    per.setdefault(key, []).append(ep["IPAddress"])
                    if key not in gateways and ep.get("Gateway"):
                        gateways[key] = ep["Gateway"]
        addresses[service] = {k: tuple(v) for k, v in per.items()}
    ids = {s: items[0]["Id"] for s, items in containers.items() if items}
    return Runtime(ids, addresses, gateways, drivers, isolated), containers


def not_running(topo: r.Topology, containers: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Services with no running container. Probes run in each service's namespace, so every
    service must keep running (a one-off job does with ``--stub-image``)."""
    bad = []
    for name in topo.services:
        items = containers.get(name, [])
        if not items or not all((c.get("State") or {}).get("Running") for c in items):
            bad.append(name)
    return bad
