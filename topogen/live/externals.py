"""``verify --create-external``: the external networks and volumes a topology names but the
engine lacks, created for one run (labelled with the run's project) and removed afterwards.

An external object that already exists is used as it is and never removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import resolved as r
from .engine import Engine, EngineError


@dataclass(frozen=True)
class Created:
    kind: str  # network | volume
    name: str


def missing(topo: r.Topology, engine: Engine) -> tuple[list[r.Network], list[r.Volume]]:
    """The external networks and volumes the engine does not have."""
    have = set(engine.lines("network", "ls", "--format", "{{.Name}}"))
    volumes = engine.volume_names()
    nets = [n for n in topo.networks.values() if n.external and n.name not in have]
    vols = [v for v in topo.volumes.values() if v.external and (v.name or v.key) not in volumes]
    return nets, vols


def network_args(n: r.Network, parent: str | None = None) -> list[str]:
    """``docker network create`` arguments for an external network as the topology describes it:
    its driver, subnets (gateways, ranges), internal and IPv6 flags, macvlan/ipvlan parent."""
    args = ["--driver", n.driver or "bridge"]
    for pool in n.pools:
        if pool.subnet is None:
            continue
        args += ["--subnet", str(pool.subnet)]
        if pool.gateway is not None:
            args += ["--gateway", str(pool.gateway)]
        if pool.ip_range is not None:
            args += ["--ip-range", str(pool.ip_range)]
    if n.internal:
        args.append("--internal")
    if n.enable_ipv6:
        args.append("--ipv6")
    if n.driver in ("macvlan", "ipvlan") and (parent or n.parent):
        args += ["-o", f"parent={parent or n.parent}"]
    if n.driver == "overlay":
        args.append("--attachable")
    return args


def create(
    engine: Engine, topo: r.Topology, label: str, parent: str | None = None
) -> list[Created]:
    """Create what is missing, each with ``label``; the objects created so far are returned on
    success and removed (then EngineError) on failure."""
    nets, vols = missing(topo, engine)
    made: list[Created] = []
    for n in nets:
        cp = engine.docker_cmd(
            "network", "create", *network_args(n, parent), "--label", label, n.name, timeout=60
        )
        if cp.returncode != 0:
            remove(engine, made)
            raise EngineError(f"could not create external network {n.name!r}: {cp.stderr.strip()}")
        made.append(Created("network", n.name))
    for v in vols:
        name = v.name or v.key
        cp = engine.docker_cmd("volume", "create", "--label", label, name, timeout=60)
        if cp.returncode != 0:
            remove(engine, made)
            raise EngineError(f"could not create external volume {name!r}: {cp.stderr.strip()}")
        made.append(Created("volume", name))
    return made


def remove(engine: Engine, created: list[Created]) -> list[str]:
    """Remove what :func:`create` made; the errors, one line each."""
    errors = []
    for c in reversed(created):
        cp = engine.docker_cmd(
            c.kind, "rm", *(["-f"] if c.kind == "volume" else []), c.name, timeout=60
        )
        if (
            cp.returncode != 0
            and "no such" not in cp.stderr.lower()
            and "not found" not in cp.stderr.lower()
        ):
            errors.append(
                f"could not remove the {c.kind} {c.name!r} created for the run: {cp.stderr.strip()}"
            )
    return errors


def cleanup_command(created: list[Created]) -> str:
    """The shell command that removes what :func:`create` made (for ``--keep``)."""
    return " && ".join(f"docker {c.kind} rm {c.name}" for c in reversed(created))
