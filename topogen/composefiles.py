"""Which Compose files ``docker compose`` reads together, for ``validate --compose-project``.

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
from collections.abc import Iterable

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
        override = _first(folder, OVERRIDE)
        return file, (override,) if override else ()
    if base is None or not _is_compose_name(name):
        return file, ()
    if name in OVERRIDE or _incomplete(file):
        return base, (file,)
    return file, ()


def _first(folder: str, names: tuple[str, ...]) -> str | None:
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


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
