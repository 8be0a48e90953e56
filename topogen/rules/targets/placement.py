"""Where a service's tasks may run, and where its mounts are written: shared by the target rules."""

from __future__ import annotations

import re

from ...resolved import Mount, Service

_PIN = re.compile(r"^\s*node\.(hostname|id)\s*==\s*(\S+)\s*$")


def pinned_node(s: Service) -> str | None:
    """The single node a placement constraint pins the service to, if any."""
    for c in s.deploy.constraints:
        if m := _PIN.match(c):
            return f"{m.group(1)}={m.group(2)}"
    return None


def spreads(s: Service) -> bool:
    """Whether the service's tasks may run on more than one node."""
    if pinned_node(s):
        return False
    return (s.replicas or 1) > 1 or s.deploy.global_mode


def source_path(m: Mount) -> tuple[str | int, ...]:
    return (*m.path, "source")  # the short syntax has no such key: the item itself is located
