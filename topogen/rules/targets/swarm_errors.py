"""Errors of the swarm target: where ``docker stack deploy`` would run something other than
what the topology says, or refuse it."""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, error, warning
from ...resolved import Topology
from ...stackformat import BRIDGE_OPTION_PREFIX
from ..registry import reports
from .placement import pinned_node, source_path

LOCAL_DRIVERS = ("macvlan", "ipvlan")


@reports(error="swarm-static-ip")
def swarm_static_ip(topo: Topology) -> Iterator[Diagnostic]:
    """A static address on a network: the stack ignores it and the engine picks one from the pool.

    ``networks: {backend: {ipv4_address: 172.21.0.10}}`` with ``targets: [swarm]``.
    """
    for s in topo.services.values():
        for a in s.attachments:
            for key, text in (("ipv4_address", a.ipv4_text), ("ipv6_address", a.ipv6_text)):
                if text:
                    yield error(
                        "swarm-static-ip",
                        f"swarm ignores the static address {text} of service "
                        f'"{s.name}": tasks get an address from the pool',
                        (*a.path, key),
                        hint="reach the service by its name, or drop swarm from targets",
                    )


@reports(error="swarm-depends-on", warning="swarm-depends-on")
def swarm_depends_on(topo: Topology) -> Iterator[Diagnostic]:
    """``depends_on``: the stack starts every service at once, healthy or not.

    ``depends_on: {db: {condition: service_healthy}}`` is an error, a plain
    ``depends_on: [db]`` a warning; the service must retry until its dependency answers.
    """
    for s in topo.services.values():
        for d in s.depends_on:
            make = warning if d.condition == "service_started" else error
            yield make(
                "swarm-depends-on",
                f'swarm ignores depends_on: "{s.name}" may start before '
                f'"{d.service}" is {d.condition.removeprefix("service_").replace("_", " ")}',
                d.path,
                at_key=True,
                hint="make the service retry its connection",
            )


@reports(error="swarm-bind-mount")
def swarm_bind_mount(topo: Topology) -> Iterator[Diagnostic]:
    """A bind source must exist on every node that may run the task (the stack never creates it).

    ``volumes: ["./html:/usr/share/nginx/html"]`` on a service not pinned to one node by
    ``deploy.placement.constraints: [node.hostname == NAME]``; a missing source fails the task.
    System paths every Docker node has (``/var/run/docker.sock``, ``/proc``, ...) are fine.
    """
    for s in topo.services.values():
        if pinned_node(s):
            continue
        for m in s.mounts:
            if m.type == "bind" and not _on_every_node(m.source or ""):
                yield error(
                    "swarm-bind-mount",
                    f'bind source {m.source} of service "{s.name}" must exist on every node',
                    source_path(m),
                    hint=_PIN_HINT,
                )
            elif (
                m.type == "volume" and (v := topo.volumes.get(m.source or "")) and v.kind == "bind"
            ):
                yield error(
                    "swarm-bind-mount",
                    f'volume "{v.key}" binds {v.host_path}, which must exist on '
                    f'every node that runs "{s.name}"',
                    source_path(m),
                    hint=_PIN_HINT,
                )


#: Host paths that every node running Docker has (agents mount them in global mode).
NODE_PATHS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/lib/docker",
    "/proc",
    "/sys",
    "/dev",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/hostname",
    "/etc/os-release",
)


def _on_every_node(source: str) -> bool:
    return any(source == p or source.startswith(p + "/") for p in NODE_PATHS)


_PIN_HINT = (
    "pin the service with deploy.placement.constraints: [node.hostname == NAME], or use a volume"
)


@reports(error="swarm-relative-volume-path")
def swarm_relative_volume_path(topo: Topology) -> Iterator[Diagnostic]:
    """A bind-backed volume with a relative path: the stack hands it to each node's engine as is.

    ``volumes: {site: {bind: {path: ./site}}}``: ``docker stack deploy`` resolves service bind
    sources against the file's folder but not a volume's ``device``; write an absolute path.
    """
    used = {m.source for s in topo.services.values() for m in s.mounts if m.type == "volume"}
    for v in topo.volumes.values():
        if (
            v.kind == "bind"
            and v.key in used
            and v.host_path
            and not v.host_path.startswith(("/", "$"))
        ):
            yield error(
                "swarm-relative-volume-path",
                f'volume "{v.key}" binds the relative path {v.host_path}, '
                "which the stack does not resolve",
                (*v.path, "bind", "path"),
                hint="write the absolute path that exists on the nodes",
            )


@reports(error="swarm-local-network")
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
            yield error(
                "swarm-local-network",
                f'{n.driver} network "{n.key}" is local to each node; services cannot use it',
                (*n.path, "driver"),
                hint="create a swarm-scoped network from a --config-only network and declare it external",
            )
        bridge_opts = [k for k, _ in n.driver_opts if k.startswith(BRIDGE_OPTION_PREFIX)]
        if n.driver == "bridge" and bridge_opts:
            yield error(
                "swarm-local-network",
                f'network "{n.key}" becomes an overlay in the stack, which '
                f"ignores the bridge option {bridge_opts[0]}",
                n.path,
                at_key=True,
                hint="drop the bridge options, or declare a swarm-scoped network external",
            )


@reports(error="swarm-network-mode")
def swarm_network_mode(topo: Topology) -> Iterator[Diagnostic]:
    """A ``network_mode`` other than host: the stack ignores it and attaches the default network.

    ``network_mode: "service:vpn"`` (host becomes the external ``host`` network).
    """
    for s in topo.services.values():
        if s.network_mode and s.network_mode != "host":
            yield error(
                "swarm-network-mode",
                f'swarm ignores network_mode "{s.network_mode}": service '
                f'"{s.name}" would join the stack\'s default network',
                (*s.path, "network_mode"),
            )


@reports(error="swarm-dnsrr-ingress")
def swarm_dnsrr_ingress(topo: Topology) -> Iterator[Diagnostic]:
    """``endpoint_mode: dnsrr`` with an ingress port: swarm refuses the service.

    ``deploy: {endpoint_mode: dnsrr}`` with ``ports: ["80:80"]`` (write ``mode: host``).
    """
    for s in topo.services.values():
        if s.deploy.endpoint_mode != "dnsrr":
            continue
        for p in s.ports:
            if p.mode != "host":
                yield error(
                    "swarm-dnsrr-ingress",
                    f'port {p.target} of service "{s.name}" uses the ingress '
                    "mesh, which dnsrr cannot serve",
                    p.path,
                    hint="use the long form with mode: host",
                )


@reports(error="swarm-replicas-global")
def swarm_replicas_global(topo: Topology) -> Iterator[Diagnostic]:
    """``replicas`` with a global mode: swarm runs one task per node and refuses the count.

    ``deploy: {mode: global, replicas: 3}``.
    """
    for s in topo.services.values():
        if s.replicas is not None and s.deploy.global_mode:
            yield error(
                "swarm-replicas-global",
                f"replicas can only be used with replicated or "
                f'replicated-job mode (service "{s.name}" is {s.deploy.mode})',
                (*s.path, "deploy", "replicas"),
            )


@reports(error="swarm-port-conflict")
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
                    yield error(
                        "swarm-port-conflict",
                        f'port {port}/{p.protocol} of service "{s.name}" is also '
                        f'published by "{first[1]}": swarm ignores host IPs',
                        p.path,
                        hint="publish a different port",
                    )
                    break


@reports(error="swarm-secret-source")
def swarm_secret_source(topo: Topology) -> Iterator[Diagnostic]:
    """A secret or config from ``environment`` or ``content``: the stack knows only file and external.

    ``secrets: {token: {environment: TOKEN}}``.
    """
    for g in (*topo.secrets.values(), *topo.configs.values()):
        if g.file is None and not g.external:
            key = (
                "environment"
                if g.environment is not None
                else "content"
                if g.content is not None
                else None
            )
            yield error(
                "swarm-secret-source",
                f'{g.kind} "{g.key}" needs a file or external source in a stack',
                (*g.path, key) if key else g.path,
                at_key=True,
                hint="write it to a file, or create it with docker " + g.kind + " create",
            )


@reports(error="swarm-image-required")
def swarm_image_required(topo: Topology) -> Iterator[Diagnostic]:
    """A service with ``build`` and no ``image``: the stack builds nothing and needs an image.

    ``web: {build: .}``.
    """
    for s in topo.services.values():
        if s.image is None:
            yield error(
                "swarm-image-required",
                f'service "{s.name}" needs an image in a stack',
                s.path,
                at_key=True,
                hint="build and push the image, and name it in image:",
            )
