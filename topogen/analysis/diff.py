"""What a change to a topology opens or closes: the pairs whose reachability, path, ports or names
changed, the exposure (``host``, ``external``, published ports and their bind address) that
changed, and the policies whose outcome changed; each with the place that caused it.

Pure functions over two resolved topologies. Only pairs with an endpoint whose
:func:`fingerprint` differs between the sides are evaluated: a pair's answer depends on its
two endpoints' namespaces, networks, ports and profiles alone, so a change that moves a few
services costs time proportional to those services, not to the N^2 matrix. The cause of a
pair's change is the first fact of :mod:`explain` that one side states and the other does not
(in NEW; in OLD for something removed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import resolved
from . import proof
from .explain import Fact, Where, explain, policy_text
from .reach import EXTERNAL, HOST, PSEUDO, Index, Pair

#: The order in which facts are preferred as the cause of a change: the most specific first.
_CAUSES = (
    "network_mode",
    "icc",
    "internal",
    "port",
    "name",
    "attachment",
    "shared",
    "external",
    "network",
    "policy",
)
KINDS = ("reachability", "path", "ports", "names", "exposure", "policy")


@dataclass
class Side:
    """One side of a diff: the resolved topology, its index, and how to locate a path."""

    topo: resolved.Topology
    where: Where
    name: str = "new"  # or "old"
    index: Index = field(init=False)

    def __post_init__(self) -> None:
        self.index = Index(self.topo)


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` is reachability, path, ports, names, exposure or policy; ``cause``
    the located fact that made it, found in the ``side`` (new or old) that states it."""

    kind: str
    source: str
    target: str
    before: str
    after: str
    cause: Fact | None = None
    side: str = "new"

    def to_json(self) -> dict[str, Any]:
        c = self.cause
        return {
            "kind": self.kind,
            "from": self.source,
            "to": self.target,
            "before": self.before,
            "after": self.after,
            "file": c.file if c else None,
            "line": c.line if c else None,
            "col": c.col if c else None,
            "path": list(c.path) if c else None,
            "side": self.side,
            "cause": c.text if c else None,
        }


def compare(old: Side, new: Side, *, everything: bool = False) -> list[Change]:
    """Every change from ``old`` to ``new``: pairs first (NEW's endpoint order), then policies.
    ``everything`` evaluates every pair instead of those of changed endpoints (for tests)."""
    pairs = list(_pairs(old, new, None if everything else _changed(old, new)))
    return pairs + list(_policies(old, new, pairs))


# ---------------------------------------------------------------------- which endpoints changed


def fingerprint(index: Index, name: str) -> tuple[Any, ...]:
    """Everything about endpoint ``name`` that a pair from or to it depends on."""
    s = index.topo.services[name]
    ns = index.spaces[name]
    owner = index.topo.services.get(ns.owner)
    ports = (
        tuple((p.target, p.published, p.host_ip, p.protocol) for p in owner.ports) if owner else ()
    )
    names = (
        (owner.container_name, tuple((a.network, a.aliases) for a in owner.attachments))
        if owner
        else None
    )
    return (
        ns,
        tuple(index.nets[k] for k in ns.nets),
        index.ports(name),
        ports,
        s.profiles,
        s.links,
        names,
    )


def _changed(old: Side, new: Side) -> set[str]:
    a, b = old.index, new.index
    if a.topo.profiles != b.topo.profiles:
        return set(a.topo.services) | set(b.topo.services)
    names = set(a.topo.services) ^ set(b.topo.services)
    names |= {
        n
        for n in set(a.topo.services) & set(b.topo.services)
        if n not in PSEUDO and fingerprint(a, n) != fingerprint(b, n)
    }
    return names


def _candidates(old: Side, new: Side, changed: set[str] | None) -> Iterator[tuple[str, str]]:
    ends = list(dict.fromkeys([*new.index.endpoints(), *old.index.endpoints()]))
    if changed is None:
        yield from ((a, b) for a in ends for b in ends if a != b)
        return
    for a in ends:
        if a in changed:
            yield from ((a, b) for b in ends if b != a)
        else:
            yield from ((a, b) for b in ends if b in changed and b != a)


# ---------------------------------------------------------------------- pairs


def _pair(side: Side, a: str, b: str) -> Pair | None:
    """The pair on one side, or None when an endpoint does not exist there or the two never
    run together (as :func:`reach.analyze` leaves it out)."""
    topo = side.topo
    sa, sb = topo.services.get(a), topo.services.get(b)
    if (sa is None and a not in PSEUDO) or (sb is None and b not in PSEUDO):
        return None
    if sa is not None and sb is not None and not topo.together(sa, sb):
        return None
    return side.index.pair(a, b)


def state(pair: Pair | None) -> str:
    """``no``, ``yes via backend (ports 5432)``, or ``absent``."""
    if pair is None:
        return "absent"
    if not pair.reachable:
        return "no"
    text = f"yes via {','.join(pair.via)}"
    if pair.ports:
        text += f" (ports {','.join(map(str, pair.ports))})"
    if pair.published:
        text += f" (host ports {','.join(map(str, pair.published))})"
    return text


def _signature(pair: Pair | None) -> tuple[Any, ...] | None:
    if pair is None:
        return None
    if not pair.reachable:
        return (False,)
    return (True, pair.via, pair.ports, pair.published, pair.names)


def _pairs(old: Side, new: Side, changed: set[str] | None) -> Iterator[Change]:
    for a, b in _candidates(old, new, changed):
        before, after = _pair(old, a, b), _pair(new, a, b)
        if _signature(before) == _signature(after):
            if a == EXTERNAL and b in new.topo.services and b in old.topo.services:
                yield from _bindings(old, new, b)
            continue
        if before is None and not (after and after.reachable):
            continue  # a new endpoint that reaches nothing new
        if after is None and not (before and before.reachable):
            continue
        cause, where = _cause(old, new, a, b)
        kind = _kind(a, b, before, after)
        if kind == "names":
            assert before is not None and after is not None
            was, now = _called(before), _called(after)
        else:
            was, now = state(before), state(after)
        yield Change(kind, a, b, was, now, cause, where)


def _kind(a: str, b: str, before: Pair | None, after: Pair | None) -> str:
    if a in PSEUDO or b in PSEUDO:
        return "exposure"
    if (before is not None and before.reachable) != (after is not None and after.reachable):
        return "reachability"
    assert before is not None and after is not None
    if before.via != after.via:
        return "path"
    if (before.ports, before.published) != (after.ports, after.published):
        return "ports"
    return "names"


def _called(pair: Pair) -> str:
    """``as db, database``: the names the source reaches the target by (none: by address)."""
    return f"as {', '.join(pair.names)}" if pair.names else "by address only"


def _bindings(old: Side, new: Side, name: str) -> Iterator[Change]:
    """A published port's bind address changed where the pair itself did not (e.g. from all
    addresses to one interface): still a change in exposure."""
    before, after = _bound(old, name), _bound(new, name)
    if before != after:
        cause, where = _cause(old, new, EXTERNAL, name)
        yield Change("exposure", EXTERNAL, name, before, after, cause, where)


def _bound(side: Side, name: str) -> str:
    s = side.topo.services.get(side.index.spaces[name].owner, side.topo.services[name])
    return (
        ", ".join(
            f"{p.host_ip or '*'}:{p.published or '?'}->{p.target}/{p.protocol}" for p in s.ports
        )
        or "none"
    )


def _cause(old: Side, new: Side, a: str, b: str) -> tuple[Fact | None, str]:
    """The first fact one side states about the pair and the other does not, located."""
    facts = {"old": _facts(old, a, b), "new": _facts(new, a, b)}
    said = {k: {f.identity for f in v} for k, v in facts.items()}
    added = _direct([f for f in facts["new"] if f.identity not in said["old"]])
    removed = _direct([f for f in facts["old"] if f.identity not in said["new"]])
    for kind in _CAUSES:
        for where, found in (("new", added), ("old", removed)):
            fact = next((f for f in found if f.kind == kind), None)
            if fact is not None:
                return _located(fact, new if where == "new" else old), where
    for where, side, end in (("new", new, b), ("new", new, a), ("old", old, b), ("old", old, a)):
        if end in side.topo.services:  # an endpoint added or removed, or no fact differs
            s = side.topo.services[end]
            return _located(Fact("service", end, f"service {end}", s.path), side), where
    return None, "new"


def _direct(facts: list[Fact]) -> list[Fact]:
    """Without the facts about a network that an endpoint joined or left: the attachment
    is the change, the network's settings come with it."""
    joined = {f.key for f in facts if f.kind == "attachment"}
    return [
        f
        for f in facts
        if f.kind == "attachment" or not (f.path[:1] == ("networks",) and f.path[1] in joined)
    ]


def _facts(side: Side, a: str, b: str) -> tuple[Fact, ...]:
    if any(e not in PSEUDO and e not in side.topo.services for e in (a, b)):
        return ()
    return explain(side.index, a, b).facts


def _located(fact: Fact, side: Side) -> Fact:
    from dataclasses import replace

    file, line, col = side.where(fact.path)
    return replace(fact, file=file, line=line, col=col)


# ---------------------------------------------------------------------- policies


def _policies(old: Side, new: Side, pairs: list[Change]) -> Iterator[Change]:
    before, after = _outcomes(old), _outcomes(new)
    for key in dict.fromkeys([*after, *before]):
        was, now = before.get(key, ("absent", None))[0], after.get(key, ("absent", None))[0]
        if was == now:
            continue
        p = (after.get(key) or before[key])[1]
        assert p is not None
        source, target = _ends(p)
        side = new if key in after else old
        cause, where = _policy_cause(side, p, key in after and key in before, pairs)
        yield Change("policy", source, target, was, now, cause, where)


def _outcomes(side: Side) -> dict[tuple[str, int], tuple[str, resolved.Policy | None]]:
    out: dict[tuple[str, int], tuple[str, resolved.Policy | None]] = {}
    seen: dict[str, int] = {}
    for p in side.topo.policies:
        text = policy_text(p)
        seen[text] = seen.get(text, 0) + 1
        outcome = "violated" if proof.prove(side.index, p) else "holds"
        out[(text, seen[text])] = (outcome, p)
    return out


def _ends(p: resolved.Policy) -> tuple[str, str]:
    if p.edge is not None:
        return p.edge.source, p.edge.target
    assert p.subject is not None
    return p.subject, EXTERNAL if p.kind == "no_egress" else "*"


def _policy_cause(
    side: Side, p: resolved.Policy, both: bool, pairs: list[Change]
) -> tuple[Fact | None, str]:
    """An outcome that moved with a pair has that pair's cause; an added or removed policy is
    its own cause."""
    source, target = _ends(p)
    if both:
        for c in pairs:
            if c.cause is not None and source in (c.source, c.target) and target in (c.target, "*"):
                return c.cause, c.side
    fact = Fact("policy", p.kind, f"policy {policy_text(p)}", p.path)
    return _located(fact, side), side.name


def failing(changes: Iterable[Change], fail_on: str | None) -> bool:
    """Whether ``--fail-on`` (exposure, policy or any) is met by one of the changes."""
    if fail_on is None:
        return False
    return any(fail_on == "any" or c.kind == fail_on for c in changes)


__all__ = ["HOST", "KINDS", "Change", "Side", "compare", "failing", "state"]
