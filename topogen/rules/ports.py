"""Ports: published host ports that do not collide, and publishing that Docker honours.

The collision check is a sweep over the host bindings sorted by first port (O(n log n)),
keeping, per address class, the binding that reaches furthest; no pairwise loops.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from ..diagnostics import Diagnostic, Path, error, warning
from ..resolved import Service, Topology
from .registry import reports

#: Keys the engine refuses next to ``network_mode: service:X``/``container:X`` (moby
#: ``runconfig/hostconfig_unix.go``), and next to ``host`` (links and mac_address only).
#: ``domainname`` is accepted (checked on Engine 20.10).
CONTAINER_MODE_CONFLICTS: tuple[str, ...] = (
    "ports",
    "expose",
    "hostname",
    "dns",
    "extra_hosts",
    "links",
    "mac_address",
)
HOST_MODE_CONFLICTS: tuple[str, ...] = ("links", "mac_address")

_EXPOSE = re.compile(r"([0-9]+)(?:-([0-9]+))?(?:/(tcp|udp|sctp))?")


class Binding(NamedTuple):
    """One host port range a service occupies."""

    protocol: str
    start: int
    end: int
    address: str  # "any" (both families), "any4", "any6" or the specific address
    family: int  # 4 or 6; 0 for "any"
    service: str
    path: Path


@lru_cache(maxsize=4096)
def _address(host_ip: str | None) -> tuple[str, int] | None:
    if not host_ip:
        return "any", 0
    try:
        ip = ipaddress.ip_address(host_ip.strip("[]"))
    except ValueError:
        return None
    if ip.is_unspecified:
        return f"any{ip.version}", ip.version
    return str(ip), ip.version


def _bindings(s: Service) -> Iterator[Binding]:
    """Host ports of a service; on the host network its container ports are host ports."""
    host = s.network_mode == "host"
    if s.network_mode and not host:
        return
    if host:
        yield from _host_bindings(s)
        return
    for p in s.ports:
        rng = p.published
        if rng is None or (rng.start != rng.end and p.target.start == p.target.end):
            continue  # a random host port, or a range the engine picks one free port from
        addr = _address(p.host_ip)
        if addr is not None:
            path = (*p.path, "published") if p.long_form else p.path
            yield Binding(p.protocol, rng.start, rng.end, addr[0], addr[1], s.name, path)


def _host_bindings(s: Service) -> Iterator[Binding]:
    """A host-network service listens on its container ports; saying one twice is not a collision."""
    seen: set[tuple[str, int, int]] = set()
    ranges = [(p.protocol, p.target.start, p.target.end, p.path) for p in s.ports]
    for i, text in enumerate(s.expose):
        if m := _EXPOSE.fullmatch(text):
            start = int(m.group(1))
            ranges.append(
                (m.group(3) or "tcp", start, int(m.group(2) or start), (*s.path, "expose", i))
            )
    for protocol, start, end, path in ranges:
        if (protocol, start, end) not in seen:
            seen.add((protocol, start, end))
            yield Binding(protocol, start, end, "any", 0, s.name, path)


def _rivals(b: Binding) -> tuple[str, ...]:
    """The reach keys a binding collides with."""
    if b.address == "any":
        return ("fam4", "fam6", "any")
    if b.address.startswith("any"):
        return (f"fam{b.family}", "any")
    return (b.address, f"any{b.family}", "any")


def _claims(b: Binding) -> tuple[str, ...]:
    return ("any",) if b.address == "any" else (b.address, f"fam{b.family}")


@reports(error="duplicate-published-port")
def duplicate_published_port(topo: Topology) -> Iterator[Diagnostic]:
    """The same host address, port and protocol is published twice ("port is already allocated").

    ``a: {ports: ["8080:80"]}`` and ``b: {ports: ["127.0.0.1:8080:8000"]}``: 0.0.0.0 includes 127.0.0.1.
    """
    bindings = sorted(
        (b for s in topo.in_file_order("services") for b in _bindings(s)),
        key=lambda b: (b.protocol, b.start, b.end),
    )  # stable: ties stay in file order
    reach: dict[tuple[str, str], Binding] = {}
    for b in bindings:
        rival = next(
            (r for k in _rivals(b) if (r := reach.get((b.protocol, k))) and r.end >= b.start), None
        )
        if rival is not None:
            port = max(b.start, rival.start)
            where = "all addresses" if b.address == "any" else b.address
            yield error(
                "duplicate-published-port",
                f"host port {port}/{b.protocol} on {where} is already published by service {rival.service}",
                b.path,
                hint="pick another host port or bind distinct host IPs",
            )
        for k in _claims(b):
            held = reach.get((b.protocol, k))
            if held is None or b.end > held.end:
                reach[(b.protocol, k)] = b


@reports(error="invalid-host-ip")
def invalid_host_ip(topo: Topology) -> Iterator[Diagnostic]:
    """A long-form port's ``host_ip`` is not an IP address (Compose: "invalid ip address").

    ``ports: [{target: 80, published: 8080, host_ip: localhost}]``.
    """
    for s in topo.services.values():
        for p in s.ports:
            if p.host_ip and _address(p.host_ip) is None:
                yield error(
                    "invalid-host-ip",
                    f"host_ip {p.host_ip!r} is not an IP address",
                    (*p.path, "host_ip"),
                )


@reports(error="invalid-expose")
def invalid_expose(topo: Topology) -> Iterator[Diagnostic]:
    """An ``expose`` entry is not PORT, PORT-PORT or either with /tcp, /udp or /sctp (Compose and the
    engine store it as written and expose nothing).

    ``expose: ["http"]`` or ``expose: ["90-80"]``.
    """
    for s in topo.services.values():
        for i, text in enumerate(s.expose):
            if "$" in text:
                continue
            m = _EXPOSE.fullmatch(text)
            start, end = (int(m.group(1)), int(m.group(2) or m.group(1))) if m else (0, 0)
            if not 0 < start <= end <= 65535:
                yield error(
                    "invalid-expose",
                    f'service "{s.name}": expose {text!r} is not a port or port range',
                    (*s.path, "expose", i),
                    hint='write e.g. "3000", "8000-8010" or "53/udp"',
                )


@reports(warning="ports-with-host-network")
def ports_with_host_network(topo: Topology) -> Iterator[Diagnostic]:
    """``ports`` on a service with ``network_mode: host`` are discarded by the engine.

    ``{network_mode: host, ports: ["80:80"]}``: the container's port 80 is already the host's.
    """
    for s in topo.services.values():
        if s.network_mode == "host" and s.ports:
            yield warning(
                "ports-with-host-network",
                f"service {s.name} uses the host network: its ports are not published, "
                "the container listens on the host directly",
                (*s.path, "ports"),
                at_key=True,
                hint="remove ports",
            )


@reports(warning="ports-on-internal-network")
def ports_on_internal_network(topo: Topology) -> Iterator[Diagnostic]:
    """A service publishes ports but is attached only to internal networks (unreachable, moby#36174).

    ``networks: {db: {internal: true}}`` and ``services: {pg: {networks: [db], ports: ["5432:5432"]}}``.
    """
    for s in topo.services.values():
        nets = [topo.networks.get(a.network) for a in s.attachments]
        if s.ports and nets and all(n is not None and n.internal for n in nets):
            yield warning(
                "ports-on-internal-network",
                f"service {s.name} is attached only to internal networks: its published ports are unreachable",
                (*s.path, "ports"),
                at_key=True,
                hint="attach it to a non-internal network too",
            )


def _conflicting_keys(s: Service, topo_keys: tuple[str, ...]) -> Iterator[str]:
    present = {
        "ports": bool(s.ports),
        "expose": bool(s.expose),
        "hostname": bool(s.hostname),
        "links": bool(s.links),
        **{k: v not in (None, [], "") for k, v in s.options},
    }
    yield from (k for k in topo_keys if present.get(k))


@reports(error="network-mode-conflict")
def network_mode_conflict(topo: Topology) -> Iterator[Diagnostic]:
    """Keys the engine refuses with a ``service:``/``container:`` (or ``host``) network mode.

    ``{network_mode: "service:app", ports: ["80:80"]}``: publish the port on ``app`` instead.
    """
    for s in topo.services.values():
        mode = s.network_mode or ""
        if mode.startswith(("service:", "container:")):
            keys, kind = CONTAINER_MODE_CONFLICTS, mode.split(":", 1)[0]
        elif mode == "host":
            keys, kind = HOST_MODE_CONFLICTS, "host"
        else:
            continue
        for key in _conflicting_keys(s, keys):
            yield error(
                "network-mode-conflict",
                f"conflicting options: {key} and network_mode {mode} (the engine refuses {key} "
                f"with a {kind} network mode)",
                (*s.path, key),
                at_key=True,
                hint=f"set {key} on {s.mode_target}" if s.mode_target else f"remove {key}",
            )


RULES = (
    duplicate_published_port,
    invalid_host_ip,
    invalid_expose,
    ports_with_host_network,
    ports_on_internal_network,
    network_mode_conflict,
)
