"""``topogen suggest``: the layout an existing file should have, as a minimal text edit.

The intent is read from the file (``allow`` policies, the ``synthesize`` block's egress list)
plus the needed connections the caller gives; every service without ``network_mode`` is
placed (:mod:`topogen.synth`). Only ``networks:`` blocks change: each placed service's (added
after the service's name when it had none) and the top-level one, where external networks
are kept and the generated ones written with a comment each. Comments and formatting
elsewhere are untouched, so the unified diff is reviewable. The summary compares the
reachable service pairs before and after, both from ``reach``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import diagnostics as dg
from . import document, pipeline, rules, synth
from .analysis import reach
from .diagnostics import Diagnostic, error, warning
from .emit import block
from .rules import synthesis
from .synth import Flow, Layout, subnets

Edit = tuple[int, int, list[str]]  # 0-based first line, end line (exclusive), new lines


@dataclass
class Suggestion:
    """The rewritten text and what it changes (empty ``text`` when the file does not check)."""

    file: str
    original: str = ""
    text: str = ""
    before: frozenset[Flow] = frozenset()
    after: frozenset[Flow] = frozenset()
    layout: Layout | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.text.splitlines(keepends=True),
                self.file,
                f"{self.file} (suggested)",
            )
        )

    def summary(self) -> str:
        kept = len(self.before & self.after)
        removed = len(self.before - self.after)
        added = len(self.after - self.before)
        nets = len(self.layout.networks) if self.layout else 0
        text = f"{removed} reachable service pair{'s' if removed != 1 else ''} removed, {kept} kept"
        if added:
            text += f", {added} added (see the warnings)"
        return f"{text}; {nets} generated network{'s' if nets != 1 else ''}"


def suggest(
    file: str, needs: Iterable[Flow] | None = None, *, avoid: Sequence[str] = ()
) -> Suggestion:
    """The suggested layout of ``file`` (a topology or a Compose file). ``needs`` defaults to
    the needed connections inferred from the file (unless its ``synthesize: {needs: false}``)."""
    result = pipeline.check(file)
    out = Suggestion(file, diagnostics=list(result.diagnostics))
    topo = result.topology
    if topo is None or not isinstance(result.src.data, dict):
        return out
    with open(file, encoding="utf-8", newline="") as fh:
        out.original = fh.read()
    data = result.src.data
    places = [k for k, s in (data.get("services") or {}).items() if "network_mode" not in s]
    options = document.prepare(data).data.get("synthesize") or {}
    kept = _external(data)
    if needs is None:
        from .analysis.needs import needed

        wanted = options.get("needs", True) is not False
        needs = [(n.source, n.target) for n in needed(topo)] if wanted else []
    intent = synth.gather(topo, places, needs, options.get("egress") or ())
    try:
        out.layout = synth.synthesize(
            intent,
            pool=options.get("pool") or subnets.DEFAULT_POOL,
            prefix=options.get("prefix") or subnets.DEFAULT_PREFIX,
            taken=kept,
            avoid=[*synth.declared_subnets(data), *avoid],
        )
    except ValueError as exc:
        out.diagnostics.append(result.src.finish(error("synth-pool", str(exc), ())))
        return out
    out.text = rewrite(out.original, result, out.layout, kept)
    after = pipeline.check(file, out.text)
    moved = document.prepare(data)
    noted = [
        *rules.run(replace(topo, synthesized=out.layout), synthesis.RULES),
        *_dropped(data, out.layout, kept),
    ]
    located = [result.src.finish(replace(d, path=moved.written_at(d.path))) for d in noted]
    out.diagnostics = dg.sort([*after.diagnostics, *located])
    out.before = _pairs(topo, places)
    out.after = _pairs(after.topology, places) if after.topology else frozenset()
    return out


def _external(data: dict[str, Any]) -> dict[str, Any]:
    nets = data.get("networks") or {}
    return {k: n for k, n in nets.items() if isinstance(n, dict) and n.get("external")}


#: What a service's attachment to a network says that a generated network cannot keep.
PINNED = ("ipv4_address", "ipv6_address", "link_local_ips", "mac_address")


def _dropped(data: dict[str, Any], layout: Layout, kept: dict[str, Any]) -> list[Diagnostic]:
    """A warning at each address pinned on a network the layout replaces: the generated
    networks have subnets of their own, so the address goes with the network."""
    found = []
    for name in layout.services:
        own = data["services"][name].get("networks")
        for net, value in own.items() if isinstance(own, dict) else ():
            if net in kept or not isinstance(value, dict):
                continue
            for key in (k for k in PINNED if value.get(k) not in (None, "", [])):
                found.append(
                    warning(
                        "synth-address-dropped",
                        f"{key} {value[key]} of {name} on {net} is dropped: {net} is replaced by "
                        "generated networks, whose subnets are their own",
                        ("services", name, "networks", net, key),
                        at_key=True,
                        hint="pin the address again on the generated network after applying "
                        "the suggestion (within its subnet), or make the network external",
                    )
                )
    return found


def _pairs(topo: Any, places: list[str]) -> frozenset[Flow]:
    matrix = reach.analyze(topo, places, places)
    return frozenset((p.source, p.target) for p in matrix.pairs if p.reachable)


# ---------------------------------------------------------------------- text edits


def rewrite(text: str, result: pipeline.Result, layout: Layout, kept: dict[str, Any]) -> str:
    """``text`` with the placed services' and the top-level ``networks:`` blocks replaced."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    marks = result.src.marks
    data = result.src.data
    edits: list[Edit] = []
    for name, keys in layout.services.items():
        own = data["services"][name].get("networks")
        aliases = _aliases(own)
        attach: dict[str, Any] = {k: {"aliases": aliases} if aliases else None for k in keys}
        # an external network stays as the service attached to it: address, aliases and all
        attach |= {k: own[k] if isinstance(own, dict) else None for k in _names(own) if k in kept}
        edits.append(_service_edit(lines, marks, name, dict(sorted(attach.items()))))
    edits.append(_top_edit(lines, marks, layout, kept))
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[start:end] = new
    return "".join(lines)


def _names(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _aliases(value: Any) -> list[str]:
    """Every alias the service had on any network: kept on each new one, so that the names
    others use for it still resolve."""
    if not isinstance(value, dict):
        return []
    found = {
        str(a) for v in value.values() if isinstance(v, dict) for a in (v.get("aliases") or ())
    }
    return sorted(found)


def _service_edit(
    lines: list[str], marks: dict[Any, Any], name: str, attach: dict[str, Any]
) -> Edit:
    at = marks.get(("services", name, "networks"))
    if at is not None:
        start, col = at[0].line, at[0].column
        return start, _block_end(lines, start, col), _service_block(attach, col)
    inner = [m[0] for p, m in marks.items() if len(p) == 3 and p[:2] == ("services", name)]
    first = min(inner, key=lambda m: (m.line, m.column))
    line = marks[("services", name)][0].line
    return line + 1, line + 1, _service_block(attach, first.column)


def _service_block(attach: dict[str, Any], col: int) -> list[str]:
    """The service's ``networks:``: the short list when no attachment says anything."""
    value: Any = attach if any(v is not None for v in attach.values()) else list(attach)
    text = block({"networks": value}, col)
    return [f"{ln}\n" for ln in text.splitlines()]


def _top_edit(
    lines: list[str], marks: dict[Any, Any], layout: Layout, kept: dict[str, Any]
) -> Edit:
    body = ["networks:\n"]
    for key, n in sorted(kept.items()):
        body += [f"  {block(key)}:\n", *(f"{ln}\n" for ln in block(n, 4).splitlines())]
    for net in layout.networks:
        body.append(f"  # synthesized: {net.comment()}\n")
        body += [f"  {block(net.key)}:\n", *(f"{ln}\n" for ln in block(net.body(), 4).splitlines())]
    at = marks.get(("networks",))
    if at is None:
        return len(lines), len(lines), body
    start = at[0].line
    return start, _block_end(lines, start, at[0].column), body


def _block_end(lines: list[str], start: int, col: int) -> int:
    """The line after the block whose key is at ``lines[start]``, column ``col``: the lines
    indented deeper (blank and comment lines inside count, trailing ones do not)."""
    end = start + 1
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        indent = len(lines[i]) - len(lines[i].lstrip(" "))
        if not stripped or stripped.startswith("#"):
            continue
        if indent <= col:
            break
        end = i + 1
    return end
