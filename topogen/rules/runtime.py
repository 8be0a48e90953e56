"""Runtime: a container's restart policy, sizes, healthcheck timings, stop signal and ulimits.

Compose passes these on and the engine refuses them when it creates or starts the container
(sizes Compose already refuses); ``tests/live/test_rules_engine.py`` shows each refusal on a
real engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..diagnostics import Diagnostic, error
from ..keys import RESOURCE_OPTIONS
from ..resolved import Topology
from ..units import duration_ns, size_bytes
from .registry import reports
from .storage import RAM_SIZE

#: ``restart`` conditions Compose passes on (it maps none -> no and any -> always); the engine refuses others.
RESTART_CONDITIONS = ("no", "none", "always", "any", "unless-stopped", "on-failure")
#: Signal names the engine knows (moby/sys/signal, Linux), without SIG; numbers 1-255 work too.
SIGNALS = frozenset(
    [
        "ABRT",
        "ALRM",
        "BUS",
        "CHLD",
        "CLD",
        "CONT",
        "FPE",
        "HUP",
        "ILL",
        "INT",
        "IO",
        "IOT",
        "KILL",
        "PIPE",
        "POLL",
        "PROF",
        "PWR",
        "QUIT",
        "SEGV",
        "STKFLT",
        "STOP",
        "SYS",
        "TERM",
        "TRAP",
        "TSTP",
        "TTIN",
        "TTOU",
        "URG",
        "USR1",
        "USR2",
        "VTALRM",
        "WINCH",
        "XCPU",
        "XFSZ",
        "RTMIN",
        "RTMAX",
        *(f"RTMIN+{i}" for i in range(1, 16)),
        *(f"RTMAX-{i}" for i in range(1, 15)),
    ]
)
#: Resource limits runc can set (go-units ulimit names); another name fails at container start.
ULIMITS = frozenset(
    [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ]
)


@reports(error="invalid-restart")
def invalid_restart(topo: Topology) -> Iterator[Diagnostic]:
    """``restart`` is not no, always, unless-stopped or on-failure[:N] (the engine refuses to create the container).

    ``restart: sometimes``. A count goes with on-failure only, and must be a whole number: Compose
    reads ``on-failure:3x`` as on-failure with no limit.
    """
    for s in topo.services.values():
        value = s.restart
        if not value or "$" in value:  # "" is what Compose sends when restart is unset
            continue
        condition, colon, count = value.partition(":")
        if condition not in RESTART_CONDITIONS:
            problem = f"{value!r} is not a restart policy"
        elif colon and condition != "on-failure":
            problem = f"restart {value!r}: a retry count goes with on-failure only"
        elif colon and not count.isdigit():
            problem = f"restart {value!r}: the retry count {count!r} is not a whole number"
        else:
            continue
        yield error(
            "invalid-restart",
            f'service "{s.name}": {problem}',
            (*s.path, "restart"),
            hint="write no, always, unless-stopped, on-failure or on-failure:N",
        )


@reports(error="invalid-size")
def invalid_size(topo: Topology) -> Iterator[Diagnostic]:
    """``shm_size``, ``mem_limit``, ``mem_reservation`` or a ``deploy.resources`` memory is not a
    byte size (Compose refuses the file).

    ``shm_size: 64x``: write a number of bytes or 64m, 1g, 512k.
    """
    for s in topo.services.values():
        sizes = [
            ((*s.path, k), v)
            for k, v in s.options
            if k in ("shm_size", "mem_limit", "mem_reservation")
        ]
        sizes += [
            ((*s.path, "deploy", "resources", kind, "memory"), block.memory)
            for kind in ("limits", "reservations")
            if (block := s.deploy.resources(kind)) is not None
        ]
        for path, size in sizes:
            if (
                isinstance(size, str)
                and "$" not in size
                and not RAM_SIZE.fullmatch(size)
                or (isinstance(size, int) and size < 0)
            ):
                yield error(
                    "invalid-size",
                    f'service "{s.name}": {path[-1]} {size!r} is not a byte size',
                    path,
                    hint="write a number of bytes or one with a unit: 512k, 64m, 1g",
                )


@reports(error="resource-conflict")
def resource_conflict(topo: Topology) -> Iterator[Diagnostic]:
    """``cpus``, ``mem_limit``, ``mem_reservation`` or ``pids_limit`` next to a ``deploy.resources``
    limits (or reservations) block that says otherwise; a block that leaves the key out counts as 0
    (Compose: "can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory'").

    ``mem_limit: 1g`` with ``deploy: {resources: {limits: {cpus: "1"}}}``: write ``memory: 1g`` in
    that block instead.
    """
    for s in topo.services.values():
        for key, value in s.options:
            kind, name = RESOURCE_OPTIONS.get(key, ("", ""))
            block = s.deploy.resources(kind)
            if value is None or block is None:
                continue
            other = getattr(block, name)
            if _amount(name, value) != _amount(name, 0 if other is None else other):
                said = (
                    f"says {name} {other!r}"
                    if other is not None
                    else f"has no {name} (Compose reads 0)"
                )
                yield error(
                    "resource-conflict",
                    f'service "{s.name}": {key} {value!r} but deploy.resources.{kind} {said}',
                    (*s.path, key),
                    at_key=True,
                    hint=f"write {name}: {value} in deploy.resources.{kind}, and drop {key}",
                )


def _amount(name: str, value: Any) -> Any:
    if name == "memory":
        return size_bytes(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


@reports(error="invalid-healthcheck-duration")
def invalid_healthcheck_duration(topo: Topology) -> Iterator[Diagnostic]:
    """A healthcheck ``interval``, ``timeout``, ``start_period`` or ``start_interval`` is under 1ms
    but not 0 (the engine refuses to create the container; 0 means the default).

    ``healthcheck: {test: "true", interval: 500us}``.
    """
    for s in topo.services.values():
        for key, value in s.healthcheck.durations if s.healthcheck else ():
            ns = duration_ns(value) if isinstance(value, str) else None
            if ns is not None and 0 < ns < 1e6:
                yield error(
                    "invalid-healthcheck-duration",
                    f'service "{s.name}": healthcheck {key} {value!r} is under 1ms',
                    (*s.path, "healthcheck", key),
                    hint="write 1ms or more (0 for the default)",
                )


@reports(error="invalid-stop-signal")
def invalid_stop_signal(topo: Topology) -> Iterator[Diagnostic]:
    """``stop_signal`` is not a signal the engine knows (it refuses to create the container).

    ``stop_signal: SIGFOO``: write e.g. SIGTERM, SIGQUIT, SIGINT or a number.
    """
    for s in topo.services.values():
        for key, value in s.options:
            if key != "stop_signal" or not isinstance(value, str) or "$" in value or not value:
                continue  # "" (an unset variable) leaves the image's own signal
            name = value.upper().removeprefix("SIG")
            if name not in SIGNALS and not (value.isdigit() and 0 < int(value) < 256):
                yield error(
                    "invalid-stop-signal",
                    f'service "{s.name}": {value!r} is not a signal',
                    (*s.path, key),
                    hint="write e.g. SIGTERM, SIGQUIT or SIGINT",
                )


@reports(error="invalid-ulimit")
def invalid_ulimit(topo: Topology) -> Iterator[Diagnostic]:
    """A ``ulimits`` entry names no resource limit, or its soft limit is above its hard one (the
    container fails to start: "wrong rlimit value", "error setting rlimits").

    ``ulimits: {nofile: {soft: 20000, hard: 10000}}`` or ``ulimits: {open_files: 1024}``.
    """
    for s in topo.services.values():
        for key, value in s.options:
            if key != "ulimits" or not isinstance(value, dict):
                continue
            for name, limit in value.items():
                path = (*s.path, "ulimits", name)
                if name not in ULIMITS:
                    yield error(
                        "invalid-ulimit",
                        f'service "{s.name}": {name!r} is not a resource limit',
                        path,
                        at_key=True,
                        hint="one of " + ", ".join(sorted(ULIMITS)),
                    )
                elif isinstance(limit, dict) and _above(limit.get("soft"), limit.get("hard")):
                    yield error(
                        "invalid-ulimit",
                        f'service "{s.name}": ulimit {name} soft limit {limit["soft"]} '
                        f"is above its hard limit {limit['hard']}",
                        (*path, "soft"),
                    )


def _above(soft: Any, hard: Any) -> bool:
    return isinstance(soft, int) and isinstance(hard, int) and hard >= 0 and soft > hard


RULES = (
    invalid_restart,
    invalid_size,
    resource_conflict,
    invalid_healthcheck_duration,
    invalid_stop_signal,
    invalid_ulimit,
)
