"""Problems as values: every user mistake is a :class:`Diagnostic`, located in the source."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

Path = tuple[str | int, ...]


class Level(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Suppressed:
    """Why a finding is accepted: a ``# topogen: ignore[...]`` comment (``inSource``) or an entry
    of the topology's ``ignore:`` list (``external``), with its reason and where it is written."""

    kind: str
    reason: str
    file: str = ""
    line: int = 0
    col: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "file": self.file,
            "line": self.line,
            "col": self.col,
        }


@dataclass(frozen=True, order=False)
class Diagnostic:
    """One problem: a rule id, a level, a message, and where it is.

    Rules create diagnostics with a ``path`` into the topology (``("networks", "db",
    "gateway")``); the pipeline fills ``file``, ``line`` and ``col`` from the source map.
    ``at_key`` points at the key itself rather than its value (unknown keys, duplicates).
    """

    rule: str
    message: str
    path: Path = ()
    level: Level = Level.ERROR
    at_key: bool = False
    file: str = ""
    line: int = 0
    col: int = 0
    hint: str = field(default="", compare=False)
    #: Set when a suppression accepts this finding (:mod:`topogen.suppress`): it then never
    #: fails a run, and text output hides it.
    suppressed: Suppressed | None = field(default=None, compare=False)
    #: A word inside the value at ``path`` that the finding is about, and its offset there
    #: (a host in a URL): the column moves onto it where the file spells the value as read.
    within: tuple[int, str] | None = field(default=None, compare=False)

    @property
    def is_error(self) -> bool:
        return self.level is Level.ERROR

    def located(self, file: str, line: int, col: int) -> Diagnostic:
        return replace(self, file=file, line=line, col=col)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.col, self.rule, self.message)

    def format(self) -> str:
        """yamllint's parsable form: ``file:line:col: [level] message (rule)``."""
        text = (
            f"{self.file}:{self.line}:{self.col}: [{self.level.value}] {self.message} ({self.rule})"
        )
        text += f"\n    hint: {self.hint}" if self.hint else ""
        if self.suppressed is not None:
            text += f"\n    suppressed ({self.suppressed.kind}): {self.suppressed.reason}"
        return text

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "level": self.level.value,
            "rule": self.rule,
            "message": self.message,
            "path": list(self.path),  # list indices stay ints
            "hint": self.hint,
        }
        if self.suppressed is not None:
            out["suppressed"] = self.suppressed.as_dict()
        return out


def error(
    rule: str, message: str, path: Path, *, at_key: bool = False, hint: str = ""
) -> Diagnostic:
    return Diagnostic(rule, message, path, Level.ERROR, at_key, hint=hint)


def warning(
    rule: str, message: str, path: Path, *, at_key: bool = False, hint: str = ""
) -> Diagnostic:
    return Diagnostic(rule, message, path, Level.WARNING, at_key, hint=hint)


def sort(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by position, duplicates (same rule at the same place) removed."""
    unique = {(d.file, d.line, d.col, d.rule, d.message): d for d in diags}
    return sorted(unique.values(), key=Diagnostic.sort_key)


def has_errors(diags: Iterable[Diagnostic], *, strict: bool = False) -> bool:
    """Whether any finding fails the run; a suppressed one never does."""
    return any((d.is_error or strict) and d.suppressed is None for d in diags)


def render(diags: Sequence[Diagnostic], fmt: str = "text", *, show_suppressed: bool = False) -> str:
    """Render for humans (``text``), machines (``json``, ``sarif``) or GitHub workflow
    annotations. Suppressed findings are in ``json`` and ``sarif`` always (marked as such), in
    ``text`` and ``github`` only with ``show_suppressed``."""
    if fmt == "json":
        import json  # only for --format json: not on the common path

        return json.dumps([d.as_dict() for d in diags], indent=2) + "\n"
    if fmt == "sarif":
        from . import sarif

        return sarif.render(diags)
    shown = [d for d in diags if show_suppressed or d.suppressed is None]
    if fmt == "github":
        return "".join(_github(d) + "\n" for d in shown)
    return "".join(d.format() + "\n" for d in shown)


def visible(diags: Iterable[Diagnostic], fmt: str, *, show_suppressed: bool = False) -> bool:
    """Whether :func:`render` has anything to print (``json`` and ``sarif`` always do)."""
    return fmt in ("json", "sarif") or any(show_suppressed or d.suppressed is None for d in diags)


def _github(d: Diagnostic) -> str:
    """A workflow command (``::error file=...::message``), escaped as GitHub's runner unescapes
    it (actions/toolkit ``command.ts``); the hint stays, on the message's second line."""
    kind = "notice" if d.suppressed else "error" if d.is_error else "warning"
    props = f"file={_gh_property(d.file)},line={d.line},col={d.col},title={_gh_property(d.rule)}"
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    if d.suppressed is not None:
        message += f"\nsuppressed: {d.suppressed.reason}"
    return f"::{kind} {props}::{_gh_data(message)}"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")
