"""Output forms that the Compose file and the swarm stack write the same way (no Jinja here:
the swarm rules import the lowering, and validate must stay light)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import resolved as r

#: Re-expresses a host path of the topology relative to where the output is written.
HostPath = Callable[[str], str]


def option_value(v: Any) -> Any:
    """A driver option as the engine reads it: Go booleans lower-case, numbers kept."""
    return v if isinstance(v, (str, int, float)) and not isinstance(v, bool) else str(v).lower()


def network_identity(n: r.Network, topo: r.Topology) -> dict[str, Any]:
    """A network's ``name`` (only when it is not the default ``<project>_<key>``, or ``<key>``
    for an external one) and ``external``: all an external network gets."""
    out: dict[str, Any] = {}
    if n.name != (n.key if n.external else f"{topo.name}_{n.key}"):
        out["name"] = n.name
    if n.external:
        out["external"] = True
    return out


def volume(v: r.Volume, host: HostPath) -> dict[str, Any]:
    """A named volume keeps its driver and options (a swarm node creates it on first use)."""
    out: dict[str, Any] = {}
    if v.name:
        out["name"] = v.name
    if v.external:
        out["external"] = True
        return out
    if v.driver:
        out["driver"] = v.driver
    if v.driver_opts:
        opts = {k: option_value(val) for k, val in v.driver_opts}
        if v.kind == "bind":
            opts["device"] = host(str(opts["device"]))
        out["driver_opts"] = opts
    if v.labels:
        out["labels"] = dict(v.labels)
    return out


def plain_option(key: str, value: Any, host: HostPath) -> Any:
    """A plain service option: host paths re-based, ``user`` a string (both formats say
    "services.x.user must be a string" for ``1000``)."""
    if key == "env_file":
        return [host(v) for v in value] if isinstance(value, list) else host(value)
    if key == "user":
        return str(value)
    return value


def grant(g: r.FileGrant) -> Any:
    """A secret or config grant, short or long form as written."""
    if not g.long_form:
        return g.source
    out: dict[str, Any] = {"source": g.source}
    for key in ("target", "uid", "gid", "mode"):
        if getattr(g, key) is not None:
            out[key] = getattr(g, key)
    return out
