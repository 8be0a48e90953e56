"""Storage checks of ``verify --attach``, read from ``docker inspect``: what the engine mounted
in each running container, without entering it or writing anything.

- a read-only mount is mounted read-only (``Mounts[].RW`` false);
- a tmpfs mount is a tmpfs (``HostConfig.Tmpfs`` or a ``tmpfs`` entry of ``HostConfig.Mounts``)
  with the declared size;
- a tmpfs-backed named volume is mounted from a volume whose driver options say ``tmpfs``
  with the declared size.

This is the engine's configuration, not the kernel's view that ``verify --live`` reads in
``/proc/mounts``; the write tests of ``--live`` (shared volumes, persistence) are not run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .. import resolved as r
from ..units import size_bytes
from .storage import StorageResult, declared_tmpfs_size, volume_tmpfs_size

_SOURCE = " (docker inspect)"


def checks(
    topo: r.Topology,
    up: Mapping[str, list[dict[str, Any]]],
    volumes: Mapping[str, dict[str, Any]],
) -> Iterator[StorageResult]:
    """One result per declared read-only or tmpfs mount of each running container
    (``service`` is ``name#N`` for the N-th replica when a service has several)."""
    for s in topo.services.values():
        items = up.get(s.name, [])
        for n, c in enumerate(items, 1):
            who = s.name if len(items) == 1 else f"{s.name}#{n}"
            for m in s.mounts:
                backing = topo.volumes.get(m.source or "") if m.type == "volume" else None
                if m.type == "tmpfs":
                    yield _tmpfs(who, m, c)
                elif backing is not None and backing.kind == "tmpfs":
                    yield _tmpfs_volume(who, m, c, backing, volumes)
                elif m.read_only:
                    yield _read_only(who, m, c)


def _mount(c: Mapping[str, Any], target: str) -> Mapping[str, Any] | None:
    return next((x for x in c.get("Mounts") or [] if x.get("Destination") == target), None)


def _read_only(who: str, m: r.Mount, c: Mapping[str, Any]) -> StorageResult:
    found = _mount(c, m.target)
    if found is None:
        return StorageResult("read-only", who, m.target, "failed", "nothing mounted" + _SOURCE)
    ok = found.get("RW") is False
    state = "read-only" if ok else "read-write"
    detail = f"{found.get('Type', '?')} mounted {state}{_SOURCE}"
    return StorageResult("read-only", who, m.target, "ok" if ok else "failed", detail)


def mounted_tmpfs_size(c: Mapping[str, Any], target: str) -> tuple[bool, int | None]:
    """Whether the engine mounts a tmpfs at ``target`` in the inspected container, and its size."""
    host = c.get("HostConfig") or {}
    if target in (host.get("Tmpfs") or {}):
        opts = dict(o.partition("=")[::2] for o in str(host["Tmpfs"][target]).split(",") if o)
        return True, size_bytes(opts.get("size"))
    for x in host.get("Mounts") or []:
        if x.get("Type") == "tmpfs" and x.get("Target") == target:
            return True, (x.get("TmpfsOptions") or {}).get("SizeBytes")
    return False, None


def _sized(
    who: str, target: str, is_tmpfs: bool, size: int | None, want: int | None
) -> StorageResult:
    if not is_tmpfs:
        return StorageResult("tmpfs", who, target, "failed", "not a tmpfs mount" + _SOURCE)
    if want is not None and size != want:
        return StorageResult(
            "tmpfs", who, target, "failed", f"size {size} bytes, declared {want}{_SOURCE}"
        )
    return StorageResult("tmpfs", who, target, "ok", f"tmpfs, size {size} bytes{_SOURCE}")


def _tmpfs(who: str, m: r.Mount, c: Mapping[str, Any]) -> StorageResult:
    return _sized(who, m.target, *mounted_tmpfs_size(c, m.target), declared_tmpfs_size(m))


def _tmpfs_volume(
    who: str,
    m: r.Mount,
    c: Mapping[str, Any],
    v: r.Volume,
    volumes: Mapping[str, Mapping[str, Any]],
) -> StorageResult:
    found = _mount(c, m.target)
    options = (volumes.get(str((found or {}).get("Name", ""))) or {}).get("Options") or {}
    o = dict(x.partition("=")[::2] for x in str(options.get("o", "")).split(",") if x)
    is_tmpfs = options.get("type") == "tmpfs"
    return _sized(who, m.target, is_tmpfs, size_bytes(o.get("size")), volume_tmpfs_size(v))


def volume_names(up: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    """The engine names of the volumes mounted in the running containers."""
    return sorted(
        {
            str(x["Name"])
            for items in up.values()
            for c in items
            for x in c.get("Mounts") or []
            if x.get("Type") == "volume" and x.get("Name")
        }
    )
