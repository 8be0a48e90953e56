"""Rewrite a compiled Compose file for a live run: stub images and a safe macvlan parent.

A stub is a busybox container that listens on every TCP port the service declares
(``ports`` targets and ``expose``), so the network plumbing can be tested without pulling
or starting the real images. It listens on no UDP port on purpose: its kernel then answers
every datagram that reaches it with ICMP port-unreachable, which the UDP probe observes. Everything else that shapes networking and storage (networks,
addresses, aliases, network modes, mounts, published ports) is left exactly as compiled.
"""

from __future__ import annotations

import copy
from typing import Any

from .. import resolved as r
from ..keys import STUB_DROPPED

MAX_PORTS = 32  # per service: a range such as 8000-9000 is probed on its first ports only
# Keys that start, check or constrain the real program and mean nothing for a stub.
_DROP = STUB_DROPPED


def declared_ports(service: r.Service, protocol: str) -> tuple[int, ...]:
    """The container ports a service declares for ``protocol`` (``ports`` targets and ``expose``)."""
    found: list[int] = []
    for p in service.ports:
        if p.protocol == protocol:
            found.extend(range(p.target.start, p.target.end + 1))
    for text in service.expose:
        port, _, proto = str(text).partition("/")
        start, _, end = port.partition("-")
        if (proto or "tcp") == protocol and start.isdigit():
            found.extend(range(int(start), int(end or start) + 1))
    return tuple(sorted(set(found)))[:MAX_PORTS]


def tcp_ports(service: r.Service) -> tuple[int, ...]:
    """The container ports a service declares for TCP (``ports`` targets and ``expose``)."""
    return declared_ports(service, "tcp")


def udp_ports(service: r.Service) -> tuple[int, ...]:
    """The container ports a service declares for UDP. A stub does not listen on them: its
    kernel answers a datagram with ICMP port-unreachable, which is what the probe observes."""
    return declared_ports(service, "udp")


def probe_ports(topo: r.Topology, service: str) -> tuple[int, ...]:
    """TCP ports a stub listens on and probes connect to: the declared ones, plus the ports
    that policies name for this service."""
    extra = {
        p.edge.port
        for p in topo.policies
        if p.edge and p.edge.target == service and p.edge.port and p.edge.protocol == "tcp"
    }
    return tuple(sorted(set(tcp_ports(topo.services[service])) | extra))


def stub_script(ports: tuple[int, ...]) -> str:
    """A shell program that listens on each port until SIGTERM (busybox ``nc -ll -e true``)."""
    listen = "".join(f"nc -ll -p {p} -e true & " for p in ports)
    return f"trap 'exit 0' TERM INT; {listen}while :; do sleep 3600 & wait $!; done"


def rewrite(
    compose: dict[str, Any],
    topo: r.Topology,
    *,
    stub_image: str | None = None,
    parent: str | None = None,
) -> dict[str, Any]:
    """A copy of the Compose document with stub services and/or the macvlan/ipvlan parent swapped."""
    doc = copy.deepcopy(compose)
    for svc in (doc.get("services") or {}).values():
        svc.pop("profiles", None)  # verify the whole topology, not only the default profile
    if stub_image:
        for name, svc in (doc.get("services") or {}).items():
            if name in topo.services:
                _stub_service(svc, stub_image, probe_ports(topo, name))
    if parent:
        for net in (doc.get("networks") or {}).values():
            if (
                isinstance(net, dict)
                and net.get("driver") in ("macvlan", "ipvlan")
                and not net.get("external")
            ):
                net.setdefault("driver_opts", {})["parent"] = parent
    return doc


def _stub_service(svc: dict[str, Any], image: str, ports: tuple[int, ...]) -> None:
    for key in _DROP:
        svc.pop(key, None)
    svc["image"] = image
    svc["entrypoint"] = ["/bin/sh", "-c"]
    svc["command"] = [stub_script(ports)]
    svc["stop_grace_period"] = "2s"
    svc["pull_policy"] = "never"
    deps = svc.get("depends_on")
    if isinstance(deps, dict):
        # the stub has no healthcheck and never completes: only "started" can be met
        for dep in deps.values():
            if isinstance(dep, dict) and "condition" in dep:
                dep["condition"] = "service_started"
