"""Synthesis: what the generated networks cannot carry exactly as stated.

The synthesis stage (:mod:`topogen.synth`) finds these while it designs the layout and keeps
them on ``topo.synthesized``; each rule here reports one kind, at the policy (or service)
that states the intent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..diagnostics import Diagnostic, warning
from ..resolved import Topology
from .registry import reports


def _notes(topo: Topology, kind: str) -> Iterator[Any]:
    layout = topo.synthesized
    if layout is not None:
        yield from (n for n in layout.intent.notes if n.kind == kind)


@reports(warning="synth-one-way")
def synth_one_way(topo: Topology) -> Iterator[Diagnostic]:
    """A synthesized network carries a one-way flow both ways (a shared network is symmetric).

    ``synthesize: {}`` with ``policies: [{allow: {from: web, to: db}}]``: db reaches web too.
    """
    for n in _notes(topo, "one-way"):
        yield warning("synth-one-way", n.message, n.path, at_key=True, hint=n.hint)


@reports(warning="synth-port-only")
def synth_port_only(topo: Topology) -> Iterator[Diagnostic]:
    """A synthesized network carries every port, not only the one an ``allow`` names.

    ``synthesize: {}`` with ``policies: [{allow: {from: web, to: db, port: 5432}}]``.
    """
    for n in _notes(topo, "port-only"):
        yield warning("synth-port-only", n.message, n.path, at_key=True, hint=n.hint)


@reports(warning="synth-published-reach")
def synth_published_reach(topo: Topology) -> Iterator[Diagnostic]:
    """Every service on the synthesized egress network reaches published ports through the host.

    ``synthesize: {egress: [worker]}`` and ``web`` publishes ``80:80``: worker reaches web.
    """
    for n in _notes(topo, "published-reach"):
        yield warning("synth-published-reach", n.message, n.path, at_key=True, hint=n.hint)


@reports(warning=("synth-conflict", "synth-not-carried"))
def synth_conflicts(topo: Topology) -> Iterator[Diagnostic]:
    """An intent the synthesized layout cannot carry: contradicting egress, or a service that
    keeps its own networks.

    ``synthesize: {egress: [db]}`` with ``policies: [{no_egress: db}]``.
    """
    for n in _notes(topo, "conflict"):
        yield warning("synth-conflict", n.message, n.path, at_key=True, hint=n.hint)
    for n in _notes(topo, "not-carried"):
        yield warning("synth-not-carried", n.message, n.path, at_key=True, hint=n.hint)


RULES = (synth_one_way, synth_port_only, synth_published_reach, synth_conflicts)
