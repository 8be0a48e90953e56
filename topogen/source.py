"""Stage 1, source: YAML text -> plain data + a map from every key path to its position.

Parsing uses libyaml (PyYAML's C composer) for speed; the node tree is then walked once to
build plain Python data and the source map. Scalars are typed the way Compose's own YAML
parser (YAML 1.2 core schema) types them, not YAML 1.1's: ``no``/``on`` stay strings,
``0755`` and ``8080:80`` stay strings, so nothing a user wrote changes meaning on the way.

Syntax errors, duplicate keys, invalid UTF-8, alias bombs, recursive aliases, nesting deeper
than :data:`MAX_DEPTH` and oversized files become diagnostics, never exceptions.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from .diagnostics import Diagnostic, Path, error

#: Files larger than this are refused before parsing, so that a pre-commit hook stays fast
#: on anything it is handed. 20,000 services with addresses, ports and labels fit in 11 MB.
MAX_BYTES = 16 * 1024 * 1024
#: How many nodes aliases may add on top of the document's own (YAML "billion laughs").
ALIAS_BUDGET = 100_000
#: How deeply collections may nest. A Compose file needs about ten levels; the bound keeps
#: every later stage's walk over the data far from Python's recursion limit.
MAX_DEPTH = 100

_MAX_INT_CHARS = 40  # a 64-bit integer has at most 20 digits, 18 hex digits with 0x
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+$")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)$")
_INT_PREFIXED = re.compile(r"[-+]?0(?:x[0-9a-fA-F]+|o[0-7]+)$")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR = yaml.ScalarNode
_SCALAR_EVENT, _MAPPING_START, _MAPPING_END = (
    yaml.ScalarEvent,
    yaml.MappingStartEvent,
    yaml.MappingEndEvent,
)
_SEQUENCE_START, _SEQUENCE_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent
#: libyaml's (YAML 1.1) implicit resolvers by first character, as PyYAML's SafeLoader resolves them.
_IMPLICIT: dict[str, list[tuple[str, Any]]] = yaml.CSafeLoader.yaml_implicit_resolvers


class Verbatim(str):
    """A plain scalar kept as its text because parsers disagree on its type (``0755``: octal
    to Compose's Go parser, decimal in YAML 1.2, a string to topogen's checks). Writers put it
    back unquoted, so Compose reads what the file said."""

    __slots__ = ()


def _represent_verbatim(dumper: Any, value: Verbatim) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:int", str(value))  # written back plain


for _representer in (yaml.representer.SafeRepresenter, yaml.representer.Representer):
    _representer.add_representer(Verbatim, _represent_verbatim)


@dataclass(frozen=True)
class Pos:
    """1-based positions of a key and of its value (equal for sequence items)."""

    key_line: int
    key_col: int
    line: int
    col: int


@dataclass
class Source:
    """A parsed topology file: its data, the source map, and parse problems.

    The source map is kept as the parser's marks, ``{path: (key_mark, value_mark)}`` (0-based);
    :class:`Pos` objects are made only for the paths a diagnostic asks about.
    """

    file: str
    data: Any = None
    marks: dict[Path, tuple[Any, Any]] = field(default_factory=dict, repr=False)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: The text parsed (for what libyaml drops: the suppression comments, topogen.suppress).
    text: str = field(default="", repr=False)

    @property
    def positions(self) -> dict[Path, Pos]:
        """Every path of the file with its 1-based :class:`Pos`, built on each call (O(file):
        use :meth:`locate` for single lookups)."""
        return {path: _pos(marks) for path, marks in self.marks.items()}

    def locate(self, path: Path, *, at_key: bool = False) -> tuple[int, int]:
        """Position of the longest prefix of ``path`` that exists in the file."""
        for end in range(len(path), -1, -1):
            found = self.marks.get(path[:end])
            if found is not None:
                mark = found[0] if at_key else found[1]
                return (mark.line + 1, mark.column + 1)
        return (1, 1)

    def finish(self, diag: Diagnostic) -> Diagnostic:
        line, col = self.locate(diag.path, at_key=diag.at_key)
        return diag.located(self.file, line, col)


def aim(d: Diagnostic, texts: Mapping[str, str]) -> Diagnostic:
    """``d`` with its column on the word it is about (``Diagnostic.within``) when the line it
    points at spells that word where the value read has it: a plain or quoted scalar with no
    escape or interpolation before the word, or a ``KEY=VALUE`` list item. Otherwise ``d``
    stays at the start of the value."""
    if d.within is None or d.at_key or d.file not in texts or d.line < 1:
        return d
    lines = texts[d.file].splitlines()
    if d.line > len(lines):
        return d
    line, start = lines[d.line - 1], d.col - 1
    if line[start : start + 1] in ("'", '"'):
        start += 1
    offset, word = d.within
    equals = line.find("=", start)
    for at in (start + offset, equals + 1 + offset if equals >= 0 else -1):
        if at >= start and line[at : at + len(word)] == word:
            return replace(d, col=at + 1)
    return d


def _pos(marks: tuple[Any, Any]) -> Pos:
    key, value = marks
    return Pos(key.line + 1, key.column + 1, value.line + 1, value.column + 1)


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
    # The parse allocates only acyclic objects; the cyclic GC would re-scan the growing
    # source map over and over (about half the time of a 20000-service file).
    enabled = gc.isenabled()
    gc.disable()
    try:
        src = _events_or_nodes(text, file)
        src.text = text
        return src
    finally:
        if enabled:
            gc.enable()


def _events_or_nodes(text: str, file: str) -> Source:
    fast = _Events.load(text, file)
    if fast is not None:
        return fast
    src = Source(file)
    try:
        node = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if _char_at(text, line, col) == "\t":
            problem = "a tab character cannot start a token or indent YAML; use spaces"
        src.diagnostics.append(
            error("yaml-syntax", f"YAML syntax error: {problem}", ()).located(file, line, col)
        )
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
    except _Refused as exc:
        src.data = None
        mark = exc.node.start_mark
        src.diagnostics.append(exc.diagnostic.located(file, mark.line + 1, mark.column + 1))
    return src


class _Fallback(Exception):
    """The document uses something only the node walker handles (alias, tag, merge, duplicate)."""


class _Events:
    """The fast path: data and marks straight from libyaml's events, with no node tree.

    It handles the common document (mappings, sequences, untagged scalars, unique keys) in
    one pass and bails out on anything else (anchors, aliases, tags, merge keys, duplicate
    keys, syntax errors), which the node walker then handles with its diagnostics.
    """

    def __init__(self, parser: Any, src: Source) -> None:
        self.get = parser.get_event
        self.marks = src.marks

    @classmethod
    def load(cls, text: str, file: str) -> Source | None:
        parser = yaml.CSafeLoader(text)
        src = Source(file)
        try:
            walker = cls(parser, src)
            walker.get(), walker.get()  # stream start, document start
            first = walker.get()
            if isinstance(first, (yaml.DocumentEndEvent, yaml.StreamEndEvent)):
                return None  # empty document
            src.data = walker.node(first, (), None)
            if not isinstance(walker.get(), yaml.DocumentEndEvent) or not isinstance(
                walker.get(), yaml.StreamEndEvent
            ):
                return None
        except Exception:  # noqa: BLE001 - any problem: the node walker reports it properly
            return None
        finally:
            parser.dispose()
        return src

    def node(self, event: Any, path: Path, key_mark: Any) -> Any:
        if event.anchor is not None or event.tag is not None or len(path) >= MAX_DEPTH:
            raise _Fallback  # too deep: the node walker reports where
        mark = event.start_mark
        self.marks[path] = (mark if key_mark is None else key_mark, mark)
        kind = event.__class__
        if kind is _MAPPING_START:
            return self.mapping(path)
        if kind is _SEQUENCE_START:
            out: list[Any] = []
            item = self.get()
            while item.__class__ is not _SEQUENCE_END:
                out.append(self.node(item, (*path, len(out)), None))
                item = self.get()
            return out
        if kind is _SCALAR_EVENT:
            return _typed(event)
        raise _Fallback  # an alias

    def mapping(self, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        marks, get = self.marks, self.get
        key_event = get()
        while key_event.__class__ is not _MAPPING_END:
            if (
                key_event.__class__ is not _SCALAR_EVENT
                or key_event.anchor is not None
                or key_event.tag is not None
            ):
                raise _Fallback
            if key_event.value == "<<" and not key_event.style:
                raise _Fallback  # a merge key
            key = _typed(key_event)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            if key in out:
                raise _Fallback  # a duplicate key: reported by the node walker
            sub = (*path, key)
            value = get()
            if value.__class__ is _SCALAR_EVENT and value.anchor is None and value.tag is None:
                marks[sub] = (key_event.start_mark, value.start_mark)
                out[key] = _typed(value)
            else:
                out[key] = self.node(value, sub, key_event.start_mark)
            key_event = get()
        return out


def _typed(event: Any) -> Any:
    """An untagged scalar event's value, typed as :func:`scalar` types the node it would make."""
    value: str = event.value
    if event.style:
        return value
    for tag, regexp in _IMPLICIT.get(value[:1], ()):
        if regexp.match(value):
            return _retype(value) if tag in _RETYPED_TAGS else value
    return value


def _char_at(text: str, line: int, col: int) -> str:
    lines = text.split("\n", line)
    if len(lines) < line:
        return ""
    row = lines[line - 1]
    return row[col - 1] if 0 < col <= len(row) else ""


def _failed(file: str, rule: str, message: str) -> Source:
    return Source(file, diagnostics=[error(rule, message, ()).located(file, 1, 1)])


class _Refused(Exception):
    """The document cannot become data: the node where, and the diagnostic to report there."""

    def __init__(self, node: yaml.Node, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.node, self.diagnostic = node, diagnostic


class _Walker:
    """One pass over the node tree: plain data, the source map (marks) and duplicate keys."""

    def __init__(self, src: Source, may_alias: bool) -> None:
        self.src = src
        self.marks = src.marks
        self.seen: set[int] | None = set() if may_alias else None
        self.budget = ALIAS_BUDGET
        self.active: set[int] = set()  # the collections being walked: an alias to one is a cycle
        self.depth = 0

    def value(self, node: yaml.Node, path: Path, key_mark: Any) -> Any:
        mark = node.start_mark
        self.marks[path] = (mark if key_mark is None else key_mark, mark)
        if isinstance(node, yaml.ScalarNode):
            return scalar(node)
        self._enter(node)
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
            out: list[Any] = []
            for item in node.value:
                out.append(self.value(item, (*path, len(out)), None))
            return out
        finally:
            self.active.discard(id(node))
            self.depth -= 1

    def _enter(self, node: yaml.Node) -> None:
        """Count a collection in: refuse cycles, depth and alias expansion beyond the limits."""
        if id(node) in self.active:
            raise _Refused(
                node,
                error(
                    "yaml-recursive-alias",
                    "a YAML alias refers to a collection that contains it",
                    (),
                ),
            )
        if self.depth >= MAX_DEPTH:
            raise _Refused(
                node, error("yaml-too-deep", f"collections nest deeper than {MAX_DEPTH} levels", ())
            )
        if self.seen is not None:
            if id(node) in self.seen:
                self.budget -= _size(node)
                if self.budget < 0:
                    raise _Refused(
                        node, error("yaml-alias-bomb", "YAML aliases expand to too many nodes", ())
                    )
            else:
                self.seen.add(id(node))
        self.active.add(id(node))
        self.depth += 1

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        marks = self.marks
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_sources(value_node, path))
                continue
            key = scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            sub = (*path, key)
            if key in out:
                self._duplicate(key, key_node, marks[sub][0].line + 1)
                continue
            if value_node.__class__ is _SCALAR:  # the common leaf, inlined: no alias check needed
                marks[sub] = (key_node.start_mark, value_node.start_mark)
                out[key] = scalar(value_node)
            else:
                out[key] = self.value(value_node, sub, key_node.start_mark)
        for source in merged:  # explicit keys win over merged ones (YAML merge key semantics)
            self._enter(source)
            try:
                merged_out = self.mapping(source, path)
            finally:
                self.active.discard(id(source))
                self.depth -= 1
            for key, value in merged_out.items():
                out.setdefault(key, value)
        return out

    def _duplicate(self, key: str, key_node: yaml.Node, first_line: int) -> None:
        mark = key_node.start_mark
        self.src.diagnostics.append(
            error(
                "duplicate-key", f'duplicate key "{key}" (first defined at line {first_line})', ()
            ).located(self.src.file, mark.line + 1, mark.column + 1)
        )

    def _merge_sources(self, node: yaml.Node, path: Path) -> list[yaml.MappingNode]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        good = [n for n in nodes if isinstance(n, yaml.MappingNode)]
        if len(good) != len(nodes):
            self.src.diagnostics.append(
                error(
                    "yaml-syntax", "a merge key (<<) takes a mapping or a list of mappings", ()
                ).located(self.src.file, node.start_mark.line + 1, node.start_mark.column + 1)
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
    return _retype(value)


def _retype(value: str) -> Any:
    """A plain scalar that YAML 1.1 types as non-string, typed by YAML 1.2's core schema."""
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _LEADING_ZERO.match(value):
        return Verbatim(
            value
        )  # 0755: octal to Compose's parser, decimal in YAML 1.2; keep what was written
    if _INT.match(value) or _INT_PREFIXED.match(value):
        # Beyond 64 bits Compose's (Go) parser has no integer for it; as written, it is
        # reported where a number is expected, and Python's int/str limit is never reached.
        number = int(value, 0) if len(value) <= _MAX_INT_CHARS else None
        return number if number is not None and -(2**63) <= number < 2**64 else value
    if _FLOAT.match(value) and any(c.isdigit() for c in value):
        return float(value)
    return _SPECIAL_FLOATS.get(value.lower(), value)


_RETYPED_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null", "timestamp")
)
