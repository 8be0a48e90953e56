"""Why one endpoint reaches another (or not): the verdict of :meth:`Index.pair` and every
fact of the topology behind it, each with the path that wrote it.

Pure functions over the resolved topology and its :class:`Index`; the pipeline's source map
turns each fact's ``path`` into ``file:line:col`` (:func:`locate`). A fact's ``key`` is the
word the cited line holds (a network's name, ``internal``, a port number, a policy's kind).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from .. import resolved
from ..diagnostics import Path
from . import proof, reach
from .reach import EXTERNAL, HOST, PSEUDO, Index, Pair

Where = Callable[[Path], tuple[str, int, int]]


@dataclass(frozen=True)
class Fact:
    """One located statement: ``kind`` is network_mode, attachment, network, shared, internal,
    icc, external, port, policy or fix."""

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


@dataclass(frozen=True)
class Explanation:
    """The verdict on ``source -> target`` (on ``port`` when given), its facts and, when
    unreachable, the smallest change that would connect the pair (``fix``)."""

    pair: Pair
    reachable: bool
    verdict: str
    facts: tuple[Fact, ...]
    fix: Fact | None = None
    port: int | None = None
    protocol: str = "tcp"

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.pair.source,
            "to": self.pair.target,
            "port": self.port,
            "protocol": self.protocol if self.port is not None else None,
            "reachable": self.reachable,
            "verdict": self.verdict,
            "via": list(self.pair.via) if self.reachable else [],
            "facts": [f.to_json() for f in self.facts],
            "fix": self.fix.to_json() if self.fix else None,
        }

    def render(self) -> str:
        lines = [f"{self.verdict}"]
        lines += [f"  {f.at}: {f.text} ({f.kind})" for f in self.facts]
        if self.fix is not None:
            lines.append(f"  fix: {self.fix.text} at {self.fix.at}")
        return "\n".join(lines) + "\n"


def parse_target(text: str) -> tuple[str, int | None, str]:
    """``db``, ``db:5432`` or ``db:53/udp`` -> (name, port, protocol); ValueError when malformed."""
    name, sep, rest = text.partition(":")
    if not sep:
        return name, None, "tcp"
    number, _, proto = rest.partition("/")
    proto = proto or "tcp"
    if not number.isdigit() or not 0 < int(number) < 65536 or proto not in ("tcp", "udp", "sctp"):
        raise ValueError(f"{text!r} is not NAME[:PORT[/tcp|udp|sctp]]")
    return name, int(number), proto


def unknown(name: str, endpoints: tuple[str, ...]) -> str | None:
    """None for a known endpoint, else a message with a "did you mean" when one is close."""
    if name in endpoints:
        return None
    close = difflib.get_close_matches(name, endpoints, n=1, cutoff=0.6)
    return f"unknown endpoint {name}" + (f": did you mean {close[0]}?" if close else "")


def explain(
    index: Index, source: str, target: str, port: int | None = None, protocol: str = "tcp"
) -> Explanation:
    """The verdict on one ordered pair and its facts (not yet located: see :func:`locate`)."""
    pair = index.pair(source, target)
    together = _together(index, source, target)
    reachable = pair.reachable and together
    if reachable and port is not None:
        reachable = proof._open(index, pair, port, protocol)
    facts = tuple(dict.fromkeys(_facts(index, pair)))
    verdict = _verdict(index, pair, together, port, protocol, reachable)
    fix = None if reachable or not together else _fix(index, pair, port, protocol)
    return Explanation(pair, reachable, verdict, facts, fix, port, protocol)


def locate(expl: Explanation, where: Where) -> Explanation:
    """Every fact with the file, line and column of its path."""

    def one(f: Fact) -> Fact:
        file, line, col = where(f.path)
        return replace(f, file=file, line=line, col=col)

    return replace(
        expl,
        facts=tuple(one(f) for f in expl.facts),
        fix=one(expl.fix) if expl.fix is not None else None,
    )


def _together(index: Index, source: str, target: str) -> bool:
    services = index.topo.services
    if source in PSEUDO or target in PSEUDO:
        return True
    return index.topo.together(services[source], services[target])


def _verdict(
    index: Index, pair: Pair, together: bool, port: int | None, proto: str, reachable: bool
) -> str:
    head = f"{pair.source} -> {pair.target}" + (f":{port}/{proto}" if port is not None else "")
    if not together:
        return f"{head}: unreachable: they never run together (their profiles differ)"
    if not pair.reachable:
        return f"{head}: unreachable: {proof.why_not(index, pair)}"
    if not reachable:
        return f"{head}: unreachable on that port: {proof.describe(pair)}, but only through published ports"
    return f"{head}: reachable: {proof.describe(pair)}"


# ---------------------------------------------------------------------- facts


def _facts(index: Index, pair: Pair) -> Iterator[Fact]:
    ends = [e for e in (pair.source, pair.target) if e not in PSEUDO]
    for end in ends:
        yield from _endpoint(index, end)
    if len(ends) == 2:
        yield from _shared(index, *ends)
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
    off = _peers_off(n)
    if off is not None:
        yield off


def _peers_off(n: resolved.Network) -> Fact | None:
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
        if not _names(p, pair):
            continue
        outcome = "violated" if proof.prove(index, p) else "holds"
        yield Fact("policy", p.kind, f"policy {policy_text(p)} {outcome}", p.path)


def _names(p: resolved.Policy, pair: Pair) -> bool:
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


# ---------------------------------------------------------------------- the smallest change


def _fix(index: Index, pair: Pair, port: int | None, proto: str) -> Fact | None:
    for p in index.topo.policies:
        if p.kind == "deny" and _names(p, pair):
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
        off = _peers_off(net) if net is not None else None
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


__all__ = ["EXTERNAL", "HOST", "Explanation", "Fact", "explain", "locate", "reach"]
