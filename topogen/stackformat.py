"""What docker/cli's v3 stack format carries: read by the swarm lowering (which leaves the rest
out of ``docker-stack.yml``) and by the target rules (which report it at the topology line),
so that the rules need not import the lowering."""

from __future__ import annotations

#: Service keys (of ``resolved.Service.options``) that the v3 schema rejects or the stack
#: converter ignores; they are left out of the stack file and reported as warnings.
DROPPED_OPTIONS = (
    "domainname",
    "mac_address",
    "security_opt",
    "shm_size",
    "profiles",
    "cpu_shares",
)
#: Compose's service-level resource keys, and where they go under ``deploy.resources`` (the v3
#: schema has no service-level form).
RESOURCE_OPTIONS = {
    "cpus": ("limits", "cpus"),
    "mem_limit": ("limits", "memory"),
    "mem_reservation": ("reservations", "memory"),
    "pids_limit": ("limits", "pids"),
}
#: Healthcheck keys the v3 schema rejects.
DROPPED_HEALTHCHECK = ("start_interval",)
#: Driver options that only the bridge driver understands.
BRIDGE_OPTION_PREFIX = "com.docker.network.bridge."
