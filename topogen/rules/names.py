"""Names: project, service, network, volume, host and container names that Compose and the engine accept."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from ..diagnostics import Diagnostic, error, warning
from ..dotenv import normal_project_name
from ..resolved import Topology
from .registry import reports

#: compose-spec schema ``patternProperties`` for services, networks, volumes, secrets, configs.
COMPOSE_KEY = re.compile(r"[a-zA-Z0-9._-]+")
#: compose-go ``loader.go``: project names.
PROJECT = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: moby ``daemon/volume/local``: local volume names (two characters at least).
LOCAL_VOLUME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
#: moby ``daemon/names``: container names.
CONTAINER = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+")
#: RFC 1123 host name label.
LABEL = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
HOST_NAME_MAX = 64


@reports(error="invalid-name")
def invalid_key(topo: Topology) -> Iterator[Diagnostic]:
    """A service, network, volume, secret or config key that Compose rejects (``^[a-zA-Z0-9._-]+$``).

    ``networks: {"my net": {}}``.
    """
    for section in ("services", "networks", "volumes", "secrets", "configs"):
        for key, item in getattr(topo, section).items():
            if not COMPOSE_KEY.fullmatch(key) and not getattr(item, "implicit", False):
                yield error(
                    "invalid-name",
                    f"{section[:-1]} name {key!r} may contain only letters, digits, "
                    "'.', '_' and '-'",
                    (section, key),
                    at_key=True,
                )


@reports(error="invalid-project-name")
def project_name(topo: Topology) -> Iterator[Diagnostic]:
    """The project ``name`` is not lowercase letters, digits, '-' and '_' starting with a letter or digit.

    ``name: Three-Tier``, or ``name: My$App`` (Compose substitutes ``$App`` from the shell, then renames).
    """
    if PROJECT.fullmatch(topo.name):
        return
    renamed = normal_project_name(topo.name)
    if "$" in topo.name:
        why = (
            "Compose interpolates \"$\", so the project's name (and every network's and volume's) would "
            "depend on the deploying shell's environment"
        )
    else:
        why = (
            f'use lowercase letters, digits, "-" and "_", starting with a letter or digit (Compose would '
            f'silently rename the project to "{renamed}", and every network and volume with it)'
        )
    yield error(
        "invalid-project-name",
        f'invalid project name "{topo.name}": {why}',
        ("name",),
        hint=f"name: {renamed or 'app'}",
    )


@reports(error="invalid-volume-name")
def volume_engine_name(topo: Topology) -> Iterator[Diagnostic]:
    """A local volume's engine name is not ``[a-zA-Z0-9][a-zA-Z0-9_.-]+`` (two characters at least).

    ``volumes: {data: {name: "my/data"}}`` ("includes invalid characters for a local volume name").
    """
    for v in topo.volumes.values():
        if (
            v.kind == "plugin"
            or v.driver not in (None, "local")
            or not COMPOSE_KEY.fullmatch(v.key)
        ):
            continue  # a plugin names its volumes itself; a bad key is reported by invalid-name
        name = v.name or (v.key if v.external else f"{topo.name}_{v.key}")
        if "$" not in name and not LOCAL_VOLUME.fullmatch(name):
            path = (*v.path, "name") if v.name else v.path
            yield error(
                "invalid-volume-name",
                f'"{name}" is not a valid local volume name: use two or more of '
                "[a-zA-Z0-9_.-], starting with a letter or digit",
                path,
                at_key=v.name is None,
            )


@reports(error="invalid-hostname", warning="invalid-hostname")
def hostname(topo: Topology) -> Iterator[Diagnostic]:
    """A ``hostname`` longer than 64 characters (error: runc's sethostname fails), or not RFC 1123 (warning).

    ``hostname: web_server`` (underscore: accepted by the engine, refused by many resolvers and tools).
    """
    for s in topo.services.values():
        name = s.hostname
        if not name or "$" in name:
            continue
        path = (*s.path, "hostname")
        if len(name) > HOST_NAME_MAX:
            yield error(
                "invalid-hostname",
                f"hostname {name!r} has {len(name)} characters; Linux allows "
                f"{HOST_NAME_MAX} (the container fails to start: sethostname: invalid argument)",
                path,
            )
        elif not all(LABEL.fullmatch(label) for label in name.split(".")):
            yield warning(
                "invalid-hostname",
                f"hostname {name!r} is not an RFC 1123 name (labels of letters, "
                "digits and '-', not starting or ending with '-')",
                path,
            )


@reports(error=("duplicate-container-name", "invalid-container-name"))
def container_name(topo: Topology) -> Iterator[Diagnostic]:
    """A ``container_name`` that the engine rejects, or that another service uses too ("Conflict").

    ``a: {container_name: db}`` and ``b: {container_name: db}``.
    """
    seen: dict[str, str] = {}
    for s in topo.in_file_order("services"):
        name = s.container_name
        if name is None or "$" in name:
            continue
        path = (*s.path, "container_name")
        if not CONTAINER.fullmatch(name):
            yield error(
                "invalid-container-name",
                f"container name {name!r} may contain only [a-zA-Z0-9_.-], "
                "starting with a letter or digit (two characters at least)",
                path,
            )
        if name in seen:
            yield error(
                "duplicate-container-name",
                f"container name {name!r} is already used by service {seen[name]}",
                path,
            )
        seen.setdefault(name, s.name)


@reports(warning="invalid-dns")
def dns_address(topo: Topology) -> Iterator[Diagnostic]:
    """A ``dns`` server that is not an IP address (warning: the container's resolver ignores it; stacks drop it).

    ``dns: [dns.google]``: write ``dns: [8.8.8.8]``. Compose 2.40 and Engine 20.10 accept it without a word.
    """
    for s in topo.services.values():
        value = dict(s.options).get("dns")
        servers = [value] if isinstance(value, str) else list(value or ())
        for i, server in enumerate(servers):
            if "$" in str(server):
                continue
            try:
                ipaddress.ip_address(str(server))
            except ValueError:
                path = (*s.path, "dns") if isinstance(value, str) else (*s.path, "dns", i)
                yield warning(
                    "invalid-dns",
                    f"dns server {server!r} is not an IP address: the container's "
                    "resolver ignores it",
                    path,
                    hint="write the server's IP address",
                )


def _extra_hosts(value: object) -> list[tuple[str | int, str]]:
    """(path key, address) of every entry of ``extra_hosts``, list or map form."""
    if isinstance(value, dict):
        return [
            (host, str(ip))
            for host, ips in value.items()
            for ip in (ips if isinstance(ips, list) else [ips])
        ]
    out: list[tuple[str | int, str]] = []
    for i, entry in enumerate(value if isinstance(value, list) else ()):
        sep = "=" if "=" in str(entry) else ":"
        out.append((i, str(entry).partition(sep)[2]))
    return out


@reports(error="invalid-extra-host")
def extra_host_address(topo: Topology) -> Iterator[Diagnostic]:
    """An ``extra_hosts`` entry whose address is not an IP or host-gateway (engine: "invalid IP address in add-host").

    ``extra_hosts: ["db:database.internal"]``: the value must be an address.
    """
    for s in topo.services.values():
        for key, address in _extra_hosts(dict(s.options).get("extra_hosts")):
            if "$" in address or address == "host-gateway":
                continue
            try:
                ipaddress.ip_address(address.strip("[]"))
            except ValueError:
                yield error(
                    "invalid-extra-host",
                    f"extra_hosts address {address!r} is not an IP address (or host-gateway)",
                    (*s.path, "extra_hosts", key),
                )


RULES = (
    invalid_key,
    project_name,
    volume_engine_name,
    hostname,
    container_name,
    dns_address,
    extra_host_address,
)
