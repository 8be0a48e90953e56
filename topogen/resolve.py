"""Stage 4, resolve: spec -> resolved topology.

Fills defaults, lowers typed options to the engine's driver options, parses addresses,
ports and mounts, and sorts everything. It is tolerant: what does not parse is kept as
``None`` and reported once, here, as a located diagnostic; rules then reason over parsed
values only.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from typing import Any

from . import document, keys, spec, units
from . import resolved as r
from .diagnostics import Diagnostic, Path, error
from .document import BRIDGE, MTU_OPT


class Resolver:
    def __init__(
        self,
        topo: spec.Topology,
        file: str,
        name: str | None = None,
        profiles: tuple[str, ...] | None = None,
    ) -> None:
        self.topo = topo
        self.name = name or topo.name or "default"
        self.profiles = profiles
        self.file = file
        self.base_dir = os.path.dirname(os.path.abspath(file))
        self.diagnostics: list[Diagnostic] = []

    def problem(self, rule: str, message: str, path: Path, hint: str = "") -> None:
        self.diagnostics.append(error(rule, message, path, hint=hint))

    # ------------------------------------------------------------------ addresses
    def network_of(self, text: str | None, path: Path) -> r.IPNetwork | None:
        if text is None:
            return None
        try:
            return ipaddress.ip_network(text, strict=False)
        except ValueError:
            self.problem("invalid-cidr", f"{text!r} is not a valid CIDR subnet", path)
            return None

    def address_of(self, text: str | None, path: Path) -> r.IPAddress | None:
        if text is None:
            return None
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            self.problem("invalid-ip", f"{text!r} is not a valid IP address", path)
            return None

    def pool(
        self, p: spec.Pool | spec.Network | spec.IpamConfig, path: Path, field_path: Path
    ) -> r.Pool:
        assert p.subnet is not None
        aux = tuple(
            (k, self.address_of(v, (*field_path, "aux_addresses", k)), v)
            for k, v in sorted((p.aux_addresses or {}).items())
        )
        return r.Pool(
            subnet_text=p.subnet,
            subnet=self.network_of(p.subnet, (*field_path, "subnet")),
            ip_range=self.network_of(p.ip_range, (*field_path, "ip_range")),
            gateway=self.address_of(p.gateway, (*field_path, "gateway")),
            aux_addresses=aux,
            path=path,
            ip_range_text=p.ip_range,
            gateway_text=p.gateway,
        )

    # ------------------------------------------------------------------ networks
    def network(self, key: str, n: spec.Network) -> r.Network:
        path: Path = ("networks", key)
        pools: list[r.Pool] = []
        if n.subnet is not None:
            pools.append(self.pool(n, path, path))
        for i, p in enumerate(n.subnets or ()):
            pools.append(self.pool(p, (*path, "subnets", i), (*path, "subnets", i)))
        ipam = n.ipam or spec.Ipam()
        for i, c in enumerate(ipam.config or ()):
            if c.subnet is not None:  # a pool without a subnet leaves the choice to the engine
                pools.append(
                    self.pool(c, (*path, "ipam", "config", i), (*path, "ipam", "config", i))
                )
        external = n.external is not False
        name = n.name or (n.external.name if isinstance(n.external, spec.External) else None)
        opts = driver_opts(n)
        return r.Network(
            key=key,
            name=name or (key if external else f"{self.name}_{key}"),
            driver=n.driver,
            external=external,
            internal=n.internal,
            attachable=n.attachable,
            enable_ipv6=n.enable_ipv6,
            pools=tuple(pools),
            ipam_driver=n.ipam_driver or ipam.driver,
            ipam_options=tuple(sorted((n.ipam_options or ipam.options or {}).items())),
            driver_opts=tuple(sorted(opts.items())),
            labels=labels(n.labels),
            path=path,
            icc=units.go_bool(opts.get(BRIDGE + "enable_icc", True)) is not False,
            bridge_name=_text(opts[BRIDGE + "name"]) if BRIDGE + "name" in opts else None,
            mtu=_int(opts.get(MTU_OPT)),
            parent=_text(opts["parent"]) if "parent" in opts else None,
            encrypted="encrypted" in opts,
            raw_driver_opts=frozenset(n.driver_opts or ()),
        )

    # ------------------------------------------------------------------ volumes
    def volume(self, key: str, v: spec.Volume) -> r.Volume:
        kind, driver, opts = volume_options(v)
        name = v.name or (v.external.name if isinstance(v.external, spec.External) else None)
        host_path = (
            v.bind.path if v.bind else (_text(opts.get("device")) if kind == "bind" else None)
        )
        return r.Volume(
            key=key,
            name=name,
            kind=kind,
            driver=driver,
            driver_opts=tuple(opts.items()),
            external=v.external is not False,
            labels=labels(v.labels),
            path=("volumes", key),
            host_path=host_path,
            raw_driver_opts=frozenset(v.driver_opts or ()),
            options=tuple(k.options) if (k := v.nfs or v.cifs or v.device) else (),
        )

    # ------------------------------------------------------------------ services
    def service(self, name: str, s: spec.Service) -> r.Service:
        path: Path = ("services", name)
        deploy = _deploy(s.deploy)
        return r.Service(
            name=name,
            path=path,
            image=s.image,
            build=_build(s.build),
            network_mode=s.network_mode,
            attachments=self.attachments(s, path),
            ports=tuple(
                p
                for i, raw in enumerate(s.ports or ())
                if (p := self.port(raw, (*path, "ports", i)))
            ),
            expose=tuple(str(e) for e in s.expose or ()),
            mounts=self.mounts(s, path),
            depends_on=dependencies(s, path),
            environment=environment(s.environment),
            secrets=grants(s.secrets, (*path, "secrets")),
            configs=grants(s.configs, (*path, "configs")),
            links=tuple((l.split(":", 1) + [l.split(":", 1)[0]])[:2] for l in s.links or ())  # type: ignore[misc]
            if s.links
            else (),
            restart=s.restart,
            replicas=deploy.replicas if deploy.replicas is not None else _scale(s.scale),
            deploy=deploy,
            healthcheck=_healthcheck(s.healthcheck),
            labels=labels(s.labels),
            container_name=s.container_name,
            hostname=s.hostname,
            privileged=bool(s.privileged),
            options=options(s),
            x_compose=tuple((s.x_compose or {}).items()),
            x_swarm=tuple((s.x_swarm or {}).items()),
            environment_is_list=isinstance(s.environment, list),
            profiles=tuple(s.profiles or ()),
            provider=s.provider is not None,
        )

    def attachments(self, s: spec.Service, path: Path) -> tuple[r.Attachment, ...]:
        if s.networks is None:
            if s.network_mode:
                return ()
            return (r.Attachment("default", None, None, (), None, None, path),)
        if isinstance(s.networks, list):
            return tuple(
                r.Attachment(n, None, None, (), None, None, (*path, "networks", i))
                for i, n in enumerate(s.networks)
            )
        out = []
        for key, sn in s.networks.items():
            p = (*path, "networks", key)
            sn = sn or spec.ServiceNetwork()
            out.append(
                r.Attachment(
                    network=key,
                    ipv4_address=self.address_of(sn.ipv4_address, (*p, "ipv4_address")),
                    ipv6_address=self.address_of(sn.ipv6_address, (*p, "ipv6_address")),
                    aliases=tuple(sn.aliases or ()),
                    mac_address=sn.mac_address,
                    priority=int(sn.priority) if sn.priority is not None else None,
                    path=p,
                    ipv4_text=sn.ipv4_address,
                    ipv6_text=sn.ipv6_address,
                )
            )
        return tuple(out)

    def port(self, raw: int | str | spec.Port, path: Path) -> r.Port | None:
        if isinstance(raw, spec.Port):
            target = self.port_range(str(raw.target), path, "target")
            published = (
                self.port_range(str(raw.published), path, "published")
                if raw.published is not None
                else None
            )
            if target is None:
                return None
            if published is not None and _lengths_differ(published, target):
                self.problem(
                    "invalid-port",
                    "host and container port ranges differ in length",
                    (*path, "published"),
                )
            return r.Port(
                target,
                published,
                raw.host_ip,
                raw.protocol,
                path,
                raw.mode,
                raw.name,
                raw.app_protocol,
                True,
            )
        parsed = parse_port(str(raw))
        if isinstance(parsed, str):
            self.problem(
                "invalid-port",
                f"invalid port {raw!r}: {parsed}",
                path,
                hint='write "[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp]"',
            )
            return None
        host_ip, published, target, proto = parsed
        return r.Port(target, published, host_ip, proto, path)

    def port_range(self, text: str, path: Path, field_name: str) -> r.PortRange | None:
        rng = parse_range(text)
        if rng is None:
            self.problem("invalid-port", f"invalid {field_name} port {text!r}", (*path, field_name))
        return rng

    def mounts(self, s: spec.Service, path: Path) -> tuple[r.Mount, ...]:
        out: list[r.Mount] = []
        for i, m in enumerate(s.mounts or ()):
            out.append(self.mount(m, (*path, "mounts", i)))
        for i, v in enumerate(s.volumes or ()):
            p = (*path, "volumes", i)
            if isinstance(v, spec.Mount):
                out.append(self.mount(v, p))
            elif (short := self.short_mount(v, p)) is not None:
                out.append(short)
        tmpfs = [s.tmpfs] if isinstance(s.tmpfs, str) else list(s.tmpfs or ())
        for i, t in enumerate(tmpfs):
            p = (*path, "tmpfs") if isinstance(s.tmpfs, str) else (*path, "tmpfs", i)
            target, _, opts = t.partition(":")
            out.append(
                r.Mount(
                    "tmpfs", None, target, False, p, from_tmpfs_key=True, tmpfs_options=opts or None
                )
            )
        return tuple(out)

    def mount(self, m: spec.Mount, path: Path) -> r.Mount:
        bind = m.bind or spec.BindOptions()
        vol = m.volume or spec.VolumeOptions()
        tmpfs = m.tmpfs or spec.TmpfsOptions()
        mode_path = (*path, "mode") if m.mode is not None else (*path, "tmpfs", "mode")
        return r.Mount(
            type=m.type,
            source=m.source,
            target=m.target,
            read_only=m.read_only,
            path=path,
            nocopy=m.nocopy if m.nocopy is not None else vol.nocopy,
            subpath=m.subpath or vol.subpath,
            propagation=m.propagation or bind.propagation,
            create_host_path=m.create_host_path
            if m.create_host_path is not None
            else bind.create_host_path,
            selinux=m.selinux or bind.selinux,
            size=m.size if m.size is not None else tmpfs.size,
            mode=self.mode(m.mode if m.mode is not None else tmpfs.mode, mode_path),
        )

    def short_mount(self, text: str, path: Path) -> r.Mount | None:
        parts = split_colons(text)
        if len(parts) == 1 and parts[0].startswith("/"):
            return r.Mount("volume", None, parts[0], False, path)  # an anonymous volume
        if len(parts) > 3 or len(parts) < 2 or not parts[0] or not parts[1]:
            self.problem(
                "invalid-mount",
                f"invalid volume {text!r}: expected [SOURCE:]TARGET[:OPTIONS]",
                path,
                hint="SOURCE is a volume name or a host path (./dir, /dir, ~/dir); TARGET an absolute path",
            )
            return None
        source, target = parts[0], parts[1]
        opts = parts[2].split(",") if len(parts) == 3 else []
        unknown = [o for o in opts if o not in SHORT_OPTIONS]
        if unknown:
            self.problem(
                "invalid-mount",
                f"unknown volume option {unknown[0]!r} (Compose would silently ignore it)",
                path,
            )
        is_bind = source.startswith((".", "/", "~"))  # Compose's test, on the interpolated text
        propagation = next((o for o in opts if o in PROPAGATIONS), None)
        return r.Mount(
            type="bind" if is_bind else "volume",
            source=source,
            target=target,
            read_only="ro" in opts,
            path=path,
            nocopy=True if "nocopy" in opts else None,
            propagation=propagation,
            selinux=next((o for o in opts if o in ("z", "Z")), None),
        )

    def mode(self, value: str | int | None, path: Path) -> int | None:
        if value is None:
            return None
        text = str(value)
        try:
            return int(text, 8)
        except ValueError:
            self.problem(
                "invalid-mode",
                f"mode {text!r} is not an octal number",
                path,
                hint='write e.g. "1777"',
            )
            return None

    # ------------------------------------------------------------------ top level
    def grantable(self, key: str, kind: str, g: spec.Secret | spec.Config) -> r.Grantable:
        fields = dump(g)
        return r.Grantable(
            key=key,
            kind=kind,
            fields=tuple(fields.items()),
            external=g.external is not False,
            file=g.file,
            environment=g.environment,
            content=getattr(g, "content", None),
            path=(f"{kind}s", key),
        )

    def policies(self) -> tuple[r.Policy, ...]:
        out = []
        for i, p in enumerate(self.topo.policies):
            path: Path = ("policies", i)
            if p.allow is None and p.deny is None and p.isolated is None and p.no_egress is None:
                self.problem(
                    "invalid-policy",
                    "a policy states one of allow, deny, isolated, no_egress",
                    path,
                )
            for kind in ("allow", "deny"):
                edge = getattr(p, kind)
                if edge is not None:
                    e = r.Edge(edge.from_, edge.to, edge.port, edge.protocol)
                    out.append(r.Policy(kind, (*path, kind), edge=e, description=p.description))
            for kind in ("isolated", "no_egress"):
                subject = getattr(p, kind)
                if subject is not None:
                    out.append(
                        r.Policy(kind, (*path, kind), subject=subject, description=p.description)
                    )
        return tuple(out)

    def active(self, s: spec.Service) -> bool:
        """Whether the chosen profiles enable the service (no choice: every service is kept)."""
        if self.profiles is None or not s.profiles or "*" in self.profiles:
            return True
        return bool(set(s.profiles) & set(self.profiles))

    def run(self) -> r.Topology:
        t = self.topo
        services = {
            name: self.service(name, s) for name, s in sorted(t.services.items()) if self.active(s)
        }
        networks = {k: self.network(k, n or spec.Network()) for k, n in sorted(t.networks.items())}
        if "default" not in networks and any(
            a.network == "default" for s in services.values() for a in s.attachments
        ):
            networks["default"] = r.Network(
                "default",
                f"{self.name}_default",
                "bridge",
                False,
                False,
                None,
                None,
                (),
                None,
                (),
                (),
                (),
                ("networks",),
                implicit=True,
            )
        return r.Topology(
            name=self.name,
            file=self.file,
            base_dir=self.base_dir,
            targets=tuple(dict.fromkeys(t.targets)),
            targets_declared="targets" in t.model_fields_set,
            networks=networks,
            volumes={k: self.volume(k, v or spec.Volume()) for k, v in sorted(t.volumes.items())},
            secrets={k: self.grantable(k, "secret", g) for k, g in sorted(t.secrets.items())},
            configs={k: self.grantable(k, "config", g) for k, g in sorted(t.configs.items())},
            services=services,
            policies=self.policies(),
            file_order={
                (name, k): i
                for name, section in (
                    ("services", t.services),
                    ("networks", t.networks),
                    ("volumes", t.volumes),
                )
                for i, k in enumerate(section)
            },
            profiles=self.profiles,
        )


def resolve(
    topo: spec.Topology,
    file: str,
    *,
    name: str | None = None,
    profiles: tuple[str, ...] | None = None,
) -> tuple[r.Topology, list[Diagnostic]]:
    """Resolve a validated spec; returns the topology and the parse problems found.

    ``name`` is the project name (default: the topology's ``name``); ``profiles`` keeps only
    the services they enable (None: every service)."""
    resolver = Resolver(topo, file, name, profiles)
    result = resolver.run()
    return result, resolver.diagnostics


# ---------------------------------------------------------------------- lowering helpers

PROPAGATIONS = ("rprivate", "private", "rshared", "shared", "rslave", "slave")
#: Bind-mount consistency (Docker Desktop for Mac): Compose accepts and drops them; no-ops on Linux.
CONSISTENCY = ("cached", "delegated", "consistent")
SHORT_OPTIONS = frozenset(("ro", "rw", "nocopy", "z", "Z", *PROPAGATIONS, *CONSISTENCY))


def split_colons(text: str) -> list[str]:
    """Split ``SRC:DST[:OPTS]`` on colons outside ``${...}`` (``${DIR:-./data}:/data`` has two parts)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{" and text[i - 1 : i] == "$":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        elif ch == ":" and not depth:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def driver_opts(n: spec.Network) -> dict[str, Any]:
    """Typed network options lowered to the engine's driver option keys (raw ``driver_opts``
    merged over them): the document's lowering, on the validated model."""
    return document.network_driver_opts(dump(n))


def volume_options(v: spec.Volume) -> tuple[str, str | None, dict[str, Any]]:
    """(kind, driver, driver_opts) of a volume: typed kinds lowered to local-driver options,
    with the raw ``driver_opts`` merged over them (as for networks), never silently dropped."""
    raw = {k: "" if val is None else val for k, val in (v.driver_opts or {}).items()}
    typed = document.volume_driver_opts(dump(v))
    if typed is not None:
        kind, opts = typed
        return kind, "local", {**opts, **raw}
    if v.driver and v.driver != "local":
        return "plugin", v.driver, raw
    return _raw_kind(raw), v.driver, raw


def _raw_kind(opts: dict[str, Any]) -> str:
    """The kind of a local volume written with Compose's raw options (``type``/``o``/``device``)."""
    fs = str(opts.get("type", "")).lower()
    if fs in ("nfs", "nfs4"):
        return "nfs"
    if fs in ("cifs", "smb", "smb3"):
        return "cifs"
    if fs == "tmpfs":
        return "tmpfs"
    if "bind" in str(opts.get("o", "")).split(",") and opts.get("device"):
        return "bind"
    if str(opts.get("device", "")).startswith("/dev/"):
        return "device"
    return "local"


def _int(value: Any) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def labels(value: dict[str, Any] | list[str] | None) -> r.Pairs:
    if value is None:
        return ()
    if isinstance(value, list):
        items = [(item.partition("=")[0], item.partition("=")[2]) for item in value]
    else:
        items = [(k, _text(v)) for k, v in value.items()]
    return tuple(sorted(items))


def environment(value: dict[str, Any] | list[str] | None) -> r.Pairs:
    """Environment as (name, value) pairs; a bare NAME (value None) passes the host's value."""
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(
            (k, v if sep else None) for k, sep, v in (item.partition("=") for item in value)
        )
    return tuple((k, None if v is None else _text(v)) for k, v in value.items())


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def dependencies(s: spec.Service, path: Path) -> tuple[r.Dependency, ...]:
    if s.depends_on is None:
        return ()
    if isinstance(s.depends_on, list):
        return tuple(
            r.Dependency(d, "service_started", None, None, (*path, "depends_on", i))
            for i, d in enumerate(s.depends_on)
        )
    return tuple(
        r.Dependency(
            k,
            (v or spec.DependsOn()).condition,
            v.restart if v else None,
            v.required if v else None,
            (*path, "depends_on", k),
        )
        for k, v in s.depends_on.items()
    )


def grants(items: list[str | spec.FileRef] | None, path: Path) -> tuple[r.FileGrant, ...]:
    out = []
    for i, g in enumerate(items or ()):
        if isinstance(g, str):
            out.append(r.FileGrant(g, None, None, None, None, (*path, i), False))
        else:
            mode = grant_mode(g.mode)
            uid, gid = (None if x is None else str(x) for x in (g.uid, g.gid))
            out.append(r.FileGrant(g.source, g.target, uid, gid, mode, (*path, i), True))
    return tuple(out)


def grant_mode(value: str | int | None) -> int | None:
    """A grant's mode as Compose reads it (compose-go ``FileMode``): a YAML integer is the
    number itself (``493`` is 0755), text is octal digits (``"0440"``, and ``0755`` kept as
    written); None when it is neither (a ``${VAR}``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value) if value is not None else ""
    return int(text, 8) if text and set(text) <= set("01234567") else None


def options(s: spec.Service) -> r.Pairs:
    out = []
    for key in keys.OPTIONS:
        value = getattr(s, key)
        if value is not None:
            out.append((key, dump(value) if isinstance(value, spec.Model) else _plain(value)))
    return tuple(out)


def _plain(value: Any) -> Any:
    if isinstance(value, spec.Model):
        return dump(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _scale(scale: Any) -> int | None:
    """``scale`` is ``deploy.replicas`` by another name (Compose refuses the two differing)."""
    return scale if isinstance(scale, int) and not isinstance(scale, bool) else None


def _deploy(d: spec.Deploy | None) -> r.Deploy:
    if d is None:
        return r.Deploy()
    res, placement = d.resources, d.placement
    return r.Deploy(
        mode=d.mode,
        replicas=d.replicas,
        endpoint_mode=d.endpoint_mode,
        limits=_resources(res.limits) if res else None,
        reservations=_resources(res.reservations) if res else None,
        constraints=tuple(str(c) for c in (placement.constraints or ())) if placement else (),
        max_replicas_per_node=placement.max_replicas_per_node if placement else None,
        written=dump(d),
    )


def _resources(res: spec.Resources | None) -> r.Resources | None:
    return r.Resources(res.cpus, res.memory, res.pids) if res is not None else None


HEALTHCHECK_DURATIONS = ("interval", "timeout", "start_period", "start_interval")


def _healthcheck(h: spec.Healthcheck | None) -> r.Healthcheck | None:
    if h is None:
        return None
    return r.Healthcheck(
        test=tuple(h.test) if isinstance(h.test, list) else h.test,
        disable=h.disable is True,
        retries=h.retries,
        durations=tuple((k, v) for k in HEALTHCHECK_DURATIONS if (v := getattr(h, k)) is not None),
        written=dump(h),
    )


def _build(b: spec.Build | str | None) -> r.Build | None:
    if b is None:
        return None
    if isinstance(b, str):
        return r.Build(context=b, dockerfile=None, inline=False, short=True, written=b)
    return r.Build(
        context=b.context or ".",
        dockerfile=b.dockerfile,
        inline=b.dockerfile_inline is not None,
        short=False,
        written=dump(b),
    )


def dump(model: Any) -> Any:
    """A spec model as plain data: unset fields dropped, aliases used, nested models too."""
    if isinstance(model, spec.Model):
        return {k: _plain(v) for k, v in model.model_dump(by_alias=True, exclude_none=True).items()}
    return _plain(model)


# ---------------------------------------------------------------------- ports

_PORT_RE = re.compile(
    r"^(?:(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9.]*|[0-9a-fA-F:]*:[0-9a-fA-F:]*):)?(?P<host>[0-9]*(?:-[0-9]+)?):)?"
    r"(?P<container>[0-9]+(?:-[0-9]+)?)(?:/(?P<proto>[a-zA-Z]+))?$"
)


def parse_range(text: str) -> r.PortRange | None:
    m = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", text)
    if not m:
        return None
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else start
    if not (0 < start <= end <= 65535):
        return None
    return r.PortRange(start, end)


def _lengths_differ(published: r.PortRange, target: r.PortRange) -> bool:
    """A container port range needs a host range of the same length (Compose: "invalid ranges
    specified for container and host Ports"); a single container port may take a host range."""
    return (
        target.start != target.end and published.end - published.start != target.end - target.start
    )


def parse_port(text: str) -> tuple[str | None, r.PortRange | None, r.PortRange, str] | str:
    """Parse Compose's short port syntax; returns the parts or an error message."""
    m = _PORT_RE.match(text.strip())
    if not m:
        return "expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]"
    proto = (m.group("proto") or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        return f"invalid protocol {proto!r} (tcp, udp or sctp)"
    target = parse_range(m.group("container"))
    if target is None:
        return "container port out of range 1-65535"
    host = m.group("host")
    if host == "0":
        host = ""  # host port 0 is "any free port", as when none is given
    published = parse_range(host) if host else None
    if host and published is None:
        return "host port out of range 1-65535"
    ip = m.group("ip")
    if ip:
        ip = ip.strip("[]")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return f"invalid host IP {ip!r}"
    if published and _lengths_differ(published, target):
        return "host and container port ranges differ in length"
    return ip or None, published, target, proto


def iter_strings(data: Any, path: Path = ()) -> Iterable[tuple[Path, str]]:
    """Every string value in plain data, with its path, depth first in document order.

    An explicit stack rather than nested generators: each string then costs one ``yield``,
    not one per level (a 20000-service topology has two million nodes).
    """
    stack: list[tuple[Path, Any]] = [(path, data)]
    pop, push = stack.pop, stack.extend
    while stack:
        here, node = pop()
        if isinstance(node, str):
            yield here, node
        elif isinstance(node, dict):
            push([((*here, k), v) for k, v in reversed(node.items())])
        elif isinstance(node, list):
            push([((*here, i), node[i]) for i in range(len(node) - 1, -1, -1)])
