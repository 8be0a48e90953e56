"""The reachability index: per-endpoint facts built once, one ordered pair answered at a time.

See :mod:`topogen.analysis.reach` for the model of Docker's networking it implements.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .. import resolved
from .pairs import (
    DEFAULT_BRIDGE,
    EXTERNAL,
    HOST,
    PSEUDO,
    VIA_GWBRIDGE,
    VIA_HOST,
    VIA_NAMESPACE,
    VIA_PUBLISHED,
    Pair,
)

_BRIDGES = ("bridge",)
_LAN = ("macvlan", "ipvlan")


@dataclass(frozen=True)
class Net:
    """One network as the analysis sees it."""

    key: str
    driver: str
    internal: bool
    peers: bool  # members reach each other
    dns: bool  # the embedded DNS resolves members (user-defined networks)
    lan: bool  # macvlan/ipvlan with a parent: members sit on the LAN


@dataclass(frozen=True)
class Namespace:
    """A network namespace: ``kind`` is networks, host, none or unknown; ``owner`` the service
    whose configuration it is."""

    kind: str
    owner: str
    nets: tuple[str, ...] = ()


def _net(n: resolved.Network) -> Net:
    opts = dict(n.driver_opts)
    icc = n.icc and str(opts.get("com.docker.network.bridge.enable_icc", "true")).lower() not in (
        "false",
        "0",
    )
    parent = bool(n.parent or opts.get("parent"))
    peers = {"bridge": icc, "macvlan": str(opts.get("macvlan_mode", "bridge")) != "private"}.get(
        n.driver, True
    )
    return Net(
        n.key, n.driver, n.internal, peers, True, n.driver in _LAN and parent and not n.internal
    )


@dataclass
class Index:
    """Per-endpoint facts, built once; :meth:`pair` answers one ordered pair."""

    topo: resolved.Topology
    nets: dict[str, Net] = field(init=False)
    spaces: dict[str, Namespace] = field(init=False)
    _ports: dict[str, tuple[int, ...]] = field(init=False, default_factory=dict)
    _published: dict[tuple[str, bool], list[resolved.Port]] = field(
        init=False, default_factory=dict
    )
    _hairpin: dict[str, bool] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.nets = {k: _net(n) for k, n in self.topo.networks.items()}
        self.nets.setdefault(
            DEFAULT_BRIDGE, Net(DEFAULT_BRIDGE, "bridge", False, True, False, False)
        )
        by_container = {
            s.container_name: s.name for s in self.topo.services.values() if s.container_name
        }
        self.spaces = {
            name: self._namespace(name, by_container, set()) for name in self.topo.services
        }

    def _namespace(self, name: str, by_container: dict[str, str], seen: set[str]) -> Namespace:
        s = self.topo.services[name]
        mode = s.network_mode
        if mode is None:
            return Namespace(
                "networks",
                name,
                tuple(a.network for a in s.attachments if a.network in self.topo.networks),
            )
        if mode in ("bridge", "default"):  # "default" is the engine's name for bridge on Linux
            return Namespace("networks", name, (DEFAULT_BRIDGE,))
        if mode in ("host", "none"):
            return Namespace(mode, HOST if mode == "host" else name)
        kind, _, target = mode.partition(":")
        target = by_container.get(target, target) if kind == "container" else target
        if (
            kind not in ("service", "container")
            or target not in self.topo.services
            or target in seen | {name}
        ):
            return Namespace("unknown", name)
        return self._namespace(target, by_container, seen | {name})

    # ------------------------------------------------------------------ facts of one endpoint
    def ports(self, name: str) -> tuple[int, ...]:
        """Declared container ports of a service: ``expose`` and ``ports`` targets."""
        if name not in self._ports:
            self._ports[name] = self._declared_ports(name)
        return self._ports[name]

    def _declared_ports(self, name: str) -> tuple[int, ...]:
        s = self.topo.services[name]
        found: set[int] = set()
        for text in s.expose:
            rng = text.split("/", 1)[0].split("-")
            if all(x.isdigit() for x in rng):
                found.update(range(int(rng[0]), int(rng[-1]) + 1))
        for p in s.ports:
            found.update(range(p.target.start, p.target.end + 1))
        return tuple(sorted(found))

    def to_host(self, ns: Namespace) -> tuple[str, ...]:
        if ns.kind == "host":
            return (VIA_HOST,)
        via = [k for k in ns.nets if self.nets[k].driver in _BRIDGES]
        if any(self.nets[k].driver == "overlay" and not self.nets[k].internal for k in ns.nets):
            via.append(VIA_GWBRIDGE)
        return _order(via)

    def egress(self, ns: Namespace) -> tuple[str, ...]:
        if ns.kind == "host":
            return (VIA_HOST,)
        via = []
        for k in ns.nets:
            net = self.nets[k]
            if net.internal or (net.driver in _LAN and not net.lan):
                continue
            via.append(VIA_GWBRIDGE if net.driver == "overlay" else k)
        return _order(via)

    def published(self, name: str, *, remote: bool) -> list[resolved.Port]:
        """Published ports that work (a non-internal bridge/overlay); ``remote``: not loopback-bound."""
        key = (name, remote)
        if key not in self._published:
            self._published[key] = self._working_ports(name, remote)
        return self._published[key]

    def _working_ports(self, name: str, remote: bool) -> list[resolved.Port]:
        ns = self.spaces[name]
        s = self.topo.services.get(ns.owner)
        if s is None:
            return []
        if ns.kind != "networks" or not self.hairpin(ns):
            return []
        return [p for p in s.ports if not (remote and _loopback(p.host_ip))]

    # ------------------------------------------------------------------ pairs
    def pair(self, source: str, target: str) -> Pair:
        """Whether ``source`` reaches ``target``; both are services, ``host`` or ``external``."""
        if source == EXTERNAL:
            return self._from_external(target)
        if target == EXTERNAL:
            via = (VIA_HOST,) if source == HOST else self.egress(self.spaces[source])
            return Pair(source, target, bool(via), via, (), ())
        if source == HOST:
            return self._from_host(target)
        ns = self.spaces[source]
        if ns.kind in ("none", "unknown"):
            return Pair(source, target, False, (), (), ())
        if target == HOST:
            via = self.to_host(ns)
            return Pair(source, target, bool(via), via, (), ())
        if ns.kind == "host":
            return self._from_host(target, source)
        return self._between(source, target)

    def _between(self, source: str, target: str) -> Pair:
        a, b = self.spaces[source], self.spaces[target]
        ports = self.ports(target)
        if b.kind in ("none", "unknown"):
            return Pair(source, target, False, (), (), ())
        if a.owner == b.owner:
            if a.kind == "host":
                return Pair(source, target, True, (VIA_HOST,), ports, ("localhost",))
            # one namespace, one resolver: the owner's own names answer with the shared address
            # (checked on Engine 20.10.24: app-proxy resolves main-app, and back)
            dns = self.names(a.owner, a.owner, list(a.nets))
            names = tuple(sorted({"localhost", *(n for _net, found in dns for n in found)}))
            return Pair(source, target, True, (VIA_NAMESPACE,), ports, names, (), dns)
        if b.kind == "host":
            up = self.to_host(a)
            return Pair(source, target, bool(up), up, ports, ())
        shared = [k for k in a.nets if k in b.nets]
        via = [k for k in shared if self.nets[k].peers]
        published = self.published(target, remote=True) if self.hairpin(a) else []
        if published and not via:  # only through the host: only the ports it publishes
            ports = _targets(published)
        if published:
            via.append(VIA_PUBLISHED)
        if via and (source != a.owner or target != b.owner):
            via.append(VIA_NAMESPACE)
        dns = self.names(a.owner, b.owner, shared)
        names = tuple(sorted({n for _net, found in dns for n in found}))
        return Pair(
            source, target, bool(via), _order(via), ports, names, _host_ports(published), dns
        )

    def hairpin(self, ns: Namespace) -> bool:
        """Whether a container reaches the host's published ports: through the gateway of a
        non-internal bridge (ICC off too; verified on Engine 20.10.24 with the userland proxy)."""
        if ns.owner not in self._hairpin:
            self._hairpin[ns.owner] = any(
                self.nets[k].driver in ("bridge", "overlay") and not self.nets[k].internal
                for k in ns.nets
            )
        return self._hairpin[ns.owner]

    def names(
        self, source: str, target: str, shared: list[str]
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """DNS names of ``target`` seen from ``source``, per network they share: the service
        name, container_name and aliases on user-defined networks, link aliases on any."""
        t = self.topo.services[target]
        links = [
            n
            for linked, alias in self.topo.services[source].links
            if linked == target
            for n in (linked, alias)
        ]
        out = []
        for key in sorted(shared):
            found = set(links)
            if self.nets[key].dns:
                found.add(target)
                found.update([t.container_name] if t.container_name else [])
                found.update(
                    alias for a in t.attachments if a.network == key for alias in a.aliases
                )
            if found:
                out.append((key, tuple(sorted(found))))
        return tuple(out)

    def _from_host(self, target: str, source: str = HOST) -> Pair:
        ns = self.spaces[target]
        ports = self.ports(target)
        if ns.kind in ("none", "unknown"):
            return Pair(source, target, False, (), (), ())
        if ns.kind == "host":
            return Pair(source, target, True, (VIA_HOST,), ports, ("localhost",))
        via = list(self.to_host(ns))
        published = self.published(target, remote=False)
        if published:
            via.append(VIA_PUBLISHED)
        return Pair(source, target, bool(via), _order(via), ports, (), _host_ports(published))

    def _from_external(self, target: str) -> Pair:
        if target == HOST:
            return Pair(EXTERNAL, HOST, False, (), (), ())
        ns = self.spaces[target]
        if ns.kind == "host":
            return Pair(EXTERNAL, target, True, (VIA_HOST,), self.ports(target), ())
        if ns.kind != "networks":
            return Pair(EXTERNAL, target, False, (), (), ())
        lan = [k for k in ns.nets if self.nets[k].lan]
        published = self.published(target, remote=True)
        via = lan + ([VIA_PUBLISHED] if published else [])
        ports = self.ports(target) if lan else _targets(published)
        return Pair(EXTERNAL, target, bool(via), _order(via), ports, (), _host_ports(published))

    def endpoints(self) -> tuple[str, ...]:
        """Sorted services, then host and external (which hide services of the same name)."""
        return (*sorted(s for s in self.topo.services if s not in PSEUDO), HOST, EXTERNAL)


def _order(via: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Network keys sorted, then the pseudo hops in a fixed order."""
    hops = (VIA_HOST, VIA_GWBRIDGE, VIA_PUBLISHED, VIA_NAMESPACE)
    unique = set(via)
    return (*sorted(unique - set(hops)), *(h for h in hops if h in unique))


def _loopback(host_ip: str | None) -> bool:
    try:
        return host_ip is not None and ipaddress.ip_address(host_ip.strip("[]")).is_loopback
    except ValueError:
        return False


def _targets(ports: list[resolved.Port]) -> tuple[int, ...]:
    return tuple(sorted({n for p in ports for n in range(p.target.start, p.target.end + 1)}))


def _host_ports(ports: list[resolved.Port]) -> tuple[int, ...]:
    return tuple(
        sorted(
            {n for p in ports if p.published for n in range(p.published.start, p.published.end + 1)}
        )
    )
