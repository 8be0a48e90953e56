"""Subnets for generated networks (and ``subnet: auto``) from an address pool.

A network's subnet is derived from its name, not from its position: the slot is a hash of
the name within the pool, probed forward past slots that are taken (declared subnets, the
engine's networks, subnets given earlier in name order). Adding or removing one network
therefore moves no other network's subnet, unless two names hash to the same slot.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping

#: The default pool: far from Docker's own default pools (172.17-31.0.0/16, 192.168.0.0/16).
DEFAULT_POOL = "10.192.0.0/10"
DEFAULT_PREFIX = 24


class PoolExhausted(ValueError):
    """The pool has no free subnet left for a network."""


def parse_pool(text: str, prefix: int) -> ipaddress.IPv4Network:
    """The pool as a network; ValueError with a reason when unusable."""
    pool = ipaddress.ip_network(text, strict=True)
    if pool.version != 4:
        raise ValueError(f"pool {text} is not IPv4")
    assert isinstance(pool, ipaddress.IPv4Network)
    if not pool.prefixlen <= prefix <= 30:
        raise ValueError(
            f"prefix /{prefix} does not fit in pool {text} (between /{pool.prefixlen} and /30)"
        )
    return pool


def declared(texts: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The valid CIDRs among ``texts`` (anything else, ``${...}`` included, is skipped)."""
    out = []
    for text in texts:
        try:
            out.append(ipaddress.ip_network(str(text), strict=False))
        except ValueError:
            continue
    return out


def allocate(
    sizes: Mapping[str, int],
    pool: ipaddress.IPv4Network,
    prefix: int,
    avoid: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
) -> dict[str, str]:
    """``{name: subnet}`` for each name, sized for ``sizes[name]`` members (``prefix`` or
    larger), in ``pool``, overlapping nothing in ``avoid`` nor each other."""
    blocked = [n for n in avoid if isinstance(n, ipaddress.IPv4Network) and n.overlaps(pool)]
    used: set[int] = set()  # slots of size ``prefix``, by index in the pool
    slots = 1 << (prefix - pool.prefixlen)
    base = int(pool.network_address)
    unit = 1 << (32 - prefix)
    for n in blocked:
        first = max(0, (int(n.network_address) - base) // unit)
        last = min(slots - 1, (int(n.broadcast_address) - base) // unit)
        used.update(range(first, last + 1))
    out: dict[str, str] = {}
    for name in sorted(sizes):
        width = _width(sizes[name], prefix)  # in slots, a power of two
        count = slots // width
        if count == 0:
            raise PoolExhausted(f"no subnet of {sizes[name]} addresses fits in {pool}")
        start = _hash(name) % count
        for step in range(count):
            index = ((start + step) % count) * width
            if not used.intersection(range(index, index + width)):
                used.update(range(index, index + width))
                size = prefix - (width.bit_length() - 1)
                out[name] = str(ipaddress.IPv4Network((base + index * unit, size)))
                break
        else:
            raise PoolExhausted(f"pool {pool} has no free /{prefix} left for {name}")
    return out


def _width(members: int, prefix: int) -> int:
    """Slots needed for ``members`` addresses plus network, gateway and broadcast."""
    need = members + 3
    width = 1
    while (width << (32 - prefix)) < need:
        width <<= 1
    return width


def _hash(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
