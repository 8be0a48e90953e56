"""Compose's interpolation of a document, exactly as ``docker compose`` (compose-go v2.9.1,
``interpolation`` and ``loader/interpolate.go``) does it; the one set of ``$`` rules topogen
follows.

Every string *value* of the document is interpolated (also in ``x-`` extensions and
``name``; never a mapping key) with the grammar of :mod:`topogen.substitution`; then the
strings at a few paths are cast to numbers and booleans (:data:`CASTS`), whether or not they
held a ``$``. The variables come from :func:`load_env` (:mod:`topogen.dotenv`): the process
environment, then the ``.env`` of the project directory or the ``--env-file`` files, the
process environment winning. A service's ``env_file:`` sets the container's environment
only; it does not feed interpolation.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Path
from .dotenv import DotenvError, Env, load_env, parse_dotenv, project_name
from .substitution import Value, check, interpolate

__all__ = [
    "CASTS",
    "DotenvError",
    "Env",
    "Tree",
    "Value",
    "cast",
    "cast_kind",
    "check",
    "interpolate",
    "interpolate_tree",
    "load_env",
    "parse_dotenv",
    "project_name",
]


# ---------------------------------------------------------------------- documents


@dataclass
class Tree:
    """A document interpolated as Compose does it, with what it found on the way."""

    data: Any
    unset: dict[Path, tuple[str, ...]] = field(default_factory=dict)  # "" and a warning each
    errors: dict[Path, str] = field(default_factory=dict)  # ":?"/"?" unmet, bad syntax: as written
    #: interpolated but not castable (``replicas: "5.0"``): Compose refuses the file; the
    #: value stays the interpolated string, so a typed check also sees it as wrong.
    cast_errors: dict[Path, str] = field(default_factory=dict)
    warnings: dict[Path, str] = field(default_factory=dict)  # "yes" for a boolean: cast, warned
    #: The values that refer to a variable (``$$`` alone does not), and the syntax problem of
    #: each malformed one (:func:`check`, whatever the environment), found on the same walk.
    references: set[Path] = field(default_factory=set)
    syntax: dict[Path, str] = field(default_factory=dict)


def interpolate_tree(data: Any, env: Mapping[str, str]) -> Tree:
    """A deep copy of ``data`` with every string value interpolated (keys never are) and
    the values at :data:`CASTS` paths cast; an erroneous value is kept as written."""
    tree = Tree(None)
    tree.data = _Walk(env, tree).node(data, (), _ALL_CASTS)
    return tree


_Casts = tuple[tuple[tuple[str, ...], str], ...]
#: A reference to a variable: ``${`` or ``$NAME`` (after ``$$`` is taken out).
_REFERENCE = re.compile(r"\$(?:\{|[A-Za-z_])")


class _Walk:
    """One document's walk: the casts still possible below each node are narrowed on the
    way down, and each distinct text is interpolated once."""

    def __init__(self, env: Mapping[str, str], tree: Tree) -> None:
        self.env, self.tree = env, tree
        self.values: dict[str, Value] = {}
        self.facts: dict[str, tuple[bool, str | None]] = {}
        # Narrowing is memoized: every service narrows the same casts by the same keys. The
        # results are interned by value, so that keying on their identity is sound and hits.
        self.narrowed: dict[tuple[int, int, str], _Casts] = {}
        self.interned: dict[_Casts, _Casts] = {_ALL_CASTS: _ALL_CASTS}

    def narrow(self, casts: _Casts, depth: int, part: str) -> _Casts:
        key = (id(casts), depth, part)
        found = self.narrowed.get(key)
        if found is None:
            found = _narrow(casts, depth, part)
            found = self.narrowed[key] = self.interned.setdefault(found, found)
        return found

    def node(self, node: Any, path: Path, casts: _Casts) -> Any:
        if node.__class__ is str:
            return self.leaf(node, path, casts)
        if isinstance(node, str):  # source.Verbatim: a plain 0755 is a number to Compose
            return node
        if isinstance(node, dict):
            depth = len(path)
            return {
                k: self.node(v, (*path, k), self.narrow(casts, depth, _part(k)) if casts else casts)
                for k, v in node.items()
            }
        if isinstance(node, list):
            inner = self.narrow(casts, len(path), "[]") if casts else casts
            return [self.node(v, (*path, i), inner) for i, v in enumerate(node)]
        return copy.deepcopy(node)

    def leaf(self, text: str, path: Path, casts: _Casts) -> Any:
        kind = next((k for pattern, k in casts if len(pattern) == len(path)), None)
        if "$" in text:
            facts = self.facts.get(text)
            if facts is None:
                refers = _REFERENCE.search(text.replace("$$", "")) is not None
                facts = self.facts[text] = (refers, check(text))
            if facts[0]:
                self.tree.references.add(path)
            if facts[1] is not None:
                self.tree.syntax[path] = facts[1]
            value = self.values.get(text)
            if value is None:
                value = self.values[text] = interpolate(text, self.env)
            if value.unset:
                self.tree.unset[path] = value.unset
            if value.error is not None:
                self.tree.errors[path] = value.error
                return text
            text = value.text
        if kind is None:
            return text
        result, problem = cast(kind, text)
        if problem is not None:
            (self.tree.warnings if result is not None else self.tree.cast_errors)[path] = problem
        return text if result is None else result


def _narrow(casts: _Casts, depth: int, part: str) -> _Casts:
    return tuple(c for c in casts if len(c[0]) > depth and c[0][depth] in ("*", part))


def _part(key: Any) -> str:
    """A mapping key as Compose's path part (its YAML keys are strings)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


# ---------------------------------------------------------------------- casts

#: compose-go ``loader/interpolate.go``: the paths whose strings are cast after
#: interpolation. ``*`` is any key or list item, ``[]`` any list item.
CASTS: dict[tuple[str, ...], str] = {
    **{
        ("services", "*", key): "int"
        for key in (
            "cpu_count",
            "cpu_period",
            "cpu_quota",
            "cpu_rt_period",
            "cpu_rt_runtime",
            "cpu_shares",
            "oom_score_adj",
            "pids_limit",
            "scale",
        )
    },
    ("services", "*", "cpu_percent"): "float",
    ("services", "*", "cpus"): "float32",
    **{
        ("services", "*", key): "bool"
        for key in ("init", "oom_kill_disable", "privileged", "read_only", "stdin_open", "tty")
    },
    ("services", "*", "deploy", "replicas"): "int",
    ("services", "*", "deploy", "update_config", "parallelism"): "int",
    ("services", "*", "deploy", "update_config", "max_failure_ratio"): "float",
    ("services", "*", "deploy", "rollback_config", "parallelism"): "int",
    ("services", "*", "deploy", "rollback_config", "max_failure_ratio"): "float",
    ("services", "*", "deploy", "restart_policy", "max_attempts"): "int",
    ("services", "*", "deploy", "placement", "max_replicas_per_node"): "int",
    ("services", "*", "healthcheck", "retries"): "int",
    ("services", "*", "healthcheck", "disable"): "bool",
    ("services", "*", "ports", "[]", "target"): "int",
    ("services", "*", "ulimits", "*"): "int",
    ("services", "*", "ulimits", "*", "hard"): "int",
    ("services", "*", "ulimits", "*", "soft"): "int",
    ("services", "*", "volumes", "[]", "read_only"): "bool",
    ("services", "*", "volumes", "[]", "volume", "nocopy"): "bool",
    **{
        ("networks", "*", key): "bool"
        for key in ("external", "internal", "attachable", "enable_ipv4", "enable_ipv6")
    },
    ("volumes", "*", "external"): "bool",
    ("secrets", "*", "external"): "bool",
    ("configs", "*", "external"): "bool",
}
_ALL_CASTS: _Casts = tuple(CASTS.items())


def cast_kind(parts: Sequence[str]) -> str | None:
    """The cast Compose applies at a path given as its parts (list items as ``"[]"``)."""
    casts = _ALL_CASTS
    for depth, part in enumerate(parts):
        casts = _narrow(casts, depth, part)
    return next((k for pattern, k in casts if len(pattern) == len(parts)), None)


_INT = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL = re.compile(r"[+-]?(?:[0-9_]+(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?\Z")
_HEX = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F_]+(?:\.[0-9a-fA-F_]*)?|\.[0-9a-fA-F_]+)[pP][+-]?[0-9_]+\Z"
)
_SPECIAL = re.compile(r"[+-]?(?:inf|infinity)\Z|nan\Z", re.IGNORECASE)
_FLOAT32_MAX = 3.4028235677973366e38  # halfway to the next power: Go rounds below it


def cast(kind: str, text: str) -> tuple[Any, str | None]:
    """``(value, None)``, ``(value, warning)`` or ``(None, error)`` for one cast."""
    if kind == "bool":
        return _bool(text)
    if kind == "int":
        if _INT.match(text) and -(2**63) <= int(text) < 2**63:
            return int(text), None
        return None, f"expected an integer, got {text!r}"
    number = _float(text)
    if number is None or (
        kind == "float32" and math.isfinite(number) and abs(number) >= _FLOAT32_MAX
    ):
        return None, f"expected a number, got {text!r}"
    return number, None


def _bool(text: str) -> tuple[bool | None, str | None]:
    lower = text.lower()
    if lower in ("true", "false"):
        return lower == "true", None
    if lower in ("y", "yes", "on", "n", "no", "off"):
        value = lower in ("y", "yes", "on")
        return (
            value,
            f"{text!r} for a boolean is not YAML 1.2: Compose reads it as {str(value).lower()}",
        )
    return None, f"expected true or false, got {text!r}"


def _float(text: str) -> float | None:
    """Go's ``strconv.ParseFloat``: decimal or hex, ``_`` only between digits, inf/nan; an
    overflow is an error."""
    if _SPECIAL.match(text):
        return float(text)
    hexa = _HEX.match(text)
    if not (hexa or _DECIMAL.match(text)) or not _underscores_ok(text):
        return None
    plain = text.replace("_", "")
    number = float.fromhex(plain) if hexa else float(plain)
    return number if math.isfinite(number) else None


def _underscores_ok(text: str) -> bool:
    """Go's rule: an ``_`` sits between two digits (a base prefix counts as a digit)."""
    body = text.lstrip("+-")
    hexa = body[:2].lower() == "0x"
    digits = "0123456789abcdefABCDEF" if hexa else "0123456789"
    saw = "0" if hexa else "^"
    for c in body[2:] if hexa else body:
        if c in digits:
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"
