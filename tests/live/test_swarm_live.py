"""Live: ``docker stack deploy`` of the swarm examples on a single-node swarm.

Each example's topology is copied with every image swapped for the locally imported busybox
(``topogen/busybox:latest``) running ``httpd`` on the ports the service serves, compiled by
topogen into ``docker-stack.yml``, and deployed under a unique stack name. The test waits
(bounded) for the declared replica counts, opens TCP connections between services by name
over the overlays (service VIPs do not answer ping), and always removes the stack and waits
until its services, containers and networks are gone, also when an assertion fails.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from topogen import pipeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NAMESPACE = "com.docker.stack.namespace"
#: Keys of a service that belong to the original image and would break the busybox stub.
IMAGE_KEYS = ("command", "entrypoint", "healthcheck", "user", "working_dir", "read_only", "build")
ENV = {"POSTGRES_PASSWORD": "live-test"}


def ipvs_available() -> bool:
    """Service VIPs (and the ingress mesh) need the kernel's IPVS; some CI kernels lack it
    (dockerd logs "Could not get ipvs family information from the kernel")."""
    modules = Path("/lib/modules", os.uname().release, "kernel/net/netfilter/ipvs")
    return Path("/proc/net/ip_vs").exists() or modules.is_dir()


#: Without IPVS a service name's VIP answers nothing, so the stubs resolve names to the tasks
#: themselves (``endpoint_mode: dnsrr``, which swarm allows only with host-mode ports).
ENDPOINT_MODE = "vip" if ipvs_available() else "dnsrr"


def stub_command(ports: set[int]) -> list[str]:
    """Serve every port with busybox httpd, and stop promptly on SIGTERM."""
    serve = "".join(f"httpd -p {p} -h /; " for p in sorted(ports))
    return ["sh", "-c", serve + "trap 'exit 0' TERM; while :; do sleep 1; done"]


def served_ports(name: str, svc: dict[str, Any], policies: list[dict[str, Any]]) -> set[int]:
    ports = {80}
    for p in svc.get("ports") or ():
        target = p["target"] if isinstance(p, dict) else str(p).split("/")[0].rpartition(":")[2]
        ports.add(int(target))
    for policy in policies:
        edge = policy.get("allow") or {}
        if edge.get("to") == name and edge.get("port"):
            ports.add(int(edge["port"]))
    return ports


def stubbed(
    example: str, stack: str, image: str, endpoint_mode: str = ENDPOINT_MODE
) -> dict[str, Any]:
    """The example's topology for a live run: busybox everywhere, swarm only, names unique."""
    topo = yaml.safe_load((EXAMPLES / example / "topology.yaml").read_text())
    topo["targets"] = ["swarm"]
    for key, net in (topo.get("networks") or {}).items():
        if net and "name" in net:
            net["name"] = f"{stack}_{key}"
    for name, svc in topo["services"].items():
        for key in IMAGE_KEYS:
            svc.pop(key, None)
        svc["image"] = image
        svc["command"] = stub_command(served_ports(name, svc, topo.get("policies") or []))
        svc["stop_grace_period"] = "2s"
        stub_ports(svc, endpoint_mode)
    return topo


def stub_ports(svc: dict[str, Any], endpoint_mode: str) -> None:
    """Ports without fixed host ports (they would collide with other tests); host mode under dnsrr."""
    ports = [p for p in svc.pop("ports", None) or () if isinstance(p, dict)]
    for p in ports:
        p.pop("published", None)
        if endpoint_mode == "dnsrr":
            p["mode"] = "host"
    if ports:
        svc["ports"] = ports
    if endpoint_mode == "dnsrr":
        svc.setdefault("deploy", {})["endpoint_mode"] = "dnsrr"


def compile_stack(topo: dict[str, Any], workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "topology.yaml"
    path.write_text(yaml.safe_dump(topo, sort_keys=False))
    result = pipeline.check(str(path))
    errors = [d.format() for d in result.diagnostics if d.is_error]
    assert result.topology is not None and not errors, errors
    out = workdir / "docker-stack.yml"
    pipeline.write(
        {str(out): pipeline.compile(result.topology, str(workdir), ["swarm"])["docker-stack.yml"]}
    )
    return out


def docker(denv: Any, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [denv.docker, *args],
            env={**denv.env, **ENV},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(exc.cmd, 124, "", f"timeout after {timeout}s")


def lines(cp: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in cp.stdout.splitlines() if line.strip()]


def leftovers(denv: Any, stack: str) -> dict[str, list[str]]:
    label = f"label={NAMESPACE}={stack}"
    return {
        "services": lines(docker(denv, "service", "ls", "-q", "--filter", label)),
        "containers": lines(docker(denv, "ps", "-aq", "--filter", label)),
        "networks": lines(docker(denv, "network", "ls", "-q", "--filter", label)),
    }


def deploy(denv: Any, stack: str, stack_file: Path) -> subprocess.CompletedProcess[str]:
    return docker(
        denv,
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        str(stack_file),
        stack,
        timeout=120,
    )


@contextlib.contextmanager
def removed_at_exit(denv: Any, stack: str, deadline_s: float = 90) -> Iterator[None]:
    """On exit (also on failure) ``docker stack rm`` and wait until nothing of the stack is left."""
    try:
        yield
    finally:
        docker(denv, "stack", "rm", stack, timeout=60)
        end = time.monotonic() + deadline_s
        clear = (
            0  # a task the agent was still starting can show up just after the services are gone
        )
        while clear < 2 and time.monotonic() < end:
            left = leftovers(denv, stack)
            clear = 0 if any(left.values()) else clear + 1
            time.sleep(1)
            if not left["services"] and left["networks"] and not left["containers"]:
                docker(denv, "network", "rm", *left["networks"], timeout=30)
        assert clear >= 2, f"stack {stack} left {left}"


@contextlib.contextmanager
def deployed(denv: Any, stack: str, stack_file: Path) -> Iterator[None]:
    """The stack deployed for the body of the ``with``, and removed afterwards."""
    with removed_at_exit(denv, stack):
        cp = deploy(denv, stack, stack_file)
        assert cp.returncode == 0, cp.stderr
        assert "gnoring" not in cp.stderr, cp.stderr  # the stack dropped nothing we emitted
        yield


def wait_for_replicas(
    denv: Any, stack: str, wanted: dict[str, int], timeout: float = 120
) -> dict[str, str]:
    end = time.monotonic() + timeout
    seen: dict[str, str] = {}
    while time.monotonic() < end:
        out = docker(
            denv,
            "service",
            "ls",
            "--filter",
            f"label={NAMESPACE}={stack}",
            "--format",
            "{{.Name}} {{.Replicas}}",
        )
        seen = dict(line.split(" ", 1) for line in lines(out))
        if all(seen.get(f"{stack}_{s}", "").split(" ")[0] == f"{n}/{n}" for s, n in wanted.items()):
            return seen
        time.sleep(1)
    raise AssertionError(f"replicas not reached in {timeout}s: want {wanted}, have {seen}")


def task_container(denv: Any, stack: str, service: str) -> str:
    ids = lines(
        docker(
            denv, "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack}_{service}"
        )
    )
    assert ids, f"no running task of {stack}_{service}"
    return ids[0]


def connects(
    denv: Any, container: str, host: str, port: int, attempts: int = 10
) -> tuple[bool, str]:
    """A TCP connection by name from ``container`` (retried while service DNS settles)."""
    out = ""
    for _ in range(attempts):
        cp = docker(
            denv, "exec", container, "sh", "-c", f"nc -w 3 {host} {port} </dev/null", timeout=20
        )
        if cp.returncode == 0:
            return True, ""
        out = cp.stderr.strip()
        time.sleep(1)
    return False, out


def replicas(topo: dict[str, Any]) -> dict[str, int]:
    return {
        name: (svc.get("deploy") or {}).get("replicas", 1) for name, svc in topo["services"].items()
    }


# ---------------------------------------------------------------------- tests


def test_swarm_overlay_deploys_replicas_and_reaches_web_by_name(
    swarm: Any, unique_name: Any, tmp_path: Path
) -> None:
    stack = unique_name("swarm")
    topo = stubbed("swarm-overlay", stack, swarm.image)
    stack_file = compile_stack(topo, tmp_path)
    with deployed(swarm, stack, stack_file):
        seen = wait_for_replicas(swarm, stack, replicas(topo))
        assert seen[f"{stack}_web"].startswith("3/3")
        net = docker(
            swarm,
            "network",
            "inspect",
            f"{stack}_multi-host-network",
            "--format",
            "{{.Driver}} {{.Scope}} {{.Attachable}}",
        )
        assert net.stdout.split() == ["overlay", "swarm", "true"], net.stderr
        client = task_container(swarm, stack, "client")
        ok, why = connects(swarm, client, "web", 80)
        assert ok, f"client cannot reach web:80 by name over the overlay: {why}"
        ok, _ = connects(swarm, client, "web", 81, attempts=1)
        assert not ok, "nothing listens on web:81, yet a connection succeeded"
        # the stack's service, its task containers and its network carry the test run's label
        key, run_id = swarm.run_label.split("=", 1)
        got = [
            docker(
                swarm, kind, "inspect", "--format", f'{{{{index {labels} "{key}"}}}}', name
            ).stdout.strip()
            for kind, labels, name in (
                ("service", ".Spec.Labels", f"{stack}_web"),
                ("network", ".Labels", f"{stack}_multi-host-network"),
                ("container", ".Config.Labels", client),
            )
        ]
        assert got == [run_id] * 3, got


@pytest.mark.skipif(
    not ipvs_available(), reason="the kernel has no IPVS: swarm service VIPs cannot work here"
)
def test_swarm_overlay_vip(swarm: Any, unique_name: Any, tmp_path: Path) -> None:
    """With IPVS, the default endpoint mode: the name resolves to a VIP that balances over tasks."""
    stack = unique_name("vip")
    topo = stubbed("swarm-overlay", stack, swarm.image, endpoint_mode="vip")
    with deployed(swarm, stack, compile_stack(topo, tmp_path)):
        wait_for_replicas(swarm, stack, replicas(topo))
        ok, why = connects(swarm, task_container(swarm, stack, "client"), "web", 80)
        assert ok, why


def test_segmentation_overlays_keep_tiers_apart(
    swarm: Any, unique_name: Any, tmp_path: Path
) -> None:
    """The segmentation example on swarm: internal overlays, aliases, and web cannot reach db."""
    stack = unique_name("seg")
    topo = stubbed("segmentation", stack, swarm.image)
    stack_file = compile_stack(topo, tmp_path)
    with deployed(swarm, stack, stack_file):
        wait_for_replicas(swarm, stack, replicas(topo))
        for key in ("dmz-network", "app-network", "db-network"):
            net = docker(
                swarm,
                "network",
                "inspect",
                f"{stack}_{key}",
                "--format",
                "{{.Driver}} {{.Internal}}",
            )
            assert net.stdout.split() == ["overlay", "true"], net.stderr
        web, app = task_container(swarm, stack, "web"), task_container(swarm, stack, "app")
        for source, target, port in (
            (web, "app", 80),
            (web, "backend", 80),
            (app, "db", 5432),
            (app, "database", 5432),
        ):
            ok, why = connects(swarm, source, target, port)
            assert ok, f"{target}:{port} unreachable by name: {why}"
        ok, why = connects(swarm, web, "db", 5432, attempts=2)
        assert not ok, "web reached db although they share no network"


@pytest.mark.parametrize("example", ["swarm-overlay", "segmentation"])
def test_stub_keeps_the_example_shape(example: str, tmp_path: Path) -> None:
    """The stub changes images, commands and ports only: the stack it deploys has the committed
    example's networks and each service's networks and replica count."""
    stub = yaml.safe_load(compile_stack(stubbed(example, "tg-x", "img"), tmp_path).read_text())
    committed_file = EXAMPLES / example / "docker-stack.yml"
    if not committed_file.exists():  # an example that targets swarm only in these tests
        committed_file = compile_stack(
            dict(
                yaml.safe_load((EXAMPLES / example / "topology.yaml").read_text()),
                targets=["swarm"],
            ),
            tmp_path / "orig",
        )
    committed = yaml.safe_load(committed_file.read_text())
    for net in (*stub["networks"].values(), *committed["networks"].values()):
        net.pop("name", None)
    assert stub["networks"] == committed["networks"]
    for name, svc in committed["services"].items():
        assert stub["services"][name]["networks"] == svc["networks"]
        assert stub["services"][name].get("deploy", {}).get("replicas") == svc.get(
            "deploy", {}
        ).get("replicas")


# ---------------------------------------------------------------------- the errors are real

REFUSED = {
    "swarm-port-conflict": (
        """name: refused
services:
  a: {image: IMAGE, ports: ["127.0.0.1:38080:80"]}
  b: {image: IMAGE, ports: ["127.0.0.2:38080:80"]}
""",
        "already in use",
    ),
    "swarm-dnsrr-ingress": (
        """name: refused
services:
  a: {image: IMAGE, ports: ["38081:80"], deploy: {endpoint_mode: dnsrr}}
""",
        "dnsrr",
    ),
    "swarm-replicas-global": (
        """name: refused
services:
  a: {image: IMAGE, deploy: {mode: global, replicas: 2}}
""",
        "replicas can only be used with replicated",
    ),
}


@pytest.mark.parametrize("rule", sorted(REFUSED))
def test_what_the_error_rules_predict_swarm_refuses(
    rule: str, swarm: Any, unique_name: Any, tmp_path: Path
) -> None:
    """Compiled despite the error, the stack is refused by the real swarm as the rule says."""
    text, refusal = REFUSED[rule]
    path = tmp_path / "topology.yaml"
    path.write_text("targets: [swarm]\n" + text.replace("IMAGE", swarm.image))
    result = pipeline.check(str(path))
    assert result.topology is not None
    assert rule in {d.rule for d in result.diagnostics if d.is_error}
    stack_file = tmp_path / "docker-stack.yml"
    stack_file.write_text(
        pipeline.compile(result.topology, str(tmp_path), ["swarm"])["docker-stack.yml"]
    )
    stack = unique_name("refused")
    with removed_at_exit(swarm, stack):
        cp = deploy(swarm, stack, stack_file)
        assert cp.returncode != 0 and refusal in cp.stderr, cp.stdout + cp.stderr


def test_a_missing_bind_source_fails_the_task(swarm: Any, unique_name: Any, tmp_path: Path) -> None:
    """swarm-bind-mount's premise: unlike Compose, a stack never creates a bind source."""
    missing = tmp_path / "not-created"
    path = tmp_path / "topology.yaml"
    path.write_text(
        f"name: bind\ntargets: [swarm]\nservices:\n  a:\n    image: {swarm.image}\n"
        f"    command: [sleep, '60']\n    volumes: ['{missing}:/data']\n"
    )
    result = pipeline.check(str(path))
    assert result.topology is not None
    assert "swarm-bind-mount" in {d.rule for d in result.diagnostics if d.is_error}
    stack_file = tmp_path / "docker-stack.yml"
    stack_file.write_text(
        pipeline.compile(result.topology, str(tmp_path), ["swarm"])["docker-stack.yml"]
    )
    stack = unique_name("bind")
    with removed_at_exit(swarm, stack):
        cp = deploy(swarm, stack, stack_file)
        assert cp.returncode == 0, cp.stderr
        end, errors = time.monotonic() + 60, ""
        while "bind source path does not exist" not in errors and time.monotonic() < end:
            time.sleep(1)
            errors = docker(
                swarm, "service", "ps", "--no-trunc", "--format", "{{.Error}}", f"{stack}_a"
            ).stdout
        assert "bind source path does not exist" in errors, errors
        assert not missing.exists()


def test_a_static_address_is_ignored_by_the_stack(
    swarm: Any, unique_name: Any, tmp_path: Path
) -> None:
    """swarm-static-ip's premise: docker stack deploy accepts ipv4_address and ignores it, which
    is why topogen reports it instead of emitting it (this file is written by hand)."""
    stack_file = tmp_path / "docker-stack.yml"
    stack_file.write_text(f"""version: "3.8"
services:
  a:
    image: {swarm.image}
    command: [sleep, "60"]
    stop_grace_period: 1s
    networks:
      n: {{ipv4_address: 10.211.5.77}}
networks:
  n:
    driver: overlay
    ipam: {{config: [{{subnet: 10.211.5.0/24}}]}}
""")
    stack = unique_name("ip")
    with removed_at_exit(swarm, stack):
        cp = deploy(swarm, stack, stack_file)
        assert cp.returncode == 0, cp.stderr
        wait_for_replicas(swarm, stack, {"a": 1})
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
        addresses = docker(
            swarm, "inspect", "--format", fmt, task_container(swarm, stack, "a")
        ).stdout.split()
        assert any(a.startswith("10.211.5.") for a in addresses), addresses
        assert "10.211.5.77" not in addresses


def test_a_failing_test_still_removes_its_stack(
    swarm: Any, unique_name: Any, tmp_path: Path
) -> None:
    """The clean-up runs when the body fails: nothing of the stack is left afterwards."""
    stack = unique_name("fail")
    stack_file = compile_stack(stubbed("swarm-overlay", stack, swarm.image), tmp_path)
    with pytest.raises(AssertionError, match="deliberate"), deployed(swarm, stack, stack_file):
        assert leftovers(swarm, stack)["services"], "the stack was not deployed"
        raise AssertionError("deliberate failure inside the deployed stack")
    assert leftovers(swarm, stack) == {"services": [], "containers": [], "networks": []}


def test_host_networking_lowers_to_the_host_network(
    swarm: Any, unique_name: Any, tmp_path: Path
) -> None:
    """``network_mode: host`` (examples/host-network) becomes the external ``host`` network: the
    task runs in the host's network namespace. The stub listens on nothing, so the host's ports
    stay untouched."""
    stack = unique_name("host")
    topo = stubbed("host-network", stack, swarm.image)
    for svc in topo["services"].values():
        svc["command"] = stub_command(set())
    with deployed(swarm, stack, compile_stack(topo, tmp_path)):
        wait_for_replicas(swarm, stack, replicas(topo))
        container = task_container(swarm, stack, "web")
        mode = docker(
            swarm, "inspect", "--format", "{{.HostConfig.NetworkMode}}", container
        ).stdout.strip()
        assert mode == "host"
