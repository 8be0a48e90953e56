"""Several Compose files as one document: override files, ``include:``, ``extends:``, profiles.

:func:`load` reads files as ``docker compose -f A -f B`` does (:mod:`topogen.loader`, with
:mod:`topogen.merge`, :mod:`topogen.unicity` and :mod:`topogen.rebase`). Nothing is
interpolated: the merged document keeps ``${...}`` for Compose. Relative paths from included
and extended files are re-expressed relative to the main project directory, so the document
means the same wherever it is written. Every value knows the file and line it came from.

Every problem (a cycle, a missing file, an unknown base service, a conflict) is a
diagnostic located at the ``include`` / ``extends`` entry responsible.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import source
from .diagnostics import Diagnostic, Path, error
from .loader import MAX_FILE_LOADS, MAX_INCLUDE_DEPTH, Loader
from .origins import Loc
from .unicity import unique

__all__ = [
    "MAX_FILE_LOADS",
    "MAX_INCLUDE_DEPTH",
    "Project",
    "active_services",
    "inactive_dependencies",
    "load",
    "profiles_from",
]


@dataclass
class Project:
    """The merged Compose document and where each of its values came from."""

    data: dict[str, Any]
    files: list[str]
    origin: dict[Path, Loc]
    diagnostics: list[Diagnostic]
    sources: dict[str, source.Source] = field(default_factory=dict, repr=False)

    def locate(self, path: Path, *, at_key: bool = False) -> tuple[str, int, int]:
        """File, line and column of the longest prefix of ``path`` that came from a file."""
        for end in range(len(path), 0, -1):
            found = self.origin.get(path[:end])
            if found is not None:
                file, inner = found
                return (file, *self.sources[file].locate(inner, at_key=at_key and end == len(path)))
        return (self.files[0] if self.files else "", 1, 1)


def load(files: Sequence[str], *, env: Mapping[str, str] | None = None) -> Project:
    """Read ``files`` as ``docker compose -f A -f B ...`` does and merge them.

    ``env`` is for the ``${...}`` Compose resolves in ``include`` and ``extends`` file paths;
    those are not followed yet (a located ``variable-file-path`` error says so).
    """
    loader = Loader(relative=bool(files) and not os.path.isabs(files[0]))
    data: dict[str, Any] = {}
    if files:
        workdir = os.path.dirname(os.path.abspath(files[0]))
        for file in files:
            loader.file(file, workdir, data, (), None)
    unique(data, loader.org)
    project = Project(data, loader.files, loader.org.table(data), [], loader.sources)
    project.diagnostics = [*loader.diagnostics, *loader.located]
    return project


def active_services(data: dict[str, Any], profiles: Collection[str]) -> set[str]:
    """Services that run with ``profiles`` enabled: those with no ``profiles:``, those with
    an enabled profile, and all of them under ``*`` (compose-go ``HasProfile``)."""
    services = data.get("services")
    if not isinstance(services, dict):
        return set()
    every = "*" in profiles
    return {
        name
        for name, svc in services.items()
        if every or not _profiles(svc) or any(p in profiles for p in _profiles(svc))
    }


def _profiles(service: Any) -> list[Any]:
    found = service.get("profiles") if isinstance(service, dict) else None
    return found if isinstance(found, list) else []


def inactive_dependencies(data: dict[str, Any], active: Collection[str]) -> Iterator[Diagnostic]:
    """An active service that requires a service its profiles leave out: Compose refuses the
    project (``service "web" depends on undefined service "debug"``)."""
    services = data.get("services")
    if not isinstance(services, dict):
        return
    for name in sorted(active):
        deps = services[name].get("depends_on") if isinstance(services.get(name), dict) else None
        entries = deps.items() if isinstance(deps, dict) else ((d, None) for d in deps or ())
        for i, (dep, options) in enumerate(entries):
            required = not isinstance(options, dict) or options.get("required", True) is not False
            if dep in services and dep not in active and required:
                where = dep if isinstance(deps, dict) else i
                yield error(
                    "inactive-dependency",
                    f'service "{name}" depends on undefined service "{dep}"',
                    ("services", name, "depends_on", where),
                    hint=f'enable a profile of "{dep}" or mark the dependency "required: false"',
                )


def profiles_from(cli: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """The enabled profiles: the ``--profile`` options, else ``COMPOSE_PROFILES`` (comma-separated)."""
    if cli:
        return list(cli)
    return [p.strip() for p in environ.get("COMPOSE_PROFILES", "").split(",") if p.strip()]
