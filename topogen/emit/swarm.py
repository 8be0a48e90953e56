"""The swarm target: ``docker-stack.yml`` in docker/cli's Compose v3 format.

The lowering itself lives in :mod:`topogen.lower`, one documented function per rule; this
module only assembles the sections and renders ``stack.yml.j2``. A topology's ``$`` follows
Compose's rules; every value is rewritten for the stack loader's older grammar
(:func:`topogen.substitution.for_stack`).
"""

from __future__ import annotations

from typing import Any

from .. import lower
from .. import resolved as r
from ..forms import volume
from ..substitution import for_stack
from . import HEADER, render
from .compose import Paths

FILENAME = "docker-stack.yml"


def emit(topo: r.Topology, out_dir: str) -> dict[str, str]:
    """Render the stack file; relative host paths are rewritten relative to ``out_dir``.

    The stack is rendered from the topology as written (``${...}`` kept): ``docker stack
    deploy`` interpolates it itself, from the deploying shell."""
    topo = topo.as_written or topo
    paths = Paths(topo.base_dir, out_dir)
    text = render(
        "stack.yml.j2",
        header=HEADER.format(source=paths.source(topo.file)),
        version=lower.stack_version(topo),
        services=stack_values(
            {s.name: lower.service(s, topo, paths.host) for s in topo.services.values()}
        ),
        sections=(
            ("networks", stack_values(networks(topo))),
            (
                "volumes",
                stack_values({v.key: volume(v, paths.host) for v in topo.volumes.values()}),
            ),
            (
                "secrets",
                stack_values(
                    {g.key: lower.grantable(g, paths.host) for g in topo.secrets.values()}
                ),
            ),
            (
                "configs",
                stack_values(
                    {g.key: lower.grantable(g, paths.host) for g in topo.configs.values()}
                ),
            ),
        ),
    )
    return {FILENAME: text}


def stack_values(data: Any) -> Any:
    """Every string value (not key) as the stack loader must read it to mean what Compose
    means; one it cannot say is left as written (see ``for_stack``)."""
    if isinstance(data, str):
        return for_stack(data)[0] if "$" in data else data
    if isinstance(data, dict):
        return {k: stack_values(v) for k, v in data.items()}
    if isinstance(data, list):
        return [stack_values(v) for v in data]
    return data


def networks(topo: r.Topology) -> dict[str, Any]:
    """Declared networks, plus swarm's ``host`` network when a service uses host networking."""
    out = {n.key: lower.network(n, topo) for n in topo.networks.values() if not n.implicit}
    if any(s.network_mode == "host" for s in topo.services.values()):
        out[lower.host_network_key(topo)] = lower.host_network()
    return dict(sorted(out.items()))
