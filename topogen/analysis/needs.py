"""Needed connections: which services a service needs to reach, with where the evidence is.

Kinds of evidence (:attr:`Need.kind`):

- ``depends_on``: a service it depends on (every form; startup order, which proves no traffic);
- ``links``: ``links: [db]`` / ``[db:database]``;
- ``url``: a URL whose host is a service, ``postgres://u:***@db:5432/app``, ``redis://cache``
  (port from the URL, else the scheme's default, else none), every host of
  ``mongodb://m1:27017,m2:27017/x``;
- ``host-port``: a ``db:5432`` token, also in lists ``kafka1:9092,kafka2:9092``;
- ``host-var``: a variable that names a host (``DB_HOST``, ``PGHOST``, ``REDIS_HOSTNAME``,
  ``*_SERVER``, ``*_ADDR``, ``*_BROKERS``...) whose whole value is a service (or a list of
  them); the port comes from the sibling ``DB_PORT`` (the same prefix), else from a scheme
  the prefix names (``POSTGRES_HOST`` -> 5432), else none.

Where it is read: ``environment`` (both forms) and ``env_file`` contents (the environment wins
over a file, as in Compose), ``command`` and ``entrypoint`` (string and list), and the configs
the service mounts (``content:``, and ``file:`` read from disk: that evidence is located in the
file, at its line; comment lines are skipped). Not ``healthcheck.test``: it runs inside the
container itself. Values are the interpolated ones, located where they are written.

A service name is what Docker's DNS answers on a shared network: the service's name, its
``container_name`` and its network aliases (an alias that two services claim is no evidence),
and the source's ``links`` aliases. Not ``hostname``: the embedded DNS does not register it.
No evidence: a name in free text (``POSTGRES_USER=postgres``, ``DB_NAME=db``), the service's
own names, ``localhost``, a name the source maps in ``extra_hosts``, variables that describe
the service itself or its clients (``*_LISTENERS``, ``ALLOWED_HOSTS``, ``VIRTUAL_HOST``,
``CORS_*``, ``*_REDIRECT_*``, ``PUBLIC_URL``, ``*_IMAGE``...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import resolved
from ..diagnostics import Path
from ..dotenv import DotenvError, parse_dotenv
from . import mentions

KINDS = ("depends_on", "links", "url", "host-port", "host-var")
#: Configs and env files larger than this are not read.
MAX_FILE = 1 << 20


@dataclass(frozen=True)
class Need:
    """``source`` needs to open a connection to ``target``; ``evidence`` is the path of the
    value that says so, ``text`` that evidence (credentials masked); ``location`` is
    (file, line, col) of the host when the evidence is in another file (a config, an env
    file); ``host`` is the offset of the host in the value at ``evidence`` and the host as
    read there, so that a diagnostic can point at it (:func:`topogen.source.aim`)."""

    source: str
    target: str
    port: int | None
    protocol: str
    kind: str
    evidence: tuple[str | int, ...]
    text: str
    location: tuple[str, int, int] | None = None
    host: tuple[int, str] | None = None


def needed(topo: resolved.Topology) -> list[Need]:
    """Every needed connection, by source service then in the order the evidence is read."""
    names = _names(topo)
    out: list[Need] = []
    for name in sorted(topo.services):
        out += _Reader(topo, topo.services[name], names).needs()
    return list(dict.fromkeys(out))


def _names(topo: resolved.Topology) -> dict[str, str]:
    """Lower-cased DNS names -> service: service names win, then container names, then
    aliases that only one service claims."""
    aliases: dict[str, set[str]] = {}
    for s in topo.services.values():
        for a in s.attachments:
            for alias in a.aliases:
                aliases.setdefault(alias.lower(), set()).add(s.name)
    out = {a: next(iter(owners)) for a, owners in aliases.items() if len(owners) == 1}
    out.update(
        {s.container_name.lower(): s.name for s in topo.services.values() if s.container_name}
    )
    out.update({n.lower(): n for n in topo.services})
    out.pop("localhost", None)
    return out


_HOST_VAR = re.compile(
    r"(?:HOST|HOSTNAME|HOSTS|SERVER|SERVERS|ADDR|ADDRESS|BROKER|BROKERS|ENDPOINT)\Z"
)
_NOT_EVIDENCE = re.compile(
    r"(?:^|_)(?:ALLOWED|TRUSTED|VIRTUAL|CORS|ORIGINS?|LISTEN|LISTENERS|BIND|ADVERTISED|REDIRECT"
    r"|CALLBACK|PUBLIC|EXTERNAL|IMAGE|VERSION|TAG|NO_PROXY)(?:_|\Z)"
    r"|\A(?:HOST|HOSTNAME|BASE_URL|ROOT_URL|SITE_URL|APP_URL|SELF_URL)\Z"
)
#: Default ports of the servers a host variable's prefix names (``POSTGRES_HOST``, ``PGHOST``).
_PREFIX_PORTS = {
    **dict.fromkeys(("PG", "POSTGRES", "POSTGRESQL"), 5432),
    **dict.fromkeys(("MYSQL", "MARIADB"), 3306),
    **dict.fromkeys(("MONGO", "MONGODB"), 27017),
    **dict.fromkeys(("RABBITMQ", "AMQP"), 5672),
    **dict.fromkeys(("MEMCACHE", "MEMCACHED"), 11211),
    "REDIS": 6379,
}


class _Reader:
    """The evidence of one service."""

    def __init__(self, topo: resolved.Topology, s: resolved.Service, names: dict[str, str]):
        self.topo, self.s, self.names = topo, s, names
        self.options = dict(s.options)
        self.links = {alias.lower(): linked for linked, alias in s.links if linked in topo.services}
        self.elsewhere = _extra_hosts(self.options.get("extra_hosts"))

    def target(self, host: str) -> str | None:
        """The service ``host`` names for this service (none: itself, or not a service)."""
        if host in self.elsewhere:
            return None
        found = self.links.get(host) or self.names.get(host)
        return None if found == self.s.name else found

    def need(
        self,
        target: str,
        port: int | None,
        proto: str,
        kind: str,
        path: Path,
        text: str,
        where: tuple[str, int, int] | None = None,
        host: tuple[int, str] | None = None,
    ) -> Need:
        return Need(self.s.name, target, port, proto, kind, path, text, where, host)

    def needs(self) -> list[Need]:
        s = self.s
        out = [
            self.need(d.service, None, "tcp", "depends_on", d.path, f"depends_on: {d.service}")
            for d in s.depends_on
            if d.service != s.name and d.service in self.topo.services
        ]
        out += [
            self.need(
                linked,
                None,
                "tcp",
                "links",
                (*s.path, "links", i),
                f"links: {linked}" + (f":{alias}" if alias != linked else ""),
            )
            for i, (linked, alias) in enumerate(s.links)
            if linked != s.name and linked in self.topo.services
        ]
        out += self.environment()
        for key in ("entrypoint", "command"):
            out += self.command(key, self.options.get(key))
        out += self.configs()
        return out

    # ------------------------------------------------------------------ environment
    def environment(self) -> list[Need]:
        env: dict[str, tuple[str, Path, Any]] = {}
        for path, lines in self.env_files():
            for key, (value, where) in lines.items():
                env[key] = (value, path, where)
        for i, (key, value) in enumerate(self.s.environment):
            if value is not None:
                path = (*self.s.path, "environment", i if self.s.environment_is_list else key)
                env[key] = (value, path, None)
        values = {k: v for k, (v, _p, _w) in env.items()}
        out = []
        for key, (value, path, where) in env.items():
            if not _NOT_EVIDENCE.search(key.upper()):
                out += self.variable(key, value, values, path, where)
        return out

    def variable(
        self,
        key: str,
        value: str,
        env: dict[str, str],
        path: Path,
        where: tuple[str, int, int] | None,
    ) -> list[Need]:
        found = self.text(value, path, where)
        if found or not _HOST_VAR.search(key.upper()):
            return found
        out = []
        for host, port, offset in mentions.bare_hosts(value):
            target = self.target(host)
            if target is None:
                continue
            text = f"{key}={value}"
            if port is None:
                port, sibling = _port(key, env)
                text += f" ({sibling})" if sibling else ""
            at = (where[0], where[1], where[2] + offset) if where else None
            written = (offset, value[offset : offset + len(host)])
            out.append(self.need(target, port, "tcp", "host-var", path, text, at, written))
        return out

    def env_files(self) -> Iterator[tuple[Path, dict[str, tuple[str, tuple[str, int, int]]]]]:
        files = self.options.get("env_file")
        items = files if isinstance(files, list) else [files] if files else []
        for i, item in enumerate(items):
            name = str(item.get("path", "")) if isinstance(item, dict) else str(item)
            path = (
                (*self.s.path, "env_file", i)
                if isinstance(files, list)
                else (*self.s.path, "env_file")
            )
            full = os.path.normpath(os.path.join(self.topo.base_dir, name))
            text = _read(full) if name and "$" not in name else None
            if text is not None:
                yield path, _dotenv_lines(full, text)

    # ------------------------------------------------------------------ commands, configs
    def command(self, key: str, value: Any) -> list[Need]:
        path = (*self.s.path, key)
        if isinstance(value, str):
            return self.text(value, path, None)
        if isinstance(value, list):
            return [
                n
                for i, v in enumerate(value)
                if isinstance(v, str)
                for n in self.text(v, (*path, i), None)
            ]
        return []

    def configs(self) -> list[Need]:
        out: list[Need] = []
        for grant in self.s.configs:
            config = self.topo.configs.get(grant.source)
            if config is None:
                continue
            if config.content is not None:
                out += self.config(None, config.content, (*config.path, "content"))
            elif config.file:
                full = os.path.normpath(os.path.join(self.topo.base_dir, config.file))
                out += self.config(full, _read(full) or "", grant.path)
        return out

    def config(self, file: str | None, text: str, path: Path) -> list[Need]:
        """A config's lines, comments skipped; located in ``file`` when it is one."""
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith(("#", "//", ";", "--")):
                continue
            for m in mentions.find(line):
                target = self.target(m.host)
                if target is not None:
                    at = (file, number, m.at + 1) if file else None
                    written = (m.at, line[m.at : m.at + len(m.host)])
                    out.append(
                        self.need(target, m.port, m.protocol, m.kind, path, m.text, at, written)
                    )
        return out

    def text(self, value: str, path: Path, where: tuple[str, int, int] | None) -> list[Need]:
        out = []
        for m in mentions.find(value):
            target = self.target(m.host)
            if target is not None:
                at = (where[0], where[1], where[2] + m.at) if where else None
                written = (m.at, value[m.at : m.at + len(m.host)])
                out.append(self.need(target, m.port, m.protocol, m.kind, path, m.text, at, written))
        return out


def _port(key: str, env: dict[str, str]) -> tuple[int | None, str]:
    """The port of a host variable: its sibling ``PREFIX_PORT``, else a scheme its prefix names."""
    m = _HOST_VAR.search(key.upper())
    prefix = key[: m.start()] if m else key
    for name in (prefix + "PORT", prefix + "port"):
        sibling = env.get(name, "").strip()
        if sibling.isdigit() and 0 < int(sibling) < 65536:
            return int(sibling), f"{name}={sibling}"
    for word in reversed([w for w in prefix.upper().split("_") if w]):
        if word in _PREFIX_PORTS:
            return _PREFIX_PORTS[word], ""
    return None, ""


def _extra_hosts(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {str(k).lower() for k in value}
    if isinstance(value, list):
        return {str(v).replace("=", ":").split(":", 1)[0].strip().lower() for v in value}
    return set()


def _read(file: str) -> str | None:
    try:
        if os.path.getsize(file) > MAX_FILE:
            return None
        with open(file, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


_ENV_KEY = re.compile(r"[ \t]*(?:export[ \t]+)?([^\s=:#]+)[ \t]*[=:][ \t]*")


def _dotenv_lines(file: str, text: str) -> dict[str, tuple[str, tuple[str, int, int]]]:
    """An env file's values (Compose's parser) with the (file, line, col) of each value."""
    try:
        values = parse_dotenv(text, {})
    except DotenvError:
        return {}
    where: dict[str, tuple[str, int, int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = _ENV_KEY.match(line)
        if m and m.group(1) in values:
            quoted = line[m.end() : m.end() + 1] in ("'", '"')
            where[m.group(1)] = (file, number, m.end() + 1 + quoted)
    return {k: (v, where[k]) for k, v in values.items() if k in where}


Where = Callable[[Path], tuple[str, int, int]]


def by_pair(found: list[Need]) -> dict[tuple[str, str], list[Need]]:
    """The needs grouped by (source, target), in their order."""
    out: dict[tuple[str, str], list[Need]] = {}
    for n in found:
        out.setdefault((n.source, n.target), []).append(n)
    return out


def to_json(n: Need, where: Where) -> dict[str, Any]:
    """``{kind, text, port, protocol, file, line, col}``: ``where`` locates a topology path."""
    file, line, col = n.location or where(n.evidence)
    return {
        "kind": n.kind,
        "text": n.text,
        "port": n.port,
        "protocol": n.protocol,
        "file": file,
        "line": line,
        "col": col,
    }


def annotate(matrix: dict[str, Any], found: list[Need], where: Where) -> dict[str, Any]:
    """A reach matrix's JSON with ``needed``: the evidence of each pair (empty: not needed)."""
    pairs = by_pair(found)
    for p in matrix["pairs"]:
        p["needed"] = [to_json(n, where) for n in pairs.get((p["from"], p["to"]), ())]
    return matrix
