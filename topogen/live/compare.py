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


@dataclass
class Observed:
    """What the probes of one ordered pair saw."""

    reachable: bool = False
    ports: set[int] = field(default_factory=set)  # the target's container ports that answered
    names: set[str] = field(default_factory=set)  # names that resolved to the target
    dns_probed: bool = False
    tcp_probed: set[int] = field(default_factory=set)
    evidence: list[str] = field(default_factory=list)


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
        elif rc == 0 and (p.kind != "ping" or f"from {p.address}:" in out):
            # a ping counts only with a reply from the address pinged: busybox ping matches
            # replies by pid, and another ping in the same network namespace may share it
            o.reachable = True
            o.evidence.append(f"{p.kind} {p.address}" + (f":{p.port}" if p.port else ""))
            if p.kind == "tcp" and p.target_port is not None:
                o.ports.add(p.target_port)
        if p.kind == "tcp" and p.target_port is not None:
            o.tcp_probed.add(p.target_port)
    return seen


def problems(pred: Any, obs: Observed, *, ports: bool) -> tuple[str, ...]:
    """How an observation disagrees with a prediction; ``ports`` only when stubs listen."""
    found = []
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
            ok = p.edge.port in o.ports
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
