"""Service keys: one row each, read by every stage that treats keys one by one.

Parsing (``spec.Service``) has the field and its type. This table says the rest:

- ``typed``: resolve takes the key apart into its own ``resolved.Service`` field, and the swarm
  lowering has a function for it; otherwise resolve keeps the value as written in
  ``Service.options`` (in this table's order) and the swarm column says what becomes of it;
- ``swarm``: ``carry`` (into docker-stack.yml as written: docker/cli converts it),
  ``resource`` (to ``deploy.resources`` at ``to``), ``replicas`` (to ``deploy.replicas``),
  ``drop`` (left out, with the ``swarm-ignored-option`` warning saying ``why``);
- ``stub``: a ``verify --stub-image`` stub leaves it out (it starts, checks or constrains the
  real program);
- ``newer``: in the Compose Specification's schema but refused by the Compose topogen is
  checked against (2.40.3: "additional properties ... not allowed"): an error.

The Compose target needs no column: it writes the document as the input wrote it. Adding a
key is one row here plus its field in ``spec.Service``; ``tests/test_keys.py`` fails on a field
without a row, and runs every carried key through the real ``docker stack config``.
Sources: ``FACTS-compose-swarm.md`` section 4.3 (docker/cli ``stack/loader.go``,
``convert/service.go`` and the v3.8 schema).
"""

from __future__ import annotations

from dataclasses import dataclass

#: What docker stack deploy does with a dropped key, in the warning's words.
IGNORED = "docker stack deploy ignores it"
FORBIDDEN = "docker stack deploy refuses it"
NOT_V3 = "the stack file format has no such key"


@dataclass(frozen=True)
class Key:
    typed: bool = False
    swarm: str = "carry"  # carry | resource | replicas | drop | typed
    why: str = ""  # for drop
    to: tuple[str, str] = ("", "")  # for resource: (limits | reservations, name)
    stub: bool = False
    newer: bool = False


def _typed(stub: bool = False) -> Key:
    return Key(typed=True, swarm="typed", stub=stub)


def _drop(why: str, stub: bool = False, newer: bool = False) -> Key:
    return Key(swarm="drop", why=why, stub=stub, newer=newer)


SERVICE: dict[str, Key] = {
    # typed: resolve and the swarm lowering each have their own code for these
    "image": _typed(),
    "build": _typed(stub=True),
    "hostname": _typed(),
    "environment": _typed(),
    "ports": _typed(),
    "expose": _typed(),
    "networks": _typed(),
    "network_mode": _typed(),
    "volumes": _typed(),
    "mounts": _typed(),
    "tmpfs": _typed(),
    "secrets": _typed(),
    "configs": _typed(),
    "healthcheck": _typed(stub=True),
    "deploy": _typed(),
    "restart": _typed(),
    "labels": _typed(),
    "depends_on": _typed(),
    "links": _typed(),
    "container_name": _typed(),
    "privileged": _typed(),
    "extends": _typed(),
    "x-compose": _typed(),
    "x-swarm": _typed(),
    # kept as written, in this order
    "command": Key(stub=True),
    "entrypoint": Key(stub=True),
    "env_file": Key(),
    "user": Key(stub=True),
    "working_dir": Key(stub=True),
    "domainname": _drop(IGNORED),
    "dns": Key(),
    "dns_search": Key(),
    "extra_hosts": Key(),
    "mac_address": _drop(IGNORED),
    "cap_add": Key(),
    "cap_drop": Key(stub=True),
    "read_only": Key(),
    "security_opt": _drop(IGNORED),
    "sysctls": Key(),
    "ulimits": Key(),
    "logging": Key(),
    "profiles": _drop(NOT_V3),
    "init": Key(stub=True),
    "stop_grace_period": Key(),
    "stop_signal": Key(stub=True),
    "tty": Key(),
    "stdin_open": Key(),
    "shm_size": _drop(IGNORED),
    "cpus": Key(swarm="resource", to=("limits", "cpus")),
    "mem_limit": Key(swarm="resource", to=("limits", "memory")),
    "mem_reservation": Key(swarm="resource", to=("reservations", "memory")),
    "pids_limit": Key(swarm="resource", to=("limits", "pids")),
    "cpu_shares": _drop(FORBIDDEN),
    "isolation": Key(),
    "credential_spec": Key(),
    "oom_score_adj": _drop(NOT_V3),
    "scale": Key(swarm="replicas"),
    "pid": _drop(IGNORED),
    "ipc": _drop(IGNORED),
    "userns_mode": _drop(IGNORED),
    "cgroup_parent": _drop(IGNORED),
    "devices": _drop(IGNORED, stub=True),
    "external_links": _drop(IGNORED),
    "volumes_from": _drop(FORBIDDEN),
    "cpu_quota": _drop(FORBIDDEN),
    "cpuset": _drop(FORBIDDEN),
    "memswap_limit": _drop(FORBIDDEN),
    "annotations": _drop(NOT_V3),
    "attach": _drop(NOT_V3),
    "blkio_config": _drop(NOT_V3),
    "cgroup": _drop(NOT_V3),
    "cpu_count": _drop(NOT_V3),
    "cpu_percent": _drop(NOT_V3),
    "cpu_period": _drop(NOT_V3),
    "cpu_rt_period": _drop(NOT_V3),
    "cpu_rt_runtime": _drop(NOT_V3),
    "develop": _drop(NOT_V3),
    "device_cgroup_rules": _drop(NOT_V3),
    "dns_opt": _drop(NOT_V3),
    "gpus": _drop(NOT_V3),
    "group_add": _drop(NOT_V3),
    "label_file": _drop(NOT_V3),
    "mem_swappiness": _drop(NOT_V3),
    "models": _drop(NOT_V3),
    "oom_kill_disable": _drop(NOT_V3),
    "platform": _drop(NOT_V3),
    "post_start": _drop(NOT_V3),
    "pre_start": _drop(NOT_V3, newer=True),
    "pre_stop": _drop(NOT_V3),
    "provider": _drop(NOT_V3),
    "pull_policy": _drop(NOT_V3, stub=True),
    "pull_refresh_after": _drop(NOT_V3),
    "runtime": _drop(NOT_V3),
    "storage_opt": _drop(NOT_V3),
    "umask": _drop(NOT_V3, newer=True),
    "use_api_socket": _drop(NOT_V3),
    "uts": _drop(NOT_V3),
}

#: Keys resolve keeps as written (``resolved.Service.options``), in this order.
OPTIONS = tuple(k for k, row in SERVICE.items() if not row.typed)
#: Kept keys the swarm lowering leaves out, and why.
SWARM_DROPPED = {k: row.why for k, row in SERVICE.items() if row.swarm == "drop"}
#: Compose's service-level resource keys and where they go under ``deploy.resources``.
RESOURCE_OPTIONS = {k: row.to for k, row in SERVICE.items() if row.swarm == "resource"}
#: Keys a stub leaves out.
STUB_DROPPED = tuple(k for k, row in SERVICE.items() if row.stub)
#: Service and top-level keys newer than the Compose topogen is checked against.
NEWER_SERVICE = tuple(k for k, row in SERVICE.items() if row.newer)
NEWER_TOP = ("jobs",)
#: That Compose.
COMPOSE_VERSION = "2.40.3"
