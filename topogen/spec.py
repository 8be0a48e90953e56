"""Stage 2, spec: the topology language as Pydantic v2 input models.

Shape and types only: every model forbids unknown keys, and cross-field checks live in
:mod:`topogen.rules`, so that each diagnostic points at the exact field. Compose's own
vocabulary is used wherever Compose has a word; where Compose is stringly-typed (driver
options, local-volume ``o=`` strings) the language is typed and higher-level.

The JSON Schema printed by ``topogen schema`` is generated from these models.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

Scalar = str | int | float | bool


def _flag(value: Any) -> Any:
    """A boolean as Compose reads one: true/false (or a string Compose casts: yes, no, on, off);
    a number is not a boolean to Compose ("must be a boolean or string")."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str) and value.lower() in _FLAGS:
        return _FLAGS[value.lower()]
    raise ValueError(f"expected a boolean (true or false), got {value!r}")


_FLAGS = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "on": True,
    "off": False,
}
Flag = Annotated[bool, BeforeValidator(_flag)]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


StrMap = dict[str, str | int | float | bool | None]
Labels = Annotated[
    dict[str, str | int | float | bool | None] | list[str],
    Field(description="Labels, as a mapping or a list of KEY=VALUE strings."),
]
#: A Go duration (time.ParseDuration): a sign, then decimal numbers with units, or a bare 0.
_DURATION = re.compile(
    r"[-+]?(?:(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+|0)|\$\{[^}]+\}"
)


def _duration(value: str) -> str:
    if not _DURATION.fullmatch(value):
        raise ValueError(f"{value!r} is not a duration: write e.g. 30s, 1m30s or 500ms")
    return value


def _cpus(value: float | str) -> float | str:
    text = str(value)
    if text.startswith("${"):
        return value
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 <= number < float("inf"):
        raise ValueError(f"{value!r} is not a number of CPUs: write e.g. 0.5 or 2")
    return value


Duration = Annotated[
    str,
    AfterValidator(_duration),
    Field(description="A Go duration such as 30s, 1m30s or 500ms."),
]
Size = Annotated[str | int, Field(description="A byte size: a number of bytes or 100m, 1g, 512k.")]
Mode = Annotated[
    str | int,
    Field(description='A file mode in octal digits, such as "1777" or "0755" (quote it).'),
]


class Model(BaseModel):
    # defer_build: a model's validator is built on its first use, so validating a Topology
    # builds one validator for the whole tree instead of one per nested model at import
    # (~20 ms of every `topogen validate`).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --------------------------------------------------------------------------- networks


class Pool(Model):
    """One IPAM pool of a network."""

    subnet: str = Field(description="The pool in CIDR notation, e.g. 172.20.0.0/16 or fd00:1::/64.")
    ip_range: str | None = Field(
        None, description="Sub-range (CIDR) that the engine allocates dynamic addresses from."
    )
    gateway: str | None = Field(
        None, description="The gateway address; must lie inside the subnet."
    )
    aux_addresses: dict[str, str] | None = Field(
        None, description="Addresses the engine must not hand out, by host name."
    )


class IpamConfig(Model):
    """One entry of Compose's ``ipam.config`` (every key optional, as in Compose)."""

    subnet: str | None = Field(None, description="The pool in CIDR notation.")
    ip_range: str | None = Field(None, description="Sub-range that dynamic addresses come from.")
    gateway: str | None = Field(None, description="The gateway address.")
    aux_addresses: dict[str, str] | None = Field(
        None, description="Addresses the engine must not hand out, by host name."
    )


class Ipam(Model):
    """Compose's ``ipam`` block (the typed shorthand ``subnet:``/``subnets:`` lowers to it)."""

    driver: str | None = Field(None, description="IPAM driver (default: the engine's).")
    config: list[IpamConfig] | None = Field(None, description="The pools.")
    options: dict[str, str] | None = Field(None, description="IPAM driver options.")


class External(Model):
    """The deprecated object form of ``external`` (``external: {name: N}``)."""

    name: str | None = Field(None, description="Deprecated: the existing object's name.")


ExternalFlag = Annotated[
    Flag | External,
    Field(description="The object exists already; topogen does not create it."),
]


class Network(Model):
    """A network: a driver, its typed options and its IPAM configuration."""

    driver: str = Field(
        "bridge",
        description="bridge, overlay, macvlan, ipvlan or a third-party driver name. "
        "host and none are network modes of a service, not networks.",
    )
    name: str | None = Field(
        None, description="The engine's name for the network (default: <project>_<key>)."
    )
    external: ExternalFlag = False
    internal: Flag = Field(
        False, description="No route to the outside world; published ports are unreachable."
    )
    attachable: Flag | None = Field(
        None, description="Overlay only: let standalone (Compose) containers join."
    )
    enable_ipv6: Flag | None = Field(None, description="Allocate the IPv6 pools of this network.")
    enable_ipv4: Flag | None = Field(None, description="Enable IPv4 (Engine 28+).")
    ipam: Ipam | None = Field(
        None, description="Compose's IPAM block (or use the subnet shorthand)."
    )
    subnet: str | None = Field(None, description="Shorthand for the first IPAM pool: its subnet.")
    ip_range: str | None = Field(None, description="Shorthand: ip_range of the first pool.")
    gateway: str | None = Field(None, description="Shorthand: gateway of the first pool.")
    aux_addresses: dict[str, str] | None = Field(
        None, description="Shorthand: aux_addresses of the first pool."
    )
    subnets: list[Pool] | None = Field(None, description="Further IPAM pools (e.g. an IPv6 one).")
    ipam_driver: str | None = Field(None, description="IPAM driver (default: the engine's).")
    ipam_options: dict[str, str] | None = Field(None, description="IPAM driver options.")
    mtu: int | None = Field(None, description="Interface MTU (com.docker.network.driver.mtu).")
    bridge_name: str | None = Field(
        None, description="bridge: the Linux interface name (at most 15 characters)."
    )
    icc: Flag | None = Field(
        None, description="bridge: inter-container communication (default true)."
    )
    ip_masquerade: Flag | None = Field(
        None, description="bridge: masquerade outgoing traffic (default true)."
    )
    host_binding_ipv4: str | None = Field(
        None, description="bridge: default host IP for published ports."
    )
    parent: str | None = Field(
        None, description="macvlan/ipvlan: the parent interface, e.g. eth0 or eth0.50."
    )
    macvlan_mode: Literal["bridge", "vepa", "passthru", "private"] | None = Field(
        None, description="macvlan: the mode (default bridge)."
    )
    ipvlan_mode: Literal["l2", "l3", "l3s"] | None = Field(
        None, description="ipvlan: the mode (default l2)."
    )
    ipvlan_flag: Literal["bridge", "private", "vepa"] | None = Field(
        None, description="ipvlan: the flag (default bridge)."
    )
    encrypted: Flag | None = Field(
        None, description="overlay: IPsec encryption of the data plane. Only true emits the option."
    )
    driver_opts: StrMap | None = Field(
        None, description="Raw driver options, merged over the typed ones."
    )
    labels: Labels | None = Field(None, description="Labels of the network.")


# --------------------------------------------------------------------------- volumes


class Nfs(Model):
    """An NFS export mounted by the local driver."""

    server: str = Field(description="NFS server address or host name (addr=).")
    path: str = Field(description="The exported path on the server, e.g. /exports/uploads.")
    options: list[str] = Field(
        default_factory=list, description="Further mount options, e.g. [rw, nfsvers=4]."
    )


class Cifs(Model):
    """A CIFS/SMB share mounted by the local driver."""

    server: str = Field(description="The file server's address or host name.")
    share: str = Field(description="The share name (device //server/share).")
    username: str | None = Field(None, description="User name.")
    password: str | None = Field(
        None, description="Password: write a ${VAR} reference, never the password itself."
    )
    domain: str | None = Field(None, description="Windows domain.")
    options: list[str] = Field(
        default_factory=list, description="Further mount options, e.g. [vers=3.0]."
    )


class TmpfsVolume(Model):
    """A memory-backed named volume (data is lost when it is unmounted)."""

    size: Size | None = Field(None, description="Size limit of the tmpfs, e.g. 100m.")
    uid: int | None = Field(None, description="Owner uid of the mount root.")
    gid: int | None = Field(None, description="Owner gid of the mount root.")
    mode: Mode | None = Field(None, description="Mode of the mount root, in octal digits.")


class BindVolume(Model):
    """A named volume backed by a host directory (local driver, o=bind)."""

    path: str = Field(
        description="The host directory; relative paths are resolved against the topology file."
    )


class Device(Model):
    """A block device with an existing filesystem, mounted by the local driver."""

    path: str = Field(
        description="The device, e.g. /dev/sdb1 (it must already carry the filesystem)."
    )
    fs: str = Field("ext4", description="The filesystem type (type=).")
    options: list[str] = Field(
        default_factory=list, description="Mount options, e.g. [noatime, nodiratime]."
    )


class Volume(Model):
    """A named volume. At most one of nfs, cifs, tmpfs, bind, device, driver describes its kind;
    none means a plain local volume."""

    name: str | None = Field(None, description="The engine's name (default: <project>_<key>).")
    external: ExternalFlag = False
    nfs: Nfs | None = Field(None, description="An NFS export (local driver, type=nfs).")
    cifs: Cifs | None = Field(None, description="A CIFS/SMB share (local driver, type=cifs).")
    tmpfs: TmpfsVolume | None = Field(
        None, description="A memory-backed volume (local driver, type=tmpfs)."
    )
    bind: BindVolume | None = Field(
        None, description="A host directory as a named volume (local driver, o=bind)."
    )
    device: Device | None = Field(
        None, description="A block device with an existing filesystem (local driver)."
    )
    driver: str | None = Field(
        None, description="A volume plugin driver, e.g. rexray/ebs (default: local)."
    )
    driver_opts: StrMap | None = Field(None, description="Raw driver options.")
    labels: Labels | None = Field(None, description="Labels of the volume.")


# --------------------------------------------------------------------------- secrets / configs


class Secret(Model):
    """A secret: from a file, an environment variable, or external."""

    file: str | None = Field(None, description="Path of the file holding the secret.")
    environment: str | None = Field(
        None, description="Name of an environment variable holding the secret."
    )
    external: ExternalFlag = False
    name: str | None = Field(None, description="The engine's name of the secret.")
    labels: Labels | None = Field(None, description="Labels of the secret.")
    driver: str | None = Field(None, description="Secret driver.")
    driver_opts: StrMap | None = Field(None, description="Secret driver options.")
    template_driver: str | None = Field(None, description="Templating driver.")


class Config(Model):
    """A config: from a file, an environment variable, inline content, or external."""

    file: str | None = Field(None, description="Path of the file holding the config.")
    environment: str | None = Field(
        None, description="Name of an environment variable holding the config."
    )
    content: str | None = Field(None, description="Inline content.")
    external: ExternalFlag = False
    name: str | None = Field(None, description="The engine's name of the config.")
    labels: Labels | None = Field(None, description="Labels of the config.")
    template_driver: str | None = Field(None, description="Templating driver.")


class FileRef(Model):
    """Long form of a secret or config granted to a service."""

    source: str = Field(description="The secret or config, by its key.")
    target: str | None = Field(
        None, description="Path in the container (default /run/secrets/<source> or /<source>)."
    )
    uid: str | int | None = Field(None, description="Owner uid of the file in the container.")
    gid: str | int | None = Field(None, description="Owner gid of the file in the container.")
    mode: Mode | None = Field(None, description='File mode in octal digits, e.g. "0440".')


# --------------------------------------------------------------------------- services


class ServiceNetwork(Model):
    """A service's attachment to one network."""

    ipv4_address: str | None = Field(
        None, description="Static IPv4 address (needs a declared subnet)."
    )
    ipv6_address: str | None = Field(None, description="Static IPv6 address (needs enable_ipv6).")
    aliases: list[str] | None = Field(None, description="Extra DNS names on this network.")
    mac_address: str | None = Field(None, description="MAC address on this network.")
    priority: int | float | None = Field(None, description="Connection order (higher first).")
    gw_priority: int | float | None = Field(
        None, description="The network with the highest value gives the default gateway."
    )
    link_local_ips: list[str] | None = Field(None, description="Link-local IPs.")
    driver_opts: StrMap | None = Field(None, description="Driver options for this attachment.")
    interface_name: str | None = Field(None, description="Interface name in the container.")
    use_service_name_alias: Flag | None = Field(
        None, description="Register the service name as an alias (default true)."
    )


class Port(Model):
    """Long form of a published port."""

    target: int | str = Field(description="Container port or range.")
    published: int | str | None = Field(None, description="Host port or range (default: random).")
    host_ip: str | None = Field(None, description="Host address to bind.")
    protocol: Annotated[Literal["tcp", "udp", "sctp"], BeforeValidator(_lower)] = Field(
        "tcp", description="tcp (default), udp or sctp (Compose reads any case)."
    )
    mode: Literal["ingress", "host"] | None = Field(
        None, description="Swarm only: ingress (mesh) or host."
    )
    name: str | None = Field(None, description="A human-readable name for the port.")
    app_protocol: str | None = Field(
        None, description="The application protocol, e.g. http or grpc."
    )


class BindOptions(Model):
    """Compose's ``bind:`` block of a long-form mount."""

    propagation: str | None = Field(None, description="Mount propagation mode.")
    create_host_path: Flag | None = Field(None, description="Create a missing host path.")
    selinux: Literal["z", "Z"] | None = Field(None, description="SELinux relabel (z or Z).")
    recursive: str | None = Field(None, description="Recursive read-only mode.")


class VolumeOptions(Model):
    """Compose's ``volume:`` block of a long-form mount."""

    nocopy: Flag | None = Field(None, description="Do not copy the image's content.")
    subpath: str | None = Field(None, description="Mount a sub-directory of the volume.")
    labels: Labels | None = Field(None, description="Labels of an anonymous volume.")


class TmpfsOptions(Model):
    """Compose's ``tmpfs:`` block of a long-form mount."""

    size: Size | None = Field(None, description="Size limit.")
    mode: Mode | None = Field(None, description="Mode of the mount root.")


class ImageOptions(Model):
    """Compose's ``image:`` block of a long-form mount."""

    subpath: str | None = Field(None, description="Path inside the image.")


class Mount(Model):
    """A mount: a named volume, a host path (bind) or a tmpfs. Compose's long form, and
    topogen's flat typed form (``propagation``, ``size``... at the top)."""

    type: Literal["volume", "bind", "tmpfs", "npipe", "cluster", "image"] = Field(
        "volume", description="volume (default), bind or tmpfs (also npipe, cluster, image)."
    )
    source: str | None = Field(
        None, description="Volume name (volume) or host path (bind; relative to the topology)."
    )
    target: str = Field(description="Absolute path in the container.")
    read_only: Flag = Field(False, description="Mount read-only.")
    nocopy: Flag | None = Field(
        None, description="volume: do not copy the image's content into a new volume."
    )
    subpath: str | None = Field(None, description="volume: mount a sub-directory of the volume.")
    propagation: Literal["rprivate", "private", "rshared", "shared", "rslave", "slave"] | None = (
        Field(None, description="bind: mount propagation mode.")
    )
    create_host_path: Flag | None = Field(
        None, description="bind: create a missing host path (Compose default true)."
    )
    selinux: Literal["z", "Z"] | None = Field(
        None, description="bind: SELinux relabel, shared (z) or private (Z)."
    )
    size: Size | None = Field(None, description="tmpfs: size limit.")
    mode: Mode | None = Field(None, description="tmpfs: mode of the mount root.")
    consistency: str | None = Field(None, description="Mount consistency (Docker Desktop).")
    bind: BindOptions | None = Field(None, description="Compose's bind options block.")
    volume: VolumeOptions | None = Field(None, description="Compose's volume options block.")
    tmpfs: TmpfsOptions | None = Field(None, description="Compose's tmpfs options block.")
    image: ImageOptions | None = Field(None, description="Compose's image options block.")


class DependsOn(Model):
    """Long form of a dependency."""

    condition: Literal["service_started", "service_healthy", "service_completed_successfully"] = (
        Field(
            "service_started",
            description="Wait until the dependency has started, is healthy, or completed successfully.",
        )
    )
    restart: Flag | None = Field(
        None, description="Restart this service when the dependency is updated."
    )
    required: Flag | None = Field(
        None, description="false: start even when the dependency is missing or failed."
    )


class EnvFile(Model):
    """Long form of an env file."""

    path: str = Field(description="The file, relative to the topology file.")
    required: Flag = Field(True, description="false: a missing file is skipped.")
    format: str | None = Field(None, description="An alternative file format.")


class Healthcheck(Model):
    test: str | list[str] | None = Field(
        None, description='The check: a shell string or ["CMD", ...].'
    )
    interval: Duration | None = Field(None, description="Time between checks.")
    timeout: Duration | None = Field(
        None, description="Time after which one check counts as failed."
    )
    retries: int | None = Field(
        None, ge=0, description="Consecutive failures needed to report unhealthy."
    )
    start_period: Duration | None = Field(
        None, description="Start-up time during which failures do not count."
    )
    start_interval: Duration | None = Field(
        None, description="Time between checks during the start period."
    )
    disable: Flag | None = Field(None, description="Disable the image's own health check.")


class Build(Model):
    context: str | None = Field(
        None, description="Build context directory (default .), relative to the file."
    )
    dockerfile: str | None = Field(None, description="Dockerfile, relative to the context.")
    args: StrMap | list[str] | None = Field(None, description="Build arguments.")
    target: str | None = Field(None, description="The stage to build in a multi-stage Dockerfile.")
    labels: Labels | None = Field(None, description="Labels of the built image.")
    cache_from: list[str] | None = Field(None, description="Images to use as cache sources.")
    network: str | None = Field(None, description="Network for RUN instructions during the build.")
    dockerfile_inline: str | None = Field(None, description="The Dockerfile's content, inline.")
    entitlements: list[str] | None = Field(None, description="Extra privileged entitlements.")
    ssh: Any = Field(None, description="SSH agent sockets or keys for the build.")
    cache_to: list[str] | None = Field(None, description="Cache destinations.")
    no_cache: Flag | None = Field(None, description="Build without the cache.")
    no_cache_filter: str | list[str] | None = Field(None, description="Stages built without cache.")
    additional_contexts: Any = Field(None, description="Named additional build contexts.")
    provenance: Any = Field(None, description="Provenance attestation.")
    sbom: Any = Field(None, description="SBOM attestation.")
    pull: Flag | None = Field(None, description="Always pull newer base images.")
    shm_size: Size | None = Field(None, description="Size of /dev/shm during the build.")
    extra_hosts: dict[str, Any] | list[Any] | None = Field(
        None, description="Host name mappings during the build."
    )
    isolation: str | None = Field(None, description="Isolation technology of the build.")
    privileged: Flag | None = Field(None, description="Privileged build container.")
    secrets: list[str | FileRef] | None = Field(None, description="Secrets exposed to the build.")
    tags: list[str] | None = Field(None, description="Further tags of the built image.")
    ulimits: dict[str, Any] | None = Field(None, description="Ulimits of the build container.")
    platforms: list[str] | None = Field(None, description="Platforms to build for.")


class Resources(Model):
    cpus: Annotated[float | str, AfterValidator(_cpus)] | None = Field(
        None, description="CPUs, e.g. 0.5."
    )
    memory: Size | None = Field(None, description="Memory, e.g. 512m.")
    pids: int | None = Field(None, description="Maximum number of processes.")
    generic_resources: Any = Field(None, description="Reservations: user-defined resources.")
    devices: list[Any] | None = Field(
        None, description="Reservations: devices (GPUs), by capabilities."
    )


class Limits(Model):
    limits: Resources | None = Field(None, description="Upper limits.")
    reservations: Resources | None = Field(None, description="Guaranteed reservations.")


class Placement(Model):
    constraints: list[str] | None = Field(
        None, description="Swarm placement constraints, e.g. node.role==worker."
    )
    preferences: list[dict[str, str]] | None = Field(
        None, description='e.g. [{spread: "node.labels.zone"}]'
    )
    max_replicas_per_node: int | None = Field(
        None, ge=0, description="Swarm: at most this many replicas per node."
    )


class RestartPolicy(Model):
    condition: str | None = Field(
        None, description="none, on-failure or any (Compose also reads unless-stopped)."
    )
    delay: Duration | None = Field(None, description="Wait between restart attempts.")
    max_attempts: int | None = Field(None, ge=0, description="Give up after this many attempts.")
    window: Duration | None = Field(
        None, description="How long to wait before deciding a restart succeeded."
    )


class UpdateConfig(Model):
    parallelism: int | None = Field(None, ge=0, description="Containers updated at once.")
    delay: Duration | None = Field(None, description="Wait between updating groups.")
    failure_action: str | None = Field(None, description="continue, rollback or pause on failure.")
    monitor: Duration | None = Field(
        None, description="Time to watch each task for failure after an update."
    )
    max_failure_ratio: float | str | None = Field(None, description="Failure rate to tolerate.")
    order: Literal["start-first", "stop-first"] | None = Field(
        None, description="stop-first (default) or start-first."
    )


class Deploy(Model):
    mode: str | None = Field(
        None, description="replicated (default), global, replicated-job or global-job."
    )
    replicas: int | None = Field(None, ge=0, description="Number of containers (replicated mode).")
    endpoint_mode: str | None = Field(
        None, description="Swarm service discovery: vip (default) or dnsrr."
    )
    resources: Limits | None = Field(None, description="Resource limits and reservations.")
    placement: Placement | None = Field(None, description="Swarm placement of tasks.")
    restart_policy: RestartPolicy | None = Field(
        None, description="Restart policy (swarm; Compose reads it too)."
    )
    update_config: UpdateConfig | None = Field(None, description="Swarm rolling-update settings.")
    rollback_config: UpdateConfig | None = Field(None, description="Swarm rollback settings.")
    labels: Labels | None = Field(
        None, description="Labels on the swarm service (not the containers)."
    )


class Logging(Model):
    driver: str | None = Field(None, description="Logging driver, e.g. json-file, syslog.")
    options: dict[str, str | int | float | None] | None = Field(
        None, description="Logging driver options, e.g. max-size."
    )


class Ulimit(Model):
    soft: int | str = Field(description="Soft limit.")
    hard: int | str = Field(description="Hard limit.")


class Service(Model):
    """A service: Compose's vocabulary, with typed ports, networks and mounts."""

    image: str | None = Field(None, description="The image to run.")
    build: str | Build | None = Field(None, description="Build context (string) or build options.")
    command: str | list[str] | None = Field(
        None, description="Overrides the image's command: a shell string or an argument list."
    )
    entrypoint: str | list[str] | None = Field(
        None, description="Overrides the image's entrypoint."
    )
    environment: StrMap | list[str] | None = Field(
        None,
        description="Environment: a mapping or KEY=VALUE list. ${VAR} is interpolated by Compose.",
    )
    env_file: str | list[str | EnvFile] | None = Field(
        None, description="Files of KEY=VALUE lines, relative to the topology file."
    )
    ports: list[int | str | Port] | None = Field(
        None, description='Published ports: "[IP:][HOST:]CONTAINER[/PROTO]" strings or long form.'
    )
    expose: list[int | str] | None = Field(
        None, description="Container ports exposed to linked services only."
    )
    networks: list[str] | dict[str, ServiceNetwork | None] | None = Field(
        None, description="Networks to join: a list of names, or a map to per-network settings."
    )
    network_mode: str | None = Field(
        None, description="host, none, bridge, service:NAME or container:NAME."
    )
    mounts: list[Mount] | None = Field(None, description="Mounts in typed long form.")
    volumes: list[str | Mount] | None = Field(
        None, description="Compose-style mounts: SRC:DST[:OPTS] strings or the long form."
    )
    tmpfs: str | list[str] | None = Field(None, description="tmpfs shorthand: PATH[:OPTS].")
    depends_on: list[str] | dict[str, DependsOn | None] | None = Field(
        None, description="Services to start first: a list, or a map to conditions."
    )
    healthcheck: Healthcheck | None = Field(
        None, description="How the engine checks the container is healthy."
    )
    restart: str | None = Field(None, description="no, always, on-failure[:N] or unless-stopped.")
    deploy: Deploy | None = Field(
        None, description="Replicas, resources, placement and restart policy."
    )
    labels: Labels | None = Field(None, description="Container labels.")
    container_name: str | None = Field(
        None, description="A fixed container name (one replica only)."
    )
    hostname: str | None = Field(None, description="The container's host name (RFC 1123).")
    domainname: str | None = Field(None, description="The container's domain name.")
    user: str | int | None = Field(None, description="User (and group) to run as.")
    working_dir: str | None = Field(None, description="Working directory in the container.")
    dns: str | list[str] | None = Field(None, description="DNS server IP addresses.")
    dns_search: str | list[str] | None = Field(None, description="DNS search domains.")
    extra_hosts: list[str] | dict[str, str | list[str]] | None = Field(
        None, description="Extra /etc/hosts entries: HOST=IP list or a HOST: IP map."
    )
    mac_address: str | None = Field(None, description="Prefer networks.<n>.mac_address.")
    cap_add: list[str] | None = Field(None, description="Linux capabilities to add.")
    cap_drop: list[str] | None = Field(None, description="Linux capabilities to drop.")
    privileged: Flag | None = Field(None, description="Run privileged (full access to the host).")
    read_only: Flag | None = Field(
        None, description="Mount the container's root filesystem read-only."
    )
    security_opt: list[str] | None = Field(
        None, description="Security options, e.g. no-new-privileges:true."
    )
    sysctls: dict[str, str | int | float | bool | None] | list[str] | None = Field(
        None, description="Kernel parameters in the container's namespaces."
    )
    ulimits: dict[str, int | str | Ulimit] | None = Field(
        None, description="Resource limits: a number, or soft and hard."
    )
    logging: Logging | None = Field(None, description="Logging driver and options.")
    profiles: list[str] | None = Field(
        None, description="Compose profiles that enable this service."
    )
    secrets: list[str | FileRef] | None = Field(
        None, description="Secrets granted: names or the long form."
    )
    configs: list[str | FileRef] | None = Field(
        None, description="Configs granted: names or the long form."
    )
    links: list[str] | None = Field(
        None, description="Legacy links SERVICE[:ALIAS]; prefer aliases."
    )
    init: Flag | None = Field(None, description="Run an init process as PID 1.")
    stop_grace_period: Duration | None = Field(
        None, description="Time to wait after the stop signal before killing."
    )
    stop_signal: str | None = Field(None, description="Signal that stops the container.")
    tty: Flag | None = Field(None, description="Allocate a pseudo-TTY.")
    stdin_open: Flag | None = Field(None, description="Keep stdin open.")
    shm_size: Size | None = Field(None, description="Size of /dev/shm.")
    cpus: Annotated[float | str, AfterValidator(_cpus)] | None = Field(
        None, description="CPU limit, e.g. 0.5 (swarm: lowered to deploy.resources.limits.cpus)."
    )
    mem_limit: Size | None = Field(
        None, description="Memory limit, e.g. 512m (swarm: deploy.resources.limits.memory)."
    )
    mem_reservation: Size | None = Field(
        None, description="Memory reservation (swarm: deploy.resources.reservations.memory)."
    )
    pids_limit: int | float | str | None = Field(
        None, description="Maximum number of processes (swarm: deploy.resources.limits.pids)."
    )
    cpu_shares: int | float | str | None = Field(
        None, description="Relative CPU weight (default 1024); Compose only."
    )
    annotations: dict[str, Any] | list[Any] | None = Field(
        None, description="See the Compose Specification."
    )
    attach: Flag | str | None = Field(None, description="See the Compose Specification.")
    blkio_config: dict[str, Any] | None = Field(
        None, description="Block IO configuration for the service."
    )
    cgroup: str | None = Field(None, description="Specify the cgroup namespace to join.")
    cgroup_parent: str | None = Field(
        None, description="Specify an optional parent cgroup for the container."
    )
    cpu_count: str | int | None = Field(None, description="Number of usable CPUs.")
    cpu_percent: str | int | None = Field(None, description="Percentage of CPU resources to use.")
    cpu_period: int | float | str | None = Field(
        None, description="Limit the CPU CFS (Completely Fair Scheduler) period."
    )
    cpu_quota: int | float | str | None = Field(
        None, description="Limit the CPU CFS (Completely Fair Scheduler) quota."
    )
    cpu_rt_period: int | float | str | None = Field(
        None, description="Limit the CPU real-time period in microseconds or a duration."
    )
    cpu_rt_runtime: int | float | str | None = Field(
        None, description="Limit the CPU real-time runtime in microseconds or a duration."
    )
    cpuset: str | None = Field(None, description="CPUs in which to allow execution (0-3, 0,1).")
    credential_spec: dict[str, Any] | None = Field(
        None, description="Configure the credential spec for managed service account."
    )
    develop: dict[str, Any] | None = Field(None, description="See the Compose Specification.")
    device_cgroup_rules: list[Any] | None = Field(
        None, description="Add rules to the cgroup allowed devices list."
    )
    devices: list[Any] | None = Field(
        None, description="List of device mappings for the container."
    )
    dns_opt: list[Any] | None = Field(
        None, description="Custom DNS options to be passed to the container's DNS resolver."
    )
    extends: str | dict[str, Any] | None = Field(
        None, description="Extend another service, in the current file or another file."
    )
    external_links: list[Any] | None = Field(
        None, description="Link to services started outside this Compose application."
    )
    gpus: str | list[Any] | None = Field(None, description="Define GPU devices to use.")
    group_add: list[Any] | None = Field(
        None,
        description="Add additional groups which user inside the container should be member of.",
    )
    ipc: str | None = Field(None, description="IPC sharing mode for the service container.")
    isolation: str | None = Field(None, description="Container isolation technology to use.")
    label_file: str | list[Any] | None = Field(
        None, description="Add metadata to containers using files containing Docker labels."
    )
    mem_swappiness: int | str | None = Field(
        None, description="Container memory swappiness as percentage (0 to 100)."
    )
    memswap_limit: int | str | None = Field(
        None, description="Amount of memory the container is allowed to swap to disk."
    )
    models: list[Any] | dict[str, Any] | None = Field(
        None, description="AI Models to use, referencing entries under the top-level models key."
    )
    oom_kill_disable: Flag | str | None = Field(
        None, description="Disable OOM Killer for the container."
    )
    oom_score_adj: str | int | None = Field(
        None, description="Tune host's OOM preferences for the container (accepts -1000 to 1000)."
    )
    pid: str | None = Field(None, description="PID mode for container.")
    platform: str | None = Field(
        None,
        description="Target platform to run on, e.g., 'linux/amd64', 'linux/arm64', or 'windows/amd64'.",
    )
    post_start: list[Any] | None = Field(
        None, description="Commands to run after the container starts."
    )
    pre_start: list[Any] | None = Field(
        None,
        description="Init containers to run to completion before the service container is started.",
    )
    pre_stop: list[Any] | None = Field(
        None, description="Commands to run before the container stops."
    )
    provider: dict[str, Any] | None = Field(
        None,
        description="Specify a service which will not be manage by Compose directly, and delegate its management to an external provider.",
    )
    pull_policy: str | None = Field(None, description="Policy for pulling images.")
    pull_refresh_after: str | None = Field(
        None, description="Time after which to refresh the image."
    )
    runtime: str | None = Field(
        None, description="Runtime to use for this container, e.g., 'runc'."
    )
    scale: int | str | None = Field(
        None, description="Number of containers to deploy for this service."
    )
    storage_opt: dict[str, Any] | None = Field(
        None, description="Storage driver options for the container."
    )
    umask: int | str | None = Field(
        None, description="Set the initial umask for the container process."
    )
    use_api_socket: Flag | None = Field(
        None, description="Bind mount Docker API socket and required auth."
    )
    userns_mode: str | None = Field(None, description="User namespace to use.")
    uts: str | None = Field(None, description="UTS namespace to use.")
    volumes_from: list[Any] | None = Field(
        None, description="Mount volumes from another service or container."
    )
    x_compose: dict[str, Any] | None = Field(
        None,
        alias="x-compose",
        description="Keys passed verbatim into this service in docker-compose.yml.",
    )
    x_swarm: dict[str, Any] | None = Field(
        None,
        alias="x-swarm",
        description="Keys passed verbatim into this service in docker-stack.yml.",
    )


# --------------------------------------------------------------------------- policies


class Edge(Model):
    """Traffic from one endpoint to another. Endpoints are services, host or external."""

    from_: str = Field(alias="from", description="A service, host (the Docker host) or external.")
    to: str = Field(description="A service, host or external.")
    port: int | None = Field(None, description="Only this port.")
    protocol: Literal["tcp", "udp"] = Field("tcp", description="tcp (default) or udp.")


class Policy(Model):
    """One statement of intent that ``topogen validate`` proves. Exactly one key."""

    allow: Edge | None = Field(None, description="This traffic must be possible.")
    deny: Edge | None = Field(None, description="This traffic must be impossible.")
    isolated: str | None = Field(
        None, description="The service reaches and is reached by no other service."
    )
    no_egress: str | None = Field(None, description="The service cannot reach external.")
    description: str | None = Field(
        None, description="Why this policy exists, shown with violations."
    )


class Suppression(Model):
    """An accepted warning, with its reason (topogen.suppress). Without ``at``, ``service``,
    ``network`` or ``volume``, every finding of the rule in the project."""

    rule: str = Field(description="The rule id, as a diagnostic ends with it: (rule-id).")
    reason: str | None = Field(None, description="Why the finding is acceptable (required).")
    at: str | list[str | int] | None = Field(
        None, description="Only findings at or under this path, e.g. services.web.volumes[0]."
    )
    service: str | None = Field(None, description="Only findings about this service.")
    network: str | None = Field(None, description="Only findings about this network.")
    volume: str | None = Field(None, description="Only findings about this volume.")


class Synthesize(Model):
    """Ask topogen to design the networks of the services that write no ``networks:``."""

    pool: str | None = Field(
        None,
        description="IPv4 pool the generated subnets (and subnet: auto) come from; default "
        "10.192.0.0/10.",
    )
    prefix: int | None = Field(
        None, ge=8, le=30, description="Size of each generated subnet; default 24."
    )
    needs: bool = Field(
        True, description="Also carry the needed connections topogen infers (default true)."
    )
    egress: list[str] = Field(
        default_factory=list, description="Services that must reach external (the internet)."
    )


# --------------------------------------------------------------------------- topology


def _compose_only() -> list[Literal["compose", "swarm"]]:
    return ["compose"]


class Topology(Model):
    """A topology: networks, volumes and services, compiled to Compose and swarm stack files."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="topogen topology")

    name: str | None = Field(
        None,
        description="The project name (lowercase letters, digits, - and _); default: derived from the "
        "folder, as Compose derives it.",
    )
    version: Any = Field(
        None, description="Obsolete in Compose; accepted and ignored, with a warning."
    )
    include: Any = Field(None, description="Compose files to include.")
    models: list[Any] | dict[str, Any] | None = Field(None, description="AI models (Compose).")
    jobs: Any = Field(None, description="Jobs (newer Compose Specification).")
    description: str | None = Field(None, description="What this topology is for.")
    targets: list[Literal["compose", "swarm"]] = Field(
        default_factory=_compose_only, description="What to emit: compose, swarm or both."
    )
    networks: dict[str, Network | None] = Field(
        default_factory=dict, description="Networks by key."
    )
    volumes: dict[str, Volume | None] = Field(
        default_factory=dict, description="Named volumes by key."
    )
    secrets: dict[str, Secret] = Field(default_factory=dict, description="Secrets by key.")
    configs: dict[str, Config] = Field(default_factory=dict, description="Configs by key.")
    services: dict[str, Service] = Field(default_factory=dict, description="Services by name.")
    policies: list[Policy] = Field(
        default_factory=list, description="Reachability intent, proven by validate."
    )
    ignore: list[Suppression] = Field(
        default_factory=list, description="Accepted warnings, each with its reason."
    )
    synthesize: Synthesize | None = Field(
        None,
        description="Generate the networks of services without networks: from the intent "
        "(allow policies, needed connections).",
    )
