"""What a Compose file means beyond its data: its relative paths and its ``!reset`` tags.

- :func:`rebase`: an included or extended file's relative paths are relative to its own
  project directory; merged into another project they are re-expressed relative to that
  one (compose-go ``paths.ResolveRelativePaths`` does the same, then makes them absolute).
- :func:`tagged_paths`: the paths a file marks ``!reset`` or ``!override`` (compose-go
  ``loader/reset.go``); :mod:`topogen.source` reads tagged values as plain data.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from . import source
from .diagnostics import Path
from .origins import Loc, Origins
from .unicity import volume_parts

_REMOTE = ("https://", "http://", "git://", "ssh://", "github.com/", "git@", "service:")


def rebase(doc: dict[str, Any], src: str, dst: str, org: Origins) -> list[tuple[Loc, str]]:
    """Rewrite ``doc``'s relative paths from directory ``src`` to ``dst``, in place.

    Returns the paths it could not rewrite (a path that starts with a variable), with why.
    """
    if os.path.abspath(src) == os.path.abspath(dst):
        return []
    r = _Rebaser(src, dst, org)
    for service in _values(doc.get("services")):
        r.service(service)
    for kind in ("configs", "secrets"):
        for resource in _values(doc.get(kind)):
            r.fix(resource, "file")
    for volume in _values(doc.get("volumes")):
        opts = volume.get("driver_opts")
        if volume.get("driver") == "local" and isinstance(opts, dict) and opts.get("o") == "bind":
            r.fix(opts, "device")
    return r.problems


def _values(block: Any) -> list[dict[str, Any]]:
    return [v for v in block.values() if isinstance(v, dict)] if isinstance(block, dict) else []


class _Rebaser:
    def __init__(self, src: str, dst: str, org: Origins) -> None:
        self.src, self.dst, self.org = os.path.abspath(src), os.path.abspath(dst), org
        self.problems: list[tuple[Loc, str]] = []

    def service(self, svc: dict[str, Any]) -> None:
        build = svc.get("build")
        if isinstance(build, str):
            self.fix(svc, "build", context=True)
        elif isinstance(build, dict):
            self.fix(build, "context", context=True)
            self.additional_contexts(build.get("additional_contexts"))
        for key in ("env_file", "label_file"):
            self.fix(svc, key)
            items = svc.get(key)
            for i, item in enumerate(items if isinstance(items, list) else []):
                self.fix(item, "path") if isinstance(item, dict) else self.fix(svc[key], i)
        if isinstance(svc.get("extends"), dict):
            self.fix(svc["extends"], "file")
        watch = (
            svc.get("develop", {}).get("watch") if isinstance(svc.get("develop"), dict) else None
        )
        for rule in watch if isinstance(watch, list) else []:
            if isinstance(rule, dict):
                self.fix(rule, "path")
        volumes = svc.get("volumes")
        for i, volume in enumerate(volumes if isinstance(volumes, list) else []):
            if isinstance(volume, dict) and volume.get("type") == "bind":
                self.fix(volume, "source")
            elif isinstance(volume, str):
                self.short_volume(svc["volumes"], i, volume)

    def additional_contexts(self, contexts: Any) -> None:
        if isinstance(contexts, dict):
            for name in contexts:
                self.fix(contexts, name, context=True)
        elif isinstance(contexts, list):
            for i, item in enumerate(contexts):
                name, sep, path = str(item).partition("=")
                if sep and (new := self.moved(path, contexts, i, context=True)) is not None:
                    self.org.put(contexts, i, f"{name}={new}", self.org.of(contexts, i))

    def short_volume(self, volumes: list[Any], i: int, text: str) -> None:
        parts = volume_parts(text)
        if len(parts) < 2 or not parts[0].startswith((".", "$")):
            return  # a named volume, an absolute path, or an anonymous volume
        new = self.moved(parts[0], volumes, i)
        if new is not None:
            self.org.put(volumes, i, ":".join([new, *parts[1:]]), self.org.of(volumes, i))

    def fix(self, container: Any, key: Any, *, context: bool = False) -> None:
        value = container.get(key) if isinstance(container, dict) else container[key]
        new = self.moved(value, container, key, context=context)
        if new is not None:
            self.org.put(container, key, new, self.org.of(container, key))

    def moved(self, value: Any, container: Any, key: Any, *, context: bool = False) -> str | None:
        """``value`` relative to the destination directory, or None when it stays."""
        if not isinstance(value, str) or not value or value.startswith(("/", "~")):
            return None
        if context and ("://" in value or value.startswith(_REMOTE)):
            return None
        if value.startswith("$"):
            loc = self.org.of(container, key)
            if loc is not None:
                why = f"path {value!r} starts with a variable: kept as written, relative to {self.dst}"
                self.problems.append((loc, f"{why} instead of {self.src}"))
            return None
        moved = os.path.relpath(os.path.normpath(os.path.join(self.src, value)), self.dst)
        return moved if moved == "." or moved.startswith("..") else "./" + moved


def tagged_paths(raw: bytes) -> tuple[list[Path], list[Path]]:
    """The paths of the values tagged ``!reset`` and of those tagged ``!override``."""
    try:
        node = yaml.compose(raw, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return [], []  # the source stage reports it
    resets: list[Path] = []
    overrides: list[Path] = []
    stack: list[tuple[yaml.Node, Path]] = [(node, ())] if node is not None else []
    seen: set[int] = set()
    while stack:
        current, path = stack.pop()
        if current.tag == "!reset":
            resets.append(path)
            continue
        if current.tag == "!override":
            overrides.append(path)
        if id(current) in seen:
            continue  # an alias: its tags were recorded where it was defined
        seen.add(id(current))
        if isinstance(current, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(current.value))
        elif isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # merged keys land in this mapping
                    merged = (
                        value_node.value
                        if isinstance(value_node, yaml.SequenceNode)
                        else [value_node]
                    )
                    stack.extend((m, path) for m in merged)
                    continue
                stack.append((value_node, (*path, _key(key_node))))
    return resets, overrides


def _key(node: yaml.Node) -> str:
    key = source.scalar(node) if isinstance(node, yaml.ScalarNode) else str(node.value)
    return str(key).lower() if isinstance(key, bool) else str(key)
