"""``topogen verify --attach PROJECT [FILE]``: probe a Compose project that is already running.

Nothing of the project is touched: no container is created, replaced, stopped or exec'd
into, no file is written (storage is checked from ``docker inspect``: :mod:`.inspected`). The only things created are the probe sidecars (``docker run --rm
--network container:<id>``, labelled ``topogen.verify=<run id>``), removed at the end, also
after a failure, Ctrl-C or SIGTERM. Running containers are mapped to the services of FILE by
their ``com.docker.compose.project`` / ``com.docker.compose.service`` labels; every running
replica is a source of probes, and every replica's addresses are targets.
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .. import pipeline
from ..analysis import reach
from . import compare, inspected, plan, replicas
from .engine import Engine, EngineError
from .report import Report
from .runtime import collect, project_containers
from .session import LABEL, Options, Session, _ignore_sigint, _restore_sigint

CONFIG_FILES = "com.docker.compose.project.config_files"
WORKING_DIR = "com.docker.compose.project.working_dir"
ENV_FILE = "com.docker.compose.project.environment_file"
ONEOFF = "com.docker.compose.oneoff"


class ProjectNotFound(EngineError):
    """No container of the project exists on the engine (a usage error: exit 2)."""


def _labels(c: Mapping[str, Any]) -> Mapping[str, str]:
    return (c.get("Config") or {}).get("Labels") or {}


def running(containers: Mapping[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """service -> its running containers (one-off ``compose run`` containers left out)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for service, items in containers.items():
        up = [
            c
            for c in items
            if (c.get("State") or {}).get("Running") and _labels(c).get(ONEOFF) != "True"
        ]
        if up:
            found[service] = up
    return found


def inferred_profiles(
    result: pipeline.Result, containers: Mapping[str, list[dict[str, Any]]]
) -> list[str]:
    """The profiles the running project was started with, as far as its containers show:
    those of its running services, when the topology was read with none chosen (no
    ``--profile``, no ``COMPOSE_PROFILES``). Empty when no running service has a profile."""
    topo = result.topology
    if topo is None or topo.profiles is not None:
        return []
    up = running(containers)
    return sorted({p for name, s in topo.services.items() if name in up for p in s.profiles})


def config_from_labels(
    containers: Mapping[str, list[dict[str, Any]]],
) -> tuple[list[str], list[str], str]:
    """The files and env files the project was started from, as Compose labels its containers,
    and the working directory (relative names are read from there)."""
    for items in containers.values():
        for c in items:
            labels = _labels(c)
            files = [f for f in labels.get(CONFIG_FILES, "").split(",") if f]
            if files:
                workdir = labels.get(WORKING_DIR, "")
                envs = [f for f in labels.get(ENV_FILE, "").split(",") if f]
                return (
                    [os.path.join(workdir, f) for f in files],
                    [os.path.join(workdir, f) for f in envs],
                    workdir,
                )
    return [], [], ""


@dataclasses.dataclass
class Selection:
    """What makes FILE the project's model: ``--override``, ``--profile``, ``--env-file``."""

    overrides: Sequence[str] = ()
    profiles: Sequence[str] | None = None
    env_files: Sequence[str] | None = None


class Attach(Session):
    def __init__(
        self, engine: Engine, project: str, file: str | None, opts: Options, sel: Selection
    ) -> None:
        super().__init__(engine, file or "", opts)
        self.project, self.sel = project, sel
        self.report.project, self.report.attached = project, True

    def run(self) -> Report:
        start = time.monotonic()
        why = self.engine.reachable()
        if why:
            self.report.errors.append(f"no Docker engine reachable: {why}")
            return self.report
        containers = project_containers(self.engine, self.project)
        containers.pop("", None)
        if not containers:
            raise ProjectNotFound(
                f"no Compose project {self.project!r} on the engine (no container labelled "
                f"com.docker.compose.project={self.project}; `docker compose ls -a` lists them)"
            )
        topo = self._model(containers)
        if topo is None:
            return self.report
        self.run_id = f"tga-{uuid.uuid4().hex[:8]}"
        try:
            self._attached(topo, containers)
        except EngineError as exc:
            self.report.errors.append(str(exc))
        finally:
            self._teardown()
            self.report.seconds = time.monotonic() - start
            self.say("")
        return self.report

    def _model(self, containers: Mapping[str, list[dict[str, Any]]]) -> Any:
        """The topology of FILE (or of the files in the containers' labels) with the selection."""
        sel = self.sel
        if not self.file:
            files, envs, workdir = config_from_labels(containers)
            if not files:
                self.report.errors.append(
                    f"the containers of {self.project} do not say which files started them "
                    f"(label {CONFIG_FILES}); pass FILE"
                )
                return None
            missing = [f for f in files if not os.path.isfile(f)]
            if missing:
                self.report.errors.append(
                    f"{self.project} was started from {', '.join(missing)} (label {CONFIG_FILES}), "
                    "which is not here; pass FILE"
                )
                return None
            self.file = self.report.file = files[0]
            sel = dataclasses.replace(
                sel,
                overrides=[*files[1:], *sel.overrides],
                env_files=sel.env_files or [e for e in envs if os.path.isfile(e)] or None,
            )
            self.report.notes.append(
                f"FILE not given: using {', '.join(files)} from the containers' labels "
                f"({CONFIG_FILES}, working dir {workdir or '?'})"
            )
        result = pipeline.check(
            self.file,
            overrides=list(sel.overrides),
            profiles=sel.profiles,
            env_files=sel.env_files,
        )
        chosen = None if sel.profiles is not None else inferred_profiles(result, containers)
        if chosen:
            self.report.notes.append(
                f"--profile not given: using {', '.join(chosen)}, the profiles of the running "
                "services (Compose does not record them on the containers)"
            )
            result = pipeline.check(
                self.file,
                overrides=list(sel.overrides),
                profiles=chosen,
                env_files=sel.env_files,
            )
        self.report.diagnostics = [d for d in result.diagnostics if d.is_error]
        return None if result.failed() else result.topology

    def _attached(self, topo: Any, containers: Mapping[str, list[dict[str, Any]]]) -> None:
        if not self.engine.has_image(self.opts.probe):
            raise EngineError(
                f"image {self.opts.probe} is not present on the engine (`docker pull {self.opts.probe}`)"
            )
        up = running(containers)
        self.report.absent = sorted(set(topo.services) - set(up))
        self.report.unknown = sorted(set(up) - set(topo.services))
        rt, _ = collect(self.engine, topo, self.project)
        rt = dataclasses.replace(rt, containers={s: c[0]["Id"] for s, c in up.items()})
        matrix = (self.opts.analyze or reach.analyze)(topo)
        planner = plan.Planner(topo, matrix, rt)
        probes = runnable(planner.run(), planner, up)
        self.report.addresses = sorted(
            {p.address for p in probes if p.kind in ("tcp", "udp", "ping") and not p.by_name}
        )
        seen = replicas.merge(self._replicas(topo, probes, planner, rt, up))
        replicas.conflicts(seen, replicas.addresses(up))
        self.report.rows = compare.compare(matrix, seen, ports=False)
        self.report.policies = compare.check_policies(topo, self.report.rows)
        volumes = self.engine.inspect("volume", inspected.volume_names(up))
        self.report.storage = list(
            inspected.checks(topo, up, {v.get("Name", ""): v for v in volumes})
        )

    def _replicas(
        self,
        topo: Any,
        probes: list[plan.Probe],
        planner: plan.Planner,
        rt: plan.Runtime,
        up: Mapping[str, list[dict[str, Any]]],
    ) -> list[dict[tuple[str, str], compare.Observed]]:
        """One round of probes per replica number: round k runs in the k-th container of each
        namespace that has one (the host's namespace in round 0 only)."""
        owners = {s: planner.owner(s) for s in topo.services}
        nets = {s: planner.nets(s) for s in [*topo.services, plan.HOST]}
        in_host = {s: planner.in_host(s) for s in [*topo.services, plan.HOST]}
        found = []
        for k in range(max((len(c) for c in up.values()), default=1)):
            rt_k = dataclasses.replace(
                rt, containers={s: c[k]["Id"] for s, c in up.items() if len(c) > k}
            )
            mine = [
                p
                for p in probes
                if planner.owner(p.source) in rt_k.containers
                or (planner.owner(p.source) == plan.HOST and k == 0)
            ]
            if mine:
                results = self._probe(mine, rt_k, planner)
                found.append(compare.observe(mine, results, rt_k, owners, nets, in_host))
        return found

    def _teardown(self) -> None:
        """Remove the probe sidecars of this run, and nothing else."""
        if not self.run_id:
            return
        old = _ignore_sigint()
        try:
            probes = self.engine.lines("ps", "-aq", "--filter", f"label={LABEL}={self.run_id}")
            if probes:
                self.engine.docker_cmd("rm", "-f", *probes, timeout=60)
        finally:
            _restore_sigint(old)


def runnable(
    probes: list[plan.Probe], planner: plan.Planner, up: Mapping[str, Any]
) -> list[plan.Probe]:
    """The probes between running services (and host, external): a service runs when it has
    a running container and so does the owner of its namespace (or it is the host's)."""

    def runs(name: str) -> bool:
        if name in (plan.HOST, plan.EXTERNAL):
            return True
        owner = planner.owner(name)
        return name in up and (owner in up or owner == plan.HOST)

    return [p for p in probes if runs(p.source) and runs(p.target)]
