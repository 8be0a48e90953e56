"""The resolved topology: frozen dataclasses with defaults filled, values parsed and sorted.

This is the intermediate representation between the spec and everything after it (rules,
analyses, emitters). Every element remembers the path it came from, so a diagnostic about
it points at the exact line of the topology.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Path
from .units import size_bytes

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Pairs = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Pool:
    subnet_text: str
    subnet: IPNetwork | None  # None when the text is not a valid CIDR
    ip_range: IPNetwork | None
    gateway: IPAddress | None
    aux_addresses: tuple[tuple[str, IPAddress | None, str], ...]  # (name, parsed, text)
    path: Path
    ip_range_text: str | None = None
    gateway_text: str | None = None


@dataclass(frozen=True)
class Network:
    key: str
    name: str  # the engine's name
    driver: str
    external: bool
    internal: bool
    attachable: bool | None
    enable_ipv6: bool | None
    pools: tuple[Pool, ...]
    ipam_driver: str | None
    ipam_options: Pairs
    driver_opts: Pairs  # typed options lowered, then raw driver_opts merged over them
    labels: Pairs
    path: Path
    implicit: bool = False  # Compose's "default" network, not declared by the user
    icc: bool = True
    bridge_name: str | None = None
    mtu: int | None = None
    parent: str | None = None
    encrypted: bool = False
    raw_driver_opts: frozenset[str] = (
        frozenset()
    )  # keys written in raw driver_opts (vs typed fields)


@dataclass(frozen=True)
class Volume:
    key: str
    name: str | None
    kind: str  # local | nfs | cifs | tmpfs | bind | device | plugin
    driver: str | None
    driver_opts: Pairs
    external: bool
    labels: Pairs
    path: Path
    host_path: str | None = None  # bind-backed: the host directory as written
    raw_driver_opts: frozenset[str] = (
        frozenset()
    )  # keys written in raw driver_opts (vs typed fields)
    options: tuple[str, ...] = ()  # nfs/cifs/device: the typed mount options list as written


@dataclass(frozen=True)
class Attachment:
    network: str
    ipv4_address: IPAddress | None
    ipv6_address: IPAddress | None
    aliases: tuple[str, ...]
    mac_address: str | None
    priority: int | None
    path: Path
    ipv4_text: str | None = None
    ipv6_text: str | None = None


@dataclass(frozen=True)
class PortRange:
    start: int
    end: int

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


@dataclass(frozen=True)
class Port:
    target: PortRange
    published: PortRange | None
    host_ip: str | None
    protocol: str
    path: Path
    mode: str | None = None
    name: str | None = None
    app_protocol: str | None = None
    long_form: bool = False


@dataclass(frozen=True)
class Mount:
    type: str  # volume | bind | tmpfs
    source: str | None
    target: str
    read_only: bool
    path: Path
    nocopy: bool | None = None
    subpath: str | None = None
    propagation: str | None = None
    create_host_path: bool | None = None
    selinux: str | None = None
    size: str | int | None = None
    mode: int | None = None  # tmpfs mode, as a number
    from_tmpfs_key: bool = False  # declared with the service's ``tmpfs`` shorthand
    tmpfs_options: str | None = None


@dataclass(frozen=True)
class Dependency:
    service: str
    condition: str
    restart: bool | None
    required: bool | None
    path: Path


@dataclass(frozen=True)
class FileGrant:
    source: str
    target: str | None
    uid: str | None
    gid: str | None
    mode: int | None
    path: Path
    long_form: bool


@dataclass(frozen=True)
class Resources:
    """One ``deploy.resources`` block (``limits`` or ``reservations``)."""

    cpus: float | str | None = None
    memory: int | str | None = None  # as written: bytes or "512m" (or a ${VAR})
    pids: int | None = None

    @property
    def memory_bytes(self) -> int | None:
        """The memory in bytes (None when unset, interpolated or not a size)."""
        return size_bytes(self.memory) if self.memory is not None else None


@dataclass(frozen=True)
class Deploy:
    """``deploy``: the fields topogen reasons about, typed; ``written`` is the block in
    Compose's spelling, which the swarm lowering carries over key by key."""

    mode: str | None = None
    replicas: int | None = None
    endpoint_mode: str | None = None
    limits: Resources | None = None
    reservations: Resources | None = None
    constraints: tuple[str, ...] = ()
    max_replicas_per_node: int | None = None
    written: Mapping[str, Any] = field(default_factory=dict)

    def resources(self, kind: str) -> Resources | None:
        """``limits`` or ``reservations``."""
        return (
            self.limits
            if kind == "limits"
            else self.reservations
            if kind == "reservations"
            else None
        )

    @property
    def global_mode(self) -> bool:
        """``global`` or ``global-job``: one task per node."""
        return (self.mode or "").startswith("global")


@dataclass(frozen=True)
class Healthcheck:
    """``healthcheck``: the test, whether it is disabled, its durations as written."""

    test: str | tuple[str, ...] | None
    disable: bool
    retries: int | None
    durations: Pairs  # (interval | timeout | start_period | start_interval, as written)
    written: Mapping[str, Any]

    @property
    def disabled(self) -> bool:
        """``disable: true``, or a test of ``NONE``: the image's own check is off too."""
        return (
            self.disable
            or self.test == "NONE"
            or (isinstance(self.test, tuple) and self.test[:1] == ("NONE",))
        )


@dataclass(frozen=True)
class Build:
    """``build``: the context folder (default ``.``) and the Dockerfile in it."""

    context: str  # "." when not written
    dockerfile: str | None  # as written (default: Dockerfile in the context)
    inline: bool  # dockerfile_inline: no file to find
    short: bool  # written as the context string alone
    written: Any  # the context string, or the block in Compose's spelling


@dataclass(frozen=True)
class Service:
    name: str
    path: Path
    image: str | None
    build: Build | None
    network_mode: str | None
    attachments: tuple[Attachment, ...]
    ports: tuple[Port, ...]
    expose: tuple[str, ...]
    mounts: tuple[Mount, ...]
    depends_on: tuple[Dependency, ...]
    environment: Pairs
    secrets: tuple[FileGrant, ...]
    configs: tuple[FileGrant, ...]
    links: tuple[tuple[str, str], ...]  # (service, alias)
    restart: str | None
    replicas: int | None
    deploy: Deploy
    healthcheck: Healthcheck | None
    labels: Pairs
    container_name: str | None
    hostname: str | None
    privileged: bool
    options: Pairs  # remaining Compose keys, already in Compose form, in a stable order
    x_compose: Pairs
    x_swarm: Pairs
    environment_is_list: bool = False  # written as KEY=VALUE items: diagnostics point at the item
    profiles: tuple[str, ...] = ()  # Compose profiles that enable the service (none: always on)
    provider: bool = False  # managed by a Compose provider (no image of its own)

    @property
    def mode_target(self) -> str | None:
        """The service or container whose namespace a service:/container: mode shares."""
        if self.network_mode and ":" in self.network_mode:
            return self.network_mode.split(":", 1)[1]
        return None

    def attachment(self, network: str) -> Attachment | None:
        return next((a for a in self.attachments if a.network == network), None)


@dataclass(frozen=True)
class Grantable:
    """A top-level secret or config."""

    key: str
    kind: str  # secret | config
    fields: Pairs
    external: bool
    file: str | None
    environment: str | None
    content: str | None
    path: Path


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    port: int | None
    protocol: str


@dataclass(frozen=True)
class Policy:
    kind: str  # allow | deny | isolated | no_egress
    path: Path
    edge: Edge | None = None
    subject: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Topology:
    name: str
    file: str
    base_dir: str
    targets: tuple[str, ...]
    networks: dict[str, Network]
    volumes: dict[str, Volume]
    secrets: dict[str, Grantable]
    configs: dict[str, Grantable]
    services: dict[str, Service]
    policies: tuple[Policy, ...] = field(default=())
    #: Keys in the order the file wrote them (the dicts above are sorted by name), so that a rule
    #: about a duplicate reports the later occurrence in the file, as a reader expects.
    file_order: dict[tuple[str, str], int] = field(default_factory=dict, compare=False)
    #: The Compose document the topology compiles to (typed additions lowered, ``${...}`` kept):
    #: what the Compose target writes.
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: The profiles chosen (``--profile``/``COMPOSE_PROFILES``), or None: every service is
    #: considered, and only services that can run together are compared.
    profiles: tuple[str, ...] | None = None
    #: Paths of the values whose text refers to a variable (``${VAR}``, ``$VAR``): what rules
    #: about how a value is *written* (plain-text passwords) or about this machine (missing
    #: bind sources) leave to the environment.
    interpolated: frozenset[Path] = field(default_factory=frozenset, compare=False, repr=False)
    #: The same topology resolved from the text as written (``${...}`` kept), for the swarm
    #: stack, which ``docker stack deploy`` interpolates itself; None when that text does not
    #: type-check before interpolation (then the stack carries the interpolated values).
    as_written: Topology | None = field(default=None, compare=False, repr=False)
    #: The synthesized layout (a :class:`topogen.synth.Layout`) when the topology asked for
    #: one (``synthesize:``) or has ``subnet: auto`` networks; None otherwise.
    synthesized: Any = field(default=None, compare=False, repr=False)
    #: The variables the analysis interpolated with (environment, ``.env``, ``--env-file``):
    #: the Compose target anchors a path whose variable holds a relative value. None when unknown.
    variables: Mapping[str, str] | None = field(default=None, compare=False, repr=False)
    #: Whether the file said ``targets:`` (or ``x-topogen: {targets: ...}``); a plain Compose
    #: file did not, and may be read by ``docker stack deploy`` as well as by ``docker compose``.
    targets_declared: bool = True

    def is_interpolated(self, path: Path) -> bool:
        """Whether the value at ``path`` (or the list item holding it) was written with a variable."""
        return path in self.interpolated or path[:-1] in self.interpolated

    def together(self, a: Service, b: Service) -> bool:
        """Whether two services can run in one project: with profiles chosen, every service
        kept can; otherwise services with no profile run with any, and profiled services
        with those sharing one of their profiles (one profile enabled at a time)."""
        if self.profiles is not None or not a.profiles or not b.profiles:
            return True
        return bool(set(a.profiles) & set(b.profiles))

    def in_file_order(self, section: str) -> list[Any]:
        """``services``, ``networks`` or ``volumes`` in the order the file wrote them."""
        items: dict[str, Any] = getattr(self, section)
        return sorted(
            items.values(),
            key=lambda item: self.file_order.get((section, str(item.path[-1])), 1 << 30),
        )
