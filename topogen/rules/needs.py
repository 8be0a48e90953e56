"""Needed connections (:mod:`topogen.analysis.needs`) checked against the reachability analysis.

A connection the configuration names (a URL, a ``host:port``, a host variable) that has no path
is an error at the evidence; ``depends_on`` alone only orders the start, so it is a warning
(``links`` without a shared network are ``link-without-network``'s). Only services that can
run together are compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..analysis import mentions, needs, proof, reach
from ..diagnostics import Diagnostic, Level
from ..resolved import Service, Topology
from .registry import reports

_NAMED = ("url", "host-port", "host-var")  # links: link-without-network says so
_LOCAL = ("localhost", "127.0.0.1", "0.0.0.0", "::1")


def _diagnostic(rule: str, level: Level, message: str, n: needs.Need, hint: str) -> Diagnostic:
    if n.location:  # in another file (a config, an env file), already at the host
        return Diagnostic(rule, message, n.evidence, level, hint=hint).located(*n.location)
    return Diagnostic(rule, message, n.evidence, level, hint=hint, within=n.host)


def _runs(topo: Topology, n: needs.Need) -> bool:
    s, t = topo.services[n.source], topo.services[n.target]
    return not (s.provider or t.provider) and t.replicas != 0 and topo.together(s, t)


def _what(n: needs.Need) -> str:
    return f"{n.target}:{n.port}" if n.port is not None else n.target


def _blocked(index: reach.Index, n: needs.Need) -> str:
    """Why ``n`` has no path, or "" when it has one (a direct hop, and a name when named)."""
    pair = index.pair(n.source, n.target)
    direct = [h for h in pair.via if h != reach.VIA_PUBLISHED]
    if direct and (pair.names or n.kind == "depends_on"):
        return ""
    a, b = index.spaces[n.source], index.spaces[n.target]
    if _written(index, a.owner) & _written(index, b.owner) - set(a.nets):
        return ""  # both name a network that is not declared: that rule says so
    if a.kind == "networks" and b.kind == "networks" and not set(a.nets) & set(b.nets):
        return "shares no network with it"
    if not pair.reachable:
        return f"cannot reach it: {proof.why_not(index, pair)}"
    if not direct:
        return "reaches it only through its published ports on the host, not by its name"
    mode = index.topo.services[n.source].network_mode
    return f"cannot resolve its name ({f'network_mode {mode}' if mode else 'no shared DNS'})"


def _written(index: reach.Index, name: str) -> set[str]:
    service = index.topo.services.get(name)  # the owner of a host-mode namespace is "host"
    return {a.network for a in service.attachments} if service else set()


@reports(
    error="needed-connection-unreachable",
    warning=("needed-connection-unreachable", "dependency-unreachable", "needed-port-undeclared"),
)
def needed_connections(topo: Topology) -> Iterator[Diagnostic]:
    """A service names another (URL, ``host:port``, host variable) that it cannot reach (an
    error; for ``depends_on`` alone a warning, as startup order proves no traffic; ``links`` are
    ``link-without-network``'s), or a port the other declares no sign of listening on (a warning).

    ``web: {networks: [front], environment: {DATABASE_URL: "postgres://u:p@db:5432/app"}}`` with
    ``db: {networks: [back]}``: web refers to db:5432 but shares no network with it.
    A warning when the evidence is an env file that another service reads and reaches the
    target through: shared configuration names it, not this service.
    """
    index = reach.Index(topo)
    found = [n for n in needs.needed(topo) if _runs(topo, n)]
    yield from _unreachable(index, found)
    yield from _undeclared(_Ports(index), found)


def _unreachable(index: reach.Index, found: list[needs.Need]) -> Iterator[Diagnostic]:
    named = {(n.source, n.target) for n in found if n.kind != "depends_on"}
    warned: set[tuple[str, str]] = set()
    for n in found:
        why = _blocked(index, n)
        if not why:
            continue
        if n.kind in _NAMED:
            other = _sharer(index, found, n)
            also = (
                f" (the env file is shared: {other} reads it too and reaches it)" if other else ""
            )
            yield _diagnostic(
                "needed-connection-unreachable",
                Level.WARNING if other else Level.ERROR,
                f"{n.source} refers to {_what(n)} but {why}{also}",
                n,
                f"attach {n.source} and {n.target} to a common network"
                + (f", or give {n.source} an env file of its own" if other else ""),
            )
        elif (
            n.kind == "depends_on"
            and (n.source, n.target) not in named | warned
            and not _networkless(index, n)
        ):
            warned.add((n.source, n.target))
            yield _diagnostic(
                "dependency-unreachable",
                Level.WARNING,
                f"{n.source} depends on {n.target} but {why}",
                n,
                "if it connects to it, attach both to a common network; else ignore",
            )


def _sharer(index: reach.Index, found: list[needs.Need], n: needs.Need) -> str | None:
    """Another service that reads the env file holding ``n``'s evidence and reaches its target."""
    if n.location is None or "env_file" not in n.evidence:
        return None
    return next(
        (
            m.source
            for m in found
            if m.source != n.source
            and m.target == n.target
            and m.location is not None
            and m.location[0] == n.location[0]
            and not _blocked(index, m)
        ),
        None,
    )


def _networkless(index: reach.Index, n: needs.Need) -> bool:
    """Either side says ``network_mode: none``: it is meant to talk to nothing, so waiting for
    the other is startup order only."""
    services = index.topo.services
    return any(
        s is not None and s.network_mode == "none"
        for s in (services.get(n.source), services.get(n.target))
    )


def _undeclared(known: _Ports, found: list[needs.Need]) -> Iterator[Diagnostic]:
    for n in found:
        if n.port is None:
            continue
        ports = known.declared(n.target)
        if ports and n.port not in ports and n.port not in known.named(n.target):
            listed = ", ".join(map(str, sorted(ports)))
            yield _diagnostic(
                "needed-port-undeclared",
                Level.WARNING,
                f"{n.source} refers to {_what(n)} but {n.target} declares only port"
                f"{'s' if len(ports) > 1 else ''} {listed}",
                n,
                f"expose {n.port} on {n.target}, or correct the port",
            )


class _Ports:
    """The ports each service declares (``expose``, ``ports`` targets of every service in its
    network namespace, its healthcheck's local URLs and ``host:port``, allow policies to it),
    and those its own environment and command name (``0.0.0.0:9092``,
    ``PLAINTEXT://kafka1:19092``, ``--port 9009``, ``*_PORT=8000``): evidence that it listens,
    never a declaration. Built once; each service's answers are made when first asked."""

    def __init__(self, index: reach.Index) -> None:
        self.index = index
        self.namespaces: dict[str, set[str]] = {}
        for name, ns in index.spaces.items():
            self.namespaces.setdefault(ns.owner, set()).add(name)
        self.allowed: dict[str, set[int]] = {}
        for p in index.topo.policies:
            if p.kind == "allow" and p.edge and p.edge.port:
                self.allowed.setdefault(p.edge.target, set()).add(p.edge.port)
        self._declared: dict[str, set[int]] = {}
        self._named: dict[str, set[int]] = {}

    def declared(self, name: str) -> set[int]:
        if name not in self._declared:
            target = self.index.topo.services[name]
            group = {name} | self.namespaces.get(self.index.spaces[name].owner, set())
            ports = {p for member in group for p in self.index.ports(member)}
            ports |= self.allowed.get(name, set())
            test = target.healthcheck.test if target.healthcheck else None
            ports |= _self_ports(target, _texts(test))
            self._declared[name] = ports
        return self._declared[name]

    def named(self, name: str) -> set[int]:
        if name not in self._named:
            target = self.index.topo.services[name]
            options = dict(target.options)
            said = [v for _k, v in target.environment if v]
            said += _texts(options.get("command")) + _texts(options.get("entrypoint"))
            ports = _self_ports(target, said)
            ports.update(int(p) for t in said for p in _PORT_FLAG.findall(t) if 0 < int(p) < 65536)
            ports.update(
                int(v)
                for k, v in target.environment
                if k.upper().endswith("PORT") and v and v.isdigit() and 0 < int(v) < 65536
            )
            self._named[name] = ports
        return self._named[name]


_PORT_FLAG = re.compile(r"(?i)-port[= ]([0-9]{1,5})\b")


def _texts(value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [value] if isinstance(value, str) else []


def _self_ports(s: Service, texts: list[str]) -> set[int]:
    own = {s.name.lower(), *_LOCAL}
    return {m.port for t in texts for m in mentions.find(t) if m.port is not None and m.host in own}


RULES = (needed_connections,)
