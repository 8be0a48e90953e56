"""Reading Compose files the way compose-go's ``loader.loadYamlFile`` does, file by file.

Read the file (``!reset`` values dropped), load its ``include:`` projects and import their
resources, clear what ``!reset`` / ``!override`` replace in the files before, resolve
``extends:`` (iteratively: a chain of any length), then merge with :mod:`topogen.merge`.
Each problem is a diagnostic located at the ``include`` / ``extends`` entry responsible.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import source
from .diagnostics import Diagnostic, Path, error, warning
from .merge import MergeError, Side, merge, merge_mappings
from .origins import Origins
from .rebase import rebase, tagged_paths

#: How deep ``include:`` may nest (a deeper chain is reported at the entry that goes over).
MAX_INCLUDE_DEPTH = 64
#: How many files one load may read, counting a file each time it is included (a diamond of
#: includes doubles at each level, as it does in Compose).
MAX_FILE_LOADS = 2000
RESOURCES = ("services", "volumes", "networks", "secrets", "configs", "models")


@dataclass
class _Site:
    """The entry that asked for a file (an ``include`` item, an ``extends``), for errors."""

    file: str
    path: Path


class Loader:
    def __init__(self, *, relative: bool = False) -> None:
        self.relative = relative  # name files relative to the working directory, as the user did
        self.org = Origins()
        self.files: list[str] = []
        self.sources: dict[str, source.Source] = {}
        self.parsed: dict[str, tuple[Any, list[Path], list[Path]]] = {}
        self.diagnostics: list[Diagnostic] = []
        self.located: list[Diagnostic] = []
        self.loads = 0

    def name(self, path: str) -> str:
        return os.path.relpath(path) if self.relative else os.path.abspath(path)

    def variable_path(self, site: _Site) -> None:
        # Compose interpolates these paths before reading; interpolation is a later stage here.
        message = "a file path with a variable is not followed yet: write the path itself"
        self.problem("variable-file-path", message, site)

    def problem(
        self, rule: str, message: str, site: _Site, level: Callable[..., Diagnostic] = error
    ) -> None:
        self.located.append(self.sources[site.file].finish(level(rule, message, site.path)))

    def rebased(self, doc: dict[str, Any], src: str, dst: str) -> None:
        for (file, path), message in rebase(doc, src, dst, self.org):
            self.located.append(
                self.sources[file].finish(warning("rebase-variable-path", message, path))
            )

    def read(self, file: str, site: _Site | None) -> tuple[Any, list[Path], list[Path]] | None:
        """A fresh copy of the file's data (with origins), its ``!reset`` and ``!override`` paths."""
        if file not in self.parsed:
            try:
                with open(file, "rb") as fh:
                    raw = fh.read(source.MAX_BYTES + 1)
            except OSError as exc:
                if site is None:
                    diag = error("read-error", f"cannot read file: {exc.strerror or exc}", ())
                    self.diagnostics.append(diag.located(file, 1, 1))
                else:
                    self.problem("missing-file", f"cannot read {file}: {exc.strerror or exc}", site)
                return None
            src = source.load_bytes(raw, file)
            self.sources[file] = src
            self.files.append(file)
            self.diagnostics.extend(src.diagnostics)
            resets, overrides = (
                tagged_paths(raw) if b"!reset" in raw or b"!override" in raw else ([], [])
            )
            self.org.register(src.data, (file, ()))
            self.parsed[file] = (src.data, resets, overrides)
        data, resets, overrides = self.parsed[file]
        if data is None:
            return None
        if not isinstance(data, dict):
            self.located.append(
                self.sources[file].finish(
                    error("compose-top-level", "a Compose file is a mapping", ())
                )
            )
            return None
        return self.org.clone(data), resets, overrides

    def file(
        self,
        file: str,
        workdir: str,
        into: dict[str, Any],
        chain: tuple[str, ...],
        site: _Site | None,
    ) -> None:
        """compose-go ``loadYamlFile``: ``file`` merged into ``into``."""
        self.loads += 1
        if self.loads > MAX_FILE_LOADS and site is not None:
            if self.loads == MAX_FILE_LOADS + 1:  # reported once, at the entry that went over
                self.problem("include-too-many", f"more than {MAX_FILE_LOADS} files included", site)
            return
        read = self.read(file, site)
        if read is None:
            return
        cfg, resets, overrides = read
        for path in sorted(resets, reverse=True):  # later list items first: indices stay valid
            _drop(cfg, path, self.org)
        if "include" in cfg:
            self.include(cfg, file, workdir, (*chain, os.path.abspath(file)))
        for path in [*resets, *overrides]:
            _clear(into, path)
        self.extends(cfg, file, workdir, resets)
        try:
            merge_mappings(into, cfg, (), self.org)
        except MergeError as exc:
            self.merge_error(exc, cfg)

    def include(self, cfg: dict[str, Any], file: str, workdir: str, chain: tuple[str, ...]) -> None:
        entries = cfg.pop("include")
        if not isinstance(entries, list):
            self.problem("compose-include", "`include` must be a list", _Site(file, ("include",)))
            return
        for i, entry in enumerate(entries):
            site = _Site(file, ("include", i))
            included = self.included(entry, site, workdir, chain)
            if included is not None:
                self.import_resources(included, cfg, site)

    def included(
        self, entry: Any, site: _Site, workdir: str, chain: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The resources of one ``include`` entry, paths rebased onto ``workdir``."""
        spec = {"path": entry} if isinstance(entry, str) else entry
        paths = spec.get("path") if isinstance(spec, dict) else None
        paths = [paths] if isinstance(paths, str) else paths
        if not paths or not all(isinstance(p, str) for p in paths):
            self.problem(
                "compose-include",
                "an include entry needs a path (a string or a list of strings)",
                site,
            )
            return None
        if any("$" in p for p in paths):
            self.variable_path(site)
            return None
        files = [self.name(os.path.join(workdir, p)) for p in paths]
        first = os.path.abspath(files[0])
        if first in chain:
            names = " -> ".join(os.path.relpath(f) for f in (*chain[chain.index(first) :], first))
            self.problem("include-cycle", f"include cycle: {names}", site)
            return None
        if len(chain) >= MAX_INCLUDE_DEPTH:
            self.problem(
                "include-too-deep", f"include chain deeper than {MAX_INCLUDE_DEPTH} files", site
            )
            return None
        project_dir = spec.get("project_directory")
        here = (
            os.path.join(workdir, project_dir)
            if isinstance(project_dir, str)
            else os.path.dirname(first)
        )
        sub: dict[str, Any] = {}
        for f in files:
            self.file(f, os.path.abspath(here), sub, chain, site)
        self.rebased(sub, os.path.abspath(here), workdir)
        self.own_environment(spec, here, workdir, sub, site)
        return sub

    def own_environment(
        self, spec: dict[str, Any], here: str, workdir: str, sub: dict[str, Any], site: _Site
    ) -> None:
        """Compose interpolates an included project with its own ``.env`` (or ``env_file``);
        the merged document keeps ``${...}``, to be resolved with the main project's."""
        given = spec.get("env_file")
        names = [given] if isinstance(given, str) else given if isinstance(given, list) else []
        files = [os.path.join(workdir, f) for f in names] or [os.path.join(here, ".env")]
        found = [
            f
            for f in files
            if os.path.isfile(f) and os.path.abspath(f) != os.path.join(workdir, ".env")
        ]
        if found and _uses_variables(sub):
            message = (
                f"Compose reads the variables of this included project from {os.path.relpath(found[0])}; "
                "the merged document keeps their ${...} for the main project's environment"
            )
            self.problem("include-env-file", message, site, level=warning)

    def import_resources(self, sub: dict[str, Any], cfg: dict[str, Any], site: _Site) -> None:
        """compose-go ``importResources`` (v2.40): a name defined twice differently is an error."""
        for kind in RESOURCES:
            imported = sub.get(kind)
            if not isinstance(imported, dict):
                continue
            target = cfg.setdefault(kind, {})
            if not isinstance(target, dict):
                continue
            for name, value in imported.items():
                if name in target and target[name] != value:
                    self.problem(
                        "include-conflict", f"{kind}.{name} conflicts with imported resource", site
                    )
                    continue
                self.org.put(target, name, value, self.org.of(imported, name))

    def extends(self, cfg: dict[str, Any], file: str, workdir: str, resets: list[Path]) -> None:
        services = cfg.get("services")
        if not isinstance(services, dict):
            return
        looped: set[tuple[str, str]] = set()
        for name in list(services):
            chain = self.extends_chain(services, name, file, workdir, looped)
            for j in range(len(chain) - 2, -1, -1):  # from the last base up: no recursion
                here, current, origin = chain[j]
                base_services, base, _ = chain[j + 1]
                self.extend(here, current, base_services[base], resets if origin == file else [])
            if not chain and isinstance(services.get(name), dict):
                services[name].pop("extends", None)  # reported; the rest of the file still merges

    def extend(self, services: dict[str, Any], name: str, base: Any, resets: list[Path]) -> None:
        service = services[name]
        clone = self.org.clone(base)
        for path in resets:
            if path[:2] == ("services", name) and len(path) > 2:
                _clear(clone, path[2:])
        try:
            merged = merge(
                Side(clone, self.org.loc(base)),
                Side(service, self.org.loc(service)),
                ("services", name),
                self.org,
            )
        except MergeError as exc:
            self.merge_error(exc, service)
            service.pop("extends", None)
            return
        merged.pop("extends", None)
        # The service is located where it is defined, not where its base is.
        self.org.move(merged, self.org.loc(service))
        self.org.put(services, name, merged, None)

    def merge_error(self, exc: MergeError, fallback: Any) -> None:
        file, path = exc.loc or self.org.loc(fallback) or (self.files[0], ())
        self.located.append(self.sources[file].finish(error("compose-merge", str(exc), path)))

    def extends_chain(
        self,
        services: dict[str, Any],
        name: str,
        file: str,
        workdir: str,
        looped: set[tuple[str, str]],
    ) -> list[Any]:
        """``[(services, name, file), ...]`` from ``name`` to the base that extends nothing,
        or ``[]`` after reporting a loop (once per loop) or a missing base."""
        chain: list[Any] = [(services, name, file)]
        seen = {(os.path.abspath(file), name)}
        while True:
            svcs, current, here = chain[-1]
            ext = svcs[current].get("extends") if isinstance(svcs.get(current), dict) else None
            if ext is None:
                return chain
            site = _Site(here, ("services", current, "extends"))
            found = self.base_of(ext, svcs, here, workdir, site)
            if found is None:
                return []
            key = (os.path.abspath(found[2]), found[1])
            if key in seen:
                if key not in looped:
                    names = " -> ".join(n for _, n, _ in (*chain, found))
                    self.problem(
                        "extends-loop",
                        f"extends loop: {names}",
                        _Site(file, ("services", name, "extends")),
                    )
                looped.update(seen)
                return []
            seen.add(key)
            chain.append(found)

    def base_of(
        self, ext: Any, services: dict[str, Any], file: str, workdir: str, site: _Site
    ) -> Any:
        ref = ext if isinstance(ext, str) else ext.get("service") if isinstance(ext, dict) else None
        if not isinstance(ref, str):
            self.problem("compose-extends", "extends needs a service name", site)
            return None
        other = ext.get("file") if isinstance(ext, dict) else None
        if other is None:
            if ref not in services:
                self.problem(
                    "extends-unknown-service", f"service {ref!r} not found in {file}", site
                )
                return None
            return (services, ref, file)
        if not isinstance(other, str) or "$" in other:
            self.variable_path(site)
            return None
        path = self.name(os.path.join(workdir, other))
        read = self.read(path, site)
        if read is None:
            return None
        data = read[0]
        self.rebased(data, os.path.dirname(os.path.abspath(path)), workdir)
        base_services = data.get("services")
        if not isinstance(base_services, dict) or ref not in base_services:
            self.problem("extends-unknown-service", f"service {ref!r} not found in {other}", site)
            return None
        return (base_services, ref, path)


def _uses_variables(value: Any) -> bool:
    if isinstance(value, str):
        return "$" in value
    if isinstance(value, dict):
        return any(_uses_variables(v) for v in value.values())
    if isinstance(value, list):
        return any(_uses_variables(v) for v in value)
    return False


def _drop(data: Any, path: Path, org: Origins) -> None:
    """Remove the value a ``!reset`` tag marks from the file that holds it."""
    parent = _get(data, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
        kept = [pair for i, pair in enumerate(org.pairs(parent)) if i != path[-1]]
        fresh = org.new_list(kept, org.loc(parent))
        parent.clear()
        for i, (item, loc) in enumerate(org.pairs(fresh)):
            parent.append(None)
            org.put(parent, i, item, loc)


def _clear(data: Any, path: Path) -> None:
    """compose-go's reset ``Apply``: the key is removed from what earlier files defined."""
    parent = _get(data, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _get(data: Any, path: Path) -> Any:
    for key in path:
        found = isinstance(data, dict) and key in data
        if not found and not (isinstance(data, list) and isinstance(key, int) and key < len(data)):
            return None
        data = data[key]
    return data
