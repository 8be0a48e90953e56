"""What docker/cli's v3 stack format carries: read by the swarm lowering (which leaves the rest
out of ``docker-stack.yml``) and by the target rules (which report it at the topology line),
so that the rules need not import the lowering."""

from __future__ import annotations

#: Service keys are in the one table of service keys (:mod:`topogen.keys`).
#: Healthcheck keys the v3 schema rejects.
DROPPED_HEALTHCHECK = ("start_interval",)
#: Driver options that only the bridge driver understands.
BRIDGE_OPTION_PREFIX = "com.docker.network.bridge."
