"""The one sequencer of the stages: source -> spec -> resolve -> rules -> emit.

This is the library API; the CLI only calls it. :func:`check` runs everything up to the
rules and returns a :class:`Result`; :func:`compile` emits files for a clean result;
:func:`build` does both and says which files would change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from . import diagnostics as dg
from . import interpolation, source
from .diagnostics import Diagnostic, Path, error
from .resolved import Topology

TARGETS = ("compose", "swarm")


@dataclass
class Result:
    """What :func:`check` learnt about one topology file."""

    file: str
    src: source.Source
    topology: Topology | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.topology is not None and not dg.has_errors(self.diagnostics)

    def failed(self, *, strict: bool = False) -> bool:
        return self.topology is None or dg.has_errors(self.diagnostics, strict=strict)


def check(file: str, text: str | bytes | None = None) -> Result:
    """Parse, type-check, resolve and run every rule; diagnostics come back located and sorted."""
    if text is None:
        src = source.load_path(file)
    elif isinstance(text, bytes):
        src = source.load_bytes(text, file)
    else:
        src = source.load_text(text, file)
    result = Result(file, src)
    found: list[Diagnostic] = list(src.diagnostics)
    if src.data is not None and not found:
        topo, problems = _analyse(src.data, file)
        result.topology = topo
        found.extend(src.finish(d) for d in problems)
    result.diagnostics = dg.sort(found)
    return result


def _analyse(data: Any, file: str) -> tuple[Topology | None, list[Diagnostic]]:
    from . import resolve, rules, speccache

    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a scalar"
        return None, [error("not-a-mapping", f"the topology must be a mapping of keys, not {kind}", ())]
    data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    problems = list(_interpolations(data))
    try:
        model = speccache.validate(data)
    except ValidationError as exc:
        return None, problems + list(schema_problems(exc, data))
    topo, resolve_problems = resolve.resolve(model, file)
    problems += resolve_problems
    problems += rules.run(topo)
    return topo, problems


def _interpolations(data: Any) -> Iterator[Diagnostic]:
    from .resolve import iter_strings

    for path, text in iter_strings(data):
        if "${" in text:
            problem = interpolation.check(text)
            if problem:
                yield error("invalid-interpolation", problem, path,
                            hint="write $$ for a literal $, or ${NAME}, ${NAME:-default}")


# ---------------------------------------------------------------------- schema errors


def _data_path(loc: Iterable[Any], data: Any) -> tuple[Path, bool]:
    """The part of a Pydantic ``loc`` that exists in the data (union tags skipped), and
    whether the whole loc was found."""
    path: list[str | int] = []
    node = data
    complete = True
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        else:
            complete = False
    return tuple(path), complete


def _vocabulary(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed where ``loc`` points: the fields of the models its parent can be."""
    from typing import Union, get_args, get_origin

    from . import spec

    def expand(t: Any) -> list[Any]:
        return [a for arg in get_args(t) for a in expand(arg)] if get_origin(t) is Union or type(t).__name__ == "UnionType" else [t]

    def step(t: Any, part: Any) -> list[Any]:
        if isinstance(t, type) and issubclass(t, spec.Model):
            field = next((f for n, f in t.model_fields.items() if part in (n, f.alias)), None)
            return expand(field.annotation) if field is not None else []
        args = get_args(t)
        if get_origin(t) is dict and isinstance(part, str):
            return expand(args[1])
        if get_origin(t) is list and isinstance(part, int):
            return expand(args[0])
        return []

    types: list[Any] = [spec.Topology]
    for part in loc:
        nxt = [n for t in types for n in step(t, part)]
        types = nxt or types  # a union tag such as 'Port' in the loc: stay where we are
    return sorted({f.alias or n for t in types if isinstance(t, type) and issubclass(t, spec.Model)
                   for n, f in t.model_fields.items()})


def schema_problems(exc: ValidationError, data: Any) -> Iterator[Diagnostic]:
    """Pydantic errors as located diagnostics: deepest branch of a union wins, one per place."""
    by_path: dict[tuple[Path, str], list[str]] = {}
    vocab: dict[Path, list[str]] = {}
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        kind = err["type"]
        path, _complete = _data_path(loc, data)
        if kind == "extra_forbidden":
            by_path.setdefault((path, "unknown-key"), []).append(str(loc[-1]))
            vocab.setdefault(path, _vocabulary(tuple(loc[:-1])))
        elif kind == "missing":
            by_path.setdefault((path, "missing-key"), []).append(str(loc[-1]))
        else:
            by_path.setdefault((path, "invalid-value"), []).append(_message(err))
    deepest = {p for p, _ in by_path}
    for (path, rule), messages in sorted(by_path.items(), key=lambda kv: str(kv[0])):
        if rule == "invalid-value" and any(len(o) > len(path) and o[: len(path)] == path for o in deepest):
            continue  # another branch of a union got further into this value
        yield from _schema_diagnostic(path, rule, messages, vocab.get(path, []))


def _schema_diagnostic(path: Path, rule: str, messages: list[str], vocab: list[str]) -> Iterator[Diagnostic]:
    if rule == "unknown-key":
        import difflib  # only for an unknown key: not on the common path

        key = path[-1] if path else messages[0]
        close = difflib.get_close_matches(str(key), vocab, n=1, cutoff=0.7)
        hint = f"did you mean {close[0]!r}?" if close else ""
        yield error("unknown-key", f"unknown key {key!r}", path, at_key=True, hint=hint)
    elif rule == "missing-key":
        for key in dict.fromkeys(messages):
            yield error("missing-key", f"missing required key {key!r}", path, at_key=True)
    else:
        unique = list(dict.fromkeys(messages))
        yield error("invalid-value", " or ".join(unique), path)


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    msg = msg.replace("Input should be", "expected").replace("a valid dictionary", "a mapping")
    msg = re.sub(r" or instance of \w+", "", msg)  # a model's class name means nothing to the user
    return msg[:1].lower() + msg[1:]


# ---------------------------------------------------------------------- emit


def targets_of(topo: Topology, only: Iterable[str] | None = None) -> list[str]:
    wanted = list(only) if only else list(topo.targets)
    return [t for t in TARGETS if t in wanted]


def compile(topo: Topology, out_dir: str, targets: Iterable[str] | None = None) -> dict[str, str]:
    """``{filename: text}`` for each target of the topology (or the given ones)."""
    files: dict[str, str] = {}
    for target in targets_of(topo, targets):
        files.update(_emitter(target)(topo, out_dir))
    return files


def _emitter(target: str) -> Any:
    if target == "compose":
        from .emit import compose

        return compose.emit
    from .emit import swarm

    return swarm.emit


@dataclass
class Build:
    """The outcome of :func:`build`: diagnostics, files by path, and which differ on disk."""

    result: Result
    files: dict[str, str] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)


def build(file: str, out_dir: str | None = None, targets: Iterable[str] | None = None,
          *, strict: bool = False, content: str | bytes | None = None) -> Build:
    """Check and compile; nothing is written here (see :func:`write`). ``content``, when given,
    is the topology's text (stdin) and ``file`` only its name."""
    result = check(file, content)
    out = Build(result)
    if result.failed(strict=strict) or result.topology is None:
        return out
    undeclared = [t for t in targets or () if t not in result.topology.targets]
    if undeclared:
        problem = error(
            "undeclared-target",
            f"the topology does not target {undeclared[0]}, so its {undeclared[0]} rules did not run",
            ("targets",), at_key=True, hint=f"add {undeclared[0]} to targets: [...]",
        )
        result.diagnostics = dg.sort([*result.diagnostics, result.src.finish(problem)])
        return out
    directory = out_dir if out_dir is not None else os.path.dirname(os.path.abspath(file))
    for name, text in compile(result.topology, directory, targets).items():
        path = os.path.join(directory, name)
        out.files[path] = text
        if _read(path) != text:
            out.stale.append(path)
    return out


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except OSError:
        return None


class WriteError(Exception):
    """A file could not be written; nothing of the batch was (see :func:`write`)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path, self.reason = path, reason


def write(files: dict[str, str]) -> None:
    """Write all files or none, each atomically: every file goes to a temp file beside it first,
    and only when all are written are they renamed into place.

    Raises :class:`WriteError` (naming the path) on the first file that cannot be written.
    """
    staged: list[tuple[str, str]] = []
    try:
        for path, text in files.items():
            staged.append((_stage(path, text), path))
        for tmp, path in staged:
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise WriteError(path, _reason(exc, path)) from None
    finally:
        for tmp, _path in staged:
            if os.path.lexists(tmp):
                os.unlink(tmp)


def _stage(path: str, text: str) -> str:
    """Write ``text`` to a temp file in ``path``'s folder (made if needed); its name."""
    directory = os.path.dirname(path) or "."
    tmp = os.path.join(directory, f".{os.path.basename(path)}.topogen-tmp-{os.getpid()}")
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "is a directory")
        os.makedirs(directory, exist_ok=True)
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise WriteError(path, _reason(exc, directory)) from None
    return tmp


def _reason(exc: OSError, directory: str) -> str:
    if isinstance(exc, FileExistsError) and not os.path.isdir(directory):
        return f"{directory} is not a directory"
    return exc.strerror or str(exc)
