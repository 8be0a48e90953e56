"""The answers of the reachability analysis: :class:`Pair` and :class:`Matrix`, and the names
of the pseudo-endpoints and hops. See :mod:`topogen.analysis.reach` for the model."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

HOST = "host"
EXTERNAL = "external"
PSEUDO = (HOST, EXTERNAL)
VIA_HOST = "host"
VIA_PUBLISHED = "published-port"
VIA_NAMESPACE = "namespace"
VIA_GWBRIDGE = "docker_gwbridge"
DEFAULT_BRIDGE = "bridge"  # network_mode: bridge, Docker's predefined network


@dataclass(frozen=True)
class Pair:
    """Whether ``source`` can open a connection to ``target``."""

    source: str  # a service, "host" or "external"
    target: str
    reachable: bool
    # network keys, or "host", "published-port", "namespace", "docker_gwbridge"
    via: tuple[str, ...]
    # the target's known container ports (expose, ports targets); for external -> X only the
    # published ones; empty = unknown
    ports: tuple[int, ...]
    # DNS names by which source resolves target; empty when none
    names: tuple[str, ...]
    # host ports this pair goes through (published-port hops)
    published: tuple[int, ...] = ()
    # the names again, by the network whose DNS (or /etc/hosts, for links) answers them
    dns: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "reachable": self.reachable,
            "via": list(self.via),
            "ports": list(self.ports),
            "names": list(self.names),
            "published": list(self.published),
            "dns": {net: list(names) for net, names in self.dns},
        }


@dataclass(frozen=True)
class Matrix:
    """Every ordered pair of distinct endpoints: sorted services, then host, external."""

    endpoints: tuple[str, ...]
    pairs: tuple[Pair, ...]

    @cached_property
    def _by_edge(self) -> dict[tuple[str, str], Pair]:
        return {(p.source, p.target): p for p in self.pairs}

    def pair(self, source: str, target: str) -> Pair:
        return self._by_edge[(source, target)]

    def to_json(self) -> dict[str, Any]:
        return {"endpoints": list(self.endpoints), "pairs": [p.to_json() for p in self.pairs]}
