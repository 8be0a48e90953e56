"""The smallest change that would connect an unreachable pair, or the policy that forbids it:
a :class:`Fact` of kind ``fix`` at the place to edit."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .facts import Fact, peers_off, policy_text, states_intent
from .reach import EXTERNAL, HOST, PSEUDO, Index, Pair


def fix(index: Index, pair: Pair, port: int | None, proto: str) -> Fact | None:
    for p in index.topo.policies:
        if p.kind == "deny" and states_intent(p, pair):
            return Fact("fix", "deny", f"a policy forbids it: {policy_text(p)}", p.path)
    for end in (pair.source, pair.target):
        if end not in PSEUDO and index.spaces[end].kind in ("none", "unknown"):
            s = index.topo.services[end]
            return Fact(
                "fix",
                "network_mode",
                f"give {end} a network instead of network_mode {s.network_mode}",
                (*s.path, "network_mode"),
            )
    if pair.reachable and port is not None:
        return _publish(index, pair.target, f"publish port {port}/{proto} of {pair.target}")
    if pair.source == EXTERNAL:
        return None if pair.target == HOST else _ingress(index, pair.target)
    if pair.target == EXTERNAL:
        return _egress(index, pair.source)
    if HOST in (pair.source, pair.target):
        other = _owner(index, pair.target if pair.source == HOST else pair.source)
        return _join(index, other, _first(index, index.topo.networks, "bridge"), "a bridge network")
    return _between(index, pair.source, pair.target)


def _between(index: Index, source: str, target: str) -> Fact | None:
    a, b = index.spaces[source], index.spaces[target]
    for key in (k for k in a.nets if k in b.nets):
        net = index.topo.networks.get(key)
        off = peers_off(net) if net is not None else None
        if off is not None:
            return replace(off, kind="fix", text=f"turn it on: {off.text}")
    bridge = _first(index, index.topo.networks, "bridge")
    if b.kind == "host":
        return _join(index, _owner(index, source), bridge, "a bridge network")
    if a.kind == "host":
        return _join(index, _owner(index, target), bridge, "a bridge network")
    usable = [k for k in b.nets if index.nets[k].peers]
    return _join(index, a.owner, usable[0] if usable else None, f"a network of {b.owner}")


def _owner(index: Index, name: str) -> str:
    """The service whose configuration decides ``name``'s network (itself, or the one whose
    namespace it shares)."""
    owner = index.spaces[name].owner
    return owner if owner in index.topo.services else name


def _first(index: Index, nets: Any, driver: str) -> str | None:
    return next((k for k in sorted(nets) if index.nets[k].driver == driver), None)


def _join(index: Index, name: str, network: str | None, fallback: str) -> Fact:
    s = index.topo.services[name]
    listed = any(a.path != s.path for a in s.attachments)
    path = (*s.path, "networks") if listed and s.network_mode is None else s.path
    key = "networks" if path != s.path else name
    return Fact("fix", key, f"add {name} to {f'network {network}' if network else fallback}", path)


def _publish(index: Index, name: str, text: str) -> Fact:
    s = index.topo.services[_owner(index, name)]
    path = (*s.path, "ports") if s.ports else s.path
    return Fact("fix", "ports" if s.ports else s.name, text, path)


def _ingress(index: Index, target: str) -> Fact | None:
    ns = index.spaces[target]
    s = index.topo.services[_owner(index, target)]
    if not s.ports:
        return _publish(index, target, f"publish a port of {s.name}")
    if not index.hairpin(ns):
        return _join(index, s.name, None, "a network that is not internal")
    p = s.ports[0]
    return Fact(
        "fix",
        str(p.target.start),
        f"publish on all addresses, not {p.host_ip}",
        p.path,
    )


def _egress(index: Index, source: str) -> Fact | None:
    ns = index.spaces[source]
    for key in ns.nets:
        net = index.topo.networks.get(key)
        if net is not None and net.internal:
            return Fact(
                "fix", "internal", f"make network {key} not internal", (*net.path, "internal")
            )
    return _join(index, _owner(index, source), None, "a network that is not internal")
