"""Engine preflight (``topogen validate --engine``): the topology beside what the engine has.

Each conflict is a :class:`~topogen.diagnostics.Diagnostic` at the topology's line, found
before anything is created:

- a subnet overlapping another network's pool (``docker_gwbridge`` and the default bridge
  included): ``Pool overlaps with other one on this address space`` at ``up``;
- a bridge interface name another network already uses;
- a published host port that a running container already holds;
- a static address on an external network that a container there already has;
- an external network or volume that does not exist.

Resources of the topology's own Compose project (label ``com.docker.compose.project``) are
not conflicts: Compose reuses or recreates them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from .. import resolved as r
from ..diagnostics import Diagnostic, error
from .engine import Engine

BRIDGE_NAME = "com.docker.network.bridge.name"
_GLOBAL = ("overlay",)


def _mine(obj: dict[str, Any], project: str) -> bool:
    labels = obj.get("Labels") or (obj.get("Config") or {}).get("Labels") or {}
    return labels.get("com.docker.compose.project") == project


def subnet_conflicts(
    topo: r.Topology, networks: list[dict[str, Any]], own: str | None = None
) -> Iterator[Diagnostic]:
    """Declared subnets that overlap an existing network's pool in the same address space."""
    for n in topo.networks.values():
        if n.external or n.implicit:
            continue
        scope = "swarm" if n.driver in _GLOBAL else "local"
        for other in networks:
            if (
                other.get("Name") == n.name
                or _mine(other, own or topo.name)
                or (other.get("Scope") or "local") != scope
            ):
                continue
            for cfg in (other.get("IPAM") or {}).get("Config") or []:
                yield from _overlap(n, other["Name"], cfg.get("Subnet", ""))


def _overlap(n: r.Network, other: str, text: str) -> Iterator[Diagnostic]:
    try:
        theirs = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return
    for pool in n.pools:
        if (
            pool.subnet is not None
            and pool.subnet.version == theirs.version
            and pool.subnet.overlaps(theirs)
        ):
            yield error(
                "engine-pool-overlap",
                f"subnet {pool.subnet} overlaps network {other!r} ({theirs}) on the engine; "
                "`up` would fail with 'Pool overlaps with other one on this address space'",
                (*pool.path, "subnet"),
                hint=f"pick a free subnet or remove network {other!r}",
            )


def bridge_name_conflicts(
    topo: r.Topology, networks: list[dict[str, Any]], own: str | None = None
) -> Iterator[Diagnostic]:
    taken = {
        (o.get("Options") or {}).get(BRIDGE_NAME): o["Name"]
        for o in networks
        if (o.get("Options") or {}).get(BRIDGE_NAME) and not _mine(o, own or topo.name)
    }
    for n in topo.networks.values():
        name = n.bridge_name or dict(n.driver_opts).get(BRIDGE_NAME)
        if not n.external and name in taken and taken[name] != n.name:
            yield error(
                "engine-bridge-name-taken",
                f"bridge interface {name!r} is already used by network "
                f"{taken[name]!r} on the engine",
                (*n.path, "bridge_name"),
            )


def _host_ports(
    containers: list[dict[str, Any]], project: str
) -> dict[tuple[int, str], tuple[str, str]]:
    """(host port, protocol) -> (host IP, container name) of running containers' bindings."""
    held: dict[tuple[int, str], tuple[str, str]] = {}
    for c in containers:
        if _mine(c, project) or not (c.get("State") or {}).get("Running"):
            continue
        for key, binds in ((c.get("NetworkSettings") or {}).get("Ports") or {}).items():
            proto = key.partition("/")[2] or "tcp"
            for b in binds or []:
                if str(b.get("HostPort", "")).isdigit():
                    held.setdefault(
                        (int(b["HostPort"]), proto),
                        (b.get("HostIp") or "0.0.0.0", c.get("Name", "").lstrip("/")),
                    )
    return held


def _same_ip(a: str | None, b: str) -> bool:
    wild = ("", "0.0.0.0", "::", None)
    return a in wild or b in wild or a == b


def port_conflicts(
    topo: r.Topology, containers: list[dict[str, Any]], own: str | None = None
) -> Iterator[Diagnostic]:
    held = _host_ports(containers, own or topo.name)
    for s in topo.services.values():
        for p in s.ports:
            if p.published is None:
                continue
            for port in range(p.published.start, p.published.end + 1):
                hit = held.get((port, p.protocol))
                if hit and _same_ip(p.host_ip, hit[0]):
                    yield error(
                        "engine-port-in-use",
                        f"host port {port}/{p.protocol} is already published by "
                        f"container {hit[1]!r} ({hit[0]}:{port})",
                        p.path,
                    )
                    break


def address_conflicts(topo: r.Topology, networks: list[dict[str, Any]]) -> Iterator[Diagnostic]:
    """Static addresses on an existing (external) network that a container there already has."""
    by_name = {o.get("Name"): o for o in networks}
    for s in topo.services.values():
        for a in s.attachments:
            net = topo.networks.get(a.network)
            if net is None or not net.external or a.ipv4_address is None or net.name not in by_name:
                continue
            other = by_name[net.name]
            for c in (other.get("Containers") or {}).values():
                if str(c.get("IPv4Address", "")).split("/")[0] == str(a.ipv4_address):
                    yield error(
                        "engine-address-in-use",
                        f"{a.ipv4_address} is already used by container "
                        f"{c.get('Name', '?')!r} on network {net.name!r}",
                        (*a.path, "ipv4_address"),
                    )


def missing_externals(
    topo: r.Topology, networks: list[dict[str, Any]], volumes: set[str]
) -> Iterator[Diagnostic]:
    names = {o.get("Name") for o in networks}
    for n in topo.networks.values():
        if n.external and n.name not in names:
            yield error(
                "engine-external-missing",
                f"external network {n.name!r} does not exist on the engine",
                (*n.path, "external"),
                hint=f"docker network create {n.name}",
            )
    for v in topo.volumes.values():
        name = v.name or v.key
        if v.external and name not in volumes:
            yield error(
                "engine-external-missing",
                f"external volume {name!r} does not exist on the engine",
                (*v.path, "external"),
                hint=f"docker volume create {name}",
            )


def preflight(topo: r.Topology, engine: Engine, project: str | None = "") -> list[Diagnostic]:
    """Every conflict between the topology and the engine (unlocated: paths only).

    ``project``: the Compose project whose resources are not conflicts (default: the
    topology's name; None: none are exempt, as for a run under another project name)."""
    own = topo.name if project == "" else (project or "\0")
    networks = engine.networks()
    containers = engine.containers()
    return [
        *subnet_conflicts(topo, networks, own),
        *bridge_name_conflicts(topo, networks, own),
        *port_conflicts(topo, containers, own),
        *address_conflicts(topo, networks),
        *missing_externals(topo, networks, engine.volume_names()),
    ]
