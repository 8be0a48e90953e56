"""Why one endpoint reaches another (or not): the verdict of :meth:`Index.pair` and every
fact of the topology behind it (:mod:`.facts`), and for an unreachable pair the smallest
change that would connect it (:mod:`.fix`).

Pure functions over the resolved topology and its :class:`Index`; the pipeline's source map
turns each fact's ``path`` into ``file:line:col`` (:func:`locate`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Any

from . import proof, reach
from .facts import Fact, Where, facts, policy_text
from .fix import fix as smallest_change
from .reach import PSEUDO, Index, Pair


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
    found = tuple(dict.fromkeys(facts(index, pair)))
    verdict = _verdict(index, pair, together, port, protocol, reachable)
    fix = None if reachable or not together else smallest_change(index, pair, port, protocol)
    return Explanation(pair, reachable, verdict, found, fix, port, protocol)


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


__all__ = ["Explanation", "Fact", "Where", "explain", "locate", "policy_text", "reach"]
