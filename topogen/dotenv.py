"""The variables ``docker compose`` interpolates with: the process environment, then the
``.env`` file of the project directory or the ``--env-file`` files, in compose-go's env-file
format (its ``dotenv`` package and ``cli/options.go``, v2.9.1)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .substitution import interpolate, substitute


@dataclass
class Env:
    """The variables ``docker compose`` interpolates with, and why it would refuse them."""

    values: dict[str, str]
    problems: list[str] = field(default_factory=list)  # fatal for Compose, with file:line


def load_env(
    project_dir: str,
    env_files: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Env:
    """The process environment (``os.environ`` by default, with ``PWD`` as Compose adds it),
    then ``project_dir/.env`` or, instead, ``env_files`` (``--env-file``, relative to the
    current directory; later files win): a variable of the process environment is never
    overridden, and each file's ``${VAR}`` sees the process environment first, then the
    files read so far. ``COMPOSE_ENV_FILES`` (comma-separated) is the default of ``env_files``.
    ``COMPOSE_DISABLE_ENV_FILE`` (a Go boolean) skips the default ``.env``; set in that
    ``.env`` itself, only the file's ``COMPOSE_*`` settings are read, as in Compose."""
    process = dict(os.environ if environ is None else environ)
    process.setdefault("PWD", os.getcwd())
    env = Env(dict(process))
    env_files = env_files or _listed(process.get("COMPOSE_ENV_FILES", ""))
    files, problem = _env_files(project_dir, env_files, process)
    if problem:
        env.problems.append(problem)
    read: dict[str, str] = {}
    for name in files:
        problem = _read_env_file(name, process, read)
        if problem:
            env.problems.append(problem)
            break
    quirk = not env_files and "COMPOSE_DISABLE_ENV_FILE" not in process
    if quirk and _go_bool(read.get("COMPOSE_DISABLE_ENV_FILE", "")):
        # Compose exports the .env's COMPOSE_* settings first, then obeys this one: the
        # rest of the file is not read (cmd/compose setEnvWithDotEnv, then WithEnvFiles)
        read = {k: v for k, v in read.items() if k.startswith("COMPOSE_")}
    for key, value in read.items():
        env.values.setdefault(key, value)
    return env


def _env_files(
    project_dir: str, env_files: Sequence[str] | None, process: Mapping[str, str]
) -> tuple[list[str], str | None]:
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


def _listed(text: str) -> list[str]:
    """A comma-separated list as Compose reads ``COMPOSE_ENV_FILES`` (empty items dropped)."""
    return [item for item in text.split(",") if item]


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
        with open(path, encoding="utf-8", newline="") as fh:  # a quoted value keeps its \r\n
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
        normal = normal_project_name(value.text)
        if normal:
            return normal
    return normal_project_name(os.path.basename(os.path.abspath(project_dir)))


def normal_project_name(text: str) -> str:
    """A folder's name made a project name, as Compose does it (compose-go NormalizeProjectName)."""
    return re.sub(r"[^a-z0-9_-]", "", text.lower()).lstrip("_-")


# ---------------------------------------------------------------------- .env files


class DotenvError(ValueError):
    """A malformed env file: the line and what is wrong."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(map(chr, range(0x2000, 0x200B)))
)
_LINE_SPACE = frozenset("\t\v\f\r \x85\xa0")  # compose-go's isSpace: no line break
_EXPORT = re.compile(r"export[\t\n\f\r ]+")
_ESCAPE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0[0-9]{0,3})")
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "$": "$$",
}


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
            src = src[len("export") :].lstrip("".join(_LINE_SPACE))
        key, offset, inherited = "", 0, False
        for i, c in enumerate(src):
            if c in _LINE_SPACE:
                continue
            if c in "=:\n":
                key, offset, inherited = src[:i], i + 1, c == "\n"
                break
            if c not in "_.-[]" and not _letter_or_number(c):
                first = src.split("\n", 1)[0]
                raise DotenvError(
                    self.line, f'unexpected character "{c}" in variable name "{first}"'
                )
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
            return (self.expand(_unescape(value), start) if quote == '"' else value), src[i + 1 :]
        raise DotenvError(self.line, f"unterminated quoted value {src.split(chr(10), 1)[0]}")

    def expand(self, value: str, line: int) -> str:
        result, error = substitute(value, self.get, [])
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
