"""Compose's interpolation, exactly as ``docker compose`` (compose-go v2.9.1) does it.

Grammar, in every string *value* of the document (also in ``x-`` extensions and ``name``;
never in mapping keys): ``$$`` is a literal ``$``; ``$NAME`` and ``${NAME}`` are replaced by
the variable (unset: ``""`` and a warning); ``${NAME:-default}`` / ``${NAME-default}`` use the
default when the variable is unset or empty / unset; ``${NAME:+alt}`` / ``${NAME+alt}`` use
``alt`` when it is set and not empty / set; ``${NAME:?message}`` / ``${NAME?message}`` refuse
the file when it is unset or empty / unset. Defaults, alternatives and messages are
interpolated themselves (``${A:-${B:-x}}``), always, even when not used: a syntax error or a
missing required variable there fails the file whatever ``A`` is, and an unset variable
there is warned about. A ``$`` followed by anything else (``$(date)``, ``$1``, ``$@``, ``$ ``,
a trailing ``$``) is kept as it is; ``${`` not followed by ``NAME}`` or ``NAME<op>...}`` on
the same line is an error. Names are ``[_A-Za-z][_A-Za-z0-9]*`` (and, as Go's case folding
has it, ``ſ`` and the Kelvin sign ``K``).

After interpolation Compose casts the strings at a few paths to numbers and booleans
(:data:`CASTS`), whether or not they held a ``$``. The variables come from the process
environment, then the ``.env`` in the project directory (or the ``--env-file`` files
instead), the process environment winning (:func:`load_env`, :func:`parse_dotenv`). A
service's ``env_file:`` sets the container's environment only; it does not feed
interpolation.
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Path

_LETTER = "_A-Za-z\u017f\u212a"  # Go's (?i)[_a-z]: its simple case folding adds ſ and K
_PATTERN = re.compile(
    rf"\$(?:(?P<escaped>\$)|(?P<named>[{_LETTER}][{_LETTER}0-9]*)"
    rf"|\{{(?:(?P<braced>[{_LETTER}][{_LETTER}0-9]*(?::?[-+?].*)?)\}}|(?P<invalid>)))"
)
_NAME = re.compile(rf"[{_LETTER}][{_LETTER}0-9]*")
_OPS = (":?", "?", ":-", "-", ":+", "+")
HINT = "write $$ for a literal $, or ${NAME}, ${NAME:-default}"


@dataclass(frozen=True)
class Value:
    """One interpolated string."""

    text: str  # the result, as docker compose would produce it
    unset: tuple[str, ...] = ()  # variables unset without a default: "" and a warning
    error: str | None = None  # why compose would refuse it, else None


def interpolate(text: str, env: Mapping[str, str]) -> Value:
    """``text`` interpolated with ``env`` as ``docker compose`` does it."""
    if "$" not in text:
        return Value(text)
    unset: list[str] = []
    result, error = _substitute(text, env.get, unset)
    return Value(result if error is None else text, tuple(dict.fromkeys(unset)), error)


def check(text: str) -> str | None:
    """The syntax problem of ``text`` as a template, or None.

    Compose interpolates defaults and messages whatever the variables are, so a syntax
    error does not depend on the environment; every variable is taken as set here so that
    a ``:?`` cannot hide one.
    """
    if "${" not in text:
        return None
    return _substitute(text, lambda _name: "x", [])[1]


Lookup = Callable[[str], "str | None"]


def _substitute(template: str, lookup: Lookup, unset: list[str]) -> tuple[str, str | None]:
    """Every match of the pattern replaced; the first error, if any (later matches are still
    replaced, and still warn, as Compose does)."""
    errors: list[str] = []

    def replace(m: re.Match[str]) -> str:
        text, error = _replacement(m, lookup, unset)
        if error is not None:
            errors.append(error)
        return text

    result = _PATTERN.sub(replace, template)
    return result, (errors[0] if errors else None)


def _replacement(m: re.Match[str], lookup: Lookup, unset: list[str]) -> tuple[str, str | None]:
    if m.group("escaped"):
        return "$", None
    if m.group("named"):
        return _lookup(m.group("named"), lookup, unset), None
    if m.group("invalid") is not None:
        return "", _invalid(m.string, m.start())
    # The match runs to the last "}" of the line; Compose cuts it at the brace that closes
    # the "${" (counting every "{") and interpolates the rest on its own.
    whole = m.group()
    end = _closing_brace(whole)
    rest = whole[end + 1:] if end > -1 else ""
    braced = whole[2:end] if end > -1 else whole[2:-1]
    value, error = _operator(braced, lookup, unset)
    if error is not None:
        return "", error
    tail, error = _substitute(rest, lookup, unset) if rest else ("", None)
    return ("", error) if error is not None else (value + tail, None)


def _closing_brace(text: str) -> int:
    """Compose's ``getFirstBraceClosingIndex``: the character after each ``{`` is skipped."""
    depth, i = 0, 0
    while i < len(text):
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        if text[i] == "{":
            depth += 1
            i += 1
        i += 1
    return -1


def _operator(braced: str, lookup: Lookup, unset: list[str]) -> tuple[str, str | None]:
    """``NAME`` or ``NAME<op>word``: the word is interpolated first, used or not."""
    m = _NAME.match(braced)
    name = m.group() if m else braced
    if name == braced:
        return _lookup(name, lookup, unset), None
    op = braced[len(name): len(name) + (2 if braced[len(name)] == ":" else 1)]
    word, error = _substitute(braced[len(name) + len(op):], lookup, unset)
    if error is not None:
        return "", error
    value = lookup(name)
    if op in (":-", "-"):
        return (word if value is None or (op == ":-" and value == "") else value), None
    if op in (":+", "+"):
        return (word if value is not None and (op == "+" or value != "") else (value or "")), None
    if value is None or (op == ":?" and value == ""):
        return "", f"required variable {name} is missing a value" + (f": {word}" if word else "")
    return value, None


def _lookup(name: str, lookup: Lookup, unset: list[str]) -> str:
    value = lookup(name)
    if value is None:
        unset.append(name)
        return ""
    return value


def _invalid(text: str, at: int) -> str:
    """Why the ``${`` at ``at`` is not a valid interpolation."""
    line = text[at:].split("\n", 1)[0]
    shown = line if len(line) <= 40 else line[:37] + "..."
    name = _NAME.match(line, 2)
    if name is None:
        why = "a variable name starts with a letter or _"
    elif name.end() == len(line):
        why = "no closing } on the same line"
    elif not line.startswith(("}", *_OPS), name.end()):
        why = f"expected }} or one of :- - :? ? :+ + after {name.group()}"
    else:
        why = "no closing } on the same line"
    return f"invalid interpolation {shown!r}: {why}"


# ---------------------------------------------------------------------- documents


@dataclass
class Tree:
    """A document interpolated as Compose does it, with what it found on the way."""

    data: Any
    unset: dict[Path, tuple[str, ...]] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)
    warnings: dict[Path, str] = field(default_factory=dict)  # e.g. "yes" for a boolean


def interpolate_tree(data: Any, env: Mapping[str, str]) -> Tree:
    """A deep copy of ``data`` with every string value interpolated (keys never are) and
    the values at :data:`CASTS` paths cast; an erroneous value is kept as written."""
    tree = Tree(None)
    tree.data = _walk(data, (), (), env, tree)
    return tree


def _walk(node: Any, path: Path, parts: tuple[str, ...], env: Mapping[str, str], tree: Tree) -> Any:
    if isinstance(node, str):
        return _leaf(node, path, parts, env, tree)
    if isinstance(node, dict):
        return {k: _walk(v, (*path, k), (*parts, _part(k)), env, tree) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, (*path, i), (*parts, "[]"), env, tree) for i, v in enumerate(node)]
    return copy.deepcopy(node)


def _leaf(text: str, path: Path, parts: tuple[str, ...], env: Mapping[str, str], tree: Tree) -> Any:
    value = interpolate(text, env)
    if value.unset:
        tree.unset[path] = value.unset
    if value.error is not None:
        tree.errors[path] = value.error
        return text
    kind = cast_kind(parts)
    if kind is None:
        return value.text
    result, problem = cast(kind, value.text)
    if problem is None:
        return result
    if result is None:
        tree.errors[path] = problem
        return value.text
    tree.warnings[path] = problem
    return result


def _part(key: Any) -> str:
    """A mapping key as Compose's path part (its YAML keys are strings)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


# ---------------------------------------------------------------------- casts

#: compose-go ``loader/interpolate.go``: the paths whose strings are cast after
#: interpolation. ``*`` is any key or list item, ``[]`` any list item.
CASTS: dict[tuple[str, ...], str] = {
    **{("services", "*", key): "int" for key in (
        "cpu_count", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares",
        "oom_score_adj", "pids_limit", "scale")},
    ("services", "*", "cpu_percent"): "float",
    ("services", "*", "cpus"): "float32",
    **{("services", "*", key): "bool" for key in (
        "init", "oom_kill_disable", "privileged", "read_only", "stdin_open", "tty")},
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
    **{("networks", "*", key): "bool" for key in (
        "external", "internal", "attachable", "enable_ipv4", "enable_ipv6")},
    ("volumes", "*", "external"): "bool",
    ("secrets", "*", "external"): "bool",
    ("configs", "*", "external"): "bool",
}
_CASTS_BY_LENGTH: dict[int, list[tuple[tuple[str, ...], str]]] = {}
for _pattern, _kind in CASTS.items():
    _CASTS_BY_LENGTH.setdefault(len(_pattern), []).append((_pattern, _kind))


def cast_kind(parts: Sequence[str]) -> str | None:
    """The cast Compose applies at a path given as its parts (list items as ``"[]"``)."""
    for pattern, kind in _CASTS_BY_LENGTH.get(len(parts), ()):
        if all(p in ("*", part) for p, part in zip(pattern, parts)):
            return kind
    return None


_INT = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL = re.compile(r"[+-]?(?:[0-9_]+(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?\Z")
_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F_]+(?:\.[0-9a-fA-F_]*)?|\.[0-9a-fA-F_]+)[pP][+-]?[0-9_]+\Z")
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
    if number is None or (kind == "float32" and math.isfinite(number) and abs(number) >= _FLOAT32_MAX):
        return None, f"expected a number, got {text!r}"
    return number, None


def _bool(text: str) -> tuple[bool | None, str | None]:
    lower = text.lower()
    if lower in ("true", "false"):
        return lower == "true", None
    if lower in ("y", "yes", "on", "n", "no", "off"):
        value = lower in ("y", "yes", "on")
        return value, f"{text!r} for a boolean is not YAML 1.2: Compose reads it as {str(value).lower()}"
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


# ---------------------------------------------------------------------- environment


@dataclass
class Env:
    """The variables ``docker compose`` interpolates with, and why it would refuse them."""

    values: dict[str, str]
    problems: list[str] = field(default_factory=list)  # fatal for Compose, with file:line


def load_env(project_dir: str, env_files: Sequence[str] | None = None,
             environ: Mapping[str, str] | None = None) -> Env:
    """The process environment (``os.environ`` by default, with ``PWD`` as Compose adds it),
    then ``project_dir/.env`` or, instead, ``env_files`` (``--env-file``, relative to the
    current directory; later files win): a variable of the process environment is never
    overridden, and each file's ``${VAR}`` sees the process environment first, then the
    files read so far. ``COMPOSE_DISABLE_ENV_FILE`` (a Go boolean) skips the default ``.env``."""
    process = dict(os.environ if environ is None else environ)
    process.setdefault("PWD", os.getcwd())
    env = Env(dict(process))
    files, problem = _env_files(project_dir, env_files, process)
    if problem:
        env.problems.append(problem)
    read: dict[str, str] = {}
    for name in files:
        problem = _read_env_file(name, process, read)
        if problem:
            env.problems.append(problem)
            break
    for key, value in read.items():
        env.values.setdefault(key, value)
    return env


def _env_files(project_dir: str, env_files: Sequence[str] | None,
               process: Mapping[str, str]) -> tuple[list[str], str | None]:
    if env_files:
        return [os.path.abspath(f) for f in env_files], None
    disable = process.get("COMPOSE_DISABLE_ENV_FILE")
    if disable is not None:
        flag = _go_bool(disable)
        if flag is None:
            return [], f"COMPOSE_DISABLE_ENV_FILE={disable!r} is not a boolean"
        if flag:
            return [], None
    default = os.path.join(os.path.abspath(project_dir), ".env")
    return ([default] if os.path.exists(default) and not os.path.isdir(default) else []), None


def _go_bool(text: str) -> bool | None:
    """Go's ``strconv.ParseBool``."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def _read_env_file(path: str, process: Mapping[str, str], read: dict[str, str]) -> str | None:
    if not os.path.exists(path):
        return f"{path}: env file not found"
    if os.path.isdir(path):
        return f"{path}: is a directory, not an env file"
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}: cannot read env file: {exc}"
    try:
        _Dotenv(process, read).parse(text.removeprefix("\ufeff"))
    except DotenvError as exc:
        return f"{path}:{exc.line}: {exc.message}"
    return None


def project_name(name: str | None, env: Mapping[str, str], project_dir: str) -> str:
    """The project name Compose uses, which it also offers as ``${COMPOSE_PROJECT_NAME}``:
    a non-empty ``COMPOSE_PROJECT_NAME`` wins, then the (interpolated) ``name:``, then the
    project directory's name, lower-cased and stripped to ``[a-z0-9_-]``."""
    if env.get("COMPOSE_PROJECT_NAME"):
        return env["COMPOSE_PROJECT_NAME"]
    if name:
        value = interpolate(name, env)
        normal = _normal_name(value.text)
        if normal:
            return normal
    return _normal_name(os.path.basename(os.path.abspath(project_dir)))


def _normal_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", text.lower()).lstrip("_-")


# ---------------------------------------------------------------------- .env files


class DotenvError(ValueError):
    """A malformed env file: the line and what is wrong."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
                      + "".join(map(chr, range(0x2000, 0x200B))))
_LINE_SPACE = frozenset("\t\v\f\r \x85\xa0")  # compose-go's isSpace: no line break
_EXPORT = re.compile(r"export[\t\n\f\r ]+")
_ESCAPE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0[0-9]{0,3})")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", '"': '"', "$": "$$"}


def parse_dotenv(text: str, lookup: Mapping[str, str]) -> dict[str, str]:
    """compose-go's env file format: ``KEY=value`` or ``KEY: value``, ``export KEY=...``,
    ``#`` comments (and `` #`` after an unquoted value), single quotes (literal) and double
    quotes (escapes, then interpolation), values spanning lines inside quotes, a bare
    ``KEY`` taking ``lookup``'s value. ``${VAR}`` in a value sees ``lookup`` first, then the
    file's earlier keys. Raises :class:`DotenvError`."""
    return _Dotenv(lookup, {}).parse(text.removeprefix("\ufeff"))


class _Dotenv:
    """compose-go's parser; ``out`` starts with the keys of the files read before."""

    def __init__(self, lookup: Mapping[str, str], out: dict[str, str]) -> None:
        self.lookup = lookup
        self.out = out
        self.line = 1

    def get(self, name: str) -> str | None:
        value = self.lookup.get(name)
        return self.out.get(name) if value is None else value

    def parse(self, src: str) -> dict[str, str]:
        while src := self.statement(src):
            key, src, inherited = self.key(src)
            if " " in key:
                raise DotenvError(self.line, "key cannot contain a space")
            if inherited:
                value = self.get(key)
                if value is not None:
                    self.out[key] = value
                continue
            self.out[key], src = self.value(src)
        return self.out

    def statement(self, src: str) -> str:
        """``src`` from its next statement on, comments skipped."""
        while True:
            pos = next((i for i, c in enumerate(src) if c not in _GO_SPACE), -1)
            self.line += src.count("\n", 0, len(src) if pos == -1 else pos)
            if pos == -1:
                return ""
            src = src[pos:]
            if src[0] != "#":
                return src
            pos = src.find("\n")
            if pos == -1:
                return ""
            src = src[pos:]

    def key(self, src: str) -> tuple[str, str, bool]:
        if _EXPORT.match(src):
            src = src[len("export"):].lstrip("".join(_LINE_SPACE))
        key, offset, inherited = "", 0, False
        for i, c in enumerate(src):
            if c in _LINE_SPACE:
                continue
            if c in "=:\n":
                key, offset, inherited = src[:i], i + 1, c == "\n"
                break
            if c not in "_.-[]" and not _letter_or_number(c):
                first = src.split("\n", 1)[0]
                raise DotenvError(self.line, f'unexpected character "{c}" in variable name "{first}"')
        if inherited and " " not in key:
            self.line += 1
        key = key.rstrip("".join(_GO_SPACE))
        return key, src[offset:].lstrip("".join(_LINE_SPACE)), inherited

    def value(self, src: str) -> tuple[str, str]:
        start = self.line
        if not src or src[0] not in "'\"":
            value, _, rest = src.partition("\n")
            self.line += 1
            value = value.split(" #", 1)[0].rstrip("".join(_GO_SPACE))
            return self.expand(value, start), rest
        quote, chars, escaped = src[0], [], False
        for i in range(1, len(src)):
            c = src[i]
            if c == "\n":
                self.line += 1
            if c != quote:
                if not escaped and c == "\\":
                    escaped = True
                    continue
                if escaped:
                    escaped = False
                    chars.append("\\")
                chars.append(c)
                continue
            if escaped:
                escaped = False
                chars.append(c)
                continue
            value = "".join(chars)
            return (self.expand(_unescape(value), start) if quote == '"' else value), src[i + 1:]
        raise DotenvError(self.line, f"unterminated quoted value {src.split(chr(10), 1)[0]}")

    def expand(self, value: str, line: int) -> str:
        result, error = _substitute(value, self.get, [])
        if error is not None:
            raise DotenvError(line, error)
        return result


def _letter_or_number(c: str) -> bool:
    import unicodedata

    return unicodedata.category(c)[0] in "LN"


def _unescape(value: str) -> str:
    """Shell escapes in a double-quoted value; ``\\$`` becomes ``$$`` (a literal ``$``)."""

    def one(m: re.Match[str]) -> str:
        seq = m.group()
        if seq[1] != "0":
            return _ESCAPES.get(seq[1], seq)  # "\\c" is matched, and kept
        digits = seq[2:]
        if len(digits) == 3 and all(c in "01234567" for c in digits) and int(digits, 8) <= 0o377:
            return chr(int(digits, 8))
        return "\\" + digits  # Compose drops the 0 of a sequence it cannot read

    return _ESCAPE.sub(one, value)
