"""Which Compose files ``docker compose`` reads together: with no FILE argument (:func:`find`),
and for ``validate --compose-project``.

With no ``-f``, Compose (2.40.3: ``cmd/compose`` ``toProjectOptions``, compose-go 2.9.1
``cli/options.go``, checked against the binary) first exports the ``COMPOSE_*`` settings of the
working folder's ``.env`` (or of the ``--env-file`` files) to its environment, then reads
``COMPOSE_FILE`` (split on ``COMPOSE_PATH_SEPARATOR``, relative to the working folder), else the
first default file of the working folder or its nearest parent that has one, with the first
default override file beside it; when several default names exist it warns and takes the first.

pre-commit passes the staged files one by one; an override file checked alone is not what
anyone runs (its services often have no image), so each file is checked in the project it
belongs to. Compose's defaults (compose-go ``cli.DefaultFileNames`` and
``DefaultOverrideFileNames``, in that order of preference, checked against the binary):

- a base file (``compose.yaml``, ``compose.yml``, ``docker-compose.yml``,
  ``docker-compose.yaml``) is read with the first default override file beside it
  (``compose.override.yml`` ...), as ``docker compose`` with no ``-f`` does;
- a default override file is read over the base file beside it;
- another ``compose.<env>.yaml`` / ``docker-compose<anything>.yml`` beside a base file is the
  usual ``-f compose.yaml -f compose.<env>.yaml`` pair when some service in it is incomplete
  (no ``image``, ``build`` or ``extends``: Compose refuses such a file alone), and a
  standalone project otherwise;
- any other file (a topology) is checked alone.

A project is checked once, whichever of its files were passed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

BASE = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)

Project = tuple[str, tuple[str, ...]]


def projects(files: Iterable[str]) -> list[Project]:
    """Each file's project as ``(first file, override files)``, in the order of the files,
    each project once."""
    seen: dict[Project, None] = {}
    for f in files:
        seen.setdefault(project_of(f), None)
    return list(seen)


def project_of(file: str) -> Project:
    folder, name = os.path.split(file)
    base = _first(folder, BASE)
    if name in BASE:
        return file, default_files(folder)[1:]
    if base is None or not _is_compose_name(name):
        return file, ()
    if name in OVERRIDE or _incomplete(file):
        return base, (file,)
    return file, ()


def default_files(folder: str) -> tuple[str, ...]:
    """The default files Compose reads in ``folder`` (no walking up): the first base file and
    the first override file beside it; nothing when the folder has no base file."""
    bases = _existing(folder, BASE)
    return (bases[0], *_existing(folder, OVERRIDE)[:1]) if bases else ()


def _first(folder: str, names: tuple[str, ...]) -> str | None:
    found = _existing(folder, names)
    return found[0] if found else None


def _existing(folder: str, names: tuple[str, ...]) -> list[str]:
    """The names that exist in ``folder``, in the order given (compose-go ``findFiles``: any
    kind of file; a directory named compose.yaml is found, then fails to read)."""
    return [p for p in (os.path.join(folder, n) for n in names) if os.path.exists(p)]


def _is_compose_name(name: str) -> bool:
    stem, ext = os.path.splitext(name)
    if ext not in (".yaml", ".yml"):
        return False
    return stem.startswith(("compose.", "docker-compose"))


def _incomplete(file: str) -> bool:
    """Some service has no ``image``, ``build`` or ``extends``: Compose would refuse the file
    alone, so it is an override. Unreadable files count as complete: checked alone, their
    own problem is reported where it is."""
    import yaml

    try:
        with open(file, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return False
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return isinstance(data, dict) and not data.get("include")
    return any(
        not isinstance(s, dict) or not ({"image", "build", "extends"} & s.keys())
        for s in services.values()
    )


# ------------------------------------------------------------------ no FILE: the project here

#: What ``docker compose`` says when there is no ``-f``, no ``COMPOSE_FILE`` and no default file.
NOT_FOUND = "no configuration file provided: not found"


class NoProject(ValueError):
    """No Compose project here, or a ``COMPOSE_FILE`` entry that names no file (usage: exit 2)."""


@dataclass(frozen=True)
class Found:
    """The project ``docker compose`` with no ``-f`` reads from the working folder."""

    #: The first file, then the files merged over it, named from the working folder.
    files: tuple[str, ...]
    #: Variables Compose adds to its environment before reading them (see :func:`working_env`).
    environ: dict[str, str] = field(default_factory=dict)
    #: What Compose warns about (several default names), with the files named as above.
    warnings: tuple[str, ...] = ()


def find(env_files: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Found:
    """The files ``docker compose`` reads with no ``-f`` (``COMPOSE_FILE``, else the default
    files of the working folder or its nearest parent with one); raises :class:`NoProject`.
    ``env_files`` are ``--env-file``; ``environ`` defaults to the process environment."""
    process = dict(os.environ if environ is None else environ)
    wd = _getwd(process)
    env, problems = working_env(wd, env_files, process)
    added = {k: v for k, v in env.items() if k not in process and k != "PWD"}
    listed = env.get("COMPOSE_FILE")
    warnings: list[str] = []
    if listed is not None:
        files = _listed(listed, env.get("COMPOSE_PATH_SEPARATOR") or os.pathsep, wd)
    else:
        folder = wd
        while not (files := list(default_files(folder))):
            if os.path.dirname(folder) == folder:
                raise NoProject(NOT_FOUND)
            folder = os.path.dirname(folder)
        warnings = _several(folder, wd)
    if os.path.dirname(files[0]) != wd:  # else the pipeline reports this .env's problems itself
        warnings += problems
    return Found(tuple(_shown(f, wd) for f in files), added, tuple(warnings))


def _listed(value: str, sep: str, wd: str) -> list[str]:
    """``COMPOSE_FILE``'s files, absolute; :class:`NoProject` for one that is no file (an
    empty entry is the working folder, as in Compose)."""
    files = [os.path.normpath(os.path.join(wd, f)) for f in value.split(sep)]
    for f in files:
        if not os.path.isfile(f):
            why = "is a directory" if os.path.isdir(f) else "no such file"
            raise NoProject(f"{_shown(f, wd)}: {why} (COMPOSE_FILE={value})")
    return files


def working_env(
    wd: str, env_files: Sequence[str] | None, process: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The environment Compose has when it looks for the files, and the problems of the env
    files it read: the process environment; the ``COMPOSE_*`` settings of ``wd``'s ``.env``
    (or of ``env_files``), exported as ``cmd/compose`` ``setEnvWithDotEnv`` does (not
    ``COMPOSE_ENV_FILES``: its default was taken before); then the other variables of that
    file, unless ``COMPOSE_DISABLE_ENV_FILE`` (possibly from that file) says not to. Those
    stay before the project folder's own ``.env``: when the project is elsewhere (in a parent,
    or named by ``COMPOSE_FILE``), Compose interpolates with both, this one first."""
    from .dotenv import load_env

    first = load_env(wd, env_files, process)
    exported = {
        k: v
        for k, v in first.values.items()
        if k.startswith("COMPOSE_") and k != "COMPOSE_ENV_FILES" and k not in process
    }
    settled = {**process, **({} if first.problems else exported)}
    env = load_env(wd, env_files, settled)
    return env.values, env.problems


def _several(folder: str, wd: str) -> list[str]:
    """Compose's warnings when a folder has several default base (or override) files."""
    lines = []
    bases = _existing(folder, BASE)
    for kind, found in (("config", bases), ("override", _existing(folder, OVERRIDE))):
        if len(found) > 1:
            names = ", ".join(_shown(f, wd) for f in found)
            lines.append(f"Found multiple {kind} files with supported names: {names}")
            lines.append(f"Using {_shown(found[0], wd)}")
    return lines


def _getwd(environ: Mapping[str, str]) -> str:
    """The working folder as Go's ``os.Getwd``: ``$PWD`` when it is this folder (through a
    symbolic link, its parent is the link's parent), else the physical path."""
    pwd = environ.get("PWD", "")
    try:
        if os.path.isabs(pwd) and os.path.samefile(pwd, "."):
            return os.path.normpath(pwd)
    except OSError:
        pass
    return os.getcwd()


def _shown(path: str, wd: str) -> str:
    """``path`` as the user names it from ``wd``: relative, unless a symbolic link on the way
    makes the relative name lead elsewhere."""
    path = os.path.normpath(path)
    rel = os.path.relpath(path, wd)
    return rel if os.path.realpath(rel) == os.path.realpath(path) else path


def use(env_files: Sequence[str] | None = None) -> list[str] | None:
    """For a command given no FILE: :func:`find`'s files, after writing its warnings to
    stderr and adding to this process's environment the variables Compose would have (so
    that interpolation, profiles and the project name see them); None after writing why
    there is no project (the command then exits 2)."""
    import sys

    try:
        found = find(env_files)
    except NoProject as exc:
        sys.stderr.write(_no_project(exc))
        return None
    sys.stderr.writelines(f"warning: {w}\n" for w in found.warnings)
    os.environ.update(found.environ)
    return list(found.files)


def _no_project(exc: NoProject) -> str:
    hint = (
        "\n    hint: name the FILE, or run where docker compose finds its compose.yaml "
        "(this folder or a parent), or set COMPOSE_FILE"
        if str(exc) == NOT_FOUND
        else ""
    )
    return f"error: {exc}{hint}\n"
