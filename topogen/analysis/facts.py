"""The facts of the topology behind one pair's answer, each with the path that wrote it: the
networks each side is on and their settings, the published ports and their bind address,
``network_mode``, the policies that name the pair. A fact's ``key`` is the word the cited line
holds (a network's name, ``internal``, a port number, a policy's kind).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import resolved
from ..diagnostics import Path
from . import proof
from .reach import EXTERNAL, PSEUDO, Index, Pair

Where = Callable[[Path], tuple[str, int, int]]


@dataclass(frozen=True)
class Fact:
    """One located statement: ``kind`` is network_mode, attachment, network, shared, internal,
    icc, external, name, port, policy or fix."""

    kind: str
    key: str
    text: str
    path: Path
    file: str = ""
    line: int = 0
    col: int = 0

    @property
    def identity(self) -> tuple[str, str, str]:
        """What the fact says, without where: equal facts on two sides of a diff."""
        return (self.kind, self.key, self.text)

    @property
    def at(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": list(self.path),
            "kind": self.kind,
            "key": self.key,
            "text": self.text,
        }


def facts(index: Index, pair: Pair) -> Iterator[Fact]:
    """The facts behind ``pair`` (unlocated): each service end's network_mode, networks and
    their settings, the networks both share, the target's published ports, the policies."""
    ends = [e for e in (pair.source, pair.target) if e not in PSEUDO]
    for end in ends:
        yield from _endpoint(index, end)
    if len(ends) == 2:
        yield from _shared(index, *ends)
        yield from _names(index, *ends)
    if pair.target not in PSEUDO and pair.source != pair.target:
        yield from _ports(index, pair.target)
    yield from _policies(index, pair)


def _endpoint(index: Index, name: str) -> Iterator[Fact]:
    s = index.topo.services[name]
    if s.network_mode is not None:
        yield Fact(
            "network_mode",
            "network_mode",
            f"{name} has network_mode {s.network_mode}",
            (*s.path, "network_mode"),
        )
    owner = index.spaces[name].owner
    if owner in index.topo.services and index.spaces[name].kind == "networks":
        yield from _attachments(index, index.topo.services[owner])


def _attachments(index: Index, s: resolved.Service) -> Iterator[Fact]:
    if s.network_mode is not None:
        return
    for a in s.attachments:
        net = index.topo.networks.get(a.network)
        if net is None:
            continue
        if a.path == s.path:  # no networks key: Compose's default network
            yield Fact(
                "attachment",
                s.name,
                f"{s.name} is on the default network (no networks key)",
                a.path,
            )
        else:
            yield Fact("attachment", a.network, f"{s.name} is on network {a.network}", a.path)
        yield from _network(net)


def _network(n: resolved.Network) -> Iterator[Fact]:
    if n.implicit:
        return
    yield Fact("network", n.key, f"network {n.key} uses driver {n.driver}", n.path)
    if n.internal:
        yield Fact(
            "internal",
            "internal",
            f"network {n.key} is internal: no route outside, its published ports are unreachable",
            (*n.path, "internal"),
        )
    if n.external:
        yield Fact("external", "external", f"network {n.key} is external", (*n.path, "external"))
    off = peers_off(n)
    if off is not None:
        yield off


def peers_off(n: resolved.Network) -> Fact | None:
    """The setting that stops members of ``n`` talking to each other, if one does."""
    opts = dict(n.driver_opts)
    icc_opt = "com.docker.network.bridge.enable_icc"
    if n.driver == "bridge" and (
        not n.icc or str(opts.get(icc_opt, "true")).lower() in ("false", "0")
    ):
        raw = icc_opt in n.raw_driver_opts
        path = (*n.path, "driver_opts", icc_opt) if raw else (*n.path, "icc")
        text = f"network {n.key} has inter-container communication off"
        return Fact("icc", "enable_icc" if raw else "icc", text, path)
    if n.driver == "macvlan" and str(opts.get("macvlan_mode", "")) == "private":
        raw = "macvlan_mode" in n.raw_driver_opts
        path = (*n.path, "driver_opts", "macvlan_mode") if raw else (*n.path, "macvlan_mode")
        return Fact("icc", "macvlan_mode", f"network {n.key} is macvlan private mode", path)
    return None


def _shared(index: Index, a: str, b: str) -> Iterator[Fact]:
    sa, sb = index.spaces[a], index.spaces[b]
    for key in (k for k in sa.nets if k in sb.nets):
        net = index.topo.networks.get(key)
        talk = "members talk" if index.nets[key].peers else "members cannot talk"
        text = f"{a} and {b} share network {key} ({talk})"
        if net is None or net.implicit:
            owner = index.topo.services[sa.owner]
            yield Fact("shared", owner.name, text, owner.path)
        else:
            yield Fact("shared", key, text, net.path)


def _names(index: Index, a: str, b: str) -> Iterator[Fact]:
    """The names besides its own that ``b`` answers to from ``a``: ``a``'s links to it, and on
    the networks they share with DNS, ``b``'s container_name and aliases."""
    source, target = index.topo.services[a], index.topo.services.get(index.spaces[b].owner)
    for i, (linked, alias) in enumerate(source.links):
        if linked == b and alias != b:
            yield Fact("name", alias, f"{a} links {b} as {alias}", (*source.path, "links", i))
    if target is None:
        return
    shared = [k for k in index.spaces[a].nets if k in index.spaces[b].nets and index.nets[k].dns]
    if not shared:
        return
    if target.container_name:
        text = f"{target.name} has container_name {target.container_name}"
        yield Fact("name", target.container_name, text, (*target.path, "container_name"))
    for att in (t for t in target.attachments if t.network in shared):
        for i, alias in enumerate(att.aliases):
            text = f"{target.name} is also {alias} on network {att.network}"
            yield Fact("name", alias, text, (*att.path, "aliases", i))


def _ports(index: Index, target: str) -> Iterator[Fact]:
    owner = index.topo.services.get(index.spaces[target].owner)
    if owner is None:
        return
    for p in owner.ports:
        bind = p.host_ip or "all addresses"
        text = f"{owner.name} publishes {p.published or 'a random port'}->{p.target}/{p.protocol} on {bind}"
        if p.long_form:
            field = "published" if p.published else "target"
            yield Fact("port", str(p.published or p.target).split("-")[0], text, (*p.path, field))
        else:
            yield Fact("port", str(p.target.start), text, p.path)


def _policies(index: Index, pair: Pair) -> Iterator[Fact]:
    for p in index.topo.policies:
        if not states_intent(p, pair):
            continue
        outcome = "violated" if proof.prove(index, p) else "holds"
        yield Fact("policy", p.kind, f"policy {policy_text(p)} {outcome}", p.path)


def states_intent(p: resolved.Policy, pair: Pair) -> bool:
    """Whether policy ``p`` states the intent for ``pair``."""
    if p.edge is not None:
        return (p.edge.source, p.edge.target) == (pair.source, pair.target)
    if p.kind == "no_egress":
        return (p.subject, EXTERNAL) == (pair.source, pair.target)
    return p.subject in (pair.source, pair.target) and not {pair.source, pair.target} & set(PSEUDO)


def policy_text(p: resolved.Policy) -> str:
    """``deny web -> db``, ``allow api -> db:5432/tcp``, ``no_egress db``."""
    if p.edge is None:
        return f"{p.kind} {p.subject}"
    port = f":{p.edge.port}/{p.edge.protocol}" if p.edge.port is not None else ""
    return f"{p.kind} {p.edge.source} -> {p.edge.target}{port}"
