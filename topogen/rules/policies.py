"""Policies: the ``policies:`` section is proven against the reachability analysis.

Each policy is checked on its own edge only (:class:`topogen.analysis.reach.Index`), so proofs
stay linear in the size of the topology. A violated policy is an error at the policy, with
the path that breaks it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from ..analysis import proof, reach
from ..diagnostics import Diagnostic, error, warning
from ..resolved import Policy, Topology
from .registry import reports


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib  # only when a name is unknown: not on the common path

    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}?" if close else ""


def _label(p: Policy) -> str:
    if p.edge is None:
        return f"{p.kind} {p.subject}"
    port = f" port {p.edge.port}/{p.edge.protocol}" if p.edge.port is not None else ""
    return f"{p.kind} {p.edge.source} -> {p.edge.target}{port}"


def _ref(p: Policy) -> str:
    return f"policies[{p.path[1]}]"


def _endpoints(p: Policy) -> list[tuple[str, tuple[str | int, ...], bool]]:
    """(name, path, may be host/external) of each endpoint a policy names."""
    if p.edge is not None:
        return [(p.edge.source, (*p.path, "from"), True), (p.edge.target, (*p.path, "to"), True)]
    return [(p.subject or "", p.path, False)]


@reports(error="policy-undefined-endpoint")
def policy_undefined_endpoint(topo: Topology) -> Iterator[Diagnostic]:
    """A policy names a service that does not exist (or host/external where a service is needed).

    ``policies: [{deny: {from: web-server, to: postgres}}]`` with a service ``postgres-db``.
    """
    for p in topo.policies:
        for name, path, pseudo_ok in _endpoints(p):
            if name in topo.services or (pseudo_ok and name in reach.PSEUDO):
                continue
            known = [*topo.services, *(reach.PSEUDO if pseudo_ok else ())]
            what = "service, host or external" if pseudo_ok else "service"
            yield error(
                "policy-undefined-endpoint",
                f'policy names "{name}", which is not a {what}',
                path,
                hint=_suggest(name, known),
            )


@reports(warning="reserved-endpoint-name")
def reserved_endpoint_name(topo: Topology) -> Iterator[Diagnostic]:
    """A service named ``host`` or ``external`` is hidden by the endpoint of the same name.

    ``services: {host: {image: nginx}}``: policies and ``topogen reach`` mean the Docker host.
    """
    for name in reach.PSEUDO:
        if name in topo.services:
            yield warning(
                "reserved-endpoint-name",
                f'service "{name}" is shadowed by the {name} endpoint of policies and reach',
                topo.services[name].path,
                at_key=True,
                hint="rename the service",
            )


@reports(error="invalid-policy")
def invalid_policy(topo: Topology) -> Iterator[Diagnostic]:
    """A policy states exactly one of allow, deny, isolated, no_egress, between two endpoints.

    ``policies: [{allow: {from: web, to: api}, deny: {from: web, to: db}}]``.
    """
    seen: set[object] = set()
    for p in topo.policies:
        if p.path[:2] in seen:
            yield error(
                "invalid-policy",
                "a policy states exactly one of allow, deny, isolated, no_egress",
                p.path,
                at_key=True,
                hint="write each statement as its own list item",
            )
        seen.add(p.path[:2])
        if p.edge is not None and p.edge.source == p.edge.target:
            yield error(
                "invalid-policy", f'policy from "{p.edge.source}" to itself', (*p.path, "to")
            )


def _conflicts(policies: tuple[Policy, ...]) -> Iterator[tuple[Policy, Policy]]:
    """(earlier, later) pairs of policies that cannot both hold."""
    allows: dict[tuple[str, str, str], list[Policy]] = defaultdict(list)
    denies: dict[tuple[str, str, str], list[Policy]] = defaultdict(list)
    subjects: dict[tuple[str, str], Policy] = {}
    for p in policies:
        if p.edge is not None:
            key = (p.edge.source, p.edge.target, p.edge.protocol)
            (allows if p.kind == "allow" else denies)[key].append(p)
        elif p.subject is not None:
            subjects.setdefault((p.kind, p.subject), p)
    for key, denied in denies.items():
        for d in denied:
            for a in allows.get(key, ()):
                if d.edge and a.edge and d.edge.port in (None, a.edge.port):
                    yield (a, d) if a.path < d.path else (d, a)
    for (src, dst, _proto), allowed in allows.items():
        for a in allowed:
            for s in _rivals(src, dst, subjects):
                yield (a, s) if a.path < s.path else (s, a)


def _rivals(src: str, dst: str, subjects: dict[tuple[str, str], Policy]) -> list[Policy]:
    """The isolated/no_egress statements that an allow from ``src`` to ``dst`` contradicts."""
    keys = [] if not {src, dst}.isdisjoint(reach.PSEUDO) else [("isolated", src), ("isolated", dst)]
    if dst == reach.EXTERNAL:
        keys.append(("no_egress", src))
    return [subjects[k] for k in keys if k in subjects]


@reports(error="policy-contradiction")
def policy_contradiction(topo: Topology) -> Iterator[Diagnostic]:
    """Two policies cannot both hold: allow and deny of the same edge, or allow against isolated/no_egress.

    ``[{allow: {from: web, to: db}}, {deny: {from: web, to: db}}]``.
    """
    for first, second in _conflicts(topo.policies):
        yield error(
            "policy-contradiction",
            f"{_label(second)} contradicts {_label(first)} ({_ref(first)})",
            second.path,
            at_key=True,
        )


def _known(topo: Topology, p: Policy) -> bool:
    names = [n for n, _, _ in _endpoints(p)]
    return all(n in topo.services or (p.edge is not None and n in reach.PSEUDO) for n in names)


@reports(error="policy-violated")
def policy_violated(topo: Topology) -> Iterator[Diagnostic]:
    """The topology does not do what a policy states; the message names the path or the gap.

    ``deny: {from: web-server, to: postgres-db}`` while both join network ``backend``.
    """
    if not topo.policies:
        return
    index = reach.Index(topo)
    for p in topo.policies:
        if not _known(topo, p) or (p.edge is not None and p.edge.source == p.edge.target):
            continue
        problem = proof.prove(index, p)
        if problem:
            yield error(
                "policy-violated", f"{_label(p)} is violated: {problem}", p.path, at_key=True
            )


RULES = (
    reserved_endpoint_name,
    invalid_policy,
    policy_undefined_endpoint,
    policy_contradiction,
    policy_violated,
)
