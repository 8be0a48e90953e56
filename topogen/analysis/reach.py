"""Reachability: which endpoint can open a connection to which, over what, and by which names.

The model is Docker Engine 20.10+ on Linux with its default iptables/nftables firewall and
``userland-proxy`` (the embedded DNS server on user-defined networks, ``DOCKER-ISOLATION``
chains between bridges). Podman (netavark/CNI) isolates differently and Docker Desktop puts
the engine in a VM, so neither is modelled. The rules:

- Two containers reach each other when they share a network whose driver lets members talk:
  bridge unless inter-container communication is off (``icc: false``), overlay (across
  nodes), macvlan unless ``macvlan_mode: private``, ipvlan, third-party drivers.
- ``network_mode: service:X`` / ``container:X`` share X's namespace: the same reachability,
  reached at X's addresses and names (``via`` then ends with ``namespace``). ``none`` and an
  unknown ``container:`` reach nothing and are reached by nothing.
- ``network_mode: host`` is the host: such a service reaches and is reached like ``host``.
- ``host -> X``: the host routes to container IPs on bridge networks (internal too), to the
  ``docker_gwbridge`` address of non-internal overlay members, and to published ports on
  localhost; never to macvlan/ipvlan members through their parent. ``X -> host``: through the
  gateway of a bridge (internal too) or of ``docker_gwbridge``.
- ``X -> external`` (egress) needs a non-internal network: bridge, overlay (through
  ``docker_gwbridge``), macvlan/ipvlan with a ``parent``; without a parent they get a dummy
  one, as isolated as ``internal``.
- ``external -> X`` (ingress) goes through published ports not bound to loopback, and only
  when X has a non-internal bridge or overlay network (moby/moby#36174); members of a
  macvlan/ipvlan network with a parent are on the LAN and reached directly; host-network
  services are reached on their own ports. ``external -> host`` is reported unreachable:
  published ports are attributed to their containers, and the host's own services are unknown.
- ``X -> Y`` also goes through Y's published ports (not loopback-bound) on the host when X
  has a non-internal bridge: the host's NAT and userland proxy forward it even across bridges
  and with ICC off (checked on Engine 20.10.24); ``via`` then holds ``published-port``.
  Containers on internal networks only cannot do this.
- Not modelled: firewall rules added outside Docker (``DOCKER-USER``), ``extra_hosts``,
  replicas' own names, Compose's default container names, IPv6-only paths.

Where versions and runtimes differ: bridge ``gateway_mode_ipv4``/``_ipv6`` (Engine 27+:
``routed`` and 28+: ``nat-unprotected`` let other machines reach container IPs directly;
28+: ``isolated`` removes even the host's gateway on internal networks) is treated as the
default ``nat``. Engine 28 also drops packets from other machines addressed to container IPs,
which the model already assumes. Podman's netavark has no ICC switch, and rootless Podman
or rootless Docker put containers in a user namespace the host cannot route to.

Everything here is a pure function of :class:`topogen.resolved.Topology`. :class:`Index` is
built once in linear time and answers one :meth:`Index.pair` in time proportional to the
networks of the two endpoints, so policy proofs never materialise the full matrix;
:func:`analyze` does, for the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import resolved
from .index import Index, Namespace, Net
from .pairs import (
    DEFAULT_BRIDGE,
    EXTERNAL,
    HOST,
    PSEUDO,
    VIA_GWBRIDGE,
    VIA_HOST,
    VIA_NAMESPACE,
    VIA_PUBLISHED,
    Matrix,
    Pair,
)

__all__ = [
    "DEFAULT_BRIDGE",
    "EXTERNAL",
    "HOST",
    "PSEUDO",
    "VIA_GWBRIDGE",
    "VIA_HOST",
    "VIA_NAMESPACE",
    "VIA_PUBLISHED",
    "Index",
    "Matrix",
    "Namespace",
    "Net",
    "Pair",
    "analyze",
]


def analyze(
    topo: resolved.Topology,
    sources: Iterable[str] | None = None,
    targets: Iterable[str] | None = None,
) -> Matrix:
    """Every ordered pair of distinct endpoints (O(n^2), for the CLI), or only the pairs
    from ``sources`` and to ``targets`` when given (unknown names are ignored)."""
    index = Index(topo)
    ends = index.endpoints()
    froms = _subset(ends, sources)
    tos = _subset(ends, targets)
    services = topo.services
    return Matrix(
        ends,
        tuple(
            index.pair(a, b)
            for a in froms
            for b in tos
            if a != b
            and (a not in services or b not in services or topo.together(services[a], services[b]))
        ),
    )


def _subset(ends: tuple[str, ...], wanted: Iterable[str] | None) -> tuple[str, ...]:
    if wanted is None:
        return ends
    chosen = set(wanted)
    return tuple(e for e in ends if e in chosen)
