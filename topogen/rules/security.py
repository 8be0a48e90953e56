"""Security (warnings): secrets in plain text, the Docker socket, privileged services, host networking.

Plain-text passwords are warnings, not errors: the file still works, and a throw-away test
password is a legitimate choice. ``topogen validate --strict`` makes them fail.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from ..diagnostics import Diagnostic, warning
from ..resolved import Topology
from .registry import reports

SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE
)
#: Settings *about* secrets, not secrets: MYSQL_ALLOW_EMPTY_PASSWORD, PASSWORD_MIN_LENGTH, TOKEN_TTL...
NOT_A_SECRET = re.compile(
    r"_(FILE|PATH|DIR|LENGTH|LEN|TTL|TIMEOUT|EXPIR\w*|ENABLED|REQUIRED|POLICY)$|ALLOW_EMPTY|RANDOM_ROOT",
    re.IGNORECASE,
)
FLAGS = frozenset(("yes", "no", "true", "false", "1", "0", "on", "off", "y", "n"))
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def _literal(value: str | None) -> bool:
    """A value written out, not a ``${VAR}``/``$VAR`` reference (``$$`` is a literal dollar)."""
    if not value:
        return False
    return not re.search(r"\$(?:\{|[A-Za-z_])", value.replace("$$", ""))


@reports(warning="plain-text-password")
def plain_text_password(topo: Topology) -> Iterator[Diagnostic]:
    """A password, secret or token written in plain text in ``environment`` or in a volume's options.

    ``environment: {POSTGRES_PASSWORD: hunter2}``: write ``${POSTGRES_PASSWORD}`` or use a secret.
    """
    for s in topo.services.values():
        for i, (key, value) in enumerate(s.environment):
            where = (*s.path, "environment", i if s.environment_is_list else key)
            if (
                SECRET_NAME.search(key)
                and not NOT_A_SECRET.search(key)
                and value
                and str(value).lower() not in FLAGS
                and not topo.is_interpolated(where)
            ):
                yield warning(
                    "plain-text-password",
                    f"{key} of service {s.name} is written in plain text",
                    where,
                    hint=f"write ${{{key}}} or use secrets:",
                )
    for v in topo.volumes.values():
        for part in str(dict(v.driver_opts).get("o", "")).split(","):
            key, _, value = part.partition("=")
            typed = v.kind == "cifs" and "o" not in v.raw_driver_opts
            path = (*v.path, "cifs", "password") if typed else (*v.path, "driver_opts", "o")
            if key in ("password", "pass") and _literal(value) and not topo.is_interpolated(path):
                yield warning(
                    "plain-text-password",
                    f"the password of volume {v.key} is written in plain text",
                    path,
                    hint="write ${SMB_PASSWORD} and set it in the environment",
                )


@reports(warning="docker-socket")
def docker_socket(topo: Topology) -> Iterator[Diagnostic]:
    """The Docker socket is bind-mounted: the container controls the host's engine (root on the host).

    ``volumes: ["/var/run/docker.sock:/var/run/docker.sock"]``.
    """
    for s in topo.services.values():
        for m in s.mounts:
            if m.type == "bind" and m.source and posixpath.normpath(m.source) in DOCKER_SOCKETS:
                yield warning(
                    "docker-socket",
                    f"service {s.name} mounts the Docker socket: it can control the host's engine",
                    (*m.path, "source"),
                    hint=_socket_hint(m.read_only),
                )


def _socket_hint(read_only: bool) -> str:
    if read_only:  # the API is still fully writable through a read-only socket file
        return "a read-only mount does not make the API read-only; expose only what is needed through a socket proxy"
    return "expose only what is needed through a socket proxy (a read-only mount does not restrict the API)"


@reports(warning="privileged")
def privileged(topo: Topology) -> Iterator[Diagnostic]:
    """A privileged service has every capability and all host devices.

    ``privileged: true``: prefer ``cap_add`` with the one capability needed.
    """
    for s in topo.services.values():
        if s.privileged:
            yield warning(
                "privileged",
                f"service {s.name} is privileged",
                (*s.path, "privileged"),
                hint="use cap_add with only the capabilities needed",
            )


@reports(warning="host-network")
def host_network(topo: Topology) -> Iterator[Diagnostic]:
    """A service on the host network shares the host's interfaces and ports (no isolation).

    ``network_mode: host``.
    """
    for s in topo.services.values():
        if s.network_mode == "host":
            yield warning(
                "host-network",
                f"service {s.name} uses the host network: no network isolation",
                (*s.path, "network_mode"),
            )


RULES = (
    plain_text_password,
    docker_socket,
    privileged,
    host_network,
)
