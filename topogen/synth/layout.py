"""From an intent to networks: one internal network per clique of the cover, one egress
bridge with ICC off, one internal ICC-off network for services with no peer, subnets from
the pool.

Names come from the members (``api-db``), so adding or removing a service renames only the
networks it is in; the egress and isolated networks are ``egress`` and ``isolated``. A name
already taken (a hand-written network) gets ``-2``, ``-3``... in name order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from . import cover, subnets
from .intent import Flow, Intent

ICC = "com.docker.network.bridge.enable_icc"
EGRESS = "egress"
ISOLATED = "isolated"
_LONG = 40


@dataclass(frozen=True)
class Network:
    """One generated network and the flows it is there for."""

    key: str
    members: tuple[str, ...]
    role: str  # peers | egress | isolated
    subnet: str
    flows: tuple[Flow, ...] = ()

    @property
    def internal(self) -> bool:
        return self.role != EGRESS

    def body(self) -> dict[str, object]:
        """The network in Compose's spelling."""
        out: dict[str, object] = {"driver": "bridge"}
        if self.internal:
            out["internal"] = True
        if self.role != "peers":
            out["driver_opts"] = {ICC: "false"}
        out["ipam"] = {"config": [{"subnet": self.subnet}]}
        return out

    def comment(self) -> str:
        """What the network is for, one line (the build writes it above the network)."""
        if self.role == EGRESS:
            return f"egress for {', '.join(self.members)} (ICC off: no traffic between members)"
        if self.role == ISOLATED:
            return f"no intended peers: {', '.join(self.members)} (internal, ICC off)"
        return "carries " + ", ".join(f"{a} -> {b}" for a, b in self.flows)


@dataclass(frozen=True)
class Layout:
    """The synthesized networks, which services join which, and what the layout proves."""

    intent: Intent
    networks: tuple[Network, ...]
    services: Mapping[str, tuple[str, ...]]
    auto: Mapping[str, str] = field(default_factory=dict)  # hand-written ``subnet: auto``

    def comments(self) -> dict[str, str]:
        return {n.key: n.comment() for n in self.networks}


def synthesize(
    intent: Intent,
    *,
    pool: str = subnets.DEFAULT_POOL,
    prefix: int = subnets.DEFAULT_PREFIX,
    taken: Iterable[str] = (),
    avoid: Iterable[str] = (),
    auto: Iterable[str] = (),
) -> Layout:
    """The layout for ``intent``; ``taken``: network keys in use, ``avoid``: subnets in use,
    ``auto``: hand-written networks that get a subnet from the same pool.

    Raises ValueError (pool unusable or exhausted)."""
    cliques = cover.cover(intent.edges)
    keys = _names(cliques, set(taken))
    members: list[tuple[str, tuple[str, ...], str]] = [
        (keys[c], tuple(sorted(c)), "peers") for c in cliques
    ]
    placed = {s for c in cliques for s in c}
    if intent.egress:
        members.append((_free(EGRESS, set(taken)), tuple(sorted(intent.egress)), EGRESS))
    alone = tuple(s for s in intent.scope if s not in placed and s not in intent.egress)
    if alone:
        members.append((_free(ISOLATED, set(taken)), alone, ISOLATED))
    net = subnets.parse_pool(pool, prefix)
    sizes = {k: len(m) for k, m, _ in members} | {k: 1 for k in auto}
    given = subnets.allocate(sizes, net, prefix, subnets.declared(avoid))
    flows = _carried(intent, cliques, keys)
    networks = tuple(
        Network(k, m, role, given[k], flows.get(k, ())) for k, m, role in sorted(members)
    )
    joined: dict[str, list[str]] = {s: [] for s in intent.scope}
    for n in networks:
        for s in n.members:
            joined[s].append(n.key)
    return Layout(
        intent,
        networks,
        {s: tuple(sorted(v)) for s, v in joined.items()},
        {k: given[k] for k in sorted(auto)},
    )


def _carried(
    intent: Intent, cliques: list[cover.Clique], keys: dict[cover.Clique, str]
) -> dict[str, tuple[Flow, ...]]:
    """Each intended flow, on the first network (by name) that carries it."""
    out: dict[str, list[Flow]] = {}
    forced = intent.forced
    ordered = sorted(cliques, key=lambda c: keys[c])
    holding: dict[str, list[cover.Clique]] = {}
    for c in ordered:
        for s in c:
            holding.setdefault(s, []).append(c)
    for a, b in sorted(intent.flows):
        if (a, b) in forced:
            continue
        home = next(c for c in holding[a] if b in c)
        out.setdefault(keys[home], []).append((a, b))
    return {k: tuple(v) for k, v in out.items()}


def _names(cliques: list[cover.Clique], taken: set[str]) -> dict[cover.Clique, str]:
    out: dict[cover.Clique, str] = {}
    used = set(taken) | {EGRESS, ISOLATED}
    for c in sorted(cliques, key=lambda c: (_name(c), sorted(c))):
        key = _free(_name(c), used)
        used.add(key)
        out[c] = key
    return out


def _name(c: cover.Clique) -> str:
    m = sorted(c)
    joined = "-".join(m)
    if len(joined) <= _LONG:
        return joined
    digest = hashlib.sha256("\0".join(m).encode()).hexdigest()[:6]
    return f"{m[0][:16]}-{m[1][:16]}-{len(m) - 2}more-{digest}"


def _free(name: str, used: set[str]) -> str:
    if name not in used:
        return name
    n = 2
    while f"{name}-{n}" in used:
        n += 1
    return f"{name}-{n}"
