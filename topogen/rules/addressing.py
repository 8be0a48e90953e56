"""Addressing: subnets, gateways, ranges and static IPs that the engine accepts and that mean
what the topology says."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from ..diagnostics import Diagnostic, error, warning
from ..resolved import Network, Pool, Topology
from .registry import reports


def _pools(topo: Topology) -> Iterator[tuple[Network, Pool]]:
    for n in topo.networks.values():
        for p in n.pools:
            if p.subnet is not None:
                yield n, p


@reports(error="subnet-host-bits")
def subnet_host_bits(topo: Topology) -> Iterator[Diagnostic]:
    """A subnet has host bits set (newer engines reject it; 20.10 silently masks it).

    ``subnet: 172.28.0.1/16`` (write 172.28.0.0/16).
    """
    for _n, p in _pools(topo):
        assert p.subnet is not None
        if ipaddress.ip_interface(p.subnet_text).ip != p.subnet.network_address:
            yield error(
                "subnet-host-bits",
                f"invalid subnet {p.subnet_text}: it should be {p.subnet}",
                (*p.path, "subnet"),
            )
        if (
            p.ip_range is not None
            and p.ip_range_text
            and ipaddress.ip_interface(p.ip_range_text).ip != p.ip_range.network_address
        ):
            yield error(
                "subnet-host-bits",
                f"invalid ip-range {p.ip_range_text}: it should be {p.ip_range}",
                (*p.path, "ip_range"),
            )


@reports(error="subnet-overlap")
def subnet_overlap(topo: Topology) -> Iterator[Diagnostic]:
    """Two networks' subnets overlap ("Pool overlaps with other one on this address space").

    ``a: {subnet: 10.0.0.0/16}`` and ``b: {subnet: 10.0.1.0/24}``.
    """
    # Overlays allocate from the swarm's global address space, the other drivers from the local one.
    pools = sorted(
        (
            (
                p.subnet.version + (10 if n.driver == "overlay" else 0),
                int(p.subnet.network_address),
                int(p.subnet.broadcast_address),
                n,
                p,
            )
            for n, p in _pools(topo)
            if not n.external and p.subnet is not None
        ),
        key=lambda t: (t[0], t[1], t[2]),
    )
    widest: tuple[int, int, Network, Pool] | None = None  # (space, end, network, pool)
    for version, start, end, n, p in pools:
        if widest and widest[0] == version and start <= widest[1] and widest[2].key != n.key:
            yield error(
                "subnet-overlap",
                f"subnet {p.subnet} of network {n.key} overlaps {widest[3].subnet} of network {widest[2].key}",
                (*p.path, "subnet"),
            )
        if not widest or widest[0] != version or end > widest[1]:
            widest = (version, end, n, p)


@reports(error=("aux-address-outside-subnet", "gateway-outside-subnet", "ip-range-outside-subnet"))
def pool_addresses(topo: Topology) -> Iterator[Diagnostic]:
    """A gateway, ip_range or aux address lies outside its subnet or is of the other family.

    ``{subnet: 172.22.0.0/16, gateway: 172.21.0.1}``.
    """
    for _n, p in _pools(topo):
        subnet = p.subnet
        assert subnet is not None
        if p.gateway is not None and p.gateway not in subnet:
            yield error(
                "gateway-outside-subnet",
                f"gateway {p.gateway} is outside subnet {subnet}",
                (*p.path, "gateway"),
            )
        if p.ip_range is not None and (
            p.ip_range.version != subnet.version or not p.ip_range.subnet_of(subnet)  # type: ignore[arg-type]
        ):
            yield error(
                "ip-range-outside-subnet",
                f"ip_range {p.ip_range} is outside subnet {subnet}",
                (*p.path, "ip_range"),
            )
        for name, addr, _text in p.aux_addresses:
            if addr is not None and addr not in subnet:
                yield error(
                    "aux-address-outside-subnet",
                    f"aux address {name}={addr} is outside subnet {subnet}",
                    (*p.path, "aux_addresses", name),
                )


@reports(error="aux-address-is-gateway")
def aux_address_is_gateway(topo: Topology) -> Iterator[Diagnostic]:
    """An aux address is the network's gateway (the engine: "failed to allocate secondary ip address ... Address already in use").

    ``{subnet: 10.5.0.0/24, aux_addresses: {router: 10.5.0.1}}``: without ``gateway`` it is the subnet's first address.
    """
    for n, p in _pools(topo):
        subnet = p.subnet
        assert subnet is not None
        gateway = p.gateway or (subnet.network_address + 1 if subnet.num_addresses > 2 else None)
        for name, addr, _text in p.aux_addresses:
            if addr is not None and addr == gateway and not n.external:
                implicit = "" if p.gateway else " (the first address, when no gateway is set)"
                yield error(
                    "aux-address-is-gateway",
                    f"aux address {name}={addr} is the gateway of network {n.key}{implicit}",
                    (*p.path, "aux_addresses", name),
                    hint="the gateway is reserved already; drop the aux address",
                )


@reports(error="ipv6-not-enabled")
def ipv6_without_enable(topo: Topology) -> Iterator[Diagnostic]:
    """An IPv6 subnet or address on a network without ``enable_ipv6: true`` (silently not allocated).

    ``{subnets: [{subnet: "fd00::/64"}]}`` with no ``enable_ipv6``.
    """
    for n in topo.networks.values():
        if n.enable_ipv6 or n.external:
            continue
        for p in n.pools:
            if p.subnet is not None and p.subnet.version == 6:
                yield error(
                    "ipv6-not-enabled",
                    f"network {n.key} has IPv6 subnet {p.subnet} but not enable_ipv6: true",
                    (*p.path, "subnet"),
                )
    for s in topo.services.values():
        for a in s.attachments:
            net = topo.networks.get(a.network)
            if (
                a.ipv6_address is not None
                and net is not None
                and not net.enable_ipv6
                and not net.external
            ):
                yield error(
                    "ipv6-not-enabled",
                    f"ipv6_address on network {net.key}, which has no enable_ipv6: true",
                    (*a.path, "ipv6_address"),
                )


@reports(error="bridge-multiple-subnets")
def bridge_multiple_subnets(topo: Topology) -> Iterator[Diagnostic]:
    """A bridge network has more than one IPv4 (or IPv6) subnet ("bridge driver doesn't support multiple subnets").

    ``{subnet: 10.1.0.0/24, subnets: [{subnet: 10.2.0.0/24}]}``.
    """
    for n in topo.networks.values():
        if n.driver != "bridge" or n.external:
            continue
        for version in (4, 6):
            pools = [p for p in n.pools if p.subnet is not None and p.subnet.version == version]
            for p in pools[1:]:
                yield error(
                    "bridge-multiple-subnets",
                    f"bridge network {n.key} has more than one IPv{version} subnet",
                    (*p.path, "subnet"),
                )


@reports(
    error=("static-ip-outside-subnet", "static-ip-reserved", "static-ip-without-subnet"),
    warning="static-ip-in-ip-range",
)
def static_ip(topo: Topology) -> Iterator[Diagnostic]:
    """A static IP needs a declared subnet that contains it, and must not be a reserved address.

    ``ipv4_address: 172.22.0.1`` where 172.22.0.1 is the gateway.
    """
    for s in topo.services.values():
        for a in s.attachments:
            n = topo.networks.get(a.network)
            if n is None:
                continue
            for field, addr in (("ipv4_address", a.ipv4_address), ("ipv6_address", a.ipv6_address)):
                if addr is not None:
                    yield from _check_static(n, addr, (*a.path, field))


def _check_static(
    n: Network, addr: ipaddress.IPv4Address | ipaddress.IPv6Address, path: tuple[str | int, ...]
) -> Iterator[Diagnostic]:
    pools = [p for p in n.pools if p.subnet is not None and p.subnet.version == addr.version]
    if n.external:
        return
    if not pools:
        yield error(
            "static-ip-without-subnet",
            f"static IP {addr} on network {n.key}, which declares no IPv{addr.version} subnet",
            path,
            hint="declare subnet: on the network",
        )
        return
    pool = next((p for p in pools if addr in p.subnet), None)  # type: ignore[operator]
    if pool is None:
        subnets = ", ".join(str(p.subnet) for p in pools)
        yield error(
            "static-ip-outside-subnet",
            f"static IP {addr} is outside subnet {subnets} of network {n.key}",
            path,
        )
        return
    subnet = pool.subnet
    assert subnet is not None
    gateway = pool.gateway or (subnet.network_address + 1 if subnet.num_addresses > 2 else None)
    if addr == gateway:
        yield error(
            "static-ip-reserved", f"static IP {addr} is the gateway of network {n.key}", path
        )
    elif addr == subnet.network_address and subnet.num_addresses > 2:
        yield error(
            "static-ip-reserved", f"static IP {addr} is the network address of {subnet}", path
        )
    elif subnet.version == 4 and addr == subnet.broadcast_address and subnet.num_addresses > 2:
        yield error(
            "static-ip-reserved", f"static IP {addr} is the broadcast address of {subnet}", path
        )
    elif any(addr == aux for _name, aux, _t in pool.aux_addresses):
        yield error(
            "static-ip-reserved", f"static IP {addr} is an aux address of network {n.key}", path
        )
    elif (
        pool.ip_range is not None
        and addr.version == pool.ip_range.version
        and addr in pool.ip_range
    ):
        yield warning(
            "static-ip-in-ip-range",
            f"static IP {addr} is inside ip_range {pool.ip_range}: the engine may hand it out dynamically first",
            path,
            hint="pick an address outside ip_range",
        )


@reports(error="duplicate-static-ip")
def duplicate_static_ip(topo: Topology) -> Iterator[Diagnostic]:
    """Two services use the same static IP on one network ("Address already in use").

    ``a: {networks: {db: {ipv4_address: 10.0.0.5}}}`` and the same for ``b``.
    """
    seen: dict[tuple[str, object], str] = {}
    for s in topo.in_file_order("services"):
        for a in s.attachments:
            for field, addr in (("ipv4_address", a.ipv4_address), ("ipv6_address", a.ipv6_address)):
                if addr is None:
                    continue
                key = (a.network, addr)
                if key in seen:
                    yield error(
                        "duplicate-static-ip",
                        f"static IP {addr} on network {a.network} is already used by service {seen[key]}",
                        (*a.path, field),
                    )
                else:
                    seen[key] = s.name


@reports(error="unique-with-replicas")
def static_ip_with_replicas(topo: Topology) -> Iterator[Diagnostic]:
    """A static IP, container_name or mac_address on a service with more than one replica.

    ``{deploy: {replicas: 3}, container_name: web}``.
    """
    for s in topo.services.values():
        if (s.replicas or 1) <= 1:
            continue
        if s.container_name:
            yield error(
                "unique-with-replicas",
                f"container_name on service {s.name}, which has {s.replicas} replicas",
                (*s.path, "container_name"),
            )
        if dict(s.options).get("mac_address"):
            yield error(
                "unique-with-replicas",
                f"mac_address on service {s.name}, which has {s.replicas} replicas",
                (*s.path, "mac_address"),
            )
        for a in s.attachments:
            for field, value in (
                ("ipv4_address", a.ipv4_address),
                ("ipv6_address", a.ipv6_address),
                ("mac_address", a.mac_address),
            ):
                if value is not None:
                    yield error(
                        "unique-with-replicas",
                        f"{field} on service {s.name}, which has {s.replicas} replicas",
                        (*a.path, field),
                    )


RULES = (
    subnet_host_bits,
    subnet_overlap,
    pool_addresses,
    aux_address_is_gateway,
    ipv6_without_enable,
    bridge_multiple_subnets,
    static_ip,
    duplicate_static_ip,
    static_ip_with_replicas,
)
