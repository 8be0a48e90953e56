"""A deterministic intent of N services and about 5N flows, for the synthesis benchmark.

    python bench/intent.py N [FLOWS] > intent.yaml

Shape: services in groups of ten around a hub (``svc-i`` with ``i % 10 == 0``): each member
talks to its hub and the hub back; then flows between random services (``random.Random(N)``,
so the same N gives the same bytes) until there are FLOWS (default 5N) distinct flows. Every
tenth service needs egress, every twentieth publishes a port. No service writes networks:
the topology asks for synthesis, and every flow is an ``allow`` policy.
"""

from __future__ import annotations

import random
import sys


def flows(n: int, total: int) -> list[tuple[int, int]]:
    out: dict[tuple[int, int], None] = {}
    for i in range(n):
        hub = i - i % 10
        if i != hub:
            out[(i, hub)] = out[(hub, i)] = None
    rng = random.Random(n)
    while len(out) < min(total, n * (n - 1)):
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            out[(a, b)] = None
    return list(out)[:total]


def main(n: int, total: int) -> str:
    width = len(str(n - 1))
    name = [f"svc-{i:0{width}}" for i in range(n)]
    lines = [
        f"name: intent-{n}",
        "synthesize:",
        "  pool: 10.64.0.0/10",
        "  egress: [" + ", ".join(name[i] for i in range(0, n, 10)) + "]",
        "services:",
    ]
    for i in range(n):
        lines.append(f"  {name[i]}:")
        lines.append("    image: busybox:1.36")
        if i % 20 == 5:
            lines.append(f'    ports: ["{20000 + i}:80"]')
    lines.append("policies:")
    lines += [f"  - allow: {{from: {name[a]}, to: {name[b]}}}" for a, b in flows(n, total)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    n = int(sys.argv[1])
    sys.stdout.write(main(n, int(sys.argv[2]) if len(sys.argv) > 2 else 5 * n))
