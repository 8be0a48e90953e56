"""Reviewing a change: ``topogen diff`` of two sides (files, or ``REV:PATH`` read from git),
and its reports: text, a Markdown table for a pull request or a job summary, JSON.

Exit codes (decided here, printed by the CLI): 2 for usage (a revision or file git cannot
give), 1 when a side cannot be analysed (it does not resolve) or when NEW has errors (as
``validate`` would fail) or when ``--fail-on`` is met; otherwise 0, whatever changed.
Errors in OLD are printed but do not fail: a change that fixes them should pass.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

from . import diagnostics as dg
from . import revision
from .analysis.diff import Change, Side, compare, failing
from .analysis.explain import Where
from .diagnostics import Path
from .pipeline import Result, check


@dataclass
class Review:
    """Both sides as checked, and what changed between them."""

    old_label: str
    new_label: str
    old: Result
    new: Result
    changes: list[Change] = field(default_factory=list)

    @property
    def analysed(self) -> bool:
        return self.old.topology is not None and self.new.topology is not None

    def diagnostics(self) -> list[dg.Diagnostic]:
        """NEW's diagnostics, and OLD's errors (its warnings are the past)."""
        return [*(d for d in self.old.diagnostics if d.is_error), *self.new.diagnostics]

    def exit_code(self, fail_on: str | None = None) -> int:
        if not self.analysed or dg.has_errors(self.new.diagnostics):
            return 1
        return 1 if failing(self.changes, fail_on) else 0


def sides(args: Sequence[str], base: str | None = None) -> list[str]:
    """OLD and NEW from the command line: two sides, or one file and ``--base REV`` (the file
    at REV, as a path from the current directory). ValueError with a usage message."""
    if base is not None:
        if len(args) != 1:
            raise ValueError("--base takes one file: topogen diff --base REV FILE")
        file = args[0]
        args = [f"{base}:{file}" if os.path.isabs(file) else f"{base}:./{file}", file]
    if len(args) != 2:
        raise ValueError("give OLD and NEW, or --base REV FILE")
    if "-" in args:
        raise ValueError("diff reads files or REV:PATH, not stdin")
    return list(args)


def diff(
    old: str,
    new: str,
    *,
    overrides: Sequence[str] = (),
    profiles: Sequence[str] | None = None,
    env_files: Sequence[str] | None = None,
    everything: bool = False,
) -> Review:
    """Check both sides (each a file or ``REV:PATH``) and compare them. Override files are
    read from each side's revision; raises :class:`revision.RevisionError` for what git
    cannot give."""
    with ExitStack() as stack:
        checked = []
        for spec in (old, new):
            at = revision.split(spec)
            rev = stack.enter_context(revision.export(*at)) if at else None
            file = rev.file if rev else spec
            extra = [rev.local(o) for o in overrides] if rev else list(overrides)
            result = check(file, overrides=extra, profiles=profiles, env_files=env_files)
            label = rev.label if rev else _same
            result.diagnostics = [
                replace(d, file=label(d.file), message=_message(d.message, rev))
                for d in result.diagnostics
            ]
            checked.append((result, _where(result, label)))
        review = Review(old, new, checked[0][0], checked[1][0])
        (a, where_a), (b, where_b) = checked
        if a.topology is not None and b.topology is not None:
            before, after = Side(a.topology, where_a, "old"), Side(b.topology, where_b, "new")
            review.changes = compare(before, after, everything=everything)
        return review


def _message(text: str, rev: revision.Revision | None) -> str:
    """``text`` with the exported tree's paths (absolute, or relative to here) as ``REV:``."""
    if rev is None:
        return text
    for root in (rev.root, os.path.relpath(rev.root)):
        text = text.replace(root + os.sep, f"{rev.rev}:")
    return text


def _same(file: str) -> str:
    return file


def _where(result: Result, label: Callable[[str], str]) -> Where:
    """The result's locator, with a revision's temporary copy named ``REV:path``."""

    def where(path: Path) -> tuple[str, int, int]:
        file, line, col = result.where(path)
        return label(file), line, col

    return where


# ---------------------------------------------------------------------- reports


def _at(c: Change) -> str:
    return f"{c.cause.file}:{c.cause.line}:{c.cause.col}" if c.cause else "-"


def text(review: Review) -> str:
    """One line per change: ``file:line:col: [kind] FROM -> TO: BEFORE => AFTER (cause)``."""
    if not review.changes:
        return f"no connectivity change between {review.old_label} and {review.new_label}\n"
    return "".join(
        f"{_at(c)}: [{c.kind}] {c.source} -> {c.target}: {c.before} => {c.after}"
        + (f" ({c.cause.text})" if c.cause else "")
        + "\n"
        for c in review.changes
    )


def markdown(review: Review) -> str:
    """A table fit for a pull-request comment or ``$GITHUB_STEP_SUMMARY``."""
    head = f"### topogen diff: `{review.old_label}` → `{review.new_label}`\n\n"
    if not review.changes:
        return head + "No connectivity change.\n"
    rows = [
        "| change | from | to | before | after | where | cause |",
        "|---|---|---|---|---|---|---|",
    ]
    rows += [
        "| "
        + " | ".join(
            _cell(x)
            for x in (
                c.kind,
                c.source,
                c.target,
                c.before,
                c.after,
                f"`{_at(c)}`",
                c.cause.text if c.cause else "",
            )
        )
        + " |"
        for c in review.changes
    ]
    counts = ", ".join(
        f"{sum(c.kind == k for c in review.changes)} {k}"
        for k in dict.fromkeys(c.kind for c in review.changes)
    )
    return head + f"{len(review.changes)} changes ({counts}).\n\n" + "\n".join(rows) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def to_json(review: Review) -> str:
    data = {
        "old": review.old_label,
        "new": review.new_label,
        "changes": [c.to_json() for c in review.changes],
        "diagnostics": [d.as_dict() for d in review.diagnostics()],
    }
    return json.dumps(data, indent=2) + "\n"


RENDER = {"text": text, "markdown": markdown, "json": to_json}
