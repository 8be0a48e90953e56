"""Warnings of the swarm target: what the stack drops or does per node, without refusing."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ...keys import SWARM_DROPPED
from ...resolved import Mount, Service, Topology
from ...stackformat import DROPPED_HEALTHCHECK
from ...units import size_bytes
from ..registry import reports
from .placement import pinned_node, source_path, spreads

PER_NODE_VOLUMES = ("local", "device", "tmpfs")


@reports(warning="swarm-local-volume")
def swarm_local_volume(topo: Topology) -> Iterator[Diagnostic]:
    """A local volume shared by services or replicas that may land on different nodes.

    ``volumes: {uploads: {}}`` mounted by ``web`` (``replicas: 3``): each node's engine
    creates its own empty ``uploads``, so tasks on different nodes see different data; use
    ``nfs``/``cifs`` or a volume plugin, or pin the services to one node.
    """
    users: dict[str, list[tuple[Service, Mount]]] = {}
    for s in topo.services.values():
        for m in s.mounts:
            if m.type == "volume" and m.source in topo.volumes:
                users.setdefault(m.source, []).append((s, m))
    for key, mounts in users.items():
        v = topo.volumes[key]
        if v.external or v.kind not in PER_NODE_VOLUMES:
            continue
        services = sorted({s.name for s, _ in mounts})
        nodes = {pinned_node(s) for s, _ in mounts}
        shared = len(services) > 1 and (None in nodes or len(nodes) > 1)
        if shared or any(spreads(s) for s, _ in mounts):
            for _s, m in mounts:
                yield warning(
                    "swarm-local-volume",
                    f'volume "{key}" is local to each node: {", ".join(services)} '
                    "may see different copies of it",
                    source_path(m),
                    hint="use nfs/cifs or a volume plugin, or pin the services to one node",
                )


@reports(warning="swarm-empty-environment")
def swarm_empty_environment(topo: Topology) -> Iterator[Diagnostic]:
    """An environment variable set to the empty string: ``docker stack deploy`` takes the deploying shell's value instead.

    ``environment: {DEBUG: ""}``: Compose sets ``DEBUG=``, but the stack loader (docker/cli
    ``updateEnvironment``) replaces an empty value with ``$DEBUG`` when the shell has one. No
    stack-file form keeps the empty value (``DEBUG=``, ``"${UNSET:-}"`` and an env_file alike).
    """
    for s in topo.services.values():
        for i, (key, value) in enumerate(s.environment):
            if value == "":
                yield warning(
                    "swarm-empty-environment",
                    f'service "{s.name}": the empty {key} becomes the deploying '
                    f"shell's ${key} under docker stack deploy, when the shell sets it",
                    (*s.path, "environment", i if s.environment_is_list else key),
                    hint=f"give {key} a value, or make sure the shell that deploys has no {key}",
                )


@reports(warning="swarm-host-port-replicas")
def swarm_host_port_replicas(topo: Topology) -> Iterator[Diagnostic]:
    """A host-mode port on a service with several tasks per node: only one task can bind it.

    ``ports: [{target: 80, published: 8080, mode: host}]`` with ``replicas: 3``; the other
    tasks stay pending on a node that already runs one (set ``max_replicas_per_node: 1``).
    """
    for s in topo.services.values():
        if (s.replicas or 1) <= 1 or s.deploy.max_replicas_per_node == 1:
            continue
        for p in s.ports:
            if p.mode == "host" and p.published is not None:
                yield warning(
                    "swarm-host-port-replicas",
                    f'host port {p.published} of service "{s.name}" '
                    f"can serve one of its {s.replicas} tasks per node",
                    p.path,
                    hint="set deploy.placement.max_replicas_per_node: 1, or use the ingress mode",
                )


@reports(warning="swarm-container-name")
def swarm_container_name(topo: Topology) -> Iterator[Diagnostic]:
    """``container_name``: the stack names tasks ``<stack>_<service>.<slot>.<id>``.

    ``container_name: web``; other services reach it by its service name.
    """
    for s in topo.services.values():
        if s.container_name:
            yield warning(
                "swarm-container-name",
                f'swarm ignores container_name "{s.container_name}"; reach '
                f'the service as "{s.name}"',
                (*s.path, "container_name"),
            )


@reports(warning="swarm-build")
def swarm_build(topo: Topology) -> Iterator[Diagnostic]:
    """``build``: the stack builds nothing and runs ``image`` as it is in the registry.

    ``{image: registry/web:1, build: .}``.
    """
    for s in topo.services.values():
        if s.build is not None and s.image is not None:
            yield warning(
                "swarm-build",
                f'swarm ignores build and pulls "{s.image}"',
                (*s.path, "build"),
                at_key=True,
                hint="push the image before docker stack deploy",
            )


@reports(warning="swarm-links")
def swarm_links(topo: Topology) -> Iterator[Diagnostic]:
    """``links``: the stack ignores them; services on a shared network reach each other by name.

    ``links: ["db:database"]`` (an alias is lost: use ``networks.<n>.aliases``).
    """
    for s in topo.services.values():
        for i, (target, alias) in enumerate(s.links):
            yield warning(
                "swarm-links",
                f'swarm ignores the link to "{target}"'
                + (f'; the alias "{alias}" needs networks.<n>.aliases' if alias != target else ""),
                (*s.path, "links", i),
            )


@reports(warning="swarm-expose")
def swarm_expose(topo: Topology) -> Iterator[Diagnostic]:
    """``expose``: the stack ignores it; every port is open on the service's networks anyway.

    ``expose: ["3000"]``.
    """
    for s in topo.services.values():
        if s.expose:
            yield warning(
                "swarm-expose",
                "swarm ignores expose; the ports stay reachable on the service's networks",
                (*s.path, "expose"),
                at_key=True,
            )


@reports(warning="swarm-port-host-ip")
def swarm_port_host_ip(topo: Topology) -> Iterator[Diagnostic]:
    """A host IP on a port: a swarm port listens on every address of every node.

    ``ports: ["127.0.0.1:8080:80"]`` publishes 8080 on all addresses.
    """
    for s in topo.services.values():
        for p in s.ports:
            if p.host_ip:
                path = (*p.path, "host_ip") if p.long_form else p.path
                yield warning(
                    "swarm-port-host-ip",
                    f"swarm ignores the host IP {p.host_ip}: port {p.published or p.target} "
                    "listens on all addresses",
                    path,
                    hint="restrict access with a firewall",
                )


@reports(warning="swarm-tmpfs-options")
def swarm_tmpfs_options(topo: Topology) -> Iterator[Diagnostic]:
    """A tmpfs mode or option other than size: the stack mounts tmpfs with a size in bytes only.

    ``tmpfs: "/run:mode=1777,uid=1000,size=50%"`` or ``{type: tmpfs, target: /x, mode: "1777"}``.
    """
    for s in topo.services.values():
        for m in s.mounts:
            opts = dict(o.partition("=")[::2] for o in (m.tmpfs_options or "").split(",") if o)
            size = m.size if m.size is not None else opts.get("size")
            dropped = [o for o in opts if o not in ("size", "ro", "rw")] + (
                ["mode"] if m.mode is not None else []
            )
            dropped += [f"size={size}"] if size is not None and size_bytes(size) is None else []
            if m.type == "tmpfs" and dropped:
                path = (*m.path, "mode") if m.mode is not None else m.path
                yield warning(
                    "swarm-tmpfs-options",
                    f"swarm drops the tmpfs option {dropped[0]} of {m.target}; "
                    "a stack's tmpfs takes only a size in bytes",
                    path,
                )


@reports(warning="swarm-ignored-option")
def swarm_ignored_option(topo: Topology) -> Iterator[Diagnostic]:
    """A service key the stack does not carry: it is left out of ``docker-stack.yml``, and the
    warning says why (docker stack deploy ignores it, refuses it, or the v3 format has no such key;
    the rows of ``topogen/keys.py``).

    ``privileged: true``, ``pid``, ``ipc``, ``devices``, ``security_opt``, ``shm_size``,
    ``platform``, ``gpus``, ``profiles``, ``cpu_shares``, ``healthcheck.start_interval``, a
    network's ``mac_address``/``priority``, a port's ``name``/``app_protocol``, a bind's
    ``create_host_path``/``selinux``, ``deploy.resources.reservations.devices`` (GPUs).
    """
    for s in topo.services.values():
        found = [
            ((*s.path, k), f"{k}: {SWARM_DROPPED[k]}") for k, _ in s.options if k in SWARM_DROPPED
        ]
        found += [((*s.path, "privileged"), "privileged")] if s.privileged else []
        reserved = (s.deploy.written.get("resources") or {}).get("reservations") or {}
        if "devices" in reserved:
            found.append(
                (
                    (*s.path, "deploy", "resources", "reservations", "devices"),
                    "deploy.resources.reservations.devices",
                )
            )
        found += [
            ((*s.path, "healthcheck", k), f"healthcheck.{k}")
            for k in DROPPED_HEALTHCHECK
            if s.healthcheck and k in s.healthcheck.written
        ]
        found += [
            ((*a.path, k), f"networks.{a.network}.{k}")
            for a in s.attachments
            for k in ("mac_address", "priority")
            if getattr(a, k) is not None
        ]
        found += [
            ((*p.path, k), f"ports {k}")
            for p in s.ports
            for k in ("name", "app_protocol")
            if getattr(p, k)
        ]
        found += [
            ((*m.path, k), f"bind {k}")
            for m in s.mounts
            for k in ("create_host_path", "selinux")
            if m.type == "bind" and getattr(m, k) is not None
        ]
        for path, what in found:
            yield warning(
                "swarm-ignored-option",
                f'swarm does not support {what} (service "{s.name}"); '
                "docker-stack.yml leaves it out",
                path,
                at_key=True,
            )


@reports(warning="swarm-ipam-dropped")
def swarm_ipam_dropped(topo: Topology) -> Iterator[Diagnostic]:
    """IPAM beyond the subnet, or ``enable_ipv6``: the v3 stack format carries only subnets.

    ``{subnet: 10.1.0.0/24, gateway: 10.1.0.254}``: swarm picks the gateway itself.
    """
    for n in topo.networks.values():
        if n.external:
            continue
        found = [
            (p.path, k)
            for p in n.pools
            for k, v in (
                ("gateway", p.gateway_text),
                ("ip_range", p.ip_range_text),
                ("aux_addresses", p.aux_addresses),
            )
            if v
        ]
        found += [
            (n.path, k)
            for k, v in (("ipam_options", n.ipam_options), ("enable_ipv6", n.enable_ipv6))
            if v
        ]
        for path, key in found:
            yield warning(
                "swarm-ipam-dropped",
                f'swarm does not support {key} on network "{n.key}"; '
                "docker-stack.yml keeps only the subnet",
                (*path, key),
                at_key=True,
            )


@reports(warning="swarm-dotenv")
def swarm_dotenv(topo: Topology) -> Iterator[Diagnostic]:
    """A ``.env`` file beside the topology: ``docker stack deploy`` does not read it.

    ``environment: {DB_PASSWORD: "${DB_PASSWORD}"}`` with ``DB_PASSWORD=...`` in ``.env``:
    Compose substitutes it, the stack substitutes the deploying shell's variable (or nothing).
    """
    if not os.path.isfile(os.path.join(topo.base_dir, ".env")):
        return
    for s in topo.services.values():
        for key, value in (*s.environment, *s.options):
            env = (key, value) in s.environment
            where = (*s.path, "environment") if env else (*s.path, key)
            if "${" in str(value) or any(p[: len(where)] == where for p in topo.interpolated):
                section = "environment" if env else key
                yield warning(
                    "swarm-dotenv",
                    f'docker stack deploy does not read .env: "{s.name}" gets '
                    f"{key}'s variables from the deploying shell",
                    (*s.path, section),
                    at_key=True,
                    hint="export the variables (set -a; . ./.env; set +a) before docker stack deploy",
                )
                break
