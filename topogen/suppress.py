"""Suppressions: accepted findings, each with its reason.

Two ways to accept a warning:

- a comment ``# topogen: ignore[docker-socket, privileged] reason`` at the end of the line the
  finding points at, or alone on the line before it (``inSource``). libyaml drops comments, so
  they are found in the text: a ``#`` at the start of a line or after whitespace, outside any
  scalar (the YAML scanner's scalar tokens say where quoted and block scalars are);
- an entry of the topology's ``ignore:`` list (``x-topogen: {ignore: [...]}`` in a Compose
  file), ``{rule: ID, reason: ..., at: services.web.volumes[0]}`` (``external``); instead of
  ``at``, ``service: web``, ``network: db`` or ``volume: data``; with none of them, every
  finding of that rule in the project.

Only warnings can be suppressed: an error is a file that Compose or the engine refuses, or a
policy that does not hold, and accepting it would not make it run. A suppression needs a
reason and known ids (an ``invalid-suppression`` error otherwise, with "did you mean"); one that
accepts nothing is an ``unused-suppression`` warning (not itself suppressible: delete it).
A suppressed finding is kept, marked (:class:`~topogen.diagnostics.Suppressed`): it never fails
a run, and only the json and sarif formats (or ``--show-suppressed``) show it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .diagnostics import Diagnostic, Level, Path, Suppressed, error, sort, warning

#: A comment that is meant for topogen (the text after ``#``).
_MARK = re.compile(r"#[ \t]*topogen[ \t]*:")
_INLINE = re.compile(r"#[ \t]*topogen[ \t]*:[ \t]*ignore[ \t]*\[([^\]]*)\](.*)")
_LINES = re.compile(r"\r\n|\r|\n|\x85|\u2028|\u2029")  # YAML's line breaks, as libyaml counts
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[[0-9]+\])*)")
SELECTORS = {"service": "services", "network": "networks", "volume": "volumes"}
INLINE, EXTERNAL = "inSource", "external"


@dataclass
class Suppression:
    """One accepted rule id, and where it applies: lines of a file, or under a document path."""

    kind: str
    rule: str
    reason: str
    file: str
    line: int
    col: int
    lines: tuple[int, ...] = ()  # inSource: the lines it covers
    at: Path = ()  # external: the document path (as written) it covers
    used: bool = field(default=False, compare=False)
    #: It covers an error of its rule (an id that is both), which stays an error.
    on_error: bool = field(default=False, compare=False)

    def covers(self, d: Diagnostic) -> bool:
        if d.rule != self.rule:
            return False
        if self.kind == INLINE:
            return d.file == self.file and d.line in self.lines
        return d.path[: len(self.at)] == self.at

    def mark(self) -> Suppressed:
        return Suppressed(self.kind, self.reason, self.file, self.line, self.col)


@dataclass
class Scope:
    """What the suppressions of one checked project are read from.

    ``texts`` are the files' texts by name (as diagnostics name them); ``entries`` the raw
    ``ignore:`` list; ``place`` locates a diagnostic made with a document path (as the pipeline
    locates the rules'), ``written_at`` maps such a path to where it is written (``x-compose``,
    ``x-topogen``); ``complete``: every rule ran, so a suppression that accepts nothing is unused.
    """

    texts: Mapping[str, str]
    entries: Any = None
    place: Callable[[Diagnostic], Diagnostic] | None = None
    written_at: Callable[[Path], Path] = lambda path: path
    complete: bool = False


def apply(diags: Sequence[Diagnostic], scope: Scope) -> list[Diagnostic]:
    """``diags`` with the findings a suppression accepts marked, and the suppressions' own
    problems (``invalid-suppression``, ``unused-suppression``) added, in position order."""
    found: list[Diagnostic] = []
    accepted: list[Suppression] = []
    for name, text in scope.texts.items():
        accepted += _inline(name, text, found)
    accepted += _external(scope, found)
    if not accepted and not found:
        return list(diags)
    out = [_accept(d, accepted) for d in diags]
    if scope.complete:
        found += [_unused(s) for s in accepted if not s.used]
    return sort(out + found)


def _accept(d: Diagnostic, accepted: Sequence[Suppression]) -> Diagnostic:
    if d.suppressed is not None:
        return d
    for s in accepted:
        if s.covers(d):
            if d.level is not Level.WARNING:
                s.on_error = True
                continue
            s.used = True
            return replace(d, suppressed=s.mark())
    return d


def _unused(s: Suppression) -> Diagnostic:
    if s.on_error:
        return warning(
            "unused-suppression",
            f"the {s.rule} finding it covers is an error, and errors cannot be suppressed",
            (),
            hint="fix the error; only warnings can be accepted",
        ).located(s.file, s.line, s.col)
    if s.kind == INLINE:
        where = f"on line {s.lines[-1]}" if s.lines[-1] != s.line else "on this line"
        hint = "a comment covers its own line; alone on its line, the next line"
        return warning(
            "unused-suppression", f"no {s.rule} finding {where} to suppress", (), hint=hint
        ).located(s.file, s.line, s.col)
    place = dotted(s.at) if s.at else "in the project"
    return warning(
        "unused-suppression",
        f"no {s.rule} finding {'at ' if s.at else ''}{place} to suppress",
        (),
        hint="remove the entry, or point it at the finding's path (validate --format json shows it)",
    ).located(s.file, s.line, s.col)


# ---------------------------------------------------------------------- checking ids


def _refusal(rid: str) -> str:
    """Why ``rid`` cannot be suppressed ("" when it can)."""
    from . import rules

    known = rules.ids()
    levels = known.get(rid)
    if levels is None:
        import difflib

        close = difflib.get_close_matches(rid, list(known), n=1, cutoff=0.6)
        return f"unknown rule id {rid!r}" + (f": did you mean {close[0]!r}?" if close else "")
    if rid == "unused-suppression":
        return "an unused suppression cannot be suppressed: remove it"
    if Level.WARNING not in levels:
        return (
            f"{rid} is an error (Compose or the engine refuses it, or a policy fails): "
            "errors cannot be suppressed, only warnings"
        )
    return ""


# ---------------------------------------------------------------------- comments


def _inline(file: str, text: str, found: list[Diagnostic]) -> list[Suppression]:
    if not _MARK.search(text):
        return []
    lines = _LINES.split(text)
    out: list[Suppression] = []
    for number, col, alone in _comments(text, lines):
        comment = lines[number - 1][col - 1 :]
        covers = (number, _next_code_line(lines, number)) if alone else (number,)
        out += _parse_comment(comment, file, number, col, covers, found)
    return out


def _parse_comment(
    comment: str, file: str, line: int, col: int, covers: tuple[int, ...], found: list[Diagnostic]
) -> list[Suppression]:
    def refuse(message: str, hint: str = "") -> list[Suppression]:
        found.append(error("invalid-suppression", message, (), hint=hint).located(file, line, col))
        return []

    m = _INLINE.match(comment)
    if m is None:
        return refuse(
            "a topogen comment must read '# topogen: ignore[rule-id, ...] reason'",
            hint="e.g. # topogen: ignore[docker-socket] traefik reads the engine's events",
        )
    ids = [i.strip() for i in m.group(1).split(",") if i.strip()]
    reason = m.group(2).strip().lstrip(":-\u2013\u2014").strip()
    if not ids:
        return refuse("ignore[] names no rule id")
    if not reason:
        return refuse(
            f"the suppression of {', '.join(ids)} has no reason",
            hint=f"say why it is acceptable: # topogen: ignore[{', '.join(ids)}] REASON",
        )
    out = []
    for rid in ids:
        why = _refusal(rid)
        if why:
            refuse(why)
        else:
            out.append(Suppression(INLINE, rid, reason, file, line, col, lines=covers))
    return out


def _comments(text: str, lines: list[str]) -> Iterator[tuple[int, int, bool]]:
    """(line, column, alone on its line) of each comment that starts with ``topogen:``
    (1-based)."""
    candidates = [i for i, line in enumerate(lines) if _MARK.search(line)]
    spans = _scalar_spans(text, set(candidates))
    for i in candidates:
        line = lines[i]
        for col in (m.start() for m in re.finditer("#", line)):
            if (col == 0 or line[col - 1] in " \t") and not _inside(spans.get(i, ()), i, col):
                if _MARK.match(line, col):
                    yield i + 1, col + 1, not line[:col].strip()
                break  # the first comment runs to the end of the line


Span = tuple[int, int, int, int]


def _scalar_spans(text: str, wanted: set[int]) -> dict[int, list[Span]]:
    """The scalars (start line, start col, end line, end col) that touch each ``wanted`` line
    (0-based), from the YAML scanner; it stops after the last wanted line."""
    import yaml

    last = max(wanted)
    spans: dict[int, list[Span]] = {}
    try:
        for token in yaml.scan(text, Loader=yaml.CSafeLoader):
            start, end = token.start_mark, token.end_mark
            if start.line > last:
                break
            if isinstance(token, yaml.ScalarToken):
                for line in wanted.intersection(range(start.line, end.line + 1)):
                    spans.setdefault(line, []).append(
                        (start.line, start.column, end.line, end.column)
                    )
    except yaml.YAMLError:
        pass  # a syntax error: the file fails anyway; the scalars before it are known
    return spans


def _inside(spans: Iterable[Span], line: int, col: int) -> bool:
    return any((sl, sc) <= (line, col) < (el, ec) for sl, sc, el, ec in spans)


def _next_code_line(lines: list[str], number: int) -> int:
    """The first line after ``number`` (1-based) that is neither blank nor only a comment."""
    for i in range(number, len(lines)):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("#"):
            return i + 1
    return number


# ---------------------------------------------------------------------- the ignore: list


def _external(scope: Scope, found: list[Diagnostic]) -> list[Suppression]:
    entries = scope.entries
    if not isinstance(entries, list) or scope.place is None:
        return []
    out = []
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and isinstance(entry.get("rule"), str):
            out += _entry(entry, ("ignore", i), scope, found)
    return out


def _entry(
    entry: dict[str, Any], path: Path, scope: Scope, found: list[Diagnostic]
) -> list[Suppression]:
    place = scope.place
    assert place is not None
    here = place(error("invalid-suppression", "", path))

    def refuse(message: str, key: str = "", hint: str = "") -> list[Suppression]:
        at = (*path, key) if key and key in entry else path
        found.append(place(error("invalid-suppression", message, at, hint=hint)))
        return []

    rid = entry["rule"]
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return refuse(
            f"the suppression of {rid} has no reason",
            hint="add reason: why this finding is acceptable",
        )
    why = _refusal(rid)
    if why:
        return refuse(why, "rule")
    chosen = [k for k in ("at", *SELECTORS) if entry.get(k) is not None]
    if len(chosen) > 1:
        return refuse(f"give one of at, service, network, volume, not {' and '.join(chosen)}")
    at: Path | None = ()
    if chosen:
        key = chosen[0]
        value = entry[key]
        at = (SELECTORS[key], value) if key in SELECTORS else parse_path(value)
        if at is None or not all(isinstance(p, (str, int)) for p in at):
            return refuse(f"{key}: expected a document path such as services.web.volumes[0]", key)
    written = scope.written_at(at) if at else ()
    return [Suppression(EXTERNAL, rid, reason.strip(), here.file, here.line, here.col, at=written)]


def parse_path(value: Any) -> Path | None:
    """``services.web.volumes[0]`` (or the list ``[services, web, volumes, 0]``) as a path."""
    if isinstance(value, list):
        return tuple(value) if all(isinstance(p, (str, int)) for p in value) else None
    if not isinstance(value, str) or not value:
        return None
    out: list[str | int] = []
    for segment in value.split("."):
        m = _SEGMENT.fullmatch(segment)
        if m is None:
            return None
        out.append(m.group(1))
        out += [int(n) for n in re.findall(r"\[([0-9]+)\]", m.group(2))]
    return tuple(out)


def dotted(path: Path) -> str:
    """``("services", "web", "volumes", 0)`` -> ``services.web.volumes[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
