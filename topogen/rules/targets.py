"""Targets: where ``docker stack deploy`` would not do what the topology says.

These rules run only for topologies whose ``targets`` include ``swarm``. An **error** marks
what the stack would silently do differently; a **warning** marks what the stack drops
without changing what the services can reach or store. Each docstring says what the stack
does instead. The lowering that these rules accompany is :mod:`topogen.lower`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator

from .. import lower
from ..diagnostics import Diagnostic, error, warning
from ..resolved import Mount, Service, Topology

LOCAL_DRIVERS = ("macvlan", "ipvlan")
PER_NODE_VOLUMES = ("local", "device", "tmpfs")
_PIN = re.compile(r"^\s*node\.(hostname|id)\s*==\s*(\S+)\s*$")


def _pinned_node(s: Service) -> str | None:
    """The single node a placement constraint pins the service to, if any."""
    for c in (s.deploy.get("placement") or {}).get("constraints") or ():
        if m := _PIN.match(str(c)):
            return f"{m.group(1)}={m.group(2)}"
    return None


def _spreads(s: Service) -> bool:
    """Whether the service's tasks may run on more than one node."""
    if _pinned_node(s):
        return False
    return (s.replicas or 1) > 1 or str(s.deploy.get("mode", "")).startswith("global")


# ---------------------------------------------------------------------- errors


def swarm_static_ip(topo: Topology) -> Iterator[Diagnostic]:
    """A static address on a network: the stack ignores it and the engine picks one from the pool.

    ``networks: {backend: {ipv4_address: 172.21.0.10}}`` with ``targets: [swarm]``.
    """
    for s in topo.services.values():
        for a in s.attachments:
            for key, text in (("ipv4_address", a.ipv4_text), ("ipv6_address", a.ipv6_text)):
                if text:
                    yield error("swarm-static-ip", f"swarm ignores the static address {text} of service "
                                f'"{s.name}": tasks get an address from the pool', (*a.path, key),
                                hint="reach the service by its name, or drop swarm from targets")


def swarm_depends_on(topo: Topology) -> Iterator[Diagnostic]:
    """``depends_on``: the stack starts every service at once, healthy or not.

    ``depends_on: {db: {condition: service_healthy}}`` is an error, a plain
    ``depends_on: [db]`` a warning; the service must retry until its dependency answers.
    """
    for s in topo.services.values():
        for d in s.depends_on:
            make = warning if d.condition == "service_started" else error
            yield make("swarm-depends-on", f'swarm ignores depends_on: "{s.name}" may start before '
                       f'"{d.service}" is {d.condition.removeprefix("service_").replace("_", " ")}',
                       d.path, at_key=True, hint="make the service retry its connection")


def swarm_bind_mount(topo: Topology) -> Iterator[Diagnostic]:
    """A bind source must exist on every node that may run the task (the stack never creates it).

    ``volumes: ["./html:/usr/share/nginx/html"]`` on a service not pinned to one node by
    ``deploy.placement.constraints: [node.hostname == NAME]``; a missing source fails the task.
    System paths every Docker node has (``/var/run/docker.sock``, ``/proc``, ...) are fine.
    """
    for s in topo.services.values():
        if _pinned_node(s):
            continue
        for m in s.mounts:
            if m.type == "bind" and not _on_every_node(m.source or ""):
                yield error("swarm-bind-mount", f'bind source {m.source} of service "{s.name}" must exist '
                            "on every node", _source_path(m), hint=_PIN_HINT)
            elif m.type == "volume" and (v := topo.volumes.get(m.source or "")) and v.kind == "bind":
                yield error("swarm-bind-mount", f'volume "{v.key}" binds {v.host_path}, which must exist on '
                            f'every node that runs "{s.name}"', _source_path(m), hint=_PIN_HINT)


#: Host paths that every node running Docker has (agents mount them in global mode).
NODE_PATHS = ("/var/run/docker.sock", "/run/docker.sock", "/var/lib/docker", "/proc", "/sys", "/dev",
              "/etc/localtime", "/etc/timezone", "/etc/hostname", "/etc/os-release")


def _on_every_node(source: str) -> bool:
    return any(source == p or source.startswith(p + "/") for p in NODE_PATHS)


_PIN_HINT = "pin the service with deploy.placement.constraints: [node.hostname == NAME], or use a volume"


def _source_path(m: Mount) -> tuple[str | int, ...]:
    return (*m.path, "source")  # the short syntax has no such key: the item itself is located


def swarm_local_network(topo: Topology) -> Iterator[Diagnostic]:
    """A macvlan/ipvlan network, or a bridge with bridge-only options, has no swarm-scoped form.

    ``lan: {driver: macvlan, parent: eth0}``: the stack would create a local network that
    services cannot use; create it outside the stack (``--config-only`` on each node, then
    ``--scope swarm --config-from``) and declare it ``external``.
    """
    used = {a.network for s in topo.services.values() for a in s.attachments}
    for n in topo.networks.values():
        if n.external or n.key not in used:
            continue
        if n.driver in LOCAL_DRIVERS:
            yield error("swarm-local-network", f'{n.driver} network "{n.key}" is local to each node; '
                        "services cannot use it", (*n.path, "driver"),
                        hint="create a swarm-scoped network from a --config-only network and declare it external")
        bridge_opts = [k for k, _ in n.driver_opts if k.startswith(lower.BRIDGE_OPTION_PREFIX)]
        if n.driver == "bridge" and bridge_opts:
            yield error("swarm-local-network", f'network "{n.key}" becomes an overlay in the stack, which '
                        f"ignores the bridge option {bridge_opts[0]}", n.path, at_key=True,
                        hint="drop the bridge options, or declare a swarm-scoped network external")


def swarm_network_mode(topo: Topology) -> Iterator[Diagnostic]:
    """A ``network_mode`` other than host: the stack ignores it and attaches the default network.

    ``network_mode: "service:vpn"`` (host becomes the external ``host`` network).
    """
    for s in topo.services.values():
        if s.network_mode and s.network_mode != "host":
            yield error("swarm-network-mode", f'swarm ignores network_mode "{s.network_mode}": service '
                        f'"{s.name}" would join the stack\'s default network', (*s.path, "network_mode"))


def swarm_dnsrr_ingress(topo: Topology) -> Iterator[Diagnostic]:
    """``endpoint_mode: dnsrr`` with an ingress port: swarm refuses the service.

    ``deploy: {endpoint_mode: dnsrr}`` with ``ports: ["80:80"]`` (write ``mode: host``).
    """
    for s in topo.services.values():
        if s.deploy.get("endpoint_mode") != "dnsrr":
            continue
        for p in s.ports:
            if p.mode != "host":
                yield error("swarm-dnsrr-ingress", f'port {p.target} of service "{s.name}" uses the ingress '
                            "mesh, which dnsrr cannot serve", p.path, hint="use the long form with mode: host")


def swarm_replicas_global(topo: Topology) -> Iterator[Diagnostic]:
    """``replicas`` with a global mode: swarm runs one task per node and refuses the count.

    ``deploy: {mode: global, replicas: 3}``.
    """
    for s in topo.services.values():
        if s.replicas is not None and str(s.deploy.get("mode", "")).startswith("global"):
            yield error("swarm-replicas-global", f'replicas can only be used with replicated or '
                        f'replicated-job mode (service "{s.name}" is {s.deploy["mode"]})',
                        (*s.path, "deploy", "replicas"))


def swarm_port_conflict(topo: Topology) -> Iterator[Diagnostic]:
    """Two ports that differ only by host IP: in a swarm both claim the port on every node.

    ``ports: ["127.0.0.1:8080:80"]`` on ``a`` and ``["127.0.0.2:8080:80"]`` on ``b``; the stack
    ignores host IPs, so the second service is refused ("port 8080 is already in use").
    """
    claimed: dict[tuple[int, str], tuple[str | None, str]] = {}
    for s in topo.services.values():
        for p in s.ports:
            if p.published is None or p.mode == "host":
                continue
            for port in range(p.published.start, p.published.end + 1):
                first = claimed.setdefault((port, p.protocol), (p.host_ip, s.name))
                if first[0] != p.host_ip:
                    yield error("swarm-port-conflict", f"port {port}/{p.protocol} of service \"{s.name}\" is also "
                                f'published by "{first[1]}": swarm ignores host IPs', p.path,
                                hint="publish a different port")
                    break


def swarm_host_port_replicas(topo: Topology) -> Iterator[Diagnostic]:
    """A host-mode port on a service with several tasks per node: only one task can bind it.

    ``ports: [{target: 80, published: 8080, mode: host}]`` with ``replicas: 3``; the other
    tasks stay pending on a node that already runs one (set ``max_replicas_per_node: 1``).
    """
    for s in topo.services.values():
        placement = s.deploy.get("placement") or {}
        if (s.replicas or 1) <= 1 or placement.get("max_replicas_per_node") == 1:
            continue
        for p in s.ports:
            if p.mode == "host" and p.published is not None:
                yield warning("swarm-host-port-replicas", f"host port {p.published} of service \"{s.name}\" "
                              f"can serve one of its {s.replicas} tasks per node", p.path,
                              hint="set deploy.placement.max_replicas_per_node: 1, or use the ingress mode")


def swarm_secret_source(topo: Topology) -> Iterator[Diagnostic]:
    """A secret or config from ``environment`` or ``content``: the stack knows only file and external.

    ``secrets: {token: {environment: TOKEN}}``.
    """
    for g in (*topo.secrets.values(), *topo.configs.values()):
        if g.file is None and not g.external:
            key = "environment" if g.environment is not None else "content" if g.content is not None else None
            yield error("swarm-secret-source", f'{g.kind} "{g.key}" needs a file or external source in a '
                        "stack", (*g.path, key) if key else g.path, at_key=True,
                        hint="write it to a file, or create it with docker " + g.kind + " create")


def swarm_image_required(topo: Topology) -> Iterator[Diagnostic]:
    """A service with ``build`` and no ``image``: the stack builds nothing and needs an image.

    ``web: {build: .}``.
    """
    for s in topo.services.values():
        if s.image is None:
            yield error("swarm-image-required", f'service "{s.name}" needs an image in a stack',
                        s.path, at_key=True, hint="build and push the image, and name it in image:")


# ---------------------------------------------------------------------- warnings


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
        nodes = {_pinned_node(s) for s, _ in mounts}
        shared = len(services) > 1 and (None in nodes or len(nodes) > 1)
        if shared or any(_spreads(s) for s, _ in mounts):
            for _s, m in mounts:
                yield warning("swarm-local-volume", f'volume "{key}" is local to each node: {", ".join(services)} '
                              "may see different copies of it", _source_path(m),
                              hint="use nfs/cifs or a volume plugin, or pin the services to one node")


def swarm_container_name(topo: Topology) -> Iterator[Diagnostic]:
    """``container_name``: the stack names tasks ``<stack>_<service>.<slot>.<id>``.

    ``container_name: web``; other services reach it by its service name.
    """
    for s in topo.services.values():
        if s.container_name:
            yield warning("swarm-container-name", f'swarm ignores container_name "{s.container_name}"; reach '
                          f'the service as "{s.name}"', (*s.path, "container_name"))


def swarm_build(topo: Topology) -> Iterator[Diagnostic]:
    """``build``: the stack builds nothing and runs ``image`` as it is in the registry.

    ``{image: registry/web:1, build: .}``.
    """
    for s in topo.services.values():
        if s.build is not None and s.image is not None:
            yield warning("swarm-build", f'swarm ignores build and pulls "{s.image}"', (*s.path, "build"),
                          at_key=True, hint="push the image before docker stack deploy")


def swarm_links(topo: Topology) -> Iterator[Diagnostic]:
    """``links``: the stack ignores them; services on a shared network reach each other by name.

    ``links: ["db:database"]`` (an alias is lost: use ``networks.<n>.aliases``).
    """
    for s in topo.services.values():
        for i, (target, alias) in enumerate(s.links):
            yield warning("swarm-links", f'swarm ignores the link to "{target}"'
                          + (f'; the alias "{alias}" needs networks.<n>.aliases' if alias != target else ""),
                          (*s.path, "links", i))


def swarm_expose(topo: Topology) -> Iterator[Diagnostic]:
    """``expose``: the stack ignores it; every port is open on the service's networks anyway.

    ``expose: ["3000"]``.
    """
    for s in topo.services.values():
        if s.expose:
            yield warning("swarm-expose", "swarm ignores expose; the ports stay reachable on the service's "
                          "networks", (*s.path, "expose"), at_key=True)


def swarm_port_host_ip(topo: Topology) -> Iterator[Diagnostic]:
    """A host IP on a port: a swarm port listens on every address of every node.

    ``ports: ["127.0.0.1:8080:80"]`` publishes 8080 on all addresses.
    """
    for s in topo.services.values():
        for p in s.ports:
            if p.host_ip:
                path = (*p.path, "host_ip") if p.long_form else p.path
                yield warning("swarm-port-host-ip", f"swarm ignores the host IP {p.host_ip}: port {p.published or p.target} "
                              "listens on all addresses", path, hint="restrict access with a firewall")


def swarm_tmpfs_options(topo: Topology) -> Iterator[Diagnostic]:
    """A tmpfs mode or option other than size: the stack mounts tmpfs with size only.

    ``tmpfs: "/run:mode=1777,uid=1000"`` or ``{type: tmpfs, target: /x, mode: "1777"}``.
    """
    for s in topo.services.values():
        for m in s.mounts:
            opts = [o.partition("=")[0] for o in (m.tmpfs_options or "").split(",") if o]
            dropped = [o for o in opts if o not in ("size", "ro", "rw")] + (["mode"] if m.mode is not None else [])
            if m.type == "tmpfs" and dropped:
                path = (*m.path, "mode") if m.mode is not None else m.path
                yield warning("swarm-tmpfs-options", f"swarm drops the tmpfs option {dropped[0]} of {m.target}; "
                              "it keeps only the size", path)


def swarm_ignored_option(topo: Topology) -> Iterator[Diagnostic]:
    """A service key the stack does not carry: it is left out of ``docker-stack.yml``.

    ``privileged: true``, ``security_opt``, ``shm_size``, ``domainname``, ``mac_address``,
    ``profiles``, ``healthcheck.start_interval``, a network's ``mac_address``/``priority``,
    a port's ``name``/``app_protocol``, a bind's ``create_host_path``/``selinux``.
    """
    for s in topo.services.values():
        found = [((*s.path, k), k) for k, _ in s.options if k in lower.DROPPED_OPTIONS]
        found += [((*s.path, "privileged"), "privileged")] if s.privileged else []
        found += [((*s.path, "healthcheck", k), f"healthcheck.{k}") for k in lower.DROPPED_HEALTHCHECK
                  if k in (s.healthcheck or {})]
        found += [((*a.path, k), f"networks.{a.network}.{k}") for a in s.attachments
                  for k in ("mac_address", "priority") if getattr(a, k) is not None]
        found += [((*p.path, k), f"ports {k}") for p in s.ports for k in ("name", "app_protocol") if getattr(p, k)]
        found += [((*m.path, k), f"bind {k}") for m in s.mounts for k in ("create_host_path", "selinux")
                  if m.type == "bind" and getattr(m, k) is not None]
        for path, what in found:
            yield warning("swarm-ignored-option", f'swarm does not support {what} (service "{s.name}"); '
                          "docker-stack.yml leaves it out", path, at_key=True)


def swarm_ipam_dropped(topo: Topology) -> Iterator[Diagnostic]:
    """IPAM beyond the subnet, or ``enable_ipv6``: the v3 stack format carries only subnets.

    ``{subnet: 10.1.0.0/24, gateway: 10.1.0.254}``: swarm picks the gateway itself.
    """
    for n in topo.networks.values():
        if n.external:
            continue
        found = [(p.path, k) for p in n.pools for k, v in
                 (("gateway", p.gateway_text), ("ip_range", p.ip_range_text), ("aux_addresses", p.aux_addresses)) if v]
        found += [(n.path, k) for k, v in (("ipam_options", n.ipam_options), ("enable_ipv6", n.enable_ipv6)) if v]
        for path, key in found:
            yield warning("swarm-ipam-dropped", f'swarm does not support {key} on network "{n.key}"; '
                          "docker-stack.yml keeps only the subnet", (*path, key), at_key=True)


def swarm_dotenv(topo: Topology) -> Iterator[Diagnostic]:
    """A ``.env`` file beside the topology: ``docker stack deploy`` does not read it.

    ``environment: {DB_PASSWORD: "${DB_PASSWORD}"}`` with ``DB_PASSWORD=...`` in ``.env``:
    Compose substitutes it, the stack substitutes the deploying shell's variable (or nothing).
    """
    if not os.path.isfile(os.path.join(topo.base_dir, ".env")):
        return
    for s in topo.services.values():
        for key, value in (*s.environment, *s.options):
            if "${" in str(value):
                section = "environment" if (key, value) in s.environment else key
                yield warning("swarm-dotenv", f'docker stack deploy does not read .env: "{s.name}" gets '
                              f"{key}'s variables from the deploying shell", (*s.path, section), at_key=True,
                              hint="export the variables (set -a; . ./.env; set +a) before docker stack deploy")
                break


def _swarm_only(rule: Callable[[Topology], Iterable[Diagnostic]]) -> Callable[[Topology], Iterator[Diagnostic]]:
    """Run ``rule`` only for topologies that target swarm."""

    @functools.wraps(rule)
    def run(topo: Topology) -> Iterator[Diagnostic]:
        if "swarm" in topo.targets:
            yield from rule(topo)

    return run


RULES = tuple(
    _swarm_only(rule)
    for rule in (
        swarm_static_ip,
        swarm_depends_on,
        swarm_bind_mount,
        swarm_local_network,
        swarm_network_mode,
        swarm_dnsrr_ingress,
        swarm_replicas_global,
        swarm_port_conflict,
        swarm_secret_source,
        swarm_image_required,
        swarm_local_volume,
        swarm_host_port_replicas,
        swarm_container_name,
        swarm_build,
        swarm_links,
        swarm_expose,
        swarm_port_host_ip,
        swarm_tmpfs_options,
        swarm_ignored_option,
        swarm_ipam_dropped,
        swarm_dotenv,
    )
)
