"""The one sequencer of the stages: source -> spec -> resolve -> rules -> emit.

This is the library API; the CLI only calls it. :func:`check` runs everything up to the
rules and returns a :class:`Result`; :func:`compile` emits files for a clean result;
:func:`build` does both and says which files would change.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from . import diagnostics as dg
from . import interpolation, source, suppress
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
    #: Locates a diagnostic about the topology as :func:`check` located its own (override
    #: files, ``include:``, ``x-topogen``): see :meth:`where`.
    locator: Callable[[Diagnostic], Diagnostic] | None = field(default=None, repr=False)

    def where(self, path: Path, *, at_key: bool = True) -> tuple[str, int, int]:
        """File, line and column of the value (or key) at ``path`` of the topology."""
        probe = Diagnostic("", "", path, at_key=at_key)  # not a finding: only located
        found = (self.locator or self.src.finish)(probe)
        return found.file, found.line, found.col

    @property
    def ok(self) -> bool:
        return self.topology is not None and not dg.has_errors(self.diagnostics)

    def failed(self, *, strict: bool = False) -> bool:
        return self.topology is None or dg.has_errors(self.diagnostics, strict=strict)


def check(
    file: str,
    text: str | bytes | None = None,
    *,
    profiles: Sequence[str] | None = None,
    env_files: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
    avoid: Sequence[str] = (),
) -> Result:
    """Parse, type-check, resolve and run every rule; diagnostics come back located and sorted.

    ``profiles`` selects services as ``docker compose --profile`` does (``COMPOSE_PROFILES``
    in the environment when not given); without a selection every service is checked, and
    rules that compare services compare only those that can run together. ``env_files`` and
    ``environ`` give the environment interpolation sees (default: the process environment
    and the ``.env`` beside the file, as ``docker compose``). ``overrides`` are further files
    merged over the first, as ``docker compose -f FILE -f OVERRIDE``; ``include:`` and
    ``extends:`` are followed, and every diagnostic names the file and line that wrote the value.
    ``avoid``: subnets in use elsewhere (the engine's), which synthesized subnets keep clear of.
    """
    if text is None:
        src = source.load_path(file)
    elif isinstance(text, bytes):
        src = source.load_bytes(text, file)
    else:
        src = source.load_text(text, file)
    result = Result(file, src)
    found: list[Diagnostic] = list(src.diagnostics)
    scope = suppress.Scope({src.file: src.text})
    if src.data is not None and not found:
        data = written = src.data
        locate: Callable[[Diagnostic], Diagnostic] = src.finish
        if text is None and (overrides or _follows_files(src.data)):
            from . import project

            merged = project.load([file, *overrides])
            found += merged.diagnostics
            data = merged.data
            # The output keeps include: and extends: for Compose to follow (each included project
            # keeps its own folder and .env); override files are merged into it.
            written = merged.data if overrides else src.data
            scope.texts = {name: s.text for name, s in merged.sources.items()}

            def locate(d: Diagnostic) -> Diagnostic:
                return d.located(*merged.locate(d.path, at_key=d.at_key))

        if not dg.has_errors(found):
            context = Context(file, profiles, env_files, environ, avoid)
            topo, problems, doc = _analyse(data, context, written)
            result.topology = topo
            place = result.locator = _locator(locate, doc)
            found.extend(source.aim(place(d), scope.texts) for d in problems)
            if doc is not None:
                scope.entries, scope.place = doc.data.get("ignore"), place
                scope.written_at = doc.written_at
            scope.complete = topo is not None and topo.profiles is None
    result.diagnostics = suppress.apply(dg.sort(found), scope)
    return result


def _locator(
    locate: Callable[[Diagnostic], Diagnostic], doc: Any
) -> Callable[[Diagnostic], Diagnostic]:
    """A diagnostic's path in the topology -> where the file wrote it (``x-topogen`` moved)."""

    def where(d: Diagnostic) -> Diagnostic:
        if d.file:  # a finding located in another file (a config, an env file) keeps its place
            return d
        return locate(replace(d, path=doc.written_at(d.path)) if doc else d)

    return where


def _follows_files(data: Any) -> bool:
    """Whether the document names other files to read (``include:``, ``extends:``)."""
    if not isinstance(data, dict):
        return False
    services = data.get("services")
    return "include" in data or (
        isinstance(services, dict)
        and any(isinstance(s, dict) and "extends" in s for s in services.values())
    )


@dataclass
class Context:
    """What, besides the file, decides a topology's meaning: profiles and environment."""

    file: str
    profiles: Sequence[str] | None = None
    env_files: Sequence[str] | None = None
    environ: Mapping[str, str] | None = None
    #: Subnets in use elsewhere (the engine's networks): synthesized subnets avoid them.
    avoid: Sequence[str] = ()

    @property
    def base_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.file))


def _analyse(
    data: Any, context: Context, written: Any = None
) -> tuple[Topology | None, list[Diagnostic], Any]:
    from . import document, resolve, rules, spec

    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a scalar"
        return (
            None,
            [error("not-a-mapping", f"the topology must be a mapping of keys, not {kind}", ())],
            None,
        )
    doc = document.prepare(data)
    env = interpolation.load_env(context.base_dir, context.env_files, context.environ)
    tree = interpolation.interpolate_tree(doc.data, env.values)
    problems = [
        error(
            "invalid-interpolation",
            problem,
            path,
            hint="write $$ for a literal $, or ${NAME}, ${NAME:-default}",
        )
        for path, problem in tree.syntax.items()
    ]
    problems += [dg.warning("env-file", p, ()) for p in env.problems]
    problems += [
        dg.warning("required-variable", f"{msg}: checks of this value were skipped", path)
        for path, msg in tree.errors.items()
        if msg.startswith("required variable")
    ]
    casts = {
        path: msg
        for path, msg in tree.cast_errors.items()
        if not _port_range(path, _at(doc.data, path))
    }
    problems += [dg.warning("boolean-spelling", msg, path) for path, msg in tree.warnings.items()]
    skipped = {**tree.unset, **{p: () for p in tree.errors}}
    view = document.strip_extensions(tree.data)
    problems += _nulls(view)
    view.pop("include", None)
    model, schema = _validate(spec.Topology.model_validate, view, skipped)
    problems += _skipped_warnings([d for d in schema if not _structural(d)], skipped)
    problems += [d for d in schema if _structural(d) or not _under(d.path, skipped)]
    typed = {d.path for d in schema}
    problems += [
        error("invalid-value", msg, path) for path, msg in casts.items() if path not in typed
    ]
    if model is None:
        return None, problems, doc
    topo, resolve_problems = resolve.resolve(
        model,
        context.file,
        name=_project_name(model, context, env.values),
        profiles=_profiles(context, env.values),
    )
    out = doc if written is None or written is data else document.prepare(written)
    written_data = out.data
    if model.synthesize is not None or _auto_subnets(view):
        from . import synth

        needs: list[tuple[str, str]] = []
        if model.synthesize is not None and model.synthesize.needs:
            from .analysis.needs import needed

            needs = [(n.source, n.target) for n in needed(topo)]
        try:
            layout = synth.plan(view, topo, model.synthesize, needs, context.avoid)
        except ValueError as exc:
            problems.append(error("synth-pool", str(exc), ("synthesize",), at_key=True))
            return None, problems, doc
        view = synth.apply(view, layout)
        written_data = synth.apply(out.data, layout)
        model, schema = _validate(spec.Topology.model_validate, view, skipped)
        if model is None:
            return None, problems + schema, doc
        topo, resolve_problems = resolve.resolve(
            model,
            context.file,
            name=_project_name(model, context, env.values),
            profiles=_profiles(context, env.values),
        )
        topo = dataclasses.replace(topo, synthesized=layout)
    topo = dataclasses.replace(
        topo,
        document=document.lower(written_data),
        variables=env.values,
        interpolated=frozenset(tree.references),
    )
    if "swarm" in topo.targets:
        topo = dataclasses.replace(
            topo, as_written=_as_written(spec.Topology.model_validate, resolve, doc, topo, context)
        )
    found = _profiled(topo, resolve_problems + _run_rules(rules, topo))
    found = [d for d in found if not _hidden_reference(d, skipped, tree.data)]
    problems += _skipped_warnings(found, skipped)
    problems += [d for d in found if not _under(d.path, skipped)]
    if "version" in data:
        problems.append(
            dg.warning(
                "obsolete-version",
                "the attribute `version` is obsolete, it will be ignored"
                " (Compose says the same); topogen does not write it",
                ("version",),
                at_key=True,
                hint="remove it",
            )
        )
    return topo, problems, doc


def _auto_subnets(view: Any) -> bool:
    networks = view.get("networks")
    if not isinstance(networks, dict) or "auto" not in str(networks):
        return False
    from . import synth

    return bool(synth.auto_networks(view))


def _as_written(
    validate: Any, resolve: Any, doc: Any, topo: Topology, context: Context
) -> Topology | None:
    """The topology resolved from the uninterpolated text, for the swarm stack (None when
    that text does not type-check as written, e.g. ``"${PORT:-80}:80"``)."""
    from . import document

    try:
        model = validate(document.strip_extensions(doc.data))
    except ValidationError:
        return None
    written, problems = resolve.resolve(model, context.file, name=topo.name, profiles=topo.profiles)
    if dg.has_errors(problems):
        return None
    as_written: Topology = dataclasses.replace(
        written, document=topo.document, interpolated=topo.interpolated
    )
    return as_written


def _profiled(topo: Topology, found: list[Diagnostic]) -> list[Diagnostic]:
    """With no profile chosen, Compose checks and runs only the services without profiles: an
    error about a service that only a profile enables is a warning that says which."""
    if topo.profiles is not None:
        return found
    out = []
    for d in found:
        service = (
            topo.services.get(str(d.path[1]))
            if len(d.path) > 1 and d.path[0] == "services"
            else None
        )
        if d.is_error and service is not None and service.profiles:
            names = ", ".join(service.profiles)
            d = dataclasses.replace(
                d, level=dg.Level.WARNING, message=f"{d.message} (when profile {names} is enabled)"
            )
        out.append(d)
    return out


def _run_rules(rules: Any, topo: Topology) -> list[Diagnostic]:
    """Every rule; the rules that compare services compare only services that can run together
    (:meth:`Topology.together`), as errors when they always run, else as warnings."""
    from .rules.registry import PROFILE_WARNINGS as COMPARING

    found: list[Diagnostic] = list(rules.run(topo))
    profiled = sorted({p for s in topo.services.values() for p in s.profiles})
    if topo.profiles is not None or not profiled:
        return found
    kept = [d for d in found if d.rule not in COMPARING]
    always: set[tuple[Path, str]] = set()
    for profile in [None, *profiled]:
        group = {k: s for k, s in topo.services.items() if not s.profiles or profile in s.profiles}
        for d in rules.run(dataclasses.replace(topo, services=group)):
            if d.rule not in COMPARING or (d.path, d.rule) in always:
                continue
            if profile is None:
                always.add((d.path, d.rule))
                kept.append(d)
            else:  # a clash only when that profile is enabled: Compose accepts the file
                kept.append(
                    dataclasses.replace(
                        d,
                        level=dg.Level.WARNING,
                        message=f"{d.message} (with profile {profile} enabled)",
                    )
                )
    return kept


def _validate(
    validate: Any, view: dict[str, Any], skipped: dict[Path, tuple[str, ...]]
) -> tuple[Any, list[Diagnostic]]:
    """Validate the interpolated document; values that only failed because a variable is
    unset are set aside (Compose would substitute an empty string) and validation retried."""
    problems: list[Diagnostic] = []
    for _attempt in range(8):
        try:
            return validate(view), problems
        except ValidationError as exc:
            found = list(schema_problems(exc, view))
        blocking = [d for d in found if not _under(d.path, skipped) or _structural(d)]
        unset_only = [d for d in found if _under(d.path, skipped) and not _structural(d)]
        if blocking or not unset_only:
            return None, problems + found
        problems += unset_only
        for d in unset_only:
            _drop(view, _droppable(d.path, skipped))
    return None, problems


#: Service keys whose value may be null in Compose (its schema); any other null is refused
#: ("services.web.volumes must be a array"), though topogen reads it as "not set".
NULLABLE = frozenset(("command", "deploy", "develop", "entrypoint", "pid", "umask"))


def _nulls(view: Any) -> list[Diagnostic]:
    """Keys set to null that Compose refuses: a service's (but :data:`NULLABLE`), and every key
    of a network, volume, secret or config but topogen's typed additions (lowered away)."""
    from .document import NETWORK_SUGAR, VOLUME_KINDS

    if not isinstance(view, dict):
        return []
    typed = {"networks": NETWORK_SUGAR, "volumes": frozenset(VOLUME_KINDS)}
    sections = ("services", "networks", "volumes", "secrets", "configs")
    return [
        error(
            "invalid-value",
            f"{key} is null, which Compose refuses: give it a value or remove it",
            (section, name, key),
            at_key=True,
        )
        for section in sections
        if isinstance(view.get(section), dict)
        for allowed in [NULLABLE if section == "services" else typed.get(section, frozenset())]
        for name, body in view[section].items()
        if isinstance(body, dict)
        for key, value in body.items()
        if value is None and key not in allowed
    ]


def _structural(d: Diagnostic) -> bool:
    """A shape error (an unknown or missing key, a string where a mapping or a list belongs): no
    value of the variable fixes it."""
    if d.rule in ("unknown-key", "missing-key"):
        return True
    return d.rule == "invalid-value" and any(
        w in d.message for w in ("mapping", "list", "dictionary")
    )


def _under(path: Path, skipped: Mapping[Path, Any]) -> bool:
    """Whether a diagnostic at ``path`` is about a value that holds an unset variable (the
    value itself, inside it, or its immediate container)."""
    for n in range(len(path), 1, -1):
        if path[:n] in skipped:
            return True
    return any(
        len(u) - len(path) <= 1 and u[: len(path)] == path and len(path) > 2 for u in skipped
    )


def _port_range(path: Path, value: Any) -> bool:
    """topogen's long-form port range (``target: "8000-8002"``), which the document lowers to
    one Compose entry per port: not a number, and not meant to be one."""
    return (
        bool(path)
        and path[-1] in ("target", "published")
        and isinstance(value, str)
        and bool(re.fullmatch(r"[0-9]+-[0-9]+", value))
    )


def _hidden_reference(d: Diagnostic, skipped: Mapping[Path, Any], data: Any) -> bool:
    """An "unused" finding about an object that a skipped value (unset variable) may name."""
    if not d.rule.startswith("unused-") or len(d.path) < 2 or not skipped:
        return False
    key = str(d.path[1])
    return any(key in str(_at(data, p)) for p in skipped)


def _at(data: Any, path: Path) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _droppable(path: Path, skipped: Mapping[Path, Any]) -> Path:
    for n in range(len(path), 1, -1):
        if path[:n] in skipped:
            return path[:n]
    return path


def _drop(data: Any, path: Path) -> None:
    node = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)
    elif isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        del node[path[-1]]


def _skipped_warnings(
    found: Iterable[Diagnostic], skipped: Mapping[Path, tuple[str, ...]]
) -> list[Diagnostic]:
    out = []
    for d in found:
        if not _under(d.path, skipped):
            continue
        names = next(
            (skipped[d.path[:n]] for n in range(len(d.path), 1, -1) if d.path[:n] in skipped), ()
        )
        if not names:
            names = next((v for u, v in skipped.items() if u[: len(d.path)] == d.path), ())
        if names:
            listed = ", ".join(names)
            out.append(
                dg.warning(
                    "unset-variable",
                    f"{listed} {'is' if len(names) == 1 else 'are'} not set (Compose "
                    f"substitutes an empty string), so the {d.rule} check of this value was skipped",
                    d.path,
                    hint=f"set {names[0]} in the environment or in .env, or give a default: "
                    f"${{{names[0]}:-value}}",
                )
            )
    return out


def _project_name(model: Any, context: Context, env: Mapping[str, str]) -> str:
    if env.get("COMPOSE_PROJECT_NAME"):
        return env["COMPOSE_PROJECT_NAME"]
    if model.name:
        return str(model.name)
    from .dotenv import normal_project_name

    return normal_project_name(os.path.basename(context.base_dir)) or "default"


def _profiles(context: Context, env: Mapping[str, str]) -> tuple[str, ...] | None:
    if context.profiles is not None:
        return tuple(context.profiles)
    chosen = [p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",") if p.strip()]
    return tuple(chosen) or None


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
        return (
            [a for arg in get_args(t) for a in expand(arg)]
            if get_origin(t) is Union or type(t).__name__ == "UnionType"
            else [t]
        )

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
    return sorted(
        {
            f.alias or n
            for t in types
            if isinstance(t, type) and issubclass(t, spec.Model)
            for n, f in t.model_fields.items()
        }
    )


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
    keyed = {p for p, rule in by_path if rule != "invalid-value"}
    for (path, rule), messages in sorted(by_path.items(), key=lambda kv: str(kv[0])):
        if rule == "invalid-value" and any(
            len(o) > len(path) and o[: len(path)] == path for o in deepest
        ):
            continue  # another branch of a union got further into this value
        if rule == "invalid-value" and path in keyed:
            continue  # the mapping branch of a union says what is wrong with its keys
        yield from _schema_diagnostic(path, rule, messages, vocab.get(path, []))


def _schema_diagnostic(
    path: Path, rule: str, messages: list[str], vocab: list[str]
) -> Iterator[Diagnostic]:
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


def build(
    file: str,
    out_dir: str | None = None,
    targets: Iterable[str] | None = None,
    *,
    strict: bool = False,
    content: str | bytes | None = None,
    overrides: Sequence[str] = (),
    profiles: Sequence[str] | None = None,
    env_files: Sequence[str] | None = None,
    avoid: Sequence[str] = (),
) -> Build:
    """Check and compile; nothing is written here (see :func:`write`). ``content``, when given,
    is the topology's text (stdin) and ``file`` only its name. A generated file never
    replaces an input (a Compose file named docker-compose.yml built beside itself)."""
    result = check(
        file, content, overrides=overrides, profiles=profiles, env_files=env_files, avoid=avoid
    )
    out = Build(result)
    if result.failed(strict=strict) or result.topology is None:
        return out
    undeclared = [t for t in targets or () if t not in result.topology.targets]
    if undeclared:
        problem = error(
            "undeclared-target",
            f"the topology does not target {undeclared[0]}, so its {undeclared[0]} rules did not run",
            ("targets",),
            at_key=True,
            hint=f"add {undeclared[0]} to targets: [...]",
        )
        result.diagnostics = dg.sort([*result.diagnostics, result.src.finish(problem)])
        return out
    directory = out_dir if out_dir is not None else os.path.dirname(os.path.abspath(file))
    inputs = {os.path.abspath(f) for f in (file, *overrides)}
    for name, text in compile(result.topology, directory, targets).items():
        path = os.path.join(directory, name)
        if os.path.abspath(path) in inputs:
            problem = error(
                "output-is-input",
                f"{name} would replace the input file {path}",
                (),
                hint="write the output elsewhere: topogen build FILE -o DIR",
            )
            result.diagnostics = dg.sort([*result.diagnostics, result.src.finish(problem)])
            out.files.clear()
            out.stale.clear()
            return out
        out.files[path] = text
        if _read(path) != text:
            out.stale.append(path)
    shadowed = _shadowed(directory, out.files)
    if shadowed:
        result.diagnostics = dg.sort([*result.diagnostics, result.src.finish(shadowed)])
    return out


def _shadowed(directory: str, files: Mapping[str, str]) -> Diagnostic | None:
    """A warning when the Compose file written is not the one ``docker compose`` reads in
    its folder: a ``compose.yaml`` (or ``.yml``) there comes first, and Compose warns of two."""
    from .composefiles import default_files

    written = os.path.join(directory, "docker-compose.yml")
    if written not in files:
        return None
    read = default_files(directory)  # what Compose reads there once the output is written
    first = os.path.basename(read[0]) if read else "docker-compose.yml"
    if first == "docker-compose.yml":
        return None
    return dg.warning(
        "output-shadowed",
        f"docker-compose.yml is written beside {first}: `docker compose` in that folder reads "
        f"{first}, not the output (and warns that it found both)",
        (),
        hint="build with -o DIR, or run the output as docker compose -f docker-compose.yml",
    )


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
