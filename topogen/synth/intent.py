"""The intent a layout must carry: which service reaches which, who needs egress, and the
reach that Docker adds whatever the layout (published ports seen through the host).

Sources: ``allow`` policies, the needed connections given by the caller, the ``egress`` list
of the ``synthesize`` block, ``allow: {from: X, to: external}``. ``deny``, ``isolated`` and
``no_egress`` policies win over inferred needs (a need they forbid is dropped) and over the
egress list. Stated intents Docker cannot express are warnings at the policy's line.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from .. import resolved
from ..diagnostics import Path

EXTERNAL = "external"
Flow = tuple[str, str]


@dataclass(frozen=True)
class Note:
    """Something a layout cannot carry as stated; :mod:`topogen.rules.synthesis` reports it
    as the warning ``synth-<kind>``."""

    kind: str  # one-way | port-only | published-reach | conflict | not-carried
    message: str
    path: Path
    hint: str = ""


@dataclass(frozen=True)
class Intent:
    """Directed flows among the synthesized services and what the layout must add for them."""

    scope: tuple[str, ...]  # the services the layout places
    flows: frozenset[Flow]  # intended (source, target), both in scope
    egress: frozenset[str]  # on the non-internal bridge: stated egress or ports to publish
    published: frozenset[str]  # services whose ports other containers reach through the host
    notes: tuple[Note, ...] = field(default=())

    @cached_property
    def forced(self) -> frozenset[Flow]:
        """Flows Docker adds to any layout with this egress: every container on a non-internal
        bridge reaches every published port through the host (see analysis.reach)."""
        return frozenset((a, b) for a in self.egress for b in self.published if a != b)

    @cached_property
    def edges(self) -> frozenset[Flow]:
        """The undirected pairs that must share a network: intended flows not already forced."""
        forced = self.forced
        return frozenset(_key(a, b) for a, b in self.flows if (a, b) not in forced)

    @cached_property
    def expected(self) -> frozenset[Flow]:
        """The service pairs a layout carrying this intent makes reachable (directed)."""
        both = {f for a, b in self.edges for f in ((a, b), (b, a))}
        return frozenset(both | self.forced)


def _key(a: str, b: str) -> Flow:
    return (a, b) if a < b else (b, a)


def gather(
    topo: resolved.Topology,
    scope: Iterable[str],
    needs: Iterable[Flow] = (),
    egress: Iterable[str] = (),
) -> Intent:
    """The intent of ``topo`` for the services in ``scope`` (``needs``: needed connections)."""
    places = tuple(sorted(s for s in scope if s in topo.services))
    inside = set(places)
    allowed = [p for p in topo.policies if p.kind == "allow" and p.edge is not None]
    denied = {_flow(p) for p in topo.policies if p.kind == "deny" and p.edge is not None}
    alone = {p.subject for p in topo.policies if p.kind == "isolated"}
    closed = {p.subject for p in topo.policies if p.kind == "no_egress"}
    found: list[Note] = []
    flows: set[Flow] = set()
    for p in allowed:
        src, dst = _flow(p)
        if src in inside and dst in inside and src != dst:
            flows.add((src, dst))
        elif EXTERNAL not in (src, dst) and "host" not in (src, dst) and inside & {src, dst}:
            found.append(_not_carried(p, src, dst, inside))
    for src, dst in needs:
        ok = src in inside and dst in inside and src != dst
        if ok and (src, dst) not in denied and not alone & {src, dst}:
            flows.add((src, dst))
    egress = list(egress)
    if places and "swarm" in topo.targets:
        found.append(
            Note(
                "conflict",
                "synthesized networks are written for the Compose target only: the swarm "
                "stack keeps the networks as written",
                ("synthesize",),
            )
        )
    found += [
        Note("conflict", f"synthesize.egress names {name}, which is not a service", path)
        for i, name in enumerate(egress)
        if name not in topo.services
        for path in [("synthesize", "egress", i)]
    ]
    wanted = set(egress) | {_flow(p)[0] for p in allowed if _flow(p)[1] == EXTERNAL}
    ports = {s for s in places if topo.services[s].ports}
    found += _closed(topo, closed & inside, wanted, ports)
    outward = ((wanted & inside) | ports) - closed
    published = {s for s in ports - closed if _remote(topo.services[s])}
    intent = Intent(places, frozenset(flows), frozenset(outward), frozenset(published))
    found += _limits(topo, intent, allowed)
    return Intent(intent.scope, intent.flows, intent.egress, intent.published, tuple(found))


def _flow(p: resolved.Policy) -> Flow:
    assert p.edge is not None
    return (p.edge.source, p.edge.target)


def _remote(s: resolved.Service) -> bool:
    """Whether some published port is reachable from other containers (not loopback-bound)."""
    return any(not _loopback(p.host_ip) for p in s.ports)


def _loopback(host_ip: str | None) -> bool:
    try:
        return host_ip is not None and ipaddress.ip_address(host_ip.strip("[]")).is_loopback
    except ValueError:
        return False


def _not_carried(p: resolved.Policy, src: str, dst: str, inside: set[str]) -> Note:
    other = dst if src in inside else src
    return Note(
        "not-carried",
        f"allow {src} -> {dst} is not carried by the synthesized networks: {other} keeps "
        "its own networks (or network_mode)",
        p.path,
        hint=f"remove the networks of {other} so that it is synthesized too",
    )


def _closed(
    topo: resolved.Topology, closed: set[str | None], wanted: set[str], ports: set[str]
) -> list[Note]:
    out = []
    for p in topo.policies:
        if p.kind != "no_egress" or p.subject not in closed:
            continue
        if p.subject in wanted:
            what = f"{p.subject} is asked to have egress, but no_egress keeps it internal"
        elif p.subject in ports:
            what = f"{p.subject} publishes ports, which need a non-internal network: no_egress keeps it internal, so its ports are not reachable"
        else:
            continue
        out.append(Note("conflict", what, p.path))
    return out


def _limits(topo: resolved.Topology, intent: Intent, allowed: list[resolved.Policy]) -> list[Note]:
    """Warnings for stated intents a layout cannot express exactly."""
    out = []
    edges = intent.edges
    stated = set(intent.flows)
    for p in allowed:
        src, dst = _flow(p)
        assert p.edge is not None
        if p.edge.port is not None and (src, dst) in stated:
            out.append(
                Note(
                    "port-only",
                    f"allow {src} -> {dst} names port {p.edge.port}, but a network carries every "
                    f"port: {src} reaches every port of {dst}",
                    (*p.path, "port"),
                )
            )
        back = (dst, src)
        if _key(src, dst) in edges and back not in stated and back not in intent.forced:
            out.append(
                Note(
                    "one-way",
                    f"a shared network is symmetric: carrying {src} -> {dst} also lets "
                    f"{dst} reach {src}",
                    p.path,
                    hint=f"state it (allow {dst} -> {src}) or deny it with a firewall outside Docker",
                )
            )
        if dst == EXTERNAL or src != EXTERNAL or dst not in intent.scope:
            continue
        if dst not in intent.published:
            out.append(
                Note(
                    "conflict",
                    f"allow external -> {dst} needs a published port on {dst}",
                    p.path,
                    hint=f"add ports: to {dst}",
                )
            )
    return out + _published_reach(topo, intent)


def _published_reach(topo: resolved.Topology, intent: Intent) -> list[Note]:
    out = []
    for target in sorted(intent.published):
        extra = sorted(a for a in intent.egress if a != target and (a, target) not in intent.flows)
        if extra:
            out.append(
                Note(
                    "published-reach",
                    f"the published ports of {target} are reachable through the host from every "
                    f"service on the egress network: {', '.join(extra)}",
                    (*topo.services[target].path, "ports"),
                    hint="bind the ports to 127.0.0.1 if only the host needs them",
                )
            )
    return out
