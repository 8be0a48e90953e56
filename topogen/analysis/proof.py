"""Policy proofs: why a policy does not hold, as a sentence, from one pair of the analysis.

Only the edges a policy names are evaluated (``isolated`` visits the subject's pairs with
every other service), never the whole matrix.
"""

from __future__ import annotations

from ..resolved import Policy, PortRange
from . import reach
from .reach import EXTERNAL, HOST, Index, Pair

_HOP = {
    reach.VIA_HOST: "the host network",
    reach.VIA_PUBLISHED: "published ports",
    reach.VIA_NAMESPACE: "a shared network namespace",
    reach.VIA_GWBRIDGE: "docker_gwbridge",
}


def describe(pair: Pair) -> str:
    """``web-server reaches postgres-db via network backend``."""
    nets = [h for h in pair.via if h not in _HOP]
    hops = [f"network{'s' if len(nets) > 1 else ''} {', '.join(nets)}"] if nets else []
    hops += [_HOP[h] for h in pair.via if h in _HOP]
    text = f"{pair.source} reaches {pair.target} via {' and '.join(hops)}"
    if pair.published and reach.VIA_PUBLISHED in pair.via:
        text += f" (host port{'s' if len(pair.published) > 1 else ''} {', '.join(map(str, pair.published))})"
    return text


def prove(index: Index, p: Policy) -> str:
    """Why ``p`` does not hold in the indexed topology, or "" when it does."""
    if p.kind == "no_egress" and p.subject is not None:
        pair = index.pair(p.subject, EXTERNAL)
        return describe(pair) if pair.reachable else ""
    if p.kind == "isolated" and p.subject is not None:
        return _isolated(index, p.subject)
    if p.edge is None:
        return ""
    pair = index.pair(p.edge.source, p.edge.target)
    port, proto = p.edge.port, p.edge.protocol
    if p.kind == "deny":
        if not pair.reachable or (port is not None and not _open(index, pair, port, proto)):
            return ""
        on = f" on port {port}/{proto}" if port is not None else ""
        return describe(pair) + on + (_unfiltered(pair) if port is not None else "")
    if not pair.reachable:
        return f"{pair.source} cannot reach {pair.target}: {why_not(index, pair)}"
    if port is not None and not _open(index, pair, port, proto):
        return (
            f"{describe(pair)}, but not on port {port}/{proto}"
            f" (published: {_published(index, pair) or 'none'})"
        )
    return ""


def _isolated(index: Index, subject: str) -> str:
    found = [
        pair
        for other in sorted(index.topo.services)
        if other != subject and other not in reach.PSEUDO
        for pair in (index.pair(subject, other), index.pair(other, subject))
        if pair.reachable
    ]
    if not found:
        return ""
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return describe(found[0]) + more


def _open(index: Index, pair: Pair, port: int, proto: str) -> bool:
    """Whether ``port`` is reachable on a reachable pair: direct paths do not filter ports."""
    if any(h != reach.VIA_PUBLISHED for h in pair.via):
        return True
    published = index.published(pair.target, remote=pair.source != HOST)
    return any(
        p.protocol == proto
        and (_within(port, p.target) or (p.published and _within(port, p.published)))
        for p in published
    )


def _within(port: int, rng: PortRange) -> bool:
    return rng.start <= port <= rng.end


def _unfiltered(pair: Pair) -> str:
    direct = [h for h in pair.via if h != reach.VIA_PUBLISHED]
    return (
        " (Docker does not filter ports on a shared network)"
        if direct and pair.target != EXTERNAL
        else ""
    )


def _published(index: Index, pair: Pair) -> str:
    ports = index.published(pair.target, remote=pair.source != HOST)
    return ", ".join(f"{p.published or '?'}->{p.target}/{p.protocol}" for p in ports)


def why_not(index: Index, pair: Pair) -> str:
    """A sentence saying why ``pair`` is unreachable."""
    for end in (pair.source, pair.target):
        if end not in reach.PSEUDO and index.spaces[end].kind in ("none", "unknown"):
            return f"{end} has no network ({_mode(index, end)})"
    if pair.target == EXTERNAL:
        return f"{pair.source} has no non-internal network ({_nets(index, pair.source)})"
    if pair.source == EXTERNAL:
        return _no_ingress(index, pair.target)
    if HOST in (pair.source, pair.target):
        other = pair.target if pair.source == HOST else pair.source
        return f"no bridge network connects {other} and the host ({_nets(index, other)})"
    a, b = index.spaces[pair.source], index.spaces[pair.target]
    shared = [k for k in a.nets if k in b.nets]
    if shared:
        return (
            f"they share only network{'s' if len(shared) > 1 else ''} {', '.join(shared)}, "
            f"where containers cannot talk to each other (icc disabled or macvlan private mode)"
        )
    return f"no shared network ({pair.source}: {_nets(index, pair.source)}; {pair.target}: {_nets(index, pair.target)})"


def _mode(index: Index, name: str) -> str:
    return f"network_mode {index.topo.services[name].network_mode}"


def _nets(index: Index, name: str) -> str:
    if name == HOST:
        return "host"
    ns = index.spaces[name]
    if ns.kind == "host":
        return "network_mode host"
    return (
        ", ".join(f"{k}{' (internal)' if index.nets[k].internal else ''}" for k in ns.nets)
        or "no networks"
    )


def _no_ingress(index: Index, target: str) -> str:
    if target == HOST:
        return "topogen does not model the host's own services"
    service = index.topo.services[target]
    if not service.ports:
        return f"{target} publishes no ports and is on no macvlan/ipvlan LAN"
    if not index.published(target, remote=False):
        return (
            f"{target}'s published ports are unreachable: it has no non-internal bridge or overlay network "
            f"({_nets(index, target)})"
        )
    return f"{target} publishes its ports on loopback only"
