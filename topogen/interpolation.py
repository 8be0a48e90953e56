"""``${VAR}`` interpolation: passed through to Compose untouched; any other ``$`` is literal.

Compose (and ``docker stack deploy``) interpolate ``$NAME``, ``${NAME}`` and
``${NAME<op>default}``, turn ``$$`` into ``$`` and reject every other ``$``. A topology
means the same by the first three, but a lone ``$`` (the seed's ``$(date +%Y%m%d)``) is
literal: :func:`escape` doubles it, so it reaches the container's shell as written.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPS = (":-", ":?", ":+", "-", "?", "+")


def _braced_end(text: str, start: int) -> int:
    """Index just past the ``}`` closing the ``${`` at ``start``, or -1."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def check(text: str) -> str | None:
    """The problem with the interpolations in ``text``, or None."""
    i = text.find("$")
    while i != -1:
        if text.startswith("${", i):
            end = _braced_end(text, i)
            if end == -1:
                return f"unterminated interpolation {text[i:i + 20]!r}"
            body = text[i + 2:end - 1]
            m = _NAME.match(body)
            if not m:
                return f"invalid interpolation ${{{body}}}: a variable name starts with a letter or _"
            rest = body[m.end():]
            if rest and not rest.startswith(_OPS):
                return f"invalid interpolation ${{{body}}}: expected }} or one of :- - :? ? :+ + after {m.group()}"
            op = next((o for o in _OPS if rest.startswith(o)), "")
            inner = check(rest[len(op):])
            if inner:
                return inner
            i = text.find("$", end)
        elif text.startswith("$$", i):
            i = text.find("$", i + 2)
        else:
            i = text.find("$", i + 1)
    return None


def escape(text: str) -> str:
    """Double every ``$`` that does not start an interpolation or an escape."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "$":
            j = text.find("$", i)
            j = n if j == -1 else j
            out.append(text[i:j])
            i = j
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt == "$":
            out.append("$$")
            i += 2
        elif nxt == "{":
            end = _braced_end(text, i)
            end = n if end == -1 else end
            out.append(_escape_braced(text[i:end]))
            i = end
        elif _NAME.match(nxt):
            out.append("$")
            i += 1
        else:
            out.append("$$")
            i += 1
    return "".join(out)


def _escape_braced(token: str) -> str:
    """``${NAME<op>default}`` with the default's own lone ``$`` escaped."""
    m = _NAME.match(token, 2)
    if not m or not token.endswith("}"):
        return token
    rest = token[m.end():-1]
    op = next((o for o in _OPS if rest.startswith(o)), None)
    if op is None:
        return token
    return token[: m.end()] + op + escape(rest[len(op):]) + "}"


# ---------------------------------------------------------------------- evaluation
# (interim: the full Compose implementation replaces this section)

import os as _os
from collections.abc import Mapping as _Mapping
from dataclasses import dataclass as _dataclass, field as _field
from typing import Any as _Any


@_dataclass(frozen=True)
class Value:
    text: str
    unset: tuple[str, ...] = ()
    error: str | None = None


def interpolate(text: str, env: _Mapping[str, str]) -> Value:
    unset: list[str] = []
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _braced_end(text, i)
            if end == -1:
                return Value(text, (), "unterminated interpolation")
            body = text[i + 2:end - 1]
            m = _NAME.match(body)
            if not m:
                return Value(text, (), f"invalid interpolation ${{{body}}}")
            name, rest = m.group(), body[m.end():]
            op = next((o for o in _OPS if rest.startswith(o)), "")
            arg = rest[len(op):]
            value = env.get(name)
            if op in (":-", "-"):
                use_default = value is None or (op == ":-" and value == "")
                if use_default:
                    inner = interpolate(arg, env)
                    unset += inner.unset
                    out.append(inner.text)
                else:
                    out.append(value or "")
            elif op in (":+", "+"):
                if value is not None and (op == "+" or value != ""):
                    inner = interpolate(arg, env)
                    unset += inner.unset
                    out.append(inner.text)
            elif op in (":?", "?"):
                if value is None or (op == ":?" and value == ""):
                    return Value(text, (), f"required variable {name} is missing a value: {arg}")
                out.append(value)
            else:
                if value is None:
                    unset.append(name)
                out.append(value or "")
            i = end
        else:
            m = _NAME.match(text, i + 1)
            if m:
                value = env.get(m.group())
                if value is None:
                    unset.append(m.group())
                out.append(value or "")
                i = m.end()
            else:
                out.append("$")
                i += 1
    return Value("".join(out), tuple(dict.fromkeys(unset)))


@_dataclass
class Tree:
    data: _Any
    unset: dict[tuple[_Any, ...], tuple[str, ...]] = _field(default_factory=dict)
    errors: dict[tuple[_Any, ...], str] = _field(default_factory=dict)


def interpolate_tree(data: _Any, env: _Mapping[str, str]) -> Tree:
    tree = Tree(None)

    def walk(node: _Any, path: tuple[_Any, ...]) -> _Any:
        if isinstance(node, str):
            if "$" not in node:
                return node
            v = interpolate(node, env)
            if v.error:
                tree.errors[path] = v.error
            if v.unset:
                tree.unset[path] = v.unset
            return v.text
        if isinstance(node, dict):
            return {k: walk(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        return node

    tree.data = walk(data, ())
    return tree


@_dataclass
class Env:
    values: dict[str, str]
    problems: list[str] = _field(default_factory=list)


def parse_dotenv(text: str, lookup: _Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key.strip()] = value
    return out


def load_env(project_dir: str, env_files: _Any = None, environ: _Mapping[str, str] | None = None) -> Env:
    environ = dict(_os.environ if environ is None else environ)
    files = list(env_files) if env_files else [_os.path.join(project_dir, ".env")]
    values: dict[str, str] = {}
    problems: list[str] = []
    for f in files:
        try:
            with open(f, encoding="utf-8") as fh:
                values.update(parse_dotenv(fh.read(), {**values, **environ}))
        except FileNotFoundError:
            if env_files:
                problems.append(f"{f}: no such env file")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{f}: {exc}")
    values.update(environ)
    return Env(values, problems)
