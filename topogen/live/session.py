"""One live run: compile to a temporary directory, ``up``, probe, compare, check storage,
tear down. Whatever happens (failure, timeout, Ctrl-C), everything created is removed unless
``keep`` is set: ``docker-compose down -v --remove-orphans`` and the probe containers (found
by their ``topogen.verify`` label)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import yaml

from .. import pipeline
from ..analysis import reach
from . import compare, externals, plan, storage
from .engine import DEFAULT_IMAGE, Engine, EngineError
from .preflight import preflight
from .report import Report
from .runtime import collect, not_running
from .stub import probe_ports, rewrite

LABEL = "topogen.verify"


@dataclass
class Options:
    stub_image: str | None = None
    probe_image: str | None = None  # default: the stub image, else DEFAULT_IMAGE
    parent: str | None = None  # macvlan/ipvlan parent to use instead of the topology's
    keep: bool = False
    create_external: bool = (
        False  # create missing external networks/volumes for the run, remove them after
    )
    timeout: float = 120.0  # for bringing the project up
    workers: int = 8
    progress: Callable[[str], None] | None = None
    analyze: Callable[[Any], Any] | None = None  # default: topogen.analysis.reach.analyze
    env: dict[str, str] = field(default_factory=dict)  # extra environment for Compose

    @property
    def probe(self) -> str:
        """The probe sidecars' image: ``probe_image``, else the stub image, else the default."""
        return self.probe_image or self.stub_image or DEFAULT_IMAGE


def project_name(topo_name: str) -> str:
    base = re.sub(r"[^a-z0-9_-]", "-", topo_name.lower()).strip("-_")[:30] or "topology"
    return f"tgv-{base}-{uuid.uuid4().hex[:6]}"


class Session:
    def __init__(self, engine: Engine, file: str, opts: Options) -> None:
        self.engine, self.file, self.opts = engine, file, opts
        self.report = Report(file)
        self.workdir = ""
        self.compose_file = ""
        self.created: list[externals.Created] = []
        self.run_id = ""  # the value of the probe sidecars' LABEL (and their name prefix)

    def say(self, text: str) -> None:
        if self.opts.progress:
            self.opts.progress(text)

    def compose(self, *args: str, timeout: float = 120) -> Any:
        return self.engine.compose_cmd(
            "-p",
            self.report.project,
            "-f",
            self.compose_file,
            *args,
            timeout=timeout,
            cwd=self.workdir,
        )

    # ------------------------------------------------------------------ run
    def run(self) -> Report:
        start = time.monotonic()
        result = pipeline.check(self.file)
        self.report.diagnostics = [d for d in result.diagnostics if d.is_error]
        if result.failed() or result.topology is None:
            return self.report
        topo = result.topology
        why = self.engine.reachable()
        if why:
            self.report.errors.append(f"no Docker engine reachable: {why}")
            return self.report
        # conflicts with what the engine has: reported at the topology's lines, nothing created
        conflicts = [
            result.src.finish(d)
            for d in preflight(topo, self.engine, project=None)
            if not (self.opts.create_external and d.rule == "engine-external-missing")
        ]
        if conflicts:
            self.report.diagnostics += conflicts
            return self.report
        self.report.project = self.run_id = project_name(topo.name)
        self.engine.env = {**self.engine.env, **self.opts.env}
        self.workdir = tempfile.mkdtemp(prefix=f"{self.report.project}-")
        try:
            self._prepare(topo)
            self._live(topo)
        except EngineError as exc:
            self.report.errors.append(str(exc))
        finally:
            self._teardown()
            self.report.seconds = time.monotonic() - start
            self.say("")
        return self.report

    def _prepare(self, topo: Any) -> None:
        for image in sorted({i for i in (self.opts.probe, self.opts.stub_image) if i}):
            if not self.engine.has_image(str(image)):
                raise EngineError(
                    f"image {image} is not present on the engine (`docker pull {image}`, or import it)"
                )
        if self.opts.create_external:
            self.created = externals.create(
                self.engine, topo, f"{LABEL}={self.report.project}", self.opts.parent
            )
            if self.created:
                self.say(
                    f"created {', '.join(f'{c.kind} {c.name}' for c in self.created)} for the run"
                )
        files = pipeline.compile(topo, self.workdir, ["compose"])
        doc = yaml.safe_load(files["docker-compose.yml"])
        doc = rewrite(doc, topo, stub_image=self.opts.stub_image, parent=self.opts.parent)
        self.compose_file = os.path.join(self.workdir, "docker-compose.yml")
        with open(self.compose_file, "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, sort_keys=False)

    def _up(self, topo: Any) -> dict[str, list[dict[str, Any]]] | None:
        cp = self.compose("up", "-d", "--remove-orphans", timeout=self.opts.timeout)
        if cp.returncode != 0:
            self.report.errors.append(f"docker-compose up failed: {_tail(cp.stderr)}")
            return None
        deadline = time.monotonic() + self.opts.timeout
        while True:
            _, containers = collect(self.engine, topo, self.report.project)
            missing = not_running(topo, containers)
            if not missing:
                return containers
            if time.monotonic() > deadline:
                self.report.errors.append(
                    f"not running after {self.opts.timeout:.0f} s: {', '.join(missing)}"
                )
                return None
            time.sleep(0.5)

    def _live(self, topo: Any) -> None:
        self.say(f"starting project {self.report.project}")
        if self._up(topo) is None:
            return
        rt, _ = collect(self.engine, topo, self.report.project)
        matrix = (self.opts.analyze or reach.analyze)(topo)
        planner = plan.Planner(topo, matrix, rt)
        probes = planner.run()
        self.report.addresses = sorted(
            {
                a
                for p in probes
                if p.kind in ("tcp", "ping")
                for a in (p.allowed if p.by_name else (p.address,))
            }
        )
        if self.opts.stub_image:
            self._stubs_listening(topo, rt)
        results = self._probe(probes, rt, planner)
        owners = {s: planner.owner(s) for s in topo.services}
        nets = {s: planner.nets(s) for s in [*topo.services, plan.HOST]}
        in_host = {s: planner.in_host(s) for s in [*topo.services, plan.HOST]}
        seen = compare.observe(probes, results, rt, owners, nets, in_host)
        self.report.rows = compare.compare(matrix, seen, ports=bool(self.opts.stub_image))
        self.report.policies = compare.check_policies(topo, self.report.rows)
        self._storage(topo, rt)

    def _probe(
        self, probes: list[plan.Probe], rt: plan.Runtime, planner: plan.Planner
    ) -> dict[int, tuple[int, str]]:
        """Every probe, then once more each one that failed: a connection that succeeded is proof,
        a failure can be a busy moment (a probe has 3 s), so "unreachable" takes two failures."""
        results = self._probe_round(probes, rt, planner)
        again = [
            p
            for p in probes
            if p.kind != "route" and not compare.answered(p, *results.get(p.id, (1, "")))
        ]
        if again:
            self.say(f"probing {len(again)} failed probe(s) once more")
            results.update(self._probe_round(again, rt, planner))
        return results

    def _probe_round(
        self, probes: list[plan.Probe], rt: plan.Runtime, planner: plan.Planner
    ) -> dict[int, tuple[int, str]]:
        """One sidecar per network namespace, all in parallel. Sources that share a namespace
        share a sidecar: busybox ping matches replies by its pid, and two sidecars (two pid
        namespaces) in one network namespace could take each other's replies."""
        groups: dict[str, list[plan.Probe]] = {}
        for p in probes:
            groups.setdefault(planner.owner(p.source), []).append(p)
        results: dict[int, tuple[int, str]] = {}
        with ThreadPoolExecutor(max_workers=self.opts.workers) as pool:
            futures = [pool.submit(self._sidecar, owner, ps, rt) for owner, ps in groups.items()]
            for done, fut in enumerate(futures, 1):
                results.update(fut.result())
                self.say(f"probed {done}/{len(futures)} namespaces")
        return results

    def _stubs_listening(self, topo: Any, rt: plan.Runtime) -> None:
        """Wait (bounded) until every stub listens on its ports, seen from its own namespace."""

        def ready(service: str) -> None:
            ports = probe_ports(topo, service)
            if ports and service in rt.containers:
                loop = " ".join(str(p) for p in ports)
                self.engine.docker_cmd(
                    "exec",
                    rt.containers[service],
                    "sh",
                    "-c",
                    f"for p in {loop}; do i=0; until nc -w 1 127.0.0.1 $p </dev/null >/dev/null "
                    f"2>&1 || [ $i -ge 50 ]; do i=$((i+1)); sleep 0.1; done; done",
                    timeout=30,
                )

        with ThreadPoolExecutor(max_workers=self.opts.workers) as pool:
            list(pool.map(ready, sorted(topo.services)))

    def _sidecar(
        self, owner: str, probes: list[plan.Probe], rt: plan.Runtime
    ) -> dict[int, tuple[int, str]]:
        if owner == plan.HOST:
            network = "host"
        else:
            cid = rt.containers.get(owner) or next(
                (rt.containers[p.source] for p in probes if p.source in rt.containers), None
            )
            if cid is None:
                return {}
            network = f"container:{cid}"
        name = f"{self.run_id}-probe-{uuid.uuid4().hex[:6]}"
        cp = self.engine.docker_cmd(
            "run",
            "--rm",
            "--name",
            name,
            "--label",
            f"{LABEL}={self.run_id}",
            "--network",
            network,
            "--entrypoint",
            "/bin/sh",
            self.opts.probe,
            "-c",
            plan.script(probes),
            timeout=90,
        )
        found = plan.parse(cp.stdout)
        if len(found) < len(probes):
            self.report.errors.append(
                f"probes from {owner}'s namespace: {len(probes) - len(found)} of {len(probes)} "
                f"gave no result (exit {cp.returncode}): {_tail(cp.stderr, 3)}"
            )
        return found

    def _storage(self, topo: Any, rt: plan.Runtime) -> None:
        run = storage.exec_in(self.engine, dict(rt.containers))
        self.report.storage = list(storage.plain_checks(topo, run))
        marks = storage.persistence_marks(topo, run)
        if not marks:
            return
        self.say("down / up to check that volumes persist")
        down = self.compose("down", "-t", "1", timeout=120)
        containers = self._up(topo) if down.returncode == 0 else None
        if containers is None:
            self.report.errors.append(
                f"down/up for the persistence check failed: {_tail(down.stderr)}"
            )
            return
        rt2, _ = collect(self.engine, topo, self.report.project)
        self.report.storage += storage.persistence_results(
            marks, storage.exec_in(self.engine, dict(rt2.containers))
        )

    # ------------------------------------------------------------------ teardown
    def _teardown(self) -> None:
        if not self.report.project:
            return
        if self.opts.keep:
            self.report.kept = (
                f"docker-compose -p {self.report.project} -f {self.compose_file} down -v -t 1"
            )
            if self.created:
                self.report.kept += f" && {externals.cleanup_command(self.created)}"
            return
        old = _ignore_sigint()
        try:
            probes = self.engine.lines(
                "ps", "-aq", "--filter", f"label={LABEL}={self.report.project}"
            )
            if probes:
                self.engine.docker_cmd("rm", "-f", *probes, timeout=60)
            if self.compose_file:
                cp = self.compose("down", "-v", "--remove-orphans", "-t", "1", timeout=180)
                if cp.returncode != 0:
                    self.report.errors.append(f"docker-compose down failed: {_tail(cp.stderr)}")
            self._sweep()
            self.report.errors += externals.remove(self.engine, self.created)
            shutil.rmtree(self.workdir, ignore_errors=True)
        finally:
            _restore_sigint(old)

    def _sweep(self) -> None:
        """Remove by label whatever ``down`` left (it fails when, say, interpolation fails), and
        the probe containers and external objects of this run."""
        for label in (
            f"label=com.docker.compose.project={self.report.project}",
            f"label={LABEL}={self.report.project}",
        ):
            for kind, rm in (
                ("container", ("rm", "-f", "-v")),
                ("network", ("network", "rm")),
                ("volume", ("volume", "rm", "-f")),
            ):
                ls = ["ps", "-aq"] if kind == "container" else [kind, "ls", "-q"]
                ids = self.engine.lines(*ls, "--filter", label)
                if ids:
                    self.engine.docker_cmd(*rm, *ids, timeout=60)


def _tail(text: str, n: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-n:])


def _ignore_sigint() -> Any:
    try:
        return signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        return None


def _restore_sigint(old: Any) -> None:
    if old is not None:
        signal.signal(signal.SIGINT, old)


def tty_progress(text: str) -> None:
    """One status line on a terminal (cleared by an empty text); nothing otherwise."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{text}")
        sys.stderr.flush()
