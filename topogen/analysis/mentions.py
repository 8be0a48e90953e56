"""Host names in text: URLs (``postgres://u:p@db:5432/x``, ``mongodb://m1,m2/x``) and
``host:port`` tokens (``db:5432``, ``kafka1:9092,kafka2:9092``), with credentials masked.

Only the shapes are found here; whether a host is a service is for :mod:`.needs` to say.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

#: Default ports of URL schemes (IANA, and each client's documented default).
SCHEME_PORTS: dict[str, int] = {
    "amqp": 5672,
    "amqps": 5671,
    "ftp": 21,
    "grpc": 443,
    "http": 80,
    "https": 443,
    "kafka": 9092,
    "ldap": 389,
    "ldaps": 636,
    "mariadb": 3306,
    "memcached": 11211,
    "mongodb": 27017,
    "mqtt": 1883,
    "mssql": 1433,
    "mysql": 3306,
    "nats": 4222,
    "pg": 5432,
    "postgres": 5432,
    "postgresql": 5432,
    "redis": 6379,
    "rediss": 6379,
    "smtp": 25,
    "ssh": 22,
    "ws": 80,
    "wss": 443,
}
#: Schemes whose "host" is no network host (or, for SRV lookups, no port of its own).
_NOT_HOSTS = frozenset(("file", "unix", "npipe", "data", "mailto", "jar"))
_UDP = frozenset(("udp", "syslog+udp", "statsd"))

_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
#: One host of a URL, with its port; a list item ends at "," "/" "?" "#" or the end (so that
#: ``http://a:1,http://c:2`` is two URLs, and ``a:1,b:2`` one URL of two hosts).
_ITEM = rf"(?:\[[0-9A-Fa-f:.]+\]|{_HOST})(?::[0-9]{{1,5}})?(?![\w:-]|\.\w)"
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://"
    r"(?:(?P<user>[^@/\s?#'\"<>]*)@)?"
    rf"(?P<hosts>{_ITEM}(?:,{_ITEM})*)?"
    r"(?P<rest>[^\s'\"<>,;\\]*)"
)
_HOST_PORT = re.compile(rf"(?<![\w.@/:$%-])(?P<host>{_HOST}):(?P<port>[0-9]{{1,5}})(?![\w.:-])")
_ONE_HOST = re.compile(rf"(?P<host>{_HOST})(?::(?P<port>[0-9]{{1,5}}))?\Z")
_SECRET_QUERY = re.compile(r"(?i)((?:pass(?:word)?|pwd|secret|token|key)=)[^&\s]+")


@dataclass(frozen=True)
class Mention:
    """One host named in a text: ``kind`` is ``url`` or ``host-port``; ``start`` the offset of
    the evidence in the text, ``at`` that of the host; ``text`` the evidence with its
    credentials masked."""

    host: str  # lower-cased: Docker's DNS ignores case
    port: int | None
    protocol: str
    kind: str
    text: str
    start: int
    at: int


def _mask(m: re.Match[str]) -> str:
    """``postgres://u:***@db/x``: the password of the user information and secret query values."""
    url, user = m.group(), m.group("user")
    if user and ":" in user:
        start, end = m.start("user") - m.start(), m.end("user") - m.start()
        url = f"{url[:start]}{user.split(':', 1)[0]}:***{url[end:]}"
    return _SECRET_QUERY.sub(r"\1***", url) if "=" in url else url


def find(text: str) -> Iterator[Mention]:
    """Every URL host, then every ``host:port`` outside the URLs, in the order written."""
    if ":" not in text:
        return
    spans: list[tuple[int, int]] = []
    for m in _URL.finditer(text):
        spans.append(m.span())
        yield from _url(m)
    for m in _HOST_PORT.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        port = int(m.group("port"))
        if 0 < port < 65536:
            host = m.group("host").lower()
            yield Mention(host, port, "tcp", "host-port", m.group(), m.start(), m.start())


def _url(m: re.Match[str]) -> Iterator[Mention]:
    scheme = m.group("scheme").lower()
    base = scheme.split("+", 1)[0]  # postgresql+asyncpg://
    if base in _NOT_HOSTS:
        return
    protocol = "udp" if scheme in _UDP or base == "udp" else "tcp"
    text = _mask(m)
    at = m.start("hosts")
    for item in (m.group("hosts") or "").split(","):
        one, at = _ONE_HOST.match(item), at + len(item) + 1
        if not one:
            continue
        default = None if "srv" in scheme else SCHEME_PORTS.get(base)  # SRV: ports from DNS
        port = int(one.group("port")) if one.group("port") else default
        if port is not None and not 0 < port < 65536:
            continue
        host_at = at - len(item) - 1
        yield Mention(one.group("host").lower(), port, protocol, "url", text, m.start(), host_at)


def bare_hosts(value: str) -> list[tuple[str, int | None, int]]:
    """``db`` / ``db:5432`` / ``kafka1,kafka2``: (host, port, offset) of each item when the whole
    value is such a list, else nothing (free text is no evidence)."""
    out: list[tuple[str, int | None, int]] = []
    offset = 0
    for item in value.split(","):
        lead = len(item) - len(item.lstrip())
        one = _ONE_HOST.match(item.strip())
        if not one:
            return []
        port = one.group("port")
        out.append((one.group("host").lower(), int(port) if port else None, offset + lead))
        offset += len(item) + 1
    return out
