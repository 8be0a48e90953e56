"""The Compose target: ``docker-compose.yml`` in Compose Specification format (no ``version:``).

The file is the topology's Compose document (:func:`topogen.document.lower`): every key the
input wrote reaches the output as written, ``${...}`` included, with typed additions in
Compose's spelling and relative host paths re-expressed against the output folder. A Compose
file given as input therefore comes out meaning exactly what it meant.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from .. import resolved as r
from ..resolve import split_colons
from ..substitution import interpolate
from . import HEADER, render

FILENAME = "docker-compose.yml"
#: Top-level sections first in this order, then whatever else the document has.
ORDER = ("name", "include", "services", "networks", "volumes", "secrets", "configs", "models")


def emit(topo: r.Topology, out_dir: str) -> dict[str, str]:
    """Render the Compose file; relative host paths are rewritten relative to ``out_dir``."""
    paths = Paths(topo.base_dir, out_dir)
    doc = rebase(dict(topo.document), paths.host, interpolator(topo.variables))
    doc["name"] = doc.get("name") or topo.name
    ordered = {k: doc[k] for k in ORDER if k in doc}
    ordered.update((k, v) for k, v in doc.items() if k not in ordered)
    # An empty section says nothing (Compose reads `networks: {}` as no networks).
    ordered = {k: v for k, v in ordered.items() if v != {} and v != []}
    text = render(
        "compose.yml.j2", header=HEADER.format(source=paths.source(topo.file)), document=ordered
    )
    if topo.synthesized is not None:
        text = annotate(text, topo.synthesized.comments())
    return {FILENAME: text}


def annotate(text: str, comments: dict[str, str]) -> str:
    """A comment above each generated network of the top-level ``networks:`` section."""
    out: list[str] = []
    section = False
    for line in text.splitlines(keepends=True):
        if line[:1] not in (" ", "\n", "#", ""):
            section = line.startswith("networks:")
        elif section and line.startswith("  ") and not line.startswith("   "):
            key = line.strip().removesuffix(":")
            if key in comments:
                out.append(f"  # synthesized: {comments[key]}\n")
        out.append(line)
    return "".join(out)


class Paths:
    """Host paths of the topology, re-expressed relative to where the output is written."""

    def __init__(self, base_dir: str, out_dir: str) -> None:
        self.base_dir = base_dir
        self.out_dir = os.path.abspath(out_dir)

    def host(self, path: str) -> str:
        if not isinstance(path, str) or path.startswith(("/", "~", "$")) or self.same:
            return path
        rel = os.path.relpath(os.path.join(self.base_dir, path), self.out_dir)
        rel = rel.replace(os.sep, "/")
        return rel if rel.startswith(".") else f"./{rel}"

    @property
    def same(self) -> bool:
        return os.path.abspath(self.base_dir) == self.out_dir

    def source(self, file: str) -> str:
        return os.path.relpath(os.path.abspath(file), self.out_dir).replace(os.sep, "/")


# ---------------------------------------------------------------------- relative paths

Host = Callable[[str], str]
#: A text interpolated as ``docker compose`` would (the variables the build read).
Value = Callable[[str], str]


def interpolator(variables: Mapping[str, str] | None) -> Value | None:
    if variables is None:
        return None
    return lambda text: interpolate(text, variables).text


def rebase(doc: dict[str, Any], host: Host, value: Value | None = None) -> dict[str, Any]:
    """The document with every relative host path that Compose resolves against the project
    folder re-expressed through ``host`` (Compose's list: build contexts, env and label
    files, bind sources, secret and config files, local bind volumes, include paths).

    A path that starts with a variable (``${DATA}:/data``) keeps its text; when ``value``
    says it comes out relative (``DATA=./data`` in the ``.env``), it is anchored at the
    project folder (``../app/${DATA}``), as Compose reads it beside the original."""
    out = dict(doc)
    if value is not None:
        host = _Anchoring(host, value)
    if isinstance(out.get("services"), dict):
        out["services"] = {
            k: _service(s, host) if isinstance(s, dict) else s for k, s in out["services"].items()
        }
    for section in ("secrets", "configs"):
        if isinstance(out.get(section), dict):
            out[section] = {k: _file(v, host) for k, v in out[section].items()}
    if isinstance(out.get("volumes"), dict):
        out["volumes"] = {k: _bind_volume(v, host) for k, v in out["volumes"].items()}
    if isinstance(out.get("include"), list):
        out["include"] = [_include(i, host) for i in out["include"]]
    return out


def _is_path(text: Any) -> bool:
    return isinstance(text, str) and "://" not in text and not text.startswith(("$", "/", "~"))


def _dotted(text: str) -> bool:
    return text.startswith(".")


class _Anchoring:
    """``host``, and also the variable-led paths whose value is relative (see :func:`rebase`)."""

    def __init__(self, host: Host, value: Value) -> None:
        self.host, self.value = host, value

    def __call__(self, path: str) -> str:
        return self.host(path)

    def variable(self, text: str, relative: Callable[[str], bool]) -> str | None:
        """``text`` anchored at the project folder, or None when it stays as written."""
        resolved = self.value(text)
        m = _DEFAULTED.fullmatch(text)
        if m and resolved == m.group(3):
            return None  # the default is used: it is re-expressed itself
        anchor = self.host(".")
        if not resolved or not relative(resolved) or anchor == ".":
            return None
        return f"{anchor}/{text}"


_DEFAULTED = re.compile(r"\$\{([_A-Za-z][_A-Za-z0-9]*)(:?-)([^}$]*)\}")


def _path_text(text: str, host: Host, *, bare: bool = False) -> str:
    """A relative host path re-expressed; also the relative default of ``${VAR:-./dir}`` (a
    relative value set in the environment is still read from the output's folder). A short
    mount's source is a path only when it starts with ``.`` (else a volume name); a long
    bind's source is a path however written (``bare``: ``config/app.yml`` too)."""
    relative = _is_path if bare else _dotted
    if relative(text):
        return host(text)
    if isinstance(host, _Anchoring) and text.startswith("$"):
        anchored = host.variable(text, relative)
        if anchored is not None:
            return anchored
    m = _DEFAULTED.fullmatch(text)
    if m and m.group(3) and relative(m.group(3)):
        return f"${{{m.group(1)}{m.group(2)}{host(m.group(3))}}}"
    return text


def _service(s: dict[str, Any], host: Host) -> dict[str, Any]:
    out = dict(s)
    build = out.get("build")
    if isinstance(build, str) and _is_path(build):
        out["build"] = host(build)
    elif isinstance(build, dict):
        build = dict(build)
        context = build.get("context", ".")
        if _is_path(context) and not str(context).startswith("git@"):
            build["context"] = host(context)
        extra = build.get("additional_contexts")
        if isinstance(extra, dict):
            build["additional_contexts"] = {
                k: host(v) if _context_path(v) else v for k, v in extra.items()
            }
        elif isinstance(extra, list):  # NAME=CONTEXT items
            build["additional_contexts"] = [
                f"{k}={host(v)}" if sep and _context_path(v) else item
                for item in extra
                for k, sep, v in [str(item).partition("=")]
            ]
        out["build"] = build
    for key in ("env_file", "label_file"):
        if key in out:
            out[key] = _files(out[key], host)
    if isinstance(out.get("volumes"), list):
        out["volumes"] = [_mount(v, host) for v in out["volumes"]]
    if isinstance(out.get("extends"), dict) and _is_path(out["extends"].get("file")):
        out["extends"] = {**out["extends"], "file": host(out["extends"]["file"])}
    develop = out.get("develop")
    if isinstance(develop, dict) and isinstance(develop.get("watch"), list):
        watch = [
            {**w, "path": host(w["path"])} if isinstance(w, dict) and _is_path(w.get("path")) else w
            for w in develop["watch"]
        ]
        out["develop"] = {**develop, "watch": watch}
    return out


def _context_path(v: Any) -> bool:
    return _is_path(v) and ":" not in str(v).split("/")[0]


def _files(value: Any, host: Host) -> Any:
    if isinstance(value, str):
        return _path_text(value, host, bare=True)
    if isinstance(value, list):
        return [
            _files(v, host)
            if not isinstance(v, dict)
            else (
                {**v, "path": _path_text(v["path"], host, bare=True)}
                if isinstance(v.get("path"), str)
                else v
            )
            for v in value
        ]
    return value


def _mount(v: Any, host: Host) -> Any:
    if isinstance(v, str):
        parts = split_colons(v)
        if len(parts) >= 2:
            return ":".join([_path_text(parts[0], host), *parts[1:]])
        return v
    if isinstance(v, dict) and v.get("type") == "bind" and isinstance(v.get("source"), str):
        return {**v, "source": _path_text(v["source"], host, bare=True)}
    return v


def _file(v: Any, host: Host) -> Any:
    if isinstance(v, dict) and isinstance(v.get("file"), str):
        return {**v, "file": _path_text(v["file"], host, bare=True)}
    return v


def _bind_volume(v: Any, host: Host) -> Any:
    opts = v.get("driver_opts") if isinstance(v, dict) else None
    if not isinstance(opts, dict) or "bind" not in str(opts.get("o", "")).split(","):
        return v
    if not _is_path(opts.get("device")):
        return v
    return {**v, "driver_opts": {**opts, "device": host(opts["device"])}}


def _include(item: Any, host: Host) -> Any:
    if isinstance(item, str):
        return host(item) if _is_path(item) else item
    if isinstance(item, dict):
        out = dict(item)
        for key in ("path", "env_file"):
            if key in out:
                out[key] = _files(out[key], host)
        if _is_path(out.get("project_directory")):
            out["project_directory"] = host(out["project_directory"])
        return out
    return item
