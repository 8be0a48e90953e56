"""The Compose target: ``docker-compose.yml`` in Compose Specification format (no ``version:``)."""

from __future__ import annotations

import os
from typing import Any

from .. import resolved as r
from ..forms import grant, network_identity, option_value, plain_option, volume
from . import HEADER, render

FILENAME = "docker-compose.yml"


def emit(topo: r.Topology, out_dir: str) -> dict[str, str]:
    """Render the Compose file; relative host paths are rewritten relative to ``out_dir``."""
    paths = Paths(topo.base_dir, out_dir)
    text = render(
        "compose.yml.j2",
        header=HEADER.format(source=paths.source(topo.file)),
        name=topo.name,
        services={s.name: service(s, topo, paths) for s in topo.services.values()},
        sections=(
            (
                "networks",
                {n.key: network(n, topo) for n in topo.networks.values() if not n.implicit},
            ),
            ("volumes", {v.key: volume(v, paths.host) for v in topo.volumes.values()}),
            ("secrets", {g.key: grantable(g, paths) for g in topo.secrets.values()}),
            ("configs", {g.key: grantable(g, paths) for g in topo.configs.values()}),
        ),
    )
    return {FILENAME: text}


class Paths:
    """Host paths of the topology, re-expressed relative to where the output is written."""

    def __init__(self, base_dir: str, out_dir: str) -> None:
        self.base_dir = base_dir
        self.out_dir = os.path.abspath(out_dir)

    def host(self, path: str) -> str:
        if path.startswith(("/", "~", "$")):
            return path
        rel = os.path.relpath(os.path.join(self.base_dir, path), self.out_dir)
        rel = rel.replace(os.sep, "/")
        return rel if rel.startswith(".") else f"./{rel}"

    def source(self, file: str) -> str:
        return os.path.relpath(os.path.abspath(file), self.out_dir).replace(os.sep, "/")


# ---------------------------------------------------------------------- top level


def network(n: r.Network, topo: r.Topology) -> dict[str, Any]:
    out = network_identity(n, topo)
    if n.external:
        return out
    out["driver"] = n.driver
    if n.driver_opts:
        out["driver_opts"] = {k: option_value(v) for k, v in n.driver_opts}
    if n.internal:
        out["internal"] = True
    if n.attachable is not None:
        out["attachable"] = n.attachable
    if n.enable_ipv6 is not None:
        out["enable_ipv6"] = n.enable_ipv6
    ipam = ipam_block(n)
    if ipam:
        out["ipam"] = ipam
    if n.labels:
        out["labels"] = dict(n.labels)
    return out


def ipam_block(n: r.Network, *, subnet_only: bool = False) -> dict[str, Any]:
    ipam: dict[str, Any] = {}
    if n.ipam_driver:
        ipam["driver"] = n.ipam_driver
    config = []
    for p in n.pools:
        entry: dict[str, Any] = {"subnet": p.subnet_text}
        if not subnet_only:
            if p.ip_range_text:
                entry["ip_range"] = p.ip_range_text
            if p.gateway_text:
                entry["gateway"] = p.gateway_text
            if p.aux_addresses:
                entry["aux_addresses"] = {name: text for name, _a, text in p.aux_addresses}
        config.append(entry)
    if config:
        ipam["config"] = config
    if n.ipam_options and not subnet_only:
        ipam["options"] = dict(n.ipam_options)
    return ipam






def grantable(g: r.Grantable, paths: Paths) -> dict[str, Any]:
    out = dict(g.fields)
    if "file" in out:
        out["file"] = paths.host(out["file"])
    if out.get("external") is False:
        del out["external"]
    return out


# ---------------------------------------------------------------------- services


def service(s: r.Service, topo: r.Topology, paths: Paths) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.image is not None:
        out["image"] = s.image
    if s.build is not None:
        out["build"] = _build(s.build, paths)
    if s.container_name:
        out["container_name"] = s.container_name
    if s.hostname:
        out["hostname"] = s.hostname
    if s.restart:
        out["restart"] = s.restart
    if s.privileged:
        out["privileged"] = True
    if s.depends_on:
        out["depends_on"] = depends_on(s)
    if s.environment:
        out["environment"] = dict(s.environment)
    if s.ports:
        out["ports"] = [entry for p in s.ports for entry in port(p)]
    if s.expose:
        out["expose"] = list(s.expose)
    if s.network_mode:
        out["network_mode"] = s.network_mode
    elif s.attachments and not (
        len(s.attachments) == 1
        and s.attachments[0].network == "default"
        and topo.networks["default"].implicit
        and not attachment(s.attachments[0])  # aliases or addresses on default are kept
    ):
        out["networks"] = {a.network: attachment(a) for a in s.attachments}
    mounts = [mount(m, paths) for m in s.mounts if not m.from_tmpfs_key]
    if mounts:
        out["volumes"] = mounts
    tmpfs = [
        m.target + (f":{m.tmpfs_options}" if m.tmpfs_options else "")
        for m in s.mounts
        if m.from_tmpfs_key
    ]
    if tmpfs:
        out["tmpfs"] = tmpfs
    for key, grants in (("secrets", s.secrets), ("configs", s.configs)):
        if grants:
            out[key] = [grant(g) for g in grants]
    if s.healthcheck:
        out["healthcheck"] = s.healthcheck
    if s.deploy:
        out["deploy"] = s.deploy
    if s.labels:
        out["labels"] = dict(s.labels)
    if s.links:
        out["links"] = [t if t == a else f"{t}:{a}" for t, a in s.links]
    for key, value in s.options:
        out[key] = plain_option(key, value, paths.host)
    out.update(s.x_compose)
    return out


def _build(build: Any, paths: Paths) -> Any:
    if isinstance(build, str):
        return paths.host(build)
    out = dict(build)
    out["context"] = paths.host(out.get("context", "."))
    return out




def depends_on(s: r.Service) -> dict[str, Any]:
    out = {}
    for d in s.depends_on:
        entry: dict[str, Any] = {"condition": d.condition}
        if d.restart is not None:
            entry["restart"] = d.restart
        if d.required is not None:
            entry["required"] = d.required
        out[d.service] = entry
    return out


def port(p: r.Port) -> list[Any]:
    """Compose entries for one port: the short form as written, or long-form mappings.

    Compose's long form takes a single container port (``target`` is an integer), so a
    long-form range becomes one mapping per port.
    """
    if not p.long_form:
        host = f"[{p.host_ip}]" if p.host_ip and ":" in p.host_ip else p.host_ip
        published = str(p.published) if p.published else ("" if host else None)
        parts = [x for x in (host, published, str(p.target)) if x is not None]
        return [":".join(parts) + f"/{p.protocol}"]
    count = p.target.end - p.target.start + 1
    paired = p.published is not None and p.published.end - p.published.start + 1 == count
    entries = []
    for i in range(count):
        out: dict[str, Any] = {"target": p.target.start + i}
        if paired:
            out["published"] = str(p.published.start + i)  # type: ignore[union-attr]
        elif p.published is not None:
            out["published"] = str(p.published)
        if p.host_ip:
            out["host_ip"] = p.host_ip
        out["protocol"] = p.protocol
        for key in ("mode", "name", "app_protocol"):
            if getattr(p, key) is not None:
                out[key] = getattr(p, key)
        entries.append(out)
    return entries


def attachment(a: r.Attachment) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if a.ipv4_text:
        out["ipv4_address"] = a.ipv4_text
    if a.ipv6_text:
        out["ipv6_address"] = a.ipv6_text
    if a.aliases:
        out["aliases"] = list(a.aliases)
    if a.mac_address:
        out["mac_address"] = a.mac_address
    if a.priority is not None:
        out["priority"] = a.priority
    return out


def mount(m: r.Mount, paths: Paths) -> dict[str, Any]:
    out: dict[str, Any] = {"type": m.type}
    if m.source is not None:
        out["source"] = paths.host(m.source) if m.type == "bind" else m.source
    out["target"] = m.target
    if m.read_only:
        out["read_only"] = True
    opts: dict[str, Any]
    if m.type == "bind":
        opts = {
            k: v
            for k, v in (
                ("propagation", m.propagation),
                ("create_host_path", m.create_host_path),
                ("selinux", m.selinux),
            )
            if v is not None
        }
        if opts:
            out["bind"] = opts
    elif m.type == "volume":
        opts = {k: v for k, v in (("nocopy", m.nocopy), ("subpath", m.subpath)) if v is not None}
        if opts:
            out["volume"] = opts
    elif m.type == "tmpfs":
        opts = {k: v for k, v in (("size", m.size), ("mode", m.mode)) if v is not None}
        if opts:
            out["tmpfs"] = opts
    return out

