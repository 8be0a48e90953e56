"""The document stage: a topology file as a Compose document.

A topology is a Compose file with optional typed additions. This module owns the two
moves between the spellings, over plain data (no models, ``${...}`` text kept as written):

- :func:`prepare` reads topogen's own keys (``targets``, ``policies``, ``description``,
  ``ignore``, or the same under a top-level ``x-topogen:`` in a Compose file) and merges each service's
  ``x-compose`` block key by key, so that every later stage sees exactly what reaches the
  output;
- :func:`lower` turns every typed addition into Compose's own spelling (the subnet
  shorthand into ``ipam.config``, typed network options into ``driver_opts``, the volume
  union into local-driver options, typed mounts into long-form ``volumes``). Everything
  else is kept exactly as written, so a plain Compose file comes out as it went in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Path

#: topogen's own top-level keys: read by topogen, never written to a Compose file.
TOPOGEN_KEYS = ("targets", "policies", "description", "ignore", "synthesize")
EXTENSION = "x-topogen"

BRIDGE = "com.docker.network.bridge."
MTU_OPT = "com.docker.network.driver.mtu"

#: Typed network fields and the driver option each lowers to (``None``: see _network_opts).
NETWORK_OPTIONS = {
    "bridge_name": BRIDGE + "name",
    "icc": BRIDGE + "enable_icc",
    "ip_masquerade": BRIDGE + "enable_ip_masquerade",
    "host_binding_ipv4": BRIDGE + "host_binding_ipv4",
    "mtu": MTU_OPT,
    "parent": "parent",
    "macvlan_mode": "macvlan_mode",
    "ipvlan_mode": "ipvlan_mode",
    "ipvlan_flag": "ipvlan_flag",
    "encrypted": "encrypted",
}
POOL_KEYS = ("subnet", "ip_range", "gateway", "aux_addresses")
NETWORK_SUGAR = frozenset((*NETWORK_OPTIONS, *POOL_KEYS, "subnets", "ipam_driver", "ipam_options"))
VOLUME_KINDS = ("nfs", "cifs", "tmpfs", "bind", "device")
#: Flat typed mount keys and the Compose block each belongs in.
MOUNT_BLOCKS = {
    "propagation": "bind",
    "create_host_path": "bind",
    "selinux": "bind",
    "nocopy": "volume",
    "subpath": "volume",
    "size": "tmpfs",
    "mode": "tmpfs",
}


@dataclass
class Document:
    """The topology as one Compose document plus topogen's own keys."""

    data: dict[str, Any]
    #: A path in ``data`` -> the path in the file where it was written, for values that moved
    #: (an ``x-compose`` key merged into its service, ``x-topogen`` keys lifted to the top).
    moved: dict[Path, Path] = field(default_factory=dict)

    def written_at(self, path: Path) -> Path:
        """Where in the file the value at ``path`` was written (the longest moved prefix)."""
        for n in range(len(path), 0, -1):
            origin = self.moved.get(path[:n])
            if origin is not None:
                return (*origin, *path[n:])
        return path


def prepare(raw: dict[str, Any]) -> Document:
    """topogen's keys lifted out of ``x-topogen`` and ``x-compose`` merged, on a shallow copy."""
    data = dict(raw)
    moved: dict[Path, Path] = {}
    meta = data.pop(EXTENSION, None)
    if isinstance(meta, dict):
        for key, value in meta.items():
            if key in TOPOGEN_KEYS and key not in data:
                data[key] = value
                moved[(key,)] = (EXTENSION, key)
    services = data.get("services")
    if isinstance(services, dict):
        data["services"] = services = dict(services)
        for name, body in services.items():
            extra = body.get("x-compose") if isinstance(body, dict) else None
            if isinstance(extra, dict) and extra:
                merged = {k: v for k, v in body.items() if k != "x-compose"}
                for key, value in extra.items():
                    merged[key] = value
                    moved[("services", name, key)] = ("services", name, "x-compose", key)
                services[name] = merged
    return Document(data, moved)


def strip_extensions(data: Any) -> Any:
    """A copy without ``x-`` keys wherever Compose allows extensions (every mapping of the
    Compose model); the names in user maps (environment, labels, driver_opts, ...) are kept,
    and so are the names of services, networks, volumes... (whose bodies are stripped)."""
    if isinstance(data, dict):
        return {
            k: _strip_value(k, v)
            for k, v in data.items()
            if not (isinstance(k, str) and k.startswith("x-") and k not in ("x-compose", "x-swarm"))
        }
    if isinstance(data, list):
        return [strip_extensions(v) for v in data]
    return data


def _strip_value(key: Any, value: Any) -> Any:
    if key in _USER_MAPS:
        return value
    if key in _NAMED and isinstance(value, dict):
        return {name: strip_extensions(body) for name, body in value.items()}
    return strip_extensions(value)


#: Keys whose value is a mapping of user-chosen names to plain values (``x-...`` is a name).
_USER_MAPS = frozenset(
    (
        "environment",
        "labels",
        "driver_opts",
        "options",
        "args",
        "sysctls",
        "annotations",
        "aux_addresses",
        "extra_hosts",
        "ulimits",
        "storage_opt",
        "x-compose",
        "x-swarm",
        "additional_contexts",
    )
)
#: Keys whose value maps user-chosen names to Compose objects (stripped inside).
_NAMED = frozenset(
    ("services", "networks", "volumes", "secrets", "configs", "depends_on", "models")
)


# ---------------------------------------------------------------------- lowering


def lower(data: dict[str, Any]) -> dict[str, Any]:
    """The Compose document: typed additions in Compose's spelling, topogen's keys removed."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in TOPOGEN_KEYS or key == "version" or key == EXTENSION:
            continue
        if key == "networks" and isinstance(value, dict):
            value = {k: lower_network(n) if isinstance(n, dict) else n for k, n in value.items()}
        elif key == "volumes" and isinstance(value, dict):
            value = {k: lower_volume(v) if isinstance(v, dict) else v for k, v in value.items()}
        elif key == "services" and isinstance(value, dict):
            value = {k: lower_service(s) if isinstance(s, dict) else s for k, s in value.items()}
        out[key] = value
    return out


def _go_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def pools(n: dict[str, Any]) -> list[dict[str, Any]]:
    """The IPAM pools of a network in Compose's spelling: the shorthand pool, then ``subnets``,
    then ``ipam.config`` as written."""
    out: list[dict[str, Any]] = []
    if any(k in n for k in POOL_KEYS):
        out.append({k: n[k] for k in POOL_KEYS if k in n})
    for p in n.get("subnets") or ():
        out.append(dict(p) if isinstance(p, dict) else p)
    ipam = n.get("ipam")
    if isinstance(ipam, dict):
        out.extend(ipam.get("config") or ())
    return out


def network_driver_opts(n: dict[str, Any]) -> dict[str, Any]:
    """Typed options lowered, then raw ``driver_opts`` merged over them (raw wins)."""
    opts: dict[str, Any] = {}
    for key, option in NETWORK_OPTIONS.items():
        if key not in n or n[key] is None:
            continue
        value = n[key]
        if key == "encrypted":
            if value is True:
                opts[option] = ""  # the key's presence is what turns encryption on
            elif isinstance(value, str):
                opts[option] = value
            continue
        opts[option] = (
            _go_bool(value) if isinstance(value, bool) else (str(value) if key == "mtu" else value)
        )
    raw = n.get("driver_opts")
    if isinstance(raw, dict):
        opts.update({k: "" if v is None else v for k, v in raw.items()})
    return opts


def lower_network(n: dict[str, Any]) -> dict[str, Any]:
    if not NETWORK_SUGAR.intersection(n):
        return n
    out = {
        k: v for k, v in n.items() if k not in NETWORK_SUGAR and k not in ("driver_opts", "ipam")
    }
    opts = network_driver_opts(n)
    if opts:
        out["driver_opts"] = opts
    ipam = dict(n["ipam"]) if isinstance(n.get("ipam"), dict) else {}
    if "ipam_driver" in n and "driver" not in ipam:
        ipam["driver"] = n["ipam_driver"]
    config = pools(n)
    if config:
        ipam["config"] = config
    if "ipam_options" in n and "options" not in ipam:
        ipam["options"] = n["ipam_options"]
    if ipam:
        out["ipam"] = ipam
    return out


def volume_driver_opts(v: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(kind, local-driver options) of a typed volume, or None for a plain or plugin volume."""
    if isinstance(nfs := v.get("nfs"), dict):
        o = ",".join([f"addr={nfs.get('server')}", *map(str, nfs.get("options") or ())])
        return "nfs", {"type": "nfs", "o": o, "device": f":{nfs.get('path')}"}
    if isinstance(c := v.get("cifs"), dict):
        parts = [f"addr={c.get('server')}"]
        parts += [f"{k}={c[k]}" for k in ("username", "password", "domain") if c.get(k)]
        parts += [str(o) for o in c.get("options") or ()]
        return "cifs", {
            "type": "cifs",
            "o": ",".join(parts),
            "device": f"//{c.get('server')}/{c.get('share')}",
        }
    if isinstance(t := v.get("tmpfs"), dict):
        parts = [f"{k}={t[k]}" for k in ("size", "uid", "gid", "mode") if t.get(k) is not None]
        return "tmpfs", {
            "type": "tmpfs",
            "device": "tmpfs",
            **({"o": ",".join(parts)} if parts else {}),
        }
    if isinstance(b := v.get("bind"), dict):
        return "bind", {"type": "none", "o": "bind", "device": b.get("path")}
    if isinstance(d := v.get("device"), dict):
        opts = {"type": d.get("fs", "ext4"), "device": d.get("path")}
        if d.get("options"):
            opts["o"] = ",".join(map(str, d["options"]))
        return "device", opts
    return None


def lower_volume(v: dict[str, Any]) -> dict[str, Any]:
    typed = volume_driver_opts(v)
    if typed is None:
        return v
    out = {k: val for k, val in v.items() if k not in VOLUME_KINDS and k != "driver_opts"}
    out["driver"] = v.get("driver") or "local"
    raw = v.get("driver_opts")
    extra = (
        {k: "" if val is None else val for k, val in raw.items()} if isinstance(raw, dict) else {}
    )
    out["driver_opts"] = {**typed[1], **extra}
    return out


def lower_mount(m: dict[str, Any]) -> dict[str, Any]:
    """A long-form mount with topogen's flat keys moved into Compose's ``bind``/``volume``/
    ``tmpfs`` blocks (the block that matches the mount's type)."""
    flat = [k for k in MOUNT_BLOCKS if k in m]
    if not flat and "type" in m and m.get("read_only") is not False:
        return m  # Compose's own long form: as written
    out = {"type": m.get("type", "volume")}
    out.update((k, v) for k, v in m.items() if k not in MOUNT_BLOCKS and k != "type")
    if out.get("read_only") is False:
        del out["read_only"]
    for key in flat:
        if m[key] is None:
            continue
        block = MOUNT_BLOCKS[key]
        inner = dict(out.get(block) or {})
        value = m[key]
        if key == "mode" and isinstance(value, str) and value.isdigit():
            value = int(value, 8)  # topogen's octal text; Compose's long form takes a number
        inner.setdefault(key, value)
        out[block] = inner
    return out


def lower_service(s: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in s.items() if k not in ("x-compose", "x-swarm", "mounts")}
    volumes = out.get("volumes")
    if isinstance(volumes, list):
        out["volumes"] = [lower_mount(v) if isinstance(v, dict) else v for v in volumes]
    mounts = s.get("mounts")
    if isinstance(mounts, list) and mounts:
        out["volumes"] = [
            *(out.get("volumes") or ()),
            *(lower_mount(m) for m in mounts if isinstance(m, dict)),
        ]
    ports = out.get("ports")
    if isinstance(ports, list) and any(isinstance(p, dict) for p in ports):
        out["ports"] = [q for p in ports for q in _expand_port(p)]
    if isinstance(out.get("user"), int):
        out["user"] = str(out["user"])
    return out


def _expand_port(p: Any) -> list[Any]:
    """A long-form port with a target range becomes one entry per port (Compose's long form
    takes one container port)."""
    if not isinstance(p, dict) or not isinstance(p.get("target"), str) or "-" not in p["target"]:
        return [p]
    start_s, _, end_s = p["target"].partition("-")
    if not (start_s.isdigit() and end_s.isdigit()) or int(end_s) < int(start_s):
        return [p]
    start, end = int(start_s), int(end_s)
    published = p.get("published")
    pub_start = pub_end = None
    if isinstance(published, (str, int)) and str(published):
        a, _, b = str(published).partition("-")
        if a.isdigit() and (b.isdigit() or not b):
            pub_start, pub_end = int(a), int(b or a)
    paired = pub_start is not None and pub_end is not None and pub_end - pub_start == end - start
    out = []
    for i in range(end - start + 1):
        entry = {**p, "target": start + i}
        if paired and pub_start is not None:
            entry["published"] = str(pub_start + i)
        out.append(entry)
    return out
