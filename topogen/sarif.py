"""``validate --format sarif``: diagnostics as one SARIF 2.1.0 run, for GitHub code scanning and
the other viewers of the OASIS format.

The run names topogen (``tool.driver``) and, in ``rules``, every id its results use, with the
rule catalogue's text (:func:`topogen.rules.catalog.describe`: the rule's docstring). Each
result points at its file relative to the working directory (``uriBaseId`` ``%SRCROOT%``, which
``originalUriBaseIds`` resolves) and its 1-based line and column, counted in code points as
topogen counts them; the hint is the message's second line and ``properties.hint``. A suppressed
finding carries ``suppressions`` (``inSource`` or ``external``, its reason as justification).
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from . import __version__
from .diagnostics import Diagnostic, Suppressed
from .suppress import dotted

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
#: File names that are no file (stdin's topology): no ``uri``, a description instead.
NOT_FILES = frozenset(("<stdin>", "<string>", ""))


def render(diags: Sequence[Diagnostic], cwd: str | None = None) -> str:
    """The SARIF log, as indented JSON with a trailing newline."""
    return json.dumps(log(diags, cwd), indent=2, ensure_ascii=False) + "\n"


def log(diags: Sequence[Diagnostic], cwd: str | None = None) -> dict[str, Any]:
    from .rules.catalog import describe

    base = os.path.abspath(cwd or os.getcwd())
    docs = describe()
    used = sorted({d.rule for d in diags})
    index = {rid: i for i, rid in enumerate(used)}
    run: dict[str, Any] = {
        "tool": {"driver": _driver([_rule(rid, docs.get(rid)) for rid in used])},
        "originalUriBaseIds": {SRCROOT: {"uri": pathlib.Path(base).as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(d, index[d.rule], base) for d in diags],
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def _driver(rules: list[dict[str, Any]]) -> dict[str, Any]:
    driver: dict[str, Any] = {
        "name": "topogen",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": rules,
    }
    home = _homepage()
    if home:
        driver["informationUri"] = home
    return driver


def _homepage() -> str:
    """The project's home page from the installed distribution's metadata (``[project.urls]``)."""
    from importlib import metadata

    try:
        meta = metadata.metadata("topogen")
    except metadata.PackageNotFoundError:
        return ""
    for entry in meta.get_all("Project-URL") or ():
        label, _, url = str(entry).partition(",")
        if label.strip().lower() in ("homepage", "home", "repository", "source"):
            return url.strip()
    return str((meta.get_all("Home-page") or [""])[0])


def _rule(rid: str, doc: Any) -> dict[str, Any]:
    """A ``reportingDescriptor``: id, the catalogue's sentence and example, the default level."""
    if doc is None:  # an id no declaration names: still described, so ruleIndex holds
        return {"id": rid, "shortDescription": {"text": rid}}
    full = doc.what + (f" Failing example: {doc.example}" if doc.example else "")
    help_md = doc.what + (f"\n\nFailing example: {doc.example}" if doc.example else "")
    help_md += f"\n\nReported by {doc.source}; see docs/rules.md."
    return {
        "id": rid,
        "name": "".join(part.title() for part in rid.split("-")),
        "shortDescription": {"text": _plain(doc.what)},
        "fullDescription": {"text": _plain(full)},
        "help": {"text": _plain(help_md), "markdown": help_md},
        "defaultConfiguration": {"level": doc.default_level.value},
        "properties": {"levels": sorted(level.value for level in doc.levels)},
    }


def _plain(markdown: str) -> str:
    return markdown.replace("``", "").replace("`", "")


def _result(d: Diagnostic, rule_index: int, base: str) -> dict[str, Any]:
    text = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    result: dict[str, Any] = {
        "ruleId": d.rule,
        "ruleIndex": rule_index,
        "level": d.level.value,
        "message": {"text": text},
        "locations": [_location(d.file, d.line, d.col, base, d.path)],
    }
    if d.hint:
        result["properties"] = {"hint": d.hint}
    if d.suppressed is not None:
        result["suppressions"] = [_suppression(d.suppressed, base)]
    return result


def _suppression(s: Suppressed, base: str) -> dict[str, Any]:
    return {
        "kind": s.kind,
        "justification": s.reason,
        "location": _location(s.file, s.line, s.col, base, ()),
    }


def _location(file: str, line: int, col: int, base: str, path: tuple[Any, ...]) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(file, base)}
    if line >= 1:
        physical["region"] = {"startLine": line, "startColumn": max(col, 1)}
    location: dict[str, Any] = {"physicalLocation": physical}
    if path:
        location["logicalLocations"] = [{"fullyQualifiedName": dotted(path)}]
    return location


def _artifact(file: str, base: str) -> dict[str, Any]:
    """The file relative to the working directory under ``%SRCROOT%``; an absolute ``file:``
    URI for a file outside it; a description for stdin."""
    if file in NOT_FILES:
        return {"description": {"text": file or "no file"}}
    path = os.path.abspath(file)
    rel = os.path.relpath(path, base)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return {"uri": pathlib.Path(path).as_uri()}
    return {"uri": quote(rel.replace(os.sep, "/")), "uriBaseId": SRCROOT}
