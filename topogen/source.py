"""Stage 1, source: YAML text -> plain data + a map from every key path to its position.

Parsing uses libyaml (PyYAML's C composer) for speed; the node tree is then walked once to
build plain Python data and the source map. Scalars are typed the way Compose's own YAML
parser (YAML 1.2 core schema) types them, not YAML 1.1's: ``no``/``on`` stay strings,
``0755`` and ``8080:80`` stay strings, so nothing a user wrote changes meaning on the way.

Syntax errors, duplicate keys, invalid UTF-8, alias bombs and oversized files become
diagnostics, never exceptions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .diagnostics import Diagnostic, Path, error

#: Files larger than this are refused before parsing (a pre-commit hook must stay fast).
MAX_BYTES = 32 * 1024 * 1024
#: How many nodes aliases may add on top of the document's own (YAML "billion laughs").
ALIAS_BUDGET = 100_000

_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+$")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)$")
_INT_PREFIXED = re.compile(r"[-+]?0(?:x[0-9a-fA-F]+|o[0-7]+)$")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Pos:
    """1-based positions of a key and of its value (equal for sequence items)."""

    key_line: int
    key_col: int
    line: int
    col: int


@dataclass
class Source:
    """A parsed topology file: its data, the source map, and parse problems."""

    file: str
    data: Any = None
    positions: dict[Path, Pos] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def locate(self, path: Path, *, at_key: bool = False) -> tuple[int, int]:
        """Position of the longest prefix of ``path`` that exists in the file."""
        for end in range(len(path), -1, -1):
            pos = self.positions.get(path[:end])
            if pos is not None:
                return (pos.key_line, pos.key_col) if at_key else (pos.line, pos.col)
        return (1, 1)

    def finish(self, diag: Diagnostic) -> Diagnostic:
        line, col = self.locate(diag.path, at_key=diag.at_key)
        return diag.located(self.file, line, col)


def load_path(path: str) -> Source:
    """Read and parse a topology file; I/O problems become located diagnostics."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return _failed(path, "read-error", f"cannot read file: {exc.strerror or exc}")
    return load_bytes(raw, path)


def load_bytes(raw: bytes, file: str = "<string>") -> Source:
    if len(raw) > MAX_BYTES:
        return _failed(file, "file-too-large", f"file is larger than {MAX_BYTES // 2**20} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        diag = error("invalid-utf8", f"invalid UTF-8 byte 0x{raw[exc.start]:02x}", ())
        return Source(file, diagnostics=[diag.located(file, line, col)])
    return load_text(text.removeprefix("\ufeff"), file)


def load_text(text: str, file: str = "<string>") -> Source:
    src = Source(file)
    try:
        node = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if _char_at(text, line, col) == "\t":
            problem = "a tab character cannot start a token or indent YAML; use spaces"
        src.diagnostics.append(error("yaml-syntax", f"YAML syntax error: {problem}", ()).located(file, line, col))
        return src
    except yaml.YAMLError as exc:  # composer errors without marks, e.g. multiple documents
        src.diagnostics.append(error("yaml-syntax", f"YAML error: {exc}", ()).located(file, 1, 1))
        return src
    if node is None:
        src.diagnostics.append(error("empty-file", "the topology is empty", ()).located(file, 1, 1))
        return src
    walker = _Walker(src, "*" in text)
    try:
        src.data = walker.value(node, (), None)
    except _AliasBomb:
        src.data = None
        src.diagnostics.append(
            error("yaml-alias-bomb", "YAML aliases expand to too many nodes", ()).located(
                file, node.start_mark.line + 1, node.start_mark.column + 1
            )
        )
    return src


def _char_at(text: str, line: int, col: int) -> str:
    lines = text.split("\n", line)
    if len(lines) < line:
        return ""
    row = lines[line - 1]
    return row[col - 1] if 0 < col <= len(row) else ""


def _failed(file: str, rule: str, message: str) -> Source:
    return Source(file, diagnostics=[error(rule, message, ()).located(file, 1, 1)])


class _AliasBomb(Exception):
    pass


class _Walker:
    """One pass over the node tree: plain data, positions and duplicate keys."""

    def __init__(self, src: Source, may_alias: bool) -> None:
        self.src = src
        self.positions = src.positions
        self.seen: set[int] | None = set() if may_alias else None
        self.budget = ALIAS_BUDGET

    def value(self, node: yaml.Node, path: Path, key_mark: Any) -> Any:
        mark = node.start_mark
        if key_mark is None:
            key_mark = mark
        self.positions[path] = Pos(key_mark.line + 1, key_mark.column + 1, mark.line + 1, mark.column + 1)
        if self.seen is not None and not isinstance(node, yaml.ScalarNode):
            if id(node) in self.seen:
                self.budget -= _size(node)
                if self.budget < 0:
                    raise _AliasBomb
            else:
                self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i), None) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return scalar(node)

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_sources(value_node, path))
                continue
            key = scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.src.diagnostics.append(
                    error("duplicate-key", f'duplicate key "{key}" (first defined at line {first_line[key]})', ()).located(
                        self.src.file, line, key_node.start_mark.column + 1
                    )
                )
                continue
            first_line[key] = line
            out[key] = self.value(value_node, (*path, key), key_node.start_mark)
        for source in merged:  # explicit keys win over merged ones (YAML merge key semantics)
            for key, value in self.mapping(source, path).items():
                out.setdefault(key, value)
        return out

    def _merge_sources(self, node: yaml.Node, path: Path) -> list[yaml.MappingNode]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        good = [n for n in nodes if isinstance(n, yaml.MappingNode)]
        if len(good) != len(nodes):
            self.src.diagnostics.append(
                error("yaml-syntax", "a merge key (<<) takes a mapping or a list of mappings", ()).located(
                    self.src.file, node.start_mark.line + 1, node.start_mark.column + 1
                )
            )
        return good


def _size(node: yaml.Node) -> int:
    if isinstance(node, yaml.MappingNode):
        return 1 + sum(_size(k) + _size(v) for k, v in node.value)
    if isinstance(node, yaml.SequenceNode):
        return 1 + sum(_size(v) for v in node.value)
    return 1


def scalar(node: yaml.ScalarNode) -> Any:
    """Type a scalar as YAML 1.2's core schema does (what Compose's parser sees).

    libyaml resolves plain scalars with YAML 1.1 rules; only those it typed as something
    other than a string are re-read here, so quoted and explicitly tagged strings stay.
    """
    value: str = node.value
    if node.style or node.tag not in _RETYPED_TAGS:
        return value
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _LEADING_ZERO.match(value):
        return value  # 0755: octal in YAML 1.1, decimal in 1.2; keep what was written
    if _INT.match(value):
        return int(value)
    if _INT_PREFIXED.match(value):
        return int(value, 0)
    if _FLOAT.match(value) and any(c.isdigit() for c in value):
        return float(value)
    return _SPECIAL_FLOATS.get(value.lower(), value)


_RETYPED_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null", "timestamp")
)
