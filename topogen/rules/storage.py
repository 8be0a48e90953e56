"""Storage: mounts and volume options that the engine (and the kernel's mount(2)) accept."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator

from ..diagnostics import Diagnostic, Path, error, warning
from ..resolved import Mount, Topology, Volume
from .registry import reports

#: moby/sys ``mount/flags_unix.go``: these become mount(2) flags; everything else is fs data.
MOUNT_FLAGS = frozenset(
    (
        "ro",
        "rw",
        "suid",
        "nosuid",
        "dev",
        "nodev",
        "exec",
        "noexec",
        "sync",
        "async",
        "dirsync",
        "remount",
        "mand",
        "nomand",
        "atime",
        "noatime",
        "diratime",
        "nodiratime",
        "bind",
        "rbind",
        "unbindable",
        "runbindable",
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "relatime",
        "norelatime",
        "strictatime",
        "nostrictatime",
    )
)
#: The data keys the engine accepts in a service's ``tmpfs`` options (moby ``MergeTmpfsOptions``).
TMPFS_DATA = frozenset(("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"))
#: mount(8)/fstab options that the kernel does not know; Docker hands ``o=`` to mount(2) unchanged.
USERSPACE_OPTIONS = frozenset(
    (
        "loop",
        "encryption",
        "offset",
        "sizelimit",
        "defaults",
        "auto",
        "noauto",
        "user",
        "nouser",
        "users",
        "owner",
        "group",
        "nofail",
        "_netdev",
        "comment",
    )
)
LOCAL_OPTIONS = ("type", "o", "device", "size")
LOCAL_REQUIRES = {"type": ("device",), "device": ("type",), "o": ("type", "device")}
#: docker/go-units RAMInBytes, what Compose accepts for a tmpfs mount's ``size``.
RAM_SIZE = re.compile(r"[0-9]+(?:\.[0-9]+)? ?[kKmMgGtTpP]?[iI]?[bB]?")
#: The kernel's tmpfs ``size=``: a number with an optional k/m/g/t/p/e suffix, or a percentage.
KERNEL_SIZE = re.compile(r"[0-9]+[kKmMgGtTpPeE%]?")
#: Which mount type each typed option belongs to.
OPTION_TYPE = {
    "size": "tmpfs",
    "mode": "tmpfs",
    "propagation": "bind",
    "create_host_path": "bind",
    "nocopy": "volume",
    "subpath": "volume",
}


def _is_local(v: Volume) -> bool:
    return v.kind != "plugin" and v.driver in (None, "local") and not v.external


def _mounts(topo: Topology) -> Iterator[tuple[str, Mount]]:
    for s in topo.services.values():
        for m in s.mounts:
            yield s.name, m


#: Runtime and pseudo filesystems: what exists there on this machine says nothing about the Docker host.
RUNTIME_DIRS = ("/run/", "/var/run/", "/dev/", "/proc/", "/sys/", "/tmp/.X11-unix")


def _host_path(topo: Topology, path: str) -> str | None:
    """A bind source made absolute against the topology file, or None when it cannot be known here."""
    if "$" in path or path.startswith("~") or path.startswith(RUNTIME_DIRS):
        return None
    return os.path.normpath(os.path.join(topo.base_dir, path))


@reports(warning="bind-source-missing")
def bind_source_missing(topo: Topology) -> Iterator[Diagnostic]:
    """A bind source (relative to the topology file) does not exist on this machine.

    ``volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro"]`` with no nginx.conf beside the topology.
    """
    for _name, m in _mounts(topo):
        full = _host_path(topo, m.source) if m.type == "bind" and m.source else None
        if full and not os.path.exists(full) and not topo.is_interpolated((*m.path, "source")):
            effect = (
                "the engine refuses it (create_host_path: false)"
                if m.create_host_path is False
                else "Compose will create an empty directory there"
            )
            yield warning(
                "bind-source-missing",
                f"bind source {full} does not exist: {effect}",
                (*m.path, "source"),
            )
    for v in topo.volumes.values():
        full = _host_path(topo, v.host_path) if v.host_path else None
        path = (
            (*v.path, "driver_opts", "device")
            if "device" in v.raw_driver_opts
            else (*v.path, "bind", "path")
        )
        if full and not os.path.exists(full) and not topo.is_interpolated(path):
            yield warning(
                "bind-source-missing",
                f"host directory {full} does not exist: mounting volume {v.key} fails at first use",
                path,
            )


@reports(warning=("secret-file-missing", "config-file-missing"))
def grant_file_missing(topo: Topology) -> Iterator[Diagnostic]:
    """A secret's or config's ``file`` (relative to the topology file) does not exist, and a service uses it.

    ``secrets: {db: {file: ./db_password.txt}}`` with no such file: ``up`` fails with "bind source
    path does not exist", ``docker stack deploy`` cannot read it.
    """
    for kind, declared, grants in (
        ("secret", topo.secrets, "secrets"),
        ("config", topo.configs, "configs"),
    ):
        used = {g.source for s in topo.services.values() for g in getattr(s, grants)}
        for g in declared.values():
            single = not (
                g.external or g.environment is not None or g.content is not None
            )  # else invalid-*-source
            full = _host_path(topo, g.file) if g.file and single and g.key in used else None
            if full and not os.path.exists(full):
                yield warning(
                    f"{kind}-file-missing",
                    f"{kind} {g.key}: file {full} does not exist (up fails: "
                    '"bind source path does not exist")',
                    (*g.path, "file"),
                )


def _tmpfs_options(m: Mount) -> Iterator[tuple[str, str]]:
    """(problem, message) for each bad option of a ``tmpfs: PATH:OPTS`` entry."""
    for opt in (m.tmpfs_options or "").split(","):
        key, _, value = opt.partition("=")
        if not opt or opt in MOUNT_FLAGS:
            continue
        if key not in TMPFS_DATA:
            yield "invalid-tmpfs-option", f"invalid tmpfs option {opt!r} (the engine refuses it)"
        elif key == "size" and not KERNEL_SIZE.fullmatch(value):
            yield (
                "invalid-tmpfs-size",
                f"tmpfs size {value!r} is not a size such as 100m, 1g or 50%",
            )
        elif key == "mode" and not re.fullmatch(r"[0-7]{1,4}", value):
            yield "invalid-tmpfs-mode", f"tmpfs mode {value!r} is not an octal mode such as 1777"


@reports(error=("invalid-tmpfs-mode", "invalid-tmpfs-option", "invalid-tmpfs-size"))
def tmpfs_size_and_mode(topo: Topology) -> Iterator[Diagnostic]:
    """A tmpfs size that is not a byte size (100m, 1g, bytes), a mode that is not octal up to 7777, or an unknown option.

    ``mounts: [{type: tmpfs, target: /tmp, size: 100 MB please}]`` or ``tmpfs: /run:size=big``.
    """
    for _name, m in _mounts(topo):
        if m.type != "tmpfs":
            continue
        for rule, message in _tmpfs_options(m):
            yield error(rule, message, m.path)
        size = m.size
        if size is not None and (
            isinstance(size, int)
            and size < 0
            or isinstance(size, str)
            and not RAM_SIZE.fullmatch(size)
        ):
            yield error(
                "invalid-tmpfs-size",
                f"tmpfs size {size!r} is not a size such as 100m, 1g or a number of bytes",
                (*m.path, "size"),
            )
        if m.mode is not None and not 0 <= m.mode <= 0o7777:
            yield error(
                "invalid-tmpfs-mode",
                f"tmpfs mode {m.mode:o} is larger than 7777",
                (*m.path, "mode"),
            )
    for v in topo.volumes.values():
        opts = (
            dict(o.partition("=")[::2] for o in str(dict(v.driver_opts).get("o", "")).split(","))
            if v.kind == "tmpfs"
            else {}
        )
        if "size" in opts and not KERNEL_SIZE.fullmatch(opts["size"]):
            yield error(
                "invalid-tmpfs-size",
                f"tmpfs size {opts['size']!r} is not a size such as 100m or 1g",
                (*v.path, "tmpfs", "size"),
            )
        if "mode" in opts and not re.fullmatch(r"[0-7]{1,4}", opts["mode"]):
            yield error(
                "invalid-tmpfs-mode",
                f"tmpfs mode {opts['mode']!r} is not an octal mode such as 1777",
                (*v.path, "tmpfs", "mode"),
            )


@reports(error="duplicate-mount-target")
def duplicate_mount_target(topo: Topology) -> Iterator[Diagnostic]:
    """One service mounts two things on the same target (mounts, volumes and tmpfs together).

    ``{volumes: ["data:/data"], tmpfs: ["/data"]}``: "target /data already mounted".
    """
    for s in topo.services.values():
        seen: dict[str, Mount] = {}
        for m in s.mounts:
            target = posixpath.normpath(m.target) if m.target else m.target
            if target in seen:
                yield error(
                    "duplicate-mount-target",
                    f"target {target} of service {s.name} is already mounted "
                    f"({_where(seen[target])})",
                    (*m.path, "target"),
                )
            seen.setdefault(target, m)


def _where(m: Mount) -> str:
    return ".".join(str(p) for p in m.path[2:])


@reports(error=("missing-volume-option", "unknown-volume-option"))
def local_volume_options(topo: Topology) -> Iterator[Diagnostic]:
    """A local-driver volume has an option the driver does not know, or lacks one it needs.

    ``driver_opts: {type: nfs, o: "addr=10.0.0.1", device: ":/x", nfsvers: "4"}`` ("invalid option").
    """
    for v in topo.volumes.values():
        if not _is_local(v):
            continue  # typed kinds (nfs, cifs, ...) are local volumes too, with raw driver_opts merged in
        opts = dict(v.driver_opts)
        for key in opts:
            if key not in LOCAL_OPTIONS:
                yield error(
                    "unknown-volume-option",
                    f'invalid option: "{key}" (the local driver knows only '
                    f"{', '.join(LOCAL_OPTIONS)})",
                    (*v.path, "driver_opts", key),
                    at_key=True,
                    hint='put mount options in o: "a,b=c"',
                )
        for key, needed in LOCAL_REQUIRES.items() if v.kind == "local" else ():
            missing = [n for n in needed if key in opts and n not in opts]
            if missing:
                yield error(
                    "missing-volume-option",
                    f'missing required option: "{missing[0]}" (needed with {key})',
                    (*v.path, "driver_opts", key),
                    at_key=True,
                )


def _o_option_path(v: Volume, part: str) -> Path:
    if part in v.options:
        return (*v.path, v.kind, "options", v.options.index(part))
    return (*v.path, "driver_opts", "o")


@reports(error="not-a-kernel-mount-option")
def not_a_kernel_mount_option(topo: Topology) -> Iterator[Diagnostic]:
    """A local volume's ``o=`` holds a mount(8)/fstab option that mount(2) does not know (mount fails at first use).

    ``device: {path: /dev/loop0, options: [loop, encryption=aes256]}`` (the seed tutorial's example).
    """
    for v in topo.volumes.values():
        if not _is_local(v):
            continue
        for part in str(dict(v.driver_opts).get("o", "")).split(","):
            name = part.partition("=")[0]
            if name in USERSPACE_OPTIONS or name.startswith("x-"):
                hint = (
                    "attach the file first (losetup -f --show FILE gives /dev/loopN) or open a LUKS device "
                    "(cryptsetup open), and use that as the device"
                    if name in ("loop", "encryption", "offset", "sizelimit")
                    else "remove it"
                )
                yield error(
                    "not-a-kernel-mount-option",
                    f"{part!r} is a mount(8)/fstab option, not a kernel mount "
                    "option: Docker passes o= to mount(2) unchanged",
                    _o_option_path(v, part),
                    hint=hint,
                )


@reports(error="invalid-mount-target")
def mount_target(topo: Topology) -> Iterator[Diagnostic]:
    """A mount target that is relative or the root ("mount path must be absolute").

    ``mounts: [{source: data, target: data}]``.
    """
    for _name, m in _mounts(topo):
        if "$" in m.target:
            continue
        if not m.target.startswith("/"):
            yield error(
                "invalid-mount-target",
                f"invalid mount path: {m.target!r} mount path must be absolute",
                (*m.path, "target"),
            )
        elif set(m.target) <= {"/", "."} and posixpath.normpath(m.target) in ("/", "//"):
            yield error(
                "invalid-mount-target",
                "a mount target cannot be the container's root /",
                (*m.path, "target"),
            )


@reports(error="mount-option-wrong-type")
def mount_option_wrong_type(topo: Topology) -> Iterator[Diagnostic]:
    """A mount option of another mount type (the engine: "field BindOptions must not be specified").

    ``{type: bind, source: ./x, target: /x, size: 100m}`` or ``{type: volume, ..., propagation: shared}``.
    """
    for _name, m in _mounts(topo):
        for key, kind in OPTION_TYPE.items():
            if getattr(m, key) is not None and m.type != kind:
                yield error(
                    "mount-option-wrong-type",
                    f"{key} applies to {kind} mounts, not {m.type}",
                    (*m.path, key),
                    at_key=True,
                )
        if m.type == "tmpfs" and m.source and not m.from_tmpfs_key:
            yield error(
                "mount-option-wrong-type",
                'a tmpfs mount has no source ("field Source must not be specified")',
                (*m.path, "source"),
                at_key=True,
            )
        if m.type == "bind" and not m.source:
            yield error("mount-option-wrong-type", "a bind mount needs a source", m.path)


@reports(error="invalid-subpath")
def subpath(topo: Topology) -> Iterator[Diagnostic]:
    """A volume ``subpath`` that is absolute, leaves the volume (..), or is set on an anonymous volume.

    ``{type: volume, source: data, target: /x, subpath: ../etc}``.
    """
    for _name, m in _mounts(topo):
        if m.subpath is None or m.type != "volume":
            continue
        parts = m.subpath.split("/")
        if m.subpath.startswith("/") or ".." in parts:
            yield error(
                "invalid-subpath",
                f"subpath {m.subpath!r} must be a relative path within the volume",
                (*m.path, "subpath"),
            )
        elif not m.source:
            yield error(
                "invalid-subpath",
                "subpath needs a named volume (the engine refuses it on anonymous volumes)",
                (*m.path, "subpath"),
            )


@reports(error="external-volume-options")
def external_volume_options(topo: Topology) -> Iterator[Diagnostic]:
    """An external volume with a driver, options or labels (Compose: 'conflicting parameters "external" and ...').

    ``volumes: {shared: {external: true, nfs: {server: nas, path: /x}}}``: the volume exists already, as it is.
    """
    for v in topo.volumes.values():
        if not v.external:
            continue
        what = [
            k
            for k, present in (
                ("driver", v.kind == "plugin" or (v.driver or "local") != "local"),
                (v.kind, v.kind not in ("local", "plugin")),
                ("driver_opts", v.kind == "local" and bool(v.driver_opts)),
                ("labels", bool(v.labels)),
            )
            if present
        ]
        if what:
            yield error(
                "external-volume-options",
                f'volume {v.key} is external: "{what[0]}" cannot be set '
                "(the existing volume is used as it is)",
                (*v.path, what[0]),
                at_key=True,
                hint="remove external: true to let topogen create it, or remove the options",
            )


@reports(warning="unused-volume")
def unused_volume(topo: Topology) -> Iterator[Diagnostic]:
    """A declared volume that no service mounts.

    ``volumes: {old-data: {}}`` and no ``source: old-data`` anywhere.
    """
    used = {m.source for _n, m in _mounts(topo) if m.type == "volume"}
    for v in topo.volumes.values():
        if v.key not in used:
            yield warning(
                "unused-volume",
                f"volume {v.key} is declared but no service mounts it",
                v.path,
                at_key=True,
            )


@reports(warning="unused-network")
def unused_network(topo: Topology) -> Iterator[Diagnostic]:
    """A declared network that no service joins.

    ``networks: {legacy: {}}`` and no service with ``networks: [legacy]``.
    """
    used = {a.network for s in topo.services.values() for a in s.attachments}
    for n in topo.networks.values():
        if n.key not in used and not n.implicit:
            yield warning(
                "unused-network",
                f"network {n.key} is declared but no service joins it",
                n.path,
                at_key=True,
            )


RULES = (
    bind_source_missing,
    grant_file_missing,
    tmpfs_size_and_mode,
    duplicate_mount_target,
    local_volume_options,
    not_a_kernel_mount_option,
    mount_target,
    mount_option_wrong_type,
    subpath,
    external_volume_options,
    unused_volume,
    unused_network,
)
