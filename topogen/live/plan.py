"""Probe planning: which probes each source runs, as a pure function of the topology, the
predicted matrix and what the engine says about the running project (:class:`Runtime`).

Safety: a probe only ever targets an address of the topology under test: a container's
address on one of its networks (only on networks the source shares, or on bridge networks,
which the host routes locally and never forwards off the machine), a gateway of a bridge
network of the project, or loopback. Egress is observed from the routing table, never by
sending traffic out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from shlex import quote
from typing import Any

from .. import resolved as r
from ..analysis import reach
from .stub import probe_ports, udp_ports

HOST, EXTERNAL = reach.HOST, reach.EXTERNAL
LOOPBACK = "127.0.0.1"
MAX_UDP = 4  # declared UDP ports probed per pair (plus the canary)
CANARY = 33434  # traceroute's first port: rarely listened on


def udp_canary(declared: tuple[int, ...]) -> int:
    """An undeclared UDP port: its ICMP port-unreachable shows that datagrams reach the target's
    kernel, so silence on a declared port then means that something listens there."""
    port = CANARY
    while port in declared:
        port += 1
    return port


@dataclass(frozen=True)
class Probe:
    """One check run from ``source``'s network namespace (``host``: the engine's host)."""

    id: int
    source: str
    target: str
    kind: str  # tcp | udp | ping | dns | route
    address: str = ""  # IP or name (tcp, udp, ping, dns)
    port: int | None = None  # tcp, udp: the port connected or sent to
    target_port: int | None = None  # tcp, udp: the target's container port behind ``port``
    by_name: bool = False
    allowed: tuple[str, ...] = ()  # by_name: connect only if the name resolves to one of these
    published: bool = False  # tcp: a published port at a host address (the host may refuse)
    canary: bool = False  # udp: a port the target does not declare (see :func:`udp_canary`)


@dataclass(frozen=True)
class Runtime:
    """The running project as the engine reports it (network keys are the topology's)."""

    containers: Mapping[str, str]  # service -> container id (first replica)
    addresses: Mapping[str, Mapping[str, tuple[str, ...]]]  # service -> network key -> IPv4s
    gateways: Mapping[str, str]  # network key -> gateway IPv4
    drivers: Mapping[str, str]  # network key -> driver
    isolated: Mapping[str, bool] = field(default_factory=dict)  # internal, or a dummy parent

    def all_addresses(self, service: str) -> set[str]:
        return {ip for ips in self.addresses.get(service, {}).values() for ip in ips}


def candidate_names(topo: r.Topology, source: str, target: str, owner: str) -> tuple[str, ...]:
    """Every name that could resolve to ``target`` from ``source``: the target's and its
    namespace owner's service name, container_name and aliases, and the source's link aliases."""
    names: set[str] = set()
    for name in {target, owner} & set(topo.services):
        s = topo.services[name]
        names.add(name)
        names.update([s.container_name] if s.container_name else [])
        names.update(alias for a in s.attachments for alias in a.aliases)
    if source in topo.services:
        names.update(
            alias for linked, alias in topo.services[source].links if linked in (target, owner)
        )
    return tuple(sorted(names))


class Planner:
    """Builds the probes of every source; ids are assigned in order."""

    def __init__(self, topo: r.Topology, matrix: Any, rt: Runtime) -> None:
        self.topo, self.matrix, self.rt = topo, matrix, rt
        self.spaces = reach.Index(topo).spaces
        self.probes: list[Probe] = []

    def add(
        self,
        source: str,
        target: str,
        kind: str,
        address: str = "",
        port: int | None = None,
        target_port: int | None = None,
        by_name: bool = False,
        allowed: tuple[str, ...] = (),
        published: bool = False,
        canary: bool = False,
    ) -> None:
        self.probes.append(
            Probe(
                len(self.probes),
                source,
                target,
                kind,
                address,
                port,
                target_port if target_port is not None else port,
                by_name,
                allowed,
                published,
                canary,
            )
        )

    # ------------------------------------------------------------------ sources
    def in_host(self, source: str) -> bool:
        return source == HOST or self.spaces[source].kind == "host"

    def owner(self, name: str) -> str:
        return HOST if name == HOST else self.spaces[name].owner

    def nets(self, source: str) -> tuple[str, ...]:
        if source == HOST or self.spaces[source].kind != "networks":
            return ()
        return self.spaces[source].nets

    def run(self) -> list[Probe]:
        sources = [*sorted(self.topo.services), HOST]
        for s in sources:
            for t in (*sorted(self.topo.services), HOST, EXTERNAL):
                if s != t:
                    self.pair(s, t)
        return self.probes

    def pair(self, s: str, t: str) -> None:
        if t == EXTERNAL:
            self.add(s, t, "route")
        elif t == HOST:
            self.to_host(s)
        else:
            self.to_service(s, t)

    # ------------------------------------------------------------------ targets
    def to_host(self, s: str) -> None:
        for address in [LOOPBACK] if self.in_host(s) else self.bridge_gateways(s):
            self.add(s, HOST, "ping", address)

    def to_service(self, s: str, t: str) -> None:
        tspace = self.spaces[t]
        ports = probe_ports(self.topo, t)
        if not self.in_host(s):
            for name in candidate_names(self.topo, s, t, tspace.owner):
                self.add(s, t, "dns", name)
        if tspace.kind in ("none", "unknown"):
            return
        if self.owner(s) == tspace.owner:
            ips = [LOOPBACK]
        elif tspace.kind == "host":
            ips = self.bridge_gateways(s)
        else:
            ips = list(self.safe_addresses(s, tspace.owner))
        self.addresses(s, t, ips, ports)
        self.udp(s, t, ips[:1])
        if self.owner(s) != tspace.owner and tspace.kind != "host":
            # the host's published ports: on loopback from the host, on the gateways from a container
            self.published(
                s, tspace.owner, [LOOPBACK] if self.in_host(s) else self.bridge_gateways(s), t
            )
        self.by_name(s, t, ports)

    def bridge_gateways(self, s: str) -> list[str]:
        return [
            self.rt.gateways[k]
            for k in self.nets(s)
            if self.rt.drivers.get(k) == "bridge" and k in self.rt.gateways
        ]

    def safe_addresses(self, s: str, owner: str) -> Iterator[str]:
        """The target's addresses that a probe from ``s`` may use (see the module docstring)."""
        mine = set(self.nets(s))
        # addresses on a shared network first: the UDP probes use only the first one
        for k, ips in sorted(
            self.rt.addresses.get(owner, {}).items(), key=lambda kv: (kv[0] not in mine, kv[0])
        ):
            if k in mine or self.rt.drivers.get(k) == "bridge":
                yield from ips

    def addresses(self, s: str, t: str, ips: list[str], ports: tuple[int, ...]) -> None:
        for ip in ips:
            self.add(s, t, "ping", ip)
            for p in ports:
                self.add(s, t, "tcp", ip, p)

    def udp(self, s: str, t: str, ips: list[str]) -> None:
        """The target's declared UDP ports and one undeclared port, at one address: ICMP
        port-unreachable errors are rate-limited (a burst of 6 per peer), so one address and
        at most :data:`MAX_UDP` ports per pair."""
        ports = udp_ports(self.topo.services[t])[:MAX_UDP]
        for ip in ips if ports else ():
            for p in ports:
                self.add(s, t, "udp", ip, p)
            self.add(s, t, "udp", ip, udp_canary(ports), canary=True)

    def published(self, s: str, owner: str, hosts: list[str], t: str) -> None:
        """TCP connects to the published ports of ``t``'s namespace (its ``owner``'s) at the
        given host addresses."""
        for port in self.topo.services[owner].ports:
            if port.protocol != "tcp" or port.published is None:
                continue
            for offset in range(min(port.published.end - port.published.start + 1, 8)):
                for host in hosts:
                    self.add(
                        s,
                        t,
                        "tcp",
                        host,
                        port.published.start + offset,
                        port.target.start + offset,
                        published=True,
                    )

    def by_name(self, s: str, t: str, ports: tuple[int, ...]) -> None:
        """Connects by each predicted name, but only to an address of the target (a name
        that resolves elsewhere, say through an upstream DNS server, is not connected to)."""
        allowed = tuple(self.safe_addresses(s, self.spaces[t].owner))
        for name in self.matrix.pair(s, t).names:
            if name != "localhost" and allowed:
                for p in ports:
                    self.add(s, t, "tcp", name, p, by_name=True, allowed=allowed)


def plan(topo: r.Topology, matrix: Any, rt: Runtime) -> list[Probe]:
    """Every probe for every ordered pair whose source can run probes."""
    return Planner(topo, matrix, rt).run()


# ---------------------------------------------------------------------- shell


def command(p: Probe, timeout: int = 2) -> str:
    """The busybox command of one probe; it prints ``@@ <id> <rc> <output on one line>``."""
    body = {
        # stderr kept ("Connection refused" vs "timed out"), whatever the peer sends dropped
        "tcp": _by_name(p)
        if p.by_name
        else f"nc -w 1 {quote(p.address)} {p.port} </dev/null 2>&1 >/dev/null",
        # one UDP datagram to the port, with TTL 3 (enough for a hop through the host); the
        # first probe of traceroute goes to its base port + 1
        "udp": f"traceroute -n -q 1 -w 1 -f 3 -m 3 -p {(p.port or 1) - 1} {quote(p.address)} 2>&1",
        "ping": f"ping -c 1 -W 1 {quote(p.address)} 2>&1",
        "dns": f"nslookup {quote(p.address)} 2>&1",
        "route": "ip -4 route show default 2>&1",
    }[p.kind]
    return f'( o=$(timeout {timeout + 1} {body}); rc=$?; echo "@@ {p.id} $rc $(echo $o)" ) &'


def _by_name(p: Probe) -> str:
    resolve = f"nslookup {quote(p.address)} 2>/dev/null | awk '/^Name:/{{n=1}} n && /^Address/{{print $NF; exit}}'"
    allowed = " ".join(p.allowed)
    return (
        f"sh -c 'a=$({resolve.replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}); "
        f'case " {allowed} " in *" $a "*) nc -w 1 $a {p.port} </dev/null >/dev/null 2>&1;; *) exit 1;; esac\''
    )


def script(probes: list[Probe]) -> str:
    """A shell program that runs the probes in parallel and waits for all of them."""
    return "\n".join([*(command(p) for p in probes), "wait"]) + "\n"


def parse(output: str) -> dict[int, tuple[int, str]]:
    """``{probe id: (return code, output)}`` from the lines a probe script printed."""
    found: dict[int, tuple[int, str]] = {}
    for line in output.splitlines():
        parts = line.split(" ", 3)
        if (
            len(parts) >= 3
            and parts[0] == "@@"
            and parts[1].isdigit()
            and parts[2].lstrip("-").isdigit()
        ):
            found[int(parts[1])] = (int(parts[2]), parts[3] if len(parts) > 3 else "")
    return found
