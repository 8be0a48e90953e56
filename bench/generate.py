"""A deterministic synthetic topology of N services, for the benchmark.

    python bench/generate.py N > topology.yaml

Shape (all counts derived from N, nothing random): ``max(1, N // 10)`` bridge networks with
non-overlapping /24 subnets and explicit gateways; a static IPv4 address for every service
(service ``i`` joins network ``i % networks``); ``max(1, N // 4)`` named volumes (service ``i``
mounts volume ``i % volumes``); a tmpfs mount on every service; a published port on every
fifth service (unique host ports); environment and labels on every service, with a URL naming
the next service of its network (a needed connection, :mod:`topogen.analysis.needs`). The
output validates with no diagnostics.
"""

from __future__ import annotations

import sys

#: Host ports start here; N = 20000 publishes 4000 ports, up to 13999.
PORT_BASE = 10000
#: Services per /24 network are at most ceil(N / networks), ~10, well below the 253 hosts.
HOST_BASE = 10


def counts(n: int) -> tuple[int, int]:
    """(networks, volumes) for ``n`` services."""
    return max(1, n // 10), max(1, n // 4)


def subnet(i: int) -> str:
    """The i-th /24 inside 10.0.0.0/8: 10.<hi>.<lo>.0/24 (up to 65536 networks)."""
    return f"10.{i // 256}.{i % 256}"


def networks(n: int) -> list[str]:
    nets, _ = counts(n)
    out = ["networks:"]
    for i in range(nets):
        prefix = subnet(i)
        out.append(f"  net{i}:")
        out.append(f"    subnet: {prefix}.0/24")
        out.append(f"    gateway: {prefix}.1")
        out.append(f'    labels: {{tier: bench, index: "{i}"}}')
    return out


def volumes(n: int) -> list[str]:
    _, vols = counts(n)
    out = ["volumes:"]
    for i in range(vols):
        out.append(f"  vol{i}:")
        out.append("    labels: {backup: daily}")
    return out


def upstream(i: int, n: int) -> int:
    """The service ``i`` names in its UPSTREAM_URL: the next one on its network (a needed
    connection that has a path), or the first of its network when there is no next one."""
    nets, _ = counts(n)
    return i + nets if i + nets < n else i % nets


def service(i: int, n: int) -> list[str]:
    nets, vols = counts(n)
    net = i % nets
    host = HOST_BASE + i // nets
    out = [
        f"  svc{i}:",
        f"    image: registry.example.com/team{i % 7}/app{i % 13}:1.{i % 5}.0",
        "    restart: unless-stopped",
        "    environment:",
        f"      SERVICE_NAME: svc{i}",
        f'      SERVICE_INDEX: "{i}"',
        "      LOG_LEVEL: info",
        "      DATABASE_URL: postgresql://app:${DB_PASSWORD:-secret}@db:5432/app",
        f"      UPSTREAM_URL: http://svc{upstream(i, n)}:8080/",
        "    labels:",
        f"      com.example.team: team{i % 7}",
        "      com.example.tier: bench",
        "    networks:",
        f"      net{net}: {{ipv4_address: {subnet(net)}.{host}}}",
        "    volumes:",
        f"      - vol{i % vols}:/data",
        "    tmpfs:",
        "      - /run:size=16m",
        "    mounts:",
        "      - {type: tmpfs, target: /tmp, size: 64m}",
    ]
    if i % 5 == 0:
        out += ["    ports:", f'      - "{PORT_BASE + i // 5}:8080"']
    return out


def generate(n: int) -> str:
    """The topology text for ``n`` services (same ``n``, same bytes)."""
    if n < 1:
        raise ValueError("N must be at least 1")
    lines = [
        f"# Synthetic benchmark topology: {n} services (bench/generate.py).",
        f"name: bench{n}",
    ]
    lines += networks(n) + volumes(n) + ["services:"]
    for i in range(n):
        lines += service(i, n)
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit() or int(argv[1]) < 1:
        sys.stderr.write("usage: python bench/generate.py N   (N >= 1 services)\n")
        return 2
    sys.stdout.write(generate(int(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
