"""Targets: where ``docker stack deploy`` would not do what the topology says.

These rules run only for topologies whose ``targets`` include ``swarm``. An **error** marks
what the stack would silently do differently; a **warning** marks what the stack drops
without changing what the services can reach or store. Each docstring says what the stack
does instead. The lowering that these rules accompany is :mod:`topogen.lower`; the rules live in
:mod:`.swarm_errors` and :mod:`.swarm_warnings`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import cast

from ...diagnostics import Diagnostic
from ...resolved import Topology
from ..registry import Rule
from . import swarm_errors, swarm_warnings


def _swarm_only(rule: Rule) -> Rule:
    """Run ``rule`` only for topologies that target swarm (its name, docstring and ids stay)."""

    @functools.wraps(rule)
    def run(topo: Topology) -> Iterator[Diagnostic]:
        if "swarm" in topo.targets:
            yield from rule(topo)

    return cast(Rule, run)


RULES = tuple(
    _swarm_only(rule)
    for rule in (
        swarm_errors.swarm_static_ip,
        swarm_errors.swarm_depends_on,
        swarm_errors.swarm_bind_mount,
        swarm_errors.swarm_relative_volume_path,
        swarm_errors.swarm_local_network,
        swarm_errors.swarm_network_mode,
        swarm_errors.swarm_dnsrr_ingress,
        swarm_errors.swarm_replicas_global,
        swarm_errors.swarm_port_conflict,
        swarm_errors.swarm_secret_source,
        swarm_errors.swarm_image_required,
        swarm_warnings.swarm_local_volume,
        swarm_warnings.swarm_host_port_replicas,
        swarm_warnings.swarm_container_name,
        swarm_warnings.swarm_build,
        swarm_warnings.swarm_links,
        swarm_warnings.swarm_expose,
        swarm_warnings.swarm_port_host_ip,
        swarm_warnings.swarm_tmpfs_options,
        swarm_warnings.swarm_ignored_option,
        swarm_warnings.swarm_ipam_dropped,
        swarm_warnings.swarm_dotenv,
        swarm_warnings.swarm_empty_environment,
    )
)
