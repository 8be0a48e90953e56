"""Swarm lowering: the resolved topology as docker/cli's Compose v3 stack format.

``docker stack deploy`` reads docker/cli's own v3 schema, not the Compose Specification
(FACTS-compose-swarm.md, section 4). Each function here is one lowering rule: it takes a
resolved element and returns plain data that the v3 schema accepts and that the stack
converter turns into what the topology says. What cannot be lowered faithfully is not
silently dropped here alone: :mod:`topogen.rules.targets` reports it at the topology line.

Pure functions, no Jinja and no I/O; :mod:`topogen.emit.swarm` renders the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import resolved as r
from .forms import HostPath, grant, network_identity, option_value, plain_option, volume
from .keys import RESOURCE_OPTIONS, SERVICE
from .stackformat import BRIDGE_OPTION_PREFIX, DROPPED_HEALTHCHECK
from .units import size_bytes

#: The baseline format: 3.8 carries max_replicas_per_node, rollback_config and init.
BASE_VERSION = "3.8"
#: ``deploy.resources.limits.pids`` first appears in the 3.9 schema.
PIDS_VERSION = "3.9"

#: Drivers lowered to ``overlay``: bridge is the single-host form of the same intent.
OVERLAY_DRIVERS = ("bridge", "overlay")
#: Swarm's predefined network that gives a task the host's network stack.
HOST_NETWORK = "host"

# ---------------------------------------------------------------------- top level


def stack_version(topo: r.Topology) -> str:
    """``version:`` is 3.8, or 3.9 when a service limits pids; never a top-level ``name:``
    (the stack's name is the argument of ``docker stack deploy``)."""
    for s in topo.services.values():
        limits = s.deploy.limits
        if (limits and limits.pids is not None) or "pids_limit" in dict(s.options):
            return PIDS_VERSION
    return BASE_VERSION


def network(n: r.Network, topo: r.Topology) -> dict[str, Any]:
    """A network becomes an overlay: ``bridge`` (the single-host default) and ``overlay`` both
    lower to ``driver: overlay``; ``attachable`` is kept as declared and ``encrypted`` is
    emitted only when true, since its mere presence turns IPsec on. Other drivers pass
    through (the target rules reject the local-scope ones)."""
    out = network_identity(n, topo)
    if n.external:
        return out
    overlay = n.driver in OVERLAY_DRIVERS
    out["driver"] = "overlay" if overlay else n.driver
    opts = {
        k: option_value(v)
        for k, v in n.driver_opts
        if not (overlay and k.startswith(BRIDGE_OPTION_PREFIX)) and k != "encrypted"
    }
    if n.encrypted:
        opts["encrypted"] = ""
    if opts:
        out["driver_opts"] = dict(sorted(opts.items()))
    if n.internal:
        out["internal"] = True
    if n.attachable is not None:
        out["attachable"] = n.attachable
    if ipam := ipam_subnets(n):
        out["ipam"] = ipam
    if n.labels:
        out["labels"] = dict(n.labels)
    return out


def ipam_subnets(n: r.Network) -> dict[str, Any]:
    """IPAM is reduced to the driver and each pool's ``subnet``: the v3 schema rejects
    gateway, ip_range, aux_addresses and options, and the converter passes only the subnet."""
    ipam: dict[str, Any] = {}
    if n.ipam_driver:
        ipam["driver"] = n.ipam_driver
    if n.pools:
        ipam["config"] = [{"subnet": p.subnet_text} for p in n.pools]
    return ipam


def host_network_key(topo: r.Topology) -> str:
    """The key under which swarm's predefined ``host`` network is declared external; chosen
    so that it cannot collide with a network of the topology."""
    key = HOST_NETWORK
    while key in topo.networks:
        key += "_"
    return key


def host_network() -> dict[str, Any]:
    """Host networking is an attachment to the external network named ``host`` (the stack
    ignores ``network_mode``)."""
    return {"name": HOST_NETWORK, "external": True}


def grantable(g: r.Grantable, host: HostPath) -> dict[str, Any]:
    """A secret or config keeps ``file``, ``external``, ``name`` and ``labels``; the stack has
    no ``environment`` or ``content`` source."""
    out: dict[str, Any] = {}
    for key, value in g.fields:
        if key == "file":
            out["file"] = host(value)
        elif key in ("name", "labels") or (key == "external" and value):
            out[key] = value
    return out


# ---------------------------------------------------------------------- services


def service(s: r.Service, topo: r.Topology, host: HostPath) -> dict[str, Any]:
    """A service in stack form; keys the stack ignores (build, container_name, links,
    expose, depends_on, network_mode, privileged, tmpfs) are left out."""
    out: dict[str, Any] = {}
    if s.image is not None:
        out["image"] = s.image
    if s.hostname:
        out["hostname"] = s.hostname
    if s.environment:
        out["environment"] = dict(s.environment)
    if s.ports:
        out["ports"] = unique([entry for p in s.ports for entry in ports(p)])
    if networks := attachments(s, topo):
        out["networks"] = networks
    if mounts := [mount(m, host) for m in s.mounts]:
        out["volumes"] = mounts
    for key, grants in (("secrets", s.secrets), ("configs", s.configs)):
        if grants:
            out[key] = [grant(g) for g in grants]
    if s.healthcheck:
        out["healthcheck"] = healthcheck(s.healthcheck.written)
    if d := deploy(s):
        out["deploy"] = d
    if s.restart and "$" in s.restart and "restart_policy" not in s.deploy.written:
        out["restart"] = s.restart  # see restart_policy: the stack lowers it once interpolated
    if s.labels:
        out["labels"] = dict(s.labels)
    for key, value in s.options:
        if SERVICE[key].swarm == "carry":
            out[key] = plain_option(key, value, host)
    out.update(s.x_swarm)
    return out


def attachments(s: r.Service, topo: r.Topology) -> dict[str, Any]:
    """Networks keep only their ``aliases`` (static IPs, MAC addresses and priorities are not
    converted by the stack); a service on the implicit default network lists none, and
    ``network_mode: host`` becomes an attachment to the external ``host`` network."""
    if s.network_mode == "host":
        return {host_network_key(topo): {}}
    if [a.network for a in s.attachments] == ["default"] and topo.networks["default"].implicit:
        return {}
    return {a.network: ({"aliases": list(a.aliases)} if a.aliases else {}) for a in s.attachments}


def unique(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identical entries once: the v3 schema wants ``ports`` items unique ("array items[0,1]
    must be unique"); an identical repeat means nothing more."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        if entry not in out:
            out.append(entry)
    return out


def ports(p: r.Port) -> list[dict[str, Any]]:
    """A port in the long syntax the v3 schema wants (integer ``target`` and ``published``),
    one entry per port of a range; the host IP is dropped (a swarm port listens on every
    address) and ``mode`` is explicit (``ingress`` unless declared ``host``)."""
    targets = range(p.target.start, p.target.end + 1)
    if p.published is None:
        published: list[int | None] = [None] * len(targets)
    elif p.published.end - p.published.start == p.target.end - p.target.start:
        published = list(range(p.published.start, p.published.end + 1))
    else:  # a host range for one container port: Compose picks one, here the first
        published = [p.published.start]
    out = []
    for target, pub in zip(targets, published):
        entry: dict[str, Any] = {"target": target}
        if pub is not None:
            entry["published"] = pub
        entry["protocol"] = p.protocol
        entry["mode"] = p.mode or "ingress"
        out.append(entry)
    return out


def mount(m: r.Mount, host: HostPath) -> dict[str, Any]:
    """A mount in long syntax: ``bind`` keeps only ``propagation`` (the stack drops
    create_host_path and selinux), ``volume`` keeps nocopy and subpath, and tmpfs is
    :func:`tmpfs_mount`."""
    if m.type == "tmpfs":
        return tmpfs_mount(m)
    out: dict[str, Any] = {"type": m.type}
    if m.source is not None:
        out["source"] = host(m.source) if m.type == "bind" else m.source
    out["target"] = m.target
    if m.read_only:
        out["read_only"] = True
    if m.type == "bind" and m.propagation:
        out["bind"] = {"propagation": m.propagation}
    elif m.type == "volume":
        opts = {k: v for k, v in (("nocopy", m.nocopy), ("subpath", m.subpath)) if v is not None}
        if opts:
            out["volume"] = opts
    return out


def tmpfs_mount(m: r.Mount) -> dict[str, Any]:
    """A tmpfs, also one declared with the service's ``tmpfs`` key (which the stack ignores),
    becomes a long-syntax ``type: tmpfs`` mount carrying only ``size``, in bytes; ``ro`` in
    the shorthand becomes ``read_only``; mode, the other options and a size relative to the
    memory (``50%``) are dropped."""
    opts = dict(o.partition("=")[::2] for o in (m.tmpfs_options or "").split(",") if o)
    size = m.size if m.size is not None else opts.get("size")
    out: dict[str, Any] = {"type": "tmpfs", "target": m.target}
    if m.read_only or "ro" in opts:
        out["read_only"] = True
    if (parsed := size_bytes(size)) is not None:
        out["tmpfs"] = {"size": parsed}
    return out


def healthcheck(h: Mapping[str, Any]) -> dict[str, Any]:
    """The healthcheck without the keys the v3 schema rejects (``start_interval``)."""
    return {k: v for k, v in h.items() if k not in DROPPED_HEALTHCHECK}


# ---------------------------------------------------------------------- deploy

DEPLOY_ORDER = (
    "mode",
    "replicas",
    "endpoint_mode",
    "resources",
    "placement",
    "restart_policy",
    "update_config",
    "rollback_config",
    "labels",
)


def deploy(s: r.Service) -> dict[str, Any]:
    """``deploy`` is carried over key by key (mode, replicas, endpoint_mode, placement with
    constraints, preferences and max_replicas_per_node, update and rollback config, labels),
    with :func:`resources` and :func:`restart_policy` lowered. The service keys ``cpus``,
    ``mem_limit``, ``mem_reservation`` and ``pids_limit`` become ``deploy.resources`` limits and
    reservations (Compose refuses both forms with different values)."""
    d = dict(s.deploy.written)
    res = {kind: dict(v) for kind, v in (d.get("resources") or {}).items()}
    options = dict(s.options)
    for key, (kind, name) in RESOURCE_OPTIONS.items():
        if options.get(key) is not None:
            res.setdefault(kind, {}).setdefault(name, options[key])
    res.get("reservations", {}).pop("devices", None)  # the v3 format has none: swarm refuses it
    d.pop("resources", None)
    if res := {k: v for k, v in res.items() if v}:
        d["resources"] = {k: resources(v) for k, v in res.items()}
    if "replicas" not in d and s.replicas is not None:  # written as scale
        d["replicas"] = s.replicas
    if "restart_policy" not in d and (policy := restart_policy(s.restart)):
        d["restart_policy"] = policy
    return {k: d[k] for k in DEPLOY_ORDER if k in d}


def resources(res: dict[str, Any]) -> dict[str, Any]:
    """``cpus`` and ``memory`` as strings (the v3 schema rejects ``cpus: 0.5``: "cpus must be a
    string"); ``pids`` stays an integer."""
    out = dict(res)
    for key in ("cpus", "memory"):
        if isinstance(value := out.get(key), float) and value.is_integer():
            out[key] = str(int(value))
        elif value is not None:
            out[key] = str(value)
    return out


def restart_policy(restart: str | None) -> dict[str, Any] | None:
    """``restart`` becomes ``deploy.restart_policy``: ``no`` (and Compose's ``none``) ->
    ``condition: none``, ``always``, ``unless-stopped`` (and ``any``) -> ``any``,
    ``on-failure[:N]`` -> ``on-failure`` with ``max_attempts: N``. Without either, swarm
    restarts tasks on any exit. A ``${VAR}`` restart stays ``restart:``, which
    ``docker stack deploy`` lowers the same way once interpolated (it prints "Ignoring
    unsupported options: restart", and uses it)."""
    if restart is None or "$" in restart:
        return None
    kind, _, count = restart.partition(":")
    if kind in ("no", "none"):
        return {"condition": "none"}
    if kind in ("always", "unless-stopped", "any") and not count:
        return {"condition": "any"}
    if kind == "on-failure":
        policy: dict[str, Any] = {"condition": "on-failure"}
        if count.isdigit():
            policy["max_attempts"] = int(count)
        return policy
    return None


#: The lowering rules in the order a reader meets them; docs/swarm.md is generated from them.
LOWERING = (
    stack_version,
    network,
    ipam_subnets,
    host_network,
    attachments,
    ports,
    mount,
    tmpfs_mount,
    healthcheck,
    deploy,
    resources,
    restart_policy,
    service,
    volume,
    grantable,
)
