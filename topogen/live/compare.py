"""From probe results to an observed matrix, and the observed matrix beside the predicted one.

Pure functions: :func:`observe` folds probe results into one :class:`Observed` per ordered
pair; :func:`compare` puts each beside the analysis' :class:`~topogen.analysis.reach.Pair`
and marks mismatches; :func:`check_policies` judges the topology's policies on what was
observed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import resolved as r
from .plan import EXTERNAL, Probe, Runtime

_IP = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3})\b")
_DEFAULT = re.compile(r"default via (\S+)")
# busybox traceroute on one line: "... 46 byte packets 3 10.0.0.2 0.008 ms" / "... packets 3 *"
_HOP = re.compile(r"byte packets \d+ +(\S+)(.*)$")


@dataclass
class Observed:
    """What the probes of one ordered pair saw."""

    reachable: bool = False
    ports: set[int] = field(default_factory=set)  # the target's container ports that answered
    names: set[str] = field(default_factory=set)  # names that resolved to the target
    dns_probed: bool = False
    tcp_probed: set[int] = field(default_factory=set)
    closed: set[int] = field(default_factory=set)  # TCP ports the target's kernel refused
    udp_probed: set[int] = field(default_factory=set)  # declared UDP ports probed
    udp_closed: set[int] = field(default_factory=set)  # ... answered with port-unreachable
    udp_silent: set[int] = field(default_factory=set)  # ... that gave no answer
    udp_path: bool = False  # some datagram reached the target's kernel
    evidence: list[str] = field(default_factory=list)
    probed_ips: set[str] = field(default_factory=set)  # the target's addresses probed directly
    reached_ips: set[str] = field(default_factory=set)  # ... and those that answered
    conflicts: list[str] = field(default_factory=list)  # replicas that saw otherwise

    @property
    def udp_listening(self) -> set[int]:
        """Declared UDP ports that stayed silent while others were refused: Docker filters
        between containers by interface, never by port, so something listens there."""
        return self.udp_silent - self.udp_closed if self.udp_path else set()


@dataclass(frozen=True)
class Row:
    """One ordered pair: predicted beside observed (None: nothing could be probed)."""

    source: str
    target: str
    predicted: Any  # reach.Pair
    observed: Observed | None
    problems: tuple[str, ...]

    @property
    def status(self) -> str:
        return "unprobed" if self.observed is None else ("mismatch" if self.problems else "ok")


def resolved_addresses(output: str) -> set[str]:
    """The IPv4 answers in busybox ``nslookup`` output (the server's own lines skipped)."""
    _, sep, answers = output.partition("Name:")
    return set(_IP.findall(answers)) if sep else set()


def egress(output: str, source_nets: Iterable[str], rt: Runtime, in_host: bool) -> tuple[bool, str]:
    """Whether a default route goes out through a network that is not isolated."""
    m = _DEFAULT.search(output)
    if not m:
        return False, "no default route"
    if in_host:
        return True, f"default via {m.group(1)} (host namespace)"
    for k in source_nets:
        if rt.gateways.get(k) == m.group(1):
            isolated = rt.isolated.get(k, False)
            return not isolated, f"default via {m.group(1)} on {k}" + (
                " (internal)" if isolated else ""
            )
    return False, f"default via {m.group(1)}, not a gateway of the topology"


def tcp_outcome(p: Probe, rc: int, output: str) -> str:
    """``open`` (connected), ``refused`` (the target's kernel answered: RST, or ICMP
    port-unreachable) or ``silent`` (timed out, no route, ...). A refusal at a published port
    counts as ``silent``: the host itself refuses when nothing forwards that port."""
    if rc == 0:
        return "open"
    return "refused" if "refused" in output and not p.published and not p.by_name else "silent"


def udp_outcome(output: str, address: str) -> str:
    """What one UDP datagram (busybox ``traceroute``, one probe at TTL 3) brought back:
    ``refused`` when ``address`` itself answered port-unreachable (traceroute marks every other
    ICMP error with ``!``), ``silent`` when nothing answered (a listener took the datagram, or
    something dropped it), ``other`` when someone else answered (a router's time-exceeded,
    host-unreachable from a gateway)."""
    m = _HOP.search(output)
    if not m:
        return "other"
    hop, rest = m.group(1), m.group(2)
    if hop == "*" and not rest.strip(" *"):
        return "silent"
    return "refused" if hop == address and "!" not in rest else "other"


def answered(p: Probe, rc: int, output: str) -> bool:
    """Whether a probe's result is evidence that settles it (anything else is tried once more)."""
    if p.kind == "tcp":
        return tcp_outcome(p, rc, output) != "silent"
    if p.kind == "udp":
        return udp_outcome(output, p.address) == "refused"
    if p.kind == "ping":
        # a reply counts only from the address pinged: busybox ping matches replies by pid,
        # and another ping in the same network namespace may share it
        return rc == 0 and f"from {p.address}:" in output
    return rc == 0


def _udp(p: Probe, o: Observed, output: str) -> None:
    outcome = udp_outcome(output, p.address)
    port = p.target_port if p.target_port is not None else (p.port or 0)
    if outcome == "refused":
        o.udp_path = o.reachable = True
        o.evidence.append(f"udp {p.address}:{port} port-unreachable")
    if p.canary:
        return
    o.udp_probed.add(port)
    if outcome == "refused":
        o.udp_closed.add(port)
    elif outcome == "silent":
        o.udp_silent.add(port)


def _tcp(p: Probe, o: Observed, rc: int, output: str) -> None:
    outcome = tcp_outcome(p, rc, output)
    if outcome != "silent":
        o.reachable = True
        o.evidence.append(
            f"tcp {p.address}:{p.port}" + (" refused" if outcome == "refused" else "")
        )
    if p.target_port is not None:
        o.tcp_probed.add(p.target_port)
        if outcome == "open":
            o.ports.add(p.target_port)
        elif outcome == "refused":
            o.closed.add(p.target_port)


def observe(
    probes: list[Probe],
    results: Mapping[int, tuple[int, str]],
    rt: Runtime,
    owners: Mapping[str, str],
    nets: Mapping[str, tuple[str, ...]],
    in_host: Mapping[str, bool],
) -> dict[tuple[str, str], Observed]:
    """Fold probe results into one :class:`Observed` per pair that had probes."""
    seen: dict[tuple[str, str], Observed] = {}
    for p in probes:
        o = seen.setdefault((p.source, p.target), Observed())
        rc, out = results.get(p.id, (-1, "no result"))
        if p.kind == "route":
            o.reachable, why = egress(out, nets.get(p.source, ()), rt, in_host.get(p.source, False))
            o.evidence.append(why)
        elif p.kind == "dns":
            o.dns_probed = True
            if rc == 0 and resolved_addresses(out) & rt.all_addresses(
                owners.get(p.target, p.target)
            ):
                o.names.add(p.address)
        elif p.kind == "tcp":
            _tcp(p, o, rc, out)
        elif p.kind == "udp":
            _udp(p, o, out)
        elif answered(p, rc, out):
            o.reachable = True
            o.evidence.append(f"ping {p.address}")
        if p.kind in ("tcp", "udp", "ping") and not (p.by_name or p.published):
            o.probed_ips.add(p.address)
            if answered(p, rc, out):
                o.reached_ips.add(p.address)
    return seen


def problems(pred: Any, obs: Observed, *, ports: bool) -> tuple[str, ...]:
    """How an observation disagrees with a prediction; ``ports`` only when stubs listen."""
    found = list(obs.conflicts)
    if pred.reachable != obs.reachable:
        found.append(
            f"predicted {'reachable' if pred.reachable else 'unreachable'}, "
            f"observed {'reachable' if obs.reachable else 'unreachable'}"
        )
    if obs.dns_probed:
        want = set(pred.names) - {"localhost"}
        if want != obs.names:
            found.append(f"names: predicted {sorted(want)}, observed {sorted(obs.names)}")
    if ports and pred.reachable and obs.reachable and pred.ports:
        # pred.ports empty means "unknown"; ports only a policy names are not predicted
        want_ports = set(pred.ports) & obs.tcp_probed
        if want_ports != obs.ports & set(pred.ports):
            found.append(
                f"ports: predicted {sorted(want_ports)}, observed {sorted(obs.ports & set(pred.ports))}"
            )
    if ports and pred.reachable and obs.reachable and obs.udp_probed - obs.udp_closed:
        # a stub never listens on UDP: its kernel refuses every datagram that reaches it
        found.append(
            f"udp ports: predicted {sorted(obs.udp_probed)} open, "
            f"no answer from {sorted(obs.udp_probed - obs.udp_closed)}"
        )
    return tuple(found)


def compare(matrix: Any, seen: Mapping[tuple[str, str], Observed], *, ports: bool) -> list[Row]:
    rows = []
    for pred in matrix.pairs:
        obs = seen.get((pred.source, pred.target))
        rows.append(
            Row(
                pred.source, pred.target, pred, obs, problems(pred, obs, ports=ports) if obs else ()
            )
        )
    return rows


@dataclass(frozen=True)
class PolicyResult:
    policy: r.Policy
    status: str  # ok | violated | unverified
    detail: str


def check_policies(topo: r.Topology, rows: list[Row]) -> list[PolicyResult]:
    """Judge each policy of the topology on the observed matrix."""
    by_pair = {(row.source, row.target): row for row in rows}
    return [_judge(p, by_pair, topo) for p in topo.policies]


def _judge(p: r.Policy, by_pair: Mapping[tuple[str, str], Row], topo: r.Topology) -> PolicyResult:
    if p.edge is not None:
        row = by_pair.get((p.edge.source, p.edge.target))
        if row is None or row.observed is None or p.edge.protocol != "tcp":
            return PolicyResult(p, "unverified", "not probed")
        o = row.observed
        if p.edge.port is not None:
            if p.edge.port not in o.tcp_probed:
                return PolicyResult(p, "unverified", f"port {p.edge.port} not probed")
            # refused: the network let the connection through to the target, where nothing
            # listens on the port (a real image, verify --attach); policies are about the network
            ok = p.edge.port in o.ports or p.edge.port in o.closed
        else:
            ok = o.reachable
        want = p.kind == "allow"
        return PolicyResult(
            p,
            "ok" if ok == want else "violated",
            f"{p.edge.source} -> {p.edge.target}: observed {'open' if ok else 'closed'}",
        )
    subject = p.subject or ""
    if p.kind == "no_egress":
        row = by_pair.get((subject, EXTERNAL))
        if row is None or row.observed is None:
            return PolicyResult(p, "unverified", "not probed")
        return PolicyResult(
            p, "violated" if row.observed.reachable else "ok", "; ".join(row.observed.evidence)
        )
    reached = sorted(
        f"{row.source} -> {row.target}"
        for row in by_pair.values()
        if subject in (row.source, row.target)
        and row.observed
        and row.observed.reachable
        and {row.source, row.target} - {subject} <= set(topo.services)
    )
    return PolicyResult(
        p, "violated" if reached else "ok", ", ".join(reached) or "no service reached"
    )
