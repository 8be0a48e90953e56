"""Storage checks on a running project, where the topology asks for them.

- a read-only mount rejects writes (a pseudo file system such as a bind of ``/proc``, where
  no file can be created anyway, is judged by its mount flags, and nothing is written);
- a tmpfs mount is memory-backed (``tmpfs`` in ``/proc/mounts``) with the declared size;
- a volume shared read-write by one service and read-only by another shows the writer's
  file to the reader;
- a named volume keeps its data across ``down`` / ``up`` without ``-v`` (run last: it
  recreates the containers).

Each check runs ``sh``/``cat`` inside the service's container (``docker exec``), so it needs
a shell in the image: always true of the stub image; otherwise the check is ``unverified``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .. import resolved as r
from ..units import size_bytes
from .engine import Engine

# Kernel file systems where a write test proves nothing (creating a file fails with ENOENT or
# EACCES, writable or not) and could have effects: their mount flags are the evidence.
PSEUDO_FS = frozenset(
    {
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "devpts",
        "debugfs",
        "tracefs",
        "securityfs",
        "configfs",
        "mqueue",
        "bpf",
        "pstore",
        "fusectl",
        "binfmt_misc",
        "hugetlbfs",
        "efivarfs",
    }
)


@dataclass(frozen=True)
class StorageResult:
    check: str  # read-only | tmpfs | shared | persists
    service: str
    target: str
    status: str  # ok | failed | unverified
    detail: str


def declared_tmpfs_size(m: r.Mount) -> int | None:
    if m.size is not None:
        return size_bytes(m.size)
    opts = dict(o.partition("=")[::2] for o in (m.tmpfs_options or "").split(",") if o)
    return size_bytes(opts.get("size"))


def mounted_tmpfs(proc_mounts: str, target: str) -> tuple[bool, int | None]:
    """Whether ``target`` is a tmpfs in ``/proc/mounts`` text, and its size in bytes."""
    for line in proc_mounts.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == target:
            opts = dict(o.partition("=")[::2] for o in parts[3].split(","))
            return parts[2] == "tmpfs", size_bytes(opts.get("size"))
    return False, None


def mount_entry(proc_mounts: str, target: str) -> tuple[str, frozenset[str]] | None:
    """The file system type and options of the mount at ``target`` in ``/proc/mounts`` text
    (the last one: a later mount hides an earlier one), or None."""
    found = None
    for line in proc_mounts.splitlines():
        parts = line.split()
        if (
            len(parts) >= 4
            and re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1]) == target
        ):
            found = parts[2], frozenset(parts[3].split(","))
    return found


Exec = Callable[[str, str], tuple[int, str]]  # (service, shell command) -> (rc, output)


def plain_checks(topo: r.Topology, run: Exec) -> Iterator[StorageResult]:
    """The checks that leave the project as it is."""
    for s in topo.services.values():
        for m in s.mounts:
            if m.type == "tmpfs":
                yield _tmpfs(s.name, m, run, declared_tmpfs_size(m))
            elif (
                m.type == "volume"
                and m.source in topo.volumes
                and topo.volumes[m.source].kind == "tmpfs"
            ):
                yield _tmpfs(s.name, m, run, volume_tmpfs_size(topo.volumes[m.source]))
            elif m.read_only:
                yield _read_only(s.name, m, run)
    yield from _shared(topo, run)


def _read_only(service: str, m: r.Mount, run: Exec) -> StorageResult:
    rc, mounts = run(service, "cat /proc/mounts")
    entry = mount_entry(mounts, m.target) if rc == 0 else None
    if entry and entry[0] in PSEUDO_FS:
        fstype, flags = entry
        ok = "ro" in flags
        return StorageResult(
            "read-only",
            service,
            m.target,
            "ok" if ok else "failed",
            f"{fstype} mounted {'read-only' if ok else 'read-write'} (a pseudo file system: "
            "judged by its mount flags, nothing written)",
        )
    probe = f"{m.target}/.topogen-ro-check"
    # a file mount: touch -c only updates its time, and only if the mount is writable
    rc, out = run(
        service,
        f"if [ -d {m.target} ]; then touch {probe} 2>&1 && rm -f {probe}; "
        f"else touch -c {m.target} 2>&1; fi",
    )
    if rc == 126 or rc == 127 or "executable file not found" in out:
        return StorageResult("read-only", service, m.target, "unverified", "no shell in the image")
    ok = rc != 0 and "read-only" in out.lower()
    return StorageResult(
        "read-only",
        service,
        m.target,
        "ok" if ok else "failed",
        "write rejected: read-only file system"
        if ok
        else f"write not rejected ({rc}): {out.strip()}",
    )


def volume_tmpfs_size(v: r.Volume) -> int | None:
    """The size in a tmpfs-backed named volume's ``o=size=...,mode=...`` driver option."""
    o = str(dict(v.driver_opts).get("o", ""))
    opts = dict(x.partition("=")[::2] for x in o.split(",") if x)
    return size_bytes(opts.get("size"))


def _tmpfs(service: str, m: r.Mount, run: Exec, want: int | None) -> StorageResult:
    rc, out = run(service, "cat /proc/mounts")
    if rc != 0:
        return StorageResult("tmpfs", service, m.target, "unverified", out.strip()[:200])
    is_tmpfs, size = mounted_tmpfs(out, m.target)
    if not is_tmpfs:
        return StorageResult("tmpfs", service, m.target, "failed", "not a tmpfs mount")
    if want is not None and size != want:
        return StorageResult(
            "tmpfs", service, m.target, "failed", f"size {size} bytes, declared {want}"
        )
    return StorageResult("tmpfs", service, m.target, "ok", f"tmpfs, size {size} bytes")


def _volume_mounts(topo: r.Topology) -> dict[str, list[tuple[str, r.Mount]]]:
    by_volume: dict[str, list[tuple[str, r.Mount]]] = {}
    for s in topo.services.values():
        for m in s.mounts:
            # only plain local volumes: never write into a bind-backed or remote volume
            if (
                m.type == "volume"
                and m.source in topo.volumes
                and topo.volumes[m.source].kind == "local"
                and not topo.volumes[m.source].external
                and not m.subpath
            ):
                by_volume.setdefault(m.source, []).append((s.name, m))
    return by_volume


def _shared(topo: r.Topology, run: Exec) -> Iterator[StorageResult]:
    for volume, users in sorted(_volume_mounts(topo).items()):
        writers = [(s, m) for s, m in users if not m.read_only]
        readers = [(s, m) for s, m in users if m.read_only]
        if not writers or not readers:
            continue
        w, wm = writers[0]
        token = uuid.uuid4().hex[:12]
        rc, out = run(w, f"echo {token} > {wm.target}/.topogen-shared-{token} 2>&1")
        for reader, rm in readers:
            if rc != 0:
                yield StorageResult(
                    "shared", reader, rm.target, "unverified", f"{w} could not write: {out.strip()}"
                )
                continue
            rrc, rout = run(reader, f"cat {rm.target}/.topogen-shared-{token} 2>&1")
            ok = rrc == 0 and rout.strip() == token
            yield StorageResult(
                "shared",
                reader,
                rm.target,
                "ok" if ok else "failed",
                f"{volume}: {reader} reads the file {w} wrote"
                if ok
                else f"{volume}: {rout.strip()}",
            )


def persistence_marks(topo: r.Topology, run: Exec) -> list[tuple[str, str, r.Mount, str]]:
    """Write a token into each named (non-external) volume through a read-write mount."""
    marks = []
    for volume, users in sorted(_volume_mounts(topo).items()):
        writers = [(s, m) for s, m in users if not m.read_only]
        if writers:
            s, m = writers[0]
            token = uuid.uuid4().hex[:12]
            if run(s, f"echo {token} > {m.target}/.topogen-persist")[0] == 0:
                marks.append((volume, s, m, token))
    return marks


def persistence_results(
    marks: list[tuple[str, str, r.Mount, str]], run: Exec
) -> Iterator[StorageResult]:
    for volume, s, m, token in marks:
        rc, out = run(s, f"cat {m.target}/.topogen-persist 2>&1")
        ok = rc == 0 and out.strip() == token
        yield StorageResult(
            "persists",
            s,
            m.target,
            "ok" if ok else "failed",
            f"{volume}: data kept across down/up" if ok else f"{volume}: {out.strip() or 'lost'}",
        )


def exec_in(engine: Engine, containers: dict[str, str]) -> Exec:
    def run(service: str, cmd: str) -> tuple[int, str]:
        cid = containers.get(service)
        if not cid:
            return 1, "no container"
        cp = engine.docker_cmd("exec", cid, "sh", "-c", cmd, timeout=30)
        return cp.returncode, cp.stdout + cp.stderr

    return run
