"""Compose's variable substitution in one string, as compose-go's ``template`` package (v2.9.1,
the one in ``docker compose`` 2.40) does it.

``$$`` is a literal ``$``; ``$NAME`` and ``${NAME}`` are replaced by the variable (unset:
``""`` and a warning); ``${NAME:-default}`` / ``${NAME-default}`` use the default when the
variable is unset or empty / unset; ``${NAME:+alt}`` / ``${NAME+alt}`` use ``alt`` when it is
set and not empty / set; ``${NAME:?message}`` / ``${NAME?message}`` refuse the file when it is
unset or empty / unset. Defaults, alternatives and messages are interpolated themselves
(``${A:-${B:-x}}``), always, even when not used: a syntax error or a missing required
variable there fails the value whatever ``A`` is, and an unset variable there is warned
about. A ``$`` followed by anything else (``$(date)``, ``$1``, ``$@``, ``$ ``, a trailing
``$``) is kept as it is; ``${`` not followed by ``NAME}`` or ``NAME<op>...}`` on the same line
is an error. Names are ``[_A-Za-z][_A-Za-z0-9]*`` (and, as Go's case folding has it, ``ſ``
and the Kelvin sign ``K``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

_LETTER = "_A-Za-z\u017f\u212a"  # Go's (?i)[_a-z]: its simple case folding adds ſ and K
_PATTERN = re.compile(
    rf"\$(?:(?P<escaped>\$)|(?P<named>[{_LETTER}][{_LETTER}0-9]*)"
    rf"|\{{(?:(?P<braced>[{_LETTER}][{_LETTER}0-9]*(?::?[-+?].*)?)\}}|(?P<invalid>)))"
)
_NAME = re.compile(rf"[{_LETTER}][{_LETTER}0-9]*")
_OPS = (":?", "?", ":-", "-", ":+", "+")


@dataclass(frozen=True)
class Value:
    """One interpolated string."""

    text: str  # the result, as docker compose would produce it (as written when error)
    unset: tuple[str, ...] = ()  # variables unset without a default: "" and a warning
    error: str | None = None  # why compose would refuse it, else None


def interpolate(text: str, env: Mapping[str, str]) -> Value:
    """``text`` interpolated with ``env`` as ``docker compose`` does it."""
    if "$" not in text:
        return Value(text)
    unset: list[str] = []
    result, error = substitute(text, env.get, unset)
    return Value(result if error is None else text, tuple(dict.fromkeys(unset)), error)


@lru_cache(maxsize=16384)
def check(text: str) -> str | None:
    """The syntax problem of ``text`` as a template, or None.

    Compose interpolates defaults and messages whatever the variables are, so a syntax
    error does not depend on the environment; every variable is taken as set here so that
    a ``:?`` cannot hide one.
    """
    if "${" not in text:
        return None
    return substitute(text, lambda _name: "x", [])[1]


Lookup = Callable[[str], "str | None"]


def substitute(template: str, lookup: Lookup, unset: list[str]) -> tuple[str, str | None]:
    """``template`` with every match replaced, and the first error if any (later matches
    are still replaced, and their unset variables still added to ``unset``, as in Compose)."""
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
    rest = whole[end + 1 :] if end > -1 else ""
    braced = whole[2:end] if end > -1 else whole[2:-1]
    value, error = _operator(braced, lookup, unset)
    if error is not None:
        return "", error
    tail, error = substitute(rest, lookup, unset) if rest else ("", None)
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
    op = braced[len(name) : len(name) + (2 if braced[len(name)] == ":" else 1)]
    word, error = substitute(braced[len(name) + len(op) :], lookup, unset)
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


def for_stack(text: str) -> tuple[str, str | None]:
    """``text`` rewritten for ``docker stack deploy``, with the same meaning, or ``(text, why)``
    when its grammar cannot say it.

    docker/cli's stack loader has an older grammar: it refuses a lone ``$``, reads ``$A-b``
    as "A, else b", takes a default as raw text up to the first ``}`` (no nesting), has no
    ``:+``/``+``, and picks the operator by searching ``:-``, ``-``, ``:?``, ``?`` in that
    order anywhere in the braces. So a lone ``$`` is doubled, ``$NAME`` braced, and a default
    or message written as Compose's value of it when that holds no variable.
    """
    if "$" not in text:
        return text, None
    out: list[str] = []
    at = 0
    for m in _PATTERN.finditer(text):
        out.append(text[at : m.start()].replace("$", "$$"))
        at = m.end()
        if m.group("escaped"):
            out.append("$$")
        elif m.group("named"):
            out.append("${" + m.group("named") + "}")
        elif m.group("invalid") is not None:
            return text, _invalid(text, m.start())
        else:
            piece, why = _braced_for_stack(m.group())
            if why:
                return text, why
            out.append(piece)
    out.append(text[at:].replace("$", "$$"))
    return "".join(out), None


def _braced_for_stack(whole: str) -> tuple[str, str | None]:
    end = _closing_brace(whole)
    braced, rest = (whole[2:end], whole[end + 1 :]) if end > -1 else (whole[2:-1], "")
    m = _NAME.match(braced)
    name = m.group() if m else braced
    if name == braced:
        return "${" + name + "}", None
    op = braced[len(name) : len(name) + (2 if braced[len(name)] == ":" else 1)]
    if op in (":+", "+"):
        return "", f"docker stack has no ${{NAME{op}...}}: {whole!r}"
    refs: list[str] = []

    def unset(variable: str) -> None:  # every variable the word refers to
        refs.append(variable)

    word, error = substitute(braced[len(name) + len(op) :], unset, [])
    clash = {"-": ":-", ":?": "-", "?": "-"}.get(op, "}")
    if refs or error or "}" in word or clash in word or (op == "?" and ":?" in word):
        return "", f"docker stack cannot read the word after {op} in {whole!r} as Compose does"
    tail, why = for_stack(rest)
    return "${" + name + op + word + "}" + tail, why
