"""``topogen verify --attach`` on projects started by plain ``docker compose up`` (the real
Compose binary; busybox stubs stand in for the real images): the observation agrees with
``reach``, the project is left exactly as it was, a wrong FILE gives exactly the pairs on
which the two files' predictions differ, and UDP ports are probed in both modes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import yaml
from typer.testing import CliRunner

from tests.live import guard
from tests.tools import EXAMPLES
from topogen import pipeline
from topogen.cli import app
from topogen.live import stub

pytestmark = pytest.mark.live

THREE_TIER = os.path.join(EXAMPLES, "three-tier", "topology.yaml")


def stubbed_compose(topology: str, out_dir: str, image: str) -> str:
    """The Compose file of a topology with busybox stubs for its images, as a user would run it."""
    result = pipeline.check(topology)
    assert result.topology is not None, result.diagnostics
    files = pipeline.compile(result.topology, out_dir, ["compose"])
    doc = stub.rewrite(
        yaml.safe_load(files["docker-compose.yml"]), result.topology, stub_image=image
    )
    path = os.path.join(out_dir, "docker-compose.yml")
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    return path


def up(denv, project: str, compose_file: str) -> None:
    cp = denv.compose_cmd("-p", project, "-f", compose_file, "up", "-d", "--wait", timeout=180)
    assert cp.returncode == 0, cp.stderr


def down(denv, project: str, compose_file: str) -> None:
    denv.compose_cmd("-p", project, "-f", compose_file, "down", "-v", "-t", "1", timeout=180)


def snapshot(denv, project: str) -> dict:
    """Everything of the project that verify --attach must leave as it was."""
    label = f"label=com.docker.compose.project={project}"
    ids = denv.docker_cmd("ps", "-aq", "--no-trunc", "--filter", label).stdout.split()
    containers = json.loads(denv.docker_cmd("inspect", *ids).stdout) if ids else []
    return {
        "containers": sorted(
            (
                c["Id"],
                c["Name"],
                c["State"]["Status"],
                c["State"]["StartedAt"],
                c["State"]["Pid"],
                c["RestartCount"],
                tuple(sorted(c["NetworkSettings"]["Networks"])),
            )
            for c in containers
        ),
        "networks": sorted(
            denv.docker_cmd("network", "ls", "-q", "--no-trunc", "--filter", label).stdout.split()
        ),
        "volumes": sorted(denv.docker_cmd("volume", "ls", "-q", "--filter", label).stdout.split()),
    }


def sidecars(denv) -> list[str]:
    return denv.docker_cmd("ps", "-aq", "--filter", "label=topogen.verify").stdout.split()


@pytest.fixture
def cli_env(docker_env, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_env.env["DOCKER_HOST"])
    monkeypatch.setenv("TOPOGEN_DOCKER", docker_env.docker)
    monkeypatch.setenv("TOPOGEN_COMPOSE", docker_env.compose)
    return docker_env


def attach(denv, project: str, *args: str):
    res = CliRunner().invoke(
        app, ["verify", "--attach", project, *args, "--probe-image", denv.image]
    )
    return res


@pytest.fixture(scope="module")
def three_tier(docker_env, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """three-tier, compiled and stubbed, started with plain `docker compose up`."""
    out = str(tmp_path_factory.mktemp("three-tier"))
    compose_file = stubbed_compose(THREE_TIER, out, docker_env.image)
    project = f"tg-attach-{uuid.uuid4().hex[:6]}"
    try:
        up(docker_env, project, compose_file)
        yield project, compose_file
    finally:
        down(docker_env, project, compose_file)


def predicted(path: str, *args: str) -> dict[tuple[str, str], bool]:
    """`topogen reach --format json`: the independent oracle."""
    res = CliRunner().invoke(app, ["reach", path, "--format", "json", *args])
    assert res.exit_code == 0, res.output
    return {(p["from"], p["to"]): p["reachable"] for p in json.loads(res.output)["pairs"]}


def test_attach_agrees_and_leaves_the_project_as_it_was(cli_env, three_tier):
    project, _ = three_tier
    before, ours = snapshot(cli_env, project), guard.labelled(cli_env)
    res = attach(cli_env, project, THREE_TIER, "--format", "json")
    data = json.loads(res.output)
    assert res.exit_code == 0 and data["ok"], res.output
    assert data["mode"] == "attach" and data["services"] == {"absent": [], "unknown": []}
    oracle = predicted(THREE_TIER)
    probed = {(p["from"], p["to"]): p for p in data["pairs"] if p["observed"] is not None}
    services = {s for pair in oracle for s in pair} - {"host", "external"}
    # every ordered pair of services, and host <-> services, was probed and agrees with reach
    assert {(s, t) for s in services for t in services if s != t} <= set(probed)
    for pair, p in probed.items():
        assert p["observed"]["reachable"] == oracle[pair], (pair, p)
    assert {p["status"] for p in data["policies"]} == {"ok"}
    # nothing of the project changed; nothing of ours is left (the sidecars are gone)
    assert snapshot(cli_env, project) == before
    assert guard.labelled(cli_env) == ours and sidecars(cli_env) == []


def test_attach_finds_the_file_in_the_labels_and_writes_junit(cli_env, three_tier):
    project, compose_file = three_tier
    res = attach(cli_env, project, "--format", "json")
    data = json.loads(res.output)
    assert res.exit_code == 0 and data["file"] == compose_file, res.output
    assert compose_file in data["notes"][0] and "labels" in data["notes"][0]
    res = attach(cli_env, project, "--format", "junit")
    assert res.exit_code == 0, res.output
    root = ET.fromstring(res.output)
    notes = [p.get("value") for p in root.iter("property") if p.get("name") == "note"]
    assert notes and compose_file in notes[0]
    suites = {s.get("name").rsplit(".", 1)[-1]: s for s in root.iter("testsuite")}
    pairs = suites["pairs"].findall("testcase")
    assert len(pairs) == data["summary"]["pairs"]
    assert (
        len(pairs) - len(suites["pairs"].findall("testcase/skipped")) == data["summary"]["probed"]
    )
    assert int(root.get("failures")) == 0 and int(root.get("errors")) == 0
    assert len(suites["policies"].findall("testcase")) == len(data["policies"])
    assert sorted(c.get("name") for c in suites["services"].findall("testcase")) == sorted(
        {p["from"] for p in data["pairs"]} - {"host", "external"}
    )


def test_attach_with_the_wrong_file_names_exactly_the_differing_pairs(
    cli_env, three_tier, tmp_path
):
    """The project runs three-tier; FILE says web-server is not on the backend network (and
    drops the policy that needs it): the mismatches are the pairs whose prediction differs."""
    project, _ = three_tier
    with open(THREE_TIER, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    del doc["services"]["web-server"]["networks"]["backend"]
    del doc["services"]["web-server"]["environment"]  # API_URL: no longer needed
    doc["policies"] = [p for p in doc["policies"] if "3000" not in json.dumps(p)]
    other = tmp_path / "topology.yaml"
    other.write_text(yaml.safe_dump(doc, sort_keys=False))
    res = attach(cli_env, project, str(other), "--format", "json")
    data = json.loads(res.output)
    assert res.exit_code == 1 and not data["ok"], res.output
    real, wrong = predicted(THREE_TIER), predicted(str(other))
    probed = {(p["from"], p["to"]) for p in data["pairs"] if p["observed"] is not None}
    expected = {pair for pair in probed if real[pair] != wrong[pair]}
    assert expected and ("web-server", "api-server") in expected
    assert {(p["from"], p["to"]) for p in data["pairs"] if p["status"] == "mismatch"} == expected
    assert sidecars(cli_env) == []


def test_a_missing_project_is_a_usage_error(cli_env):
    res = attach(cli_env, f"tg-nothing-{uuid.uuid4().hex[:6]}", THREE_TIER)
    assert res.exit_code == 2 and "no Compose project" in res.output, res.output


SMALL = """\
services:
  web:
    image: {image}
    entrypoint: [/bin/sh, -c]
    command: ["trap 'exit 0' TERM; nc -ll -p 80 -e true & while :; do sleep 3600 & wait $$!; done"]
    expose: ["80"]
    networks: [front]
  dns:
    image: {image}
    entrypoint: [/bin/sh, -c]
    command: ["trap 'exit 0' TERM; while :; do sleep 3600 & wait $$!; done"]
    expose: ["5353/udp"]
    networks: [front, back]
    scale: 2
  db:
    image: {image}
    entrypoint: [/bin/sh, -c]
    command: ["trap 'exit 0' TERM; while :; do sleep 3600 & wait $$!; done"]
    expose: ["5432"]
    networks: [back]
networks:
  front: {{}}
  back: {{internal: true}}
"""


def test_replicas_udp_refusals_and_services_the_file_does_not_match(cli_env, tmp_path):
    """Real images listen on nothing here (db, dns): a refused TCP connect and a UDP
    port-unreachable still prove the path; both replicas of dns are probed; a stopped
    service is reported and a running one FILE lacks fails the run."""
    started = tmp_path / "compose.yaml"
    started.write_text(SMALL.format(image=cli_env.image))
    project = f"tg-attach-{uuid.uuid4().hex[:6]}"
    try:
        up(cli_env, project, str(started))
        res = attach(cli_env, project, "--format", "json")
        data = json.loads(res.output)
        assert res.exit_code == 0 and data["ok"], res.output
        pairs = {(p["from"], p["to"]): p for p in data["pairs"]}
        assert pairs[("db", "dns")]["observed"]["udp"] == {
            "probed": [5353],
            "closed": [5353],
            "listening": [],
        }
        assert pairs[("dns", "db")]["observed"]["closed_ports"] == [5432]
        assert pairs[("web", "db")]["observed"]["reachable"] is False
        ips = {
            e.split()[1]
            for e in pairs[("web", "dns")]["observed"]["evidence"]
            if e.startswith("ping")
        }
        assert len(ips) == 2, pairs[("web", "dns")]  # both replicas answered
        # FILE without web, and db stopped
        doc = yaml.safe_load(started.read_text())
        del doc["services"]["web"]
        lacking = tmp_path / "lacking.yaml"
        lacking.write_text(yaml.safe_dump(doc))
        cli_env.compose_cmd("-p", project, "-f", str(started), "stop", "-t", "1", "db", timeout=60)
        before = snapshot(cli_env, project)
        res = attach(cli_env, project, str(lacking), "--format", "json")
        data = json.loads(res.output)
        assert res.exit_code == 1 and data["services"] == {"absent": ["db"], "unknown": ["web"]}
        assert all(p["observed"] is None for p in data["pairs"] if "db" in (p["from"], p["to"]))
        assert snapshot(cli_env, project) == before and sidecars(cli_env) == []
    finally:
        down(cli_env, project, str(started))


def test_udp_ports_are_probed_with_stubs_in_live_mode(cli_env, tmp_path):
    path = tmp_path / "topology.yaml"
    path.write_text(
        "name: udp\nnetworks: {n: {}}\nservices:\n"
        "  resolver: {image: x, networks: [n], expose: ['53/udp', '53']}\n"
        "  client: {image: x, networks: [n]}\n"
    )
    res = CliRunner().invoke(
        app, ["verify", str(path), "--live", "--stub-image", cli_env.image, "--format", "json"]
    )
    data = json.loads(res.output)
    assert res.exit_code == 0 and data["ok"], res.output
    pair = next(p for p in data["pairs"] if (p["from"], p["to"]) == ("client", "resolver"))
    assert pair["observed"]["udp"]["closed"] == [53] and pair["observed"]["ports"] == [53]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_removes_the_sidecars_and_leaves_the_project(cli_env, three_tier, sig):
    project, _ = three_tier
    before = snapshot(cli_env, project)
    env = {**os.environ, "DOCKER_HOST": cli_env.env["DOCKER_HOST"]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "topogen", "verify", "--attach", project, THREE_TIER]
        + ["--probe-image", cli_env.image],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not sidecars(cli_env) and proc.poll() is None:
            time.sleep(0.1)
        assert sidecars(cli_env), "the probes never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig and "interrupted" in err, err
    assert sidecars(cli_env) == [] and snapshot(cli_env, project) == before


STORAGE = """\
services:
  app:
    image: {image}
    entrypoint: [/bin/sh, -c]
    command: ["trap 'exit 0' TERM; while :; do sleep 3600 & wait $$!; done"]
    tmpfs: ["/scratch:size={size}"]
    volumes: ["data:/data:ro"]
volumes:
  data: {{}}
"""


def test_storage_is_read_from_docker_inspect(cli_env, tmp_path):
    """The declared read-only volume and tmpfs size are checked without entering the
    container; a FILE with another tmpfs size fails that check."""
    started = tmp_path / "compose.yaml"
    started.write_text(STORAGE.format(image=cli_env.image, size="1m"))
    other = tmp_path / "other.yaml"
    other.write_text(STORAGE.format(image=cli_env.image, size="2m"))
    project = f"tg-attach-{uuid.uuid4().hex[:6]}"
    try:
        up(cli_env, project, str(started))
        res = attach(cli_env, project, "--format", "json")
        data = json.loads(res.output)
        assert res.exit_code == 0, res.output
        assert {(s["check"], s["target"], s["status"]) for s in data["storage"]} == {
            ("tmpfs", "/scratch", "ok"),
            ("read-only", "/data", "ok"),
        }
        res = attach(cli_env, project, str(other), "--format", "json")
        data = json.loads(res.output)
        assert res.exit_code == 1 and data["summary"]["storage_failed"] == 1, res.output
        [failed] = [s for s in data["storage"] if s["status"] == "failed"]
        assert failed["target"] == "/scratch" and str(2 * 2**20) in failed["detail"]
    finally:
        down(cli_env, project, str(started))
