"""``topogen validate --engine`` against a real engine: each conflict that would make ``up``
fail is reported at the topology's line before anything is created, and the engine agrees
(``up`` really fails with the conflict, and works once it is gone)."""

from __future__ import annotations

import os
import textwrap

import pytest
from typer.testing import CliRunner

from tests.tools import EXAMPLES
from topogen import pipeline
from topogen.cli import app
from topogen.live import Engine, engine_diagnostics

pytestmark = pytest.mark.live

THREE_TIER = os.path.join(EXAMPLES, "three-tier", "topology.yaml")


@pytest.fixture
def engine(docker_env, monkeypatch) -> Engine:
    monkeypatch.setenv("DOCKER_HOST", docker_env.env["DOCKER_HOST"])
    monkeypatch.setenv("TOPOGEN_DOCKER", docker_env.docker)
    return Engine(docker_env.docker, docker_env.compose, dict(docker_env.env))


def diags(path: str, engine: Engine) -> list[tuple[int, str]]:
    return [(d.line, d.rule) for d in engine_diagnostics([pipeline.check(path)], engine)]


def test_clean_engine_has_no_conflicts(engine):
    for example in ("three-tier", "custom-bridge", "shared-uploads"):
        assert diags(os.path.join(EXAMPLES, example, "topology.yaml"), engine) == []


def test_subnet_overlap_is_reported_and_real(engine, docker_env, cleanup, unique_name, tmp_path):
    net = cleanup.network(unique_name("overlap"))
    docker_env.docker_cmd(
        "network", "create", "--subnet", "172.21.4.0/24", net, check=True, timeout=30
    )
    assert diags(THREE_TIER, engine) == [(6, "engine-pool-overlap")]
    res = CliRunner().invoke(app, ["validate", "--engine", THREE_TIER])
    assert res.exit_code == 1
    assert "three-tier/topology.yaml:6:" in res.output and net in res.output
    # the engine agrees: creating the network as compiled fails with the message we quote
    cp = docker_env.docker_cmd(
        "network",
        "create",
        "--internal",
        "--subnet",
        "172.21.0.0/16",
        cleanup.network(unique_name("x")),
    )
    assert cp.returncode != 0 and "Pool overlaps with other one on this address space" in cp.stderr


def test_default_bridge_and_gwbridge_are_checked(engine, docker_env, tmp_path):
    cp = docker_env.docker_cmd(
        "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "bridge"
    )
    subnet = cp.stdout.strip()
    assert subnet
    f = tmp_path / "topology.yaml"
    f.write_text(
        textwrap.dedent(f"""\
        name: clash
        networks:
          net: {{subnet: {subnet}}}
        services:
          a: {{image: busybox, networks: [net]}}
        """)
    )
    assert diags(str(f), engine) == [(3, "engine-pool-overlap")]


def test_bridge_name_taken(engine, docker_env, cleanup, unique_name):
    path = os.path.join(EXAMPLES, "custom-bridge", "topology.yaml")
    topo = pipeline.check(path).topology
    taken = next(n.bridge_name for n in topo.networks.values() if n.bridge_name)
    net = cleanup.network(unique_name("br"))
    docker_env.docker_cmd(
        "network",
        "create",
        "--subnet",
        "10.250.9.0/24",
        "-o",
        f"com.docker.network.bridge.name={taken}",
        net,
        check=True,
        timeout=30,
    )
    found = diags(path, engine)
    assert [rule for _, rule in found] == ["engine-bridge-name-taken"]


def test_host_port_in_use(engine, docker_env, cleanup, unique_name):
    c = cleanup.container(unique_name("port"))
    docker_env.docker_cmd(
        "run",
        "-d",
        "--name",
        c,
        "-p",
        "8080:80",
        docker_env.image,
        "sleep",
        "120",
        check=True,
        timeout=60,
    )
    assert diags(THREE_TIER, engine) == [(28, "engine-port-in-use")]


def test_external_network_and_volume_must_exist(engine, docker_env, cleanup, unique_name, tmp_path):
    net, vol = unique_name("ext"), unique_name("vol")
    f = tmp_path / "topology.yaml"
    f.write_text(
        textwrap.dedent(f"""\
        name: ext
        networks:
          shared: {{external: true, name: {net}}}
        volumes:
          data: {{external: true, name: {vol}}}
        services:
          a:
            image: busybox
            networks: [shared]
            mounts: [{{source: data, target: /data}}]
        """)
    )
    assert sorted(rule for _, rule in diags(str(f), engine)) == ["engine-external-missing"] * 2
    docker_env.docker_cmd("network", "create", cleanup.network(net), check=True, timeout=30)
    docker_env.docker_cmd("volume", "create", cleanup.volume(vol), check=True, timeout=30)
    assert diags(str(f), engine) == []


def test_no_engine_is_an_error_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    res = CliRunner().invoke(app, ["validate", "--engine", THREE_TIER])
    assert res.exit_code == 1 and "engine-unreachable" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_static_address_taken_on_an_external_network(
    engine, docker_env, cleanup, unique_name, tmp_path
):
    net, c = cleanup.network(unique_name("extip")), unique_name("holder")
    docker_env.docker_cmd(
        "network", "create", "--subnet", "10.250.20.0/24", net, check=True, timeout=30
    )
    docker_env.docker_cmd(
        "run",
        "-d",
        "--name",
        cleanup.container(c),
        "--network",
        net,
        "--ip",
        "10.250.20.10",
        docker_env.image,
        "sleep",
        "120",
        check=True,
        timeout=60,
    )
    f = tmp_path / "topology.yaml"
    f.write_text(
        textwrap.dedent(f"""\
        name: extip
        networks:
          shared: {{external: true, name: {net}}}
        services:
          a:
            image: busybox
            networks:
              shared: {{ipv4_address: 10.250.20.10}}
          b:
            image: busybox
            networks:
              shared: {{ipv4_address: 10.250.20.11}}
        """)
    )
    assert diags(str(f), engine) == [(8, "engine-address-in-use")]
    # the engine agrees
    clash = docker_env.docker_cmd(
        "run",
        "--rm",
        "--network",
        net,
        "--ip",
        "10.250.20.10",
        docker_env.image,
        "true",
        timeout=60,
    )
    assert clash.returncode != 0 and "Address already in use" in clash.stderr
