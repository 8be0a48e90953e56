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
