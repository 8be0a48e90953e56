"""The topology as a diagram: Mermaid (renders on GitHub) or Graphviz DOT (and SVG through ``dot``).

Networks are groups titled with their driver, subnets and flags; a service sits in the group
of its first network and is linked to its other networks by edges labelled with its
address there. Volumes and bind mounts are nodes (read-only mounts marked ``ro``);
published ports and static IPs are in the service's label; policies are annotated edges
(``allow`` solid, ``deny`` dotted with a cross). Output is deterministic.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field

from .. import resolved
from ..analysis.reach import DEFAULT_BRIDGE, EXTERNAL, HOST
from . import render

FORMATS = ("mermaid", "dot", "svg")


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    kind: str  # service | volume | bind | host | external


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    kind: str  # attach | mount | mount-ro | namespace | allow | deny


@dataclass
class Group:
    id: str
    lines: tuple[str, ...]
    internal: bool
    nodes: list[Node] = field(default_factory=list)


@dataclass
class Graph:
    title: str
    groups: list[Group] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)  # outside every group
    edges: list[Edge] = field(default_factory=list)


def _network_lines(n: resolved.Network) -> tuple[str, ...]:
    facts = [n.driver] + [p.subnet_text for p in n.pools]
    facts += [
        flag
        for flag, on in (
            ("internal", n.internal),
            ("external", n.external),
            ("icc off", not n.icc),
            ("encrypted", n.encrypted),
        )
        if on
    ]
    facts += [f"parent {n.parent}"] if n.parent else []
    return (n.key, " · ".join(facts))


def _ports(s: resolved.Service) -> list[str]:
    out = []
    for p in s.ports:
        host = f"{p.host_ip}:" if p.host_ip else ""
        published = f"{host}{p.published}" if p.published else f"{host}*"
        out.append(f"{published}→{p.target}/{p.protocol}")
    return out


def _service_lines(s: resolved.Service, policies: dict[str, list[str]]) -> tuple[str, ...]:
    lines = [s.name]
    for a in s.attachments:
        if a.ipv4_text or a.ipv6_text:
            lines.append(" ".join(t for t in (a.ipv4_text, a.ipv6_text) if t) + f" ({a.network})")
    if s.network_mode:
        lines.append(f"network_mode {s.network_mode}")
    ports = _ports(s)
    if ports:
        lines.append("ports " + ", ".join(ports))
    tmpfs = [m.target for m in s.mounts if m.type == "tmpfs"]
    if tmpfs:
        lines.append("tmpfs " + ", ".join(tmpfs))
    lines += [f"policy: {p}" for p in policies.get(s.name, ())]
    return tuple(lines)


class _Builder:
    def __init__(self, topo: resolved.Topology) -> None:
        self.topo = topo
        self.graph = Graph(topo.name)
        self.ids: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self.extra: dict[str, Node] = {}

    def id(self, kind: str, key: str) -> str:
        """A stable node id: the kind's initial and a counter (names may hold any character)."""
        full = f"{kind}:{key}"
        if full not in self.ids:
            self.ids[full] = f"{kind[0]}{self.counts.get(kind, 0)}"
            self.counts[kind] = self.counts.get(kind, 0) + 1
        return self.ids[full]

    def build(self) -> Graph:
        topo = self.topo
        subjects: dict[str, list[str]] = {}
        for p in topo.policies:
            if p.subject is not None:
                subjects.setdefault(p.subject, []).append(p.kind.replace("_", " "))
        groups = {
            k: Group(self.id("net", k), _network_lines(n), n.internal)
            for k, n in topo.networks.items()
        }
        for key in self._special_groups():
            groups[key] = Group(self.id("net", key), (f"network_mode: {key}",), False)
        self.graph.groups = [groups[k] for k in sorted(groups)]
        for s in topo.services.values():
            node = Node(self.id("service", s.name), _service_lines(s, subjects), "service")
            home = self._home(s)
            (groups[home].nodes if home in groups else self.graph.nodes).append(node)
            self._attachments(s, node, home, groups)
            self._mounts(s, node)
        self._policies()
        self.graph.nodes += sorted(self.extra.values(), key=lambda n: n.id)
        return self.graph

    def _special_groups(self) -> list[str]:
        modes = {s.network_mode for s in self.topo.services.values()}
        return [
            m
            for m in ("host", "none", DEFAULT_BRIDGE)
            if m in modes and m not in self.topo.networks
        ]

    def _home(self, s: resolved.Service, depth: int = 0) -> str:
        target = self.topo.services.get(s.mode_target or "")
        if target is not None and depth < len(self.topo.services):
            return self._home(target, depth + 1)  # a namespace sharer sits beside its target
        if s.network_mode in ("host", "none", DEFAULT_BRIDGE):
            return s.network_mode
        return s.attachments[0].network if s.attachments else ""

    def _attachments(
        self, s: resolved.Service, node: Node, home: str, groups: dict[str, Group]
    ) -> None:
        for a in s.attachments:
            if a.network != home and a.network in groups:
                self.graph.edges.append(
                    Edge(node.id, groups[a.network].id, a.ipv4_text or "", "attach")
                )
        if s.mode_target in self.topo.services:
            target = self.id("service", s.mode_target or "")
            self.graph.edges.append(Edge(node.id, target, "shares namespace", "namespace"))

    def _mounts(self, s: resolved.Service, node: Node) -> None:
        for m in s.mounts:
            if m.type == "tmpfs" or m.source is None:
                continue
            kind = "volume" if m.type == "volume" else "bind"
            target = self._extra(
                kind,
                m.source,
                (m.source, self._volume_kind(m) if kind == "volume" else "bind mount"),
            )
            ro = " (ro)" if m.read_only else ""
            self.graph.edges.append(
                Edge(node.id, target, m.target + ro, "mount-ro" if ro else "mount")
            )

    def _volume_kind(self, m: resolved.Mount) -> str:
        v = self.topo.volumes.get(m.source or "")
        if v is None:
            return "volume"
        kind = f"{v.kind} volume" if v.kind != "plugin" else f"volume ({v.driver})"
        return kind + (" · external" if v.external else "")

    def _extra(self, kind: str, key: str, lines: tuple[str, ...]) -> str:
        node_id = self.id(kind, key)
        self.extra.setdefault(node_id, Node(node_id, lines, kind))
        return node_id

    def _endpoint(self, name: str) -> str:
        if name in (HOST, EXTERNAL):
            return self._extra(name, name, (name,))
        return self.id("service", name)

    def _policies(self) -> None:
        for p in self.topo.policies:
            if p.edge is not None:
                port = f" :{p.edge.port}/{p.edge.protocol}" if p.edge.port is not None else ""
                self.graph.edges.append(
                    Edge(
                        self._endpoint(p.edge.source),
                        self._endpoint(p.edge.target),
                        p.kind + port,
                        p.kind,
                    )
                )
            elif p.kind == "no_egress" and p.subject is not None:
                self.graph.edges.append(
                    Edge(self._endpoint(p.subject), self._endpoint(EXTERNAL), "no egress", "deny")
                )


def build(topo: resolved.Topology) -> Graph:
    """The diagram's model: groups, nodes and edges, in a stable order."""
    return _Builder(topo).build()


def mermaid_text(value: str) -> str:
    """A Mermaid label: quotes and angle brackets as entities."""
    return (
        value.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def dot_text(value: str) -> str:
    """A DOT double-quoted string body."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def emit(topo: resolved.Topology, fmt: str = "mermaid") -> str:
    """The diagram as Mermaid or DOT text."""
    graph = build(topo)
    if fmt == "mermaid":
        return render(
            "graph.mmd.j2",
            graph=graph,
            esc=mermaid_text,
            label=lambda lines: "<br/>".join(map(mermaid_text, lines)),
        )
    return render(
        "graph.dot.j2",
        graph=graph,
        esc=dot_text,
        label=lambda lines: "\\n".join(map(dot_text, lines)),
    )


class GraphvizMissing(RuntimeError):
    """Graphviz ``dot`` is not installed."""


def svg(dot: str, exe: str | None = None) -> str:
    """Render DOT text to SVG with Graphviz ``dot``; raises :class:`GraphvizMissing` without it."""
    exe = exe or shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(
            "Graphviz `dot` is not installed (Debian/Ubuntu: apt-get install graphviz); "
            "use --format dot or --format mermaid"
        )
    done = subprocess.run(
        [exe, "-Tsvg"], input=dot, capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"dot -Tsvg failed: {done.stderr.strip()}")
    return done.stdout
