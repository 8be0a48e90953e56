"""``topogen import``: a Compose file lifted into an idiomatic topology.

:func:`lift` is pure over plain data. It keeps the document as written (key order, Compose's
own keys, ``x-`` extensions) and replaces a Compose spelling by a typed form only when
lowering that form with topogen's own code gives back exactly the original: each candidate
is validated by :mod:`topogen.spec`, lowered (:func:`topogen.resolve.driver_opts`,
:func:`topogen.resolve.volume_options`, the Compose emitter's IPAM and mount forms) and
compared with what was written; anything else (``${...}`` where a typed field needs a
number or an address, an unknown option, a different spelling of the same value) stays raw.
:func:`dump` writes the result with the quoting of the emitters, so ``no``, ``0755`` and
``${VAR}`` survive. :func:`import_file` is what the CLI runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from . import document, resolve, source, spec
from .diagnostics import Diagnostic, error
from .document import MTU_OPT as MTU
from .rules.drivers import TYPED_OPTIONS

HEADER = (
    "# Imported by topogen from {source}: typed forms where they compile back to exactly what\n"
    "# was written there, everything else as written. Build it with `topogen build`.\n"
)
_Doc = dict[str, Any]
#: A base directory for comparing host paths: the emitter re-expresses them relative to it.
_BASE = os.path.abspath(os.sep + "import")

# ---------------------------------------------------------------------- the document


def lift(compose: _Doc) -> _Doc:
    """The topology document of a Compose file's plain data (anchors already resolved).

    ``version`` is dropped: Compose ignores it ("the attribute `version` is obsolete").
    """
    return {
        key: _SECTIONS.get(key, _same)(value) for key, value in compose.items() if key != "version"
    }


def _same(value: Any) -> Any:
    return value


def _each(lift_one: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def section(value: Any) -> Any:
        return {k: lift_one(v) for k, v in value.items()} if isinstance(value, dict) else value

    return section


def _replaced(body: _Doc, replacements: dict[str, _Doc | None], drop: tuple[str, ...] = ()) -> _Doc:
    """``body`` with each key of ``replacements`` replaced in place by the fields it maps to
    (None: kept as written) and the keys in ``drop`` removed."""
    out: _Doc = {}
    for key, value in body.items():
        fields = replacements.get(key)
        if fields is not None:
            out.update(fields)
        elif key not in drop:
            out[key] = value
    return out


def _valid(model: type[spec.Model], fields: _Doc) -> Any:
    """The spec model of ``fields``, or None when the topology language refuses them."""
    try:
        return model.model_validate(fields)
    except ValidationError:
        return None


def _engine_text(value: Any) -> Any:
    """A driver option as Compose hands it to the engine: numbers as their decimal text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _same_options(lowered: _Doc, written: _Doc) -> bool:
    return _identical(
        {k: _engine_text(v) for k, v in lowered.items()},
        {k: _engine_text(v) for k, v in written.items()},
    )


def _identical(a: Any, b: Any) -> bool:
    """Equal and of the same types throughout (``1 == True == 1.0`` in Python, not in YAML)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_identical(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_identical, a, b))
    return bool(a == b)


# ---------------------------------------------------------------------- networks

#: Engine option key -> (typed field, drivers that understand it: None for every driver).
_NETWORK_OPTIONS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    **{key: (typed, drivers) for typed, (key, drivers) in TYPED_OPTIONS.items()},
    MTU: ("mtu", None),
}
_BOOLEANS = {"true": True, "false": False}


def network(body: Any) -> Any:
    """A network with typed driver options and the IPAM shorthand where they lower exactly."""
    if not isinstance(body, dict) or body.get("external"):
        return body
    return _replaced(
        body, {"driver_opts": _typed_driver_opts(body), "ipam": _typed_ipam(body.get("ipam"))}
    )


def _typed_driver_opts(body: _Doc) -> _Doc | None:
    opts = body.get("driver_opts")
    if not isinstance(opts, dict) or not opts:
        return None
    driver = body.get("driver", "bridge")
    fields: _Doc = {}
    rest: _Doc = {}
    for key, value in opts.items():
        field, drivers = _NETWORK_OPTIONS.get(key, ("", ()))
        typed = _option_field(field, value) if drivers is None or driver in drivers else None
        if typed is not None and _valid(spec.Network, {field: typed}) is not None:
            fields[field] = typed
        else:
            rest[key] = value
    candidate = {**fields, **({"driver_opts": rest} if rest else {})}
    model = _valid(spec.Network, candidate) if fields else None
    if model is None or not _same_options(document.network_driver_opts(candidate), opts):
        return None
    return candidate


def _option_field(field: str, value: Any) -> Any:
    """The typed value of one engine option (None: no typed spelling of it)."""
    if field in ("icc", "ip_masquerade"):
        return _BOOLEANS.get(value) if isinstance(value, str) else None
    if field == "mtu":
        text = _engine_text(value)
        return int(text) if isinstance(text, str) and text.isdigit() else None
    if field == "encrypted":
        return True if value == "" else None
    return value if field and isinstance(value, str) else None


def _typed_ipam(ipam: Any) -> _Doc | None:
    if not isinstance(ipam, dict) or not ipam or not set(ipam) <= {"driver", "config", "options"}:
        return None
    fields: _Doc = {}
    for key, value in ipam.items():
        if key == "driver":
            fields["ipam_driver"] = value
        elif key == "options":
            fields["ipam_options"] = value
        elif not isinstance(value, list) or not value or not all(_is_pool(p) for p in value):
            return None
        else:
            fields.update(value[0])
            if len(value) > 1:
                fields["subnets"] = value[1:]
    return fields if _identical(_ipam_of(fields), ipam) else None


def _is_pool(pool: Any) -> bool:
    return (
        isinstance(pool, dict)
        and "subnet" in pool
        and set(pool) <= {"subnet", "ip_range", "gateway", "aux_addresses"}
    )


def _ipam_of(fields: _Doc) -> _Doc | None:
    """The ``ipam`` block that the Compose emitter writes for these typed fields (None: the
    spec refuses them, or an address does not parse, as with ``${SUBNET}``)."""
    model = _valid(spec.Network, fields)
    if model is None:
        return None
    resolver = resolve.Resolver(spec.Topology.model_construct(name="import"), "import")
    resolver.network("import", model)
    if resolver.diagnostics:
        return None
    ipam: _Doc | None = document.lower_network(fields).get("ipam")
    return ipam


# ---------------------------------------------------------------------- volumes


def volume(body: Any) -> Any:
    """A local volume as one of the typed kinds (nfs, cifs, tmpfs, bind, device) where it
    lowers exactly; the typed kinds imply ``driver: local``, so only that spelling is lifted."""
    if not isinstance(body, dict) or body.get("external") or body.get("driver") != "local":
        return body
    opts = body.get("driver_opts")
    typed = _typed_volume(opts) if isinstance(opts, dict) else None
    model = _valid(spec.Volume, typed) if typed else None
    if model is None or typed is None or not _lowers_to(typed, opts):
        return body
    return _replaced(body, {"driver_opts": typed}, drop=("driver",))


def _lowers_to(typed: _Doc, opts: Any) -> bool:
    lowered = document.lower_volume(typed)
    return lowered.get("driver") == "local" and _same_options(lowered.get("driver_opts", {}), opts)


def _typed_volume(opts: _Doc) -> _Doc | None:
    kind = opts.get("type")
    parse = _VOLUME_KINDS.get(kind) if isinstance(kind, str) else None
    if parse is None and isinstance(opts.get("device"), str) and opts["device"].startswith("/dev/"):
        parse = _device
    items = opts.get("o", "")
    if parse is None or not isinstance(items, str):
        return None
    return parse(opts, items.split(",") if items else [])


def _nfs(opts: _Doc, items: list[str]) -> _Doc | None:
    device = opts.get("device")
    if (
        not items
        or not items[0].startswith("addr=")
        or not isinstance(device, str)
        or not device.startswith(":")
    ):
        return None
    return {"nfs": {"server": items[0][5:], "path": device[1:], **_listed("options", items[1:])}}


def _cifs(opts: _Doc, items: list[str]) -> _Doc | None:
    device = opts.get("device")
    if (
        not items
        or not items[0].startswith("addr=")
        or not isinstance(device, str)
        or not device.startswith("//")
    ):
        return None
    server, _, share = device[2:].partition("/")
    fields: _Doc = {"server": server, "share": share}
    rest = items[1:]
    for name in ("username", "password", "domain"):
        if rest and rest[0].startswith(f"{name}="):
            fields[name] = rest.pop(0).partition("=")[2]
    return {"cifs": {**fields, **_listed("options", rest)}}


def _tmpfs(opts: _Doc, items: list[str]) -> _Doc | None:
    fields: _Doc = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in ("size", "uid", "gid", "mode") or name in fields:
            return None
        fields[name] = int(value) if name in ("uid", "gid") and value.isdigit() else value
    return {"tmpfs": fields}


def _bind(opts: _Doc, items: list[str]) -> _Doc | None:
    return {"bind": {"path": opts.get("device")}} if items == ["bind"] else None


def _device(opts: _Doc, items: list[str]) -> _Doc | None:
    return {"device": {"path": opts["device"], "fs": opts.get("type"), **_listed("options", items)}}


def _listed(key: str, items: list[str]) -> _Doc:
    return {key: items} if items else {}


_VOLUME_KINDS: dict[str, Callable[[_Doc, list[str]], _Doc | None]] = {
    "nfs": _nfs,
    "cifs": _cifs,
    "tmpfs": _tmpfs,
    "none": _bind,
}

# ---------------------------------------------------------------------- services

_MOUNT_BLOCKS = {
    "bind": ("propagation", "create_host_path", "selinux"),
    "volume": ("nocopy", "subpath"),
    "tmpfs": ("size", "mode"),
}


def service(body: Any) -> Any:
    """A service whose ``volumes`` are all long-form mounts that the typed ``mounts`` model
    writes back exactly gets ``mounts`` instead (all or none, so the order is kept)."""
    if not isinstance(body, dict) or "mounts" in body or not isinstance(body.get("volumes"), list):
        return body
    mounts = [_mount(entry) for entry in body["volumes"]]
    if not mounts or any(m is None for m in mounts):
        return body
    return {
        ("mounts" if k == "volumes" else k): (mounts if k == "volumes" else v)
        for k, v in body.items()
    }


def _mount(entry: Any) -> _Doc | None:
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("type"), str)
        or entry["type"] not in _MOUNT_BLOCKS
    ):
        return None
    fields: _Doc = {
        k: v
        for k, v in entry.items()
        if k not in _MOUNT_BLOCKS and not (k == "type" and v == "volume")
    }
    block = entry.get(entry["type"], {})
    if not isinstance(block, dict) or not set(block) <= set(_MOUNT_BLOCKS[entry["type"]]):
        return None
    fields.update(block)
    # Compose's tmpfs mode is a number; the typed one is written in octal digits
    if isinstance(fields.get("mode"), int):
        fields["mode"] = format(fields["mode"], "o")
    return fields if _identical(_mount_of(fields), entry) else None


def _mount_of(fields: _Doc) -> _Doc | None:
    """The long-form mount that the Compose document holds for a typed mount (None: refused)."""
    model = _valid(spec.Mount, fields)
    if model is None:
        return None
    resolver = resolve.Resolver(spec.Topology.model_construct(name="import"), "import")
    resolver.mount(model, ())
    return None if resolver.diagnostics else document.lower_mount(fields)


_SECTIONS: dict[str, Callable[[Any], Any]] = {
    "networks": _each(network),
    "volumes": _each(volume),
    "services": _each(service),
}

# ---------------------------------------------------------------------- writing


def dump(doc: _Doc, source_name: str | None = None) -> str:
    """The topology as YAML text, every scalar through :func:`topogen.emit.quote`."""
    from .emit import block

    head = HEADER.format(source=source_name) + "\n" if source_name else ""
    return head + (block(doc) if doc else "{}") + "\n"


def import_file(
    compose: str, output: str, *, force: bool = False, overrides: Sequence[str] = ()
) -> tuple[dict[str, str], list[Diagnostic]]:
    """``({output: text}, diagnostics)``; no file when there is an error. Writes nothing.

    ``overrides`` are merged over ``compose`` as ``docker compose -f COMPOSE -f OVERRIDE``
    does, and ``include:``/``extends:`` are followed: the topology is the merged project.
    Relative host paths are re-expressed from the topology's folder, so it means the same
    wherever it is written."""
    from .dotenv import load_env
    from .emit.compose import Paths, interpolator, rebase
    from .pipeline import _follows_files

    src = source.load_path(compose)
    if src.diagnostics:
        return {}, src.diagnostics
    problem = _refusal(compose, output, force, overrides)
    if problem is not None:
        return {}, [problem]
    data = src.data
    if overrides or _follows_files(data):
        from . import project

        merged = project.load([compose, *overrides])
        if any(d.is_error for d in merged.diagnostics):
            return {}, merged.diagnostics
        # include: and extends: stay for Compose to follow (an included project keeps its own
        # folder and .env); override files are merged in.
        data = merged.data if overrides else data
    diags = [src.finish(d) for d in problems(data)]
    if any(d.is_error for d in diags):
        return {}, diags
    out_dir = os.path.dirname(os.path.abspath(output))
    here = os.path.dirname(os.path.abspath(compose))
    data = rebase(data, Paths(here, out_dir).host, interpolator(load_env(here).values))
    name = os.path.relpath(os.path.abspath(compose), out_dir).replace(os.sep, "/")
    return {output: dump(lift(data), name)}, diags


#: Service keys that a topology reads as its own (passthrough into the output files), so a
#: Compose extension of that name would change meaning.
RESERVED = ("x-compose", "x-swarm")


def problems(data: Any) -> list[Diagnostic]:
    """What stops a Compose file's plain data from being imported as it means."""
    if not isinstance(data, dict):
        message = "a Compose file is a mapping of top-level keys (services, networks, volumes, ...)"
        return [error("invalid-compose", message, ())]
    services = data.get("services")
    found = []
    for name, body in services.items() if isinstance(services, dict) else ():
        for key in RESERVED if isinstance(body, dict) else ():
            if key in body:
                message = (
                    f"{key} is an extension in Compose; a topology passes its keys to the output"
                )
                path = ("services", name, key)
                found.append(
                    error("reserved-key", message, path, at_key=True, hint="rename it first")
                )
    return found


def _refusal(
    compose: str, output: str, force: bool, overrides: Sequence[str] = ()
) -> Diagnostic | None:
    """Why ``output`` may not be written: the input itself, a folder, or an existing file."""
    if not os.path.exists(output):
        return None
    if any(os.path.exists(f) and os.path.samefile(f, output) for f in (compose, *overrides)):
        message, hint = (
            "the output is the Compose file being imported",
            "write the topology elsewhere",
        )
    elif os.path.isdir(output):
        message, hint = "the output is a directory", "name the topology file, e.g. topology.yaml"
    elif not force:
        message, hint = "the output file exists", "pass --force to overwrite it"
    else:
        return None
    return error("output-exists", message, (), hint=hint).located(output, 1, 1)
