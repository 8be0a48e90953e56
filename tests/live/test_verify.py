"""``topogen verify --live`` on a real engine, with stub images: every example that runs on
one engine comes up, every ordered pair of its services is probed, and the observation
equals the analysis; the comparison can fail; nothing created remains."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml
from typer.testing import CliRunner

from tests.tools import EXAMPLES
from topogen.live import Engine, Options, verify

pytestmark = pytest.mark.live

# example -> extra options; each runs alone and is torn down before the next
RUNNABLE = {
    "three-tier": {},
    "custom-bridge": {},
    "host-network": {},
    "macvlan": {"veth": True},
    "dev-environment": {},
    "db-backup": {},
    "shared-uploads": {},
    "service-mesh": {},
    "segmentation": {"env": {"POSTGRES_PASSWORD": "verify-only"}},
}


def engine_of(denv) -> Engine:
    return Engine(denv.docker, denv.compose, dict(denv.env))


def project_leftovers(denv, prefix: str) -> list[str]:
    found = []
    for args in (("ps", "-a"), ("network", "ls"), ("volume", "ls")):
        cp = denv.docker_cmd(
            *args,
            "--filter",
            f"name={prefix}",
            "--format",
            "{{.Names}}" if args[0] == "ps" else "{{.Name}}",
            timeout=30,
        )
        found += [ln for ln in cp.stdout.split() if ln.startswith(prefix)]
    return found


def run_verify(denv, path: str, **kw):
    cfg = dict(kw)
    if cfg.pop("veth", False):
        cfg["parent"] = denv.veth_parent
    opts = Options(
        stub_image=denv.image, probe_image=denv.image, timeout=90, env=cfg.pop("env", {}), **cfg
    )
    rep = verify(path, opts, engine_of(denv))
    if not rep.project:  # stopped before creating anything
        return rep
    assert rep.project.startswith("tgv-")
    assert project_leftovers(denv, rep.project) == [], "verify left resources behind"
    return rep


def assert_agrees(rep, services) -> None:
    assert rep.errors == [], rep.errors
    rows = {(r.source, r.target): r for r in rep.rows}
    for s in services:
        for t in services:
            if s != t:
                assert rows[(s, t)].observed is not None, f"{s} -> {t} was not probed"
    assert not rep.mismatches, rep.render()
    assert not [p for p in rep.policies if p.status == "violated"], rep.render()
    assert not [s for s in rep.storage if s.status == "failed"], rep.render()
    assert rep.exit_code == 0


@pytest.mark.parametrize("example", sorted(RUNNABLE))
def test_example_observed_equals_predicted(docker_env, example, request):
    if RUNNABLE[example].get("veth"):
        request.getfixturevalue("macvlan_parent")  # skips (or fails) without the veth parent
    path = os.path.join(EXAMPLES, example, "topology.yaml")
    rep = run_verify(docker_env, path, **RUNNABLE[example])
    services = {r.source for r in rep.rows} - {"host", "external"}
    assert_agrees(rep, services)


def test_three_tier_isolation_claims_hold(docker_env):
    rep = run_verify(docker_env, os.path.join(EXAMPLES, "three-tier", "topology.yaml"))
    rows = {(r.source, r.target): r.observed for r in rep.rows}
    assert rows[("web-server", "postgres-db")].reachable is False
    assert rows[("web-server", "postgres-db")].names == set()
    assert rows[("api-server", "postgres-db")].reachable is True
    assert rows[("api-server", "postgres-db")].names == {"postgres-db"}
    assert rows[("postgres-db", "external")].reachable is False  # internal networks only
    assert rows[("load-balancer", "external")].reachable is True
    assert {p.status for p in rep.policies} == {"ok"}
    # every probe stayed inside the topology: its subnets (gateways included) and loopback
    subnets = [ipaddress.ip_network(n) for n in ("172.20.0.0/16", "172.21.0.0/16", "172.22.0.0/16")]
    assert rep.addresses
    for a in rep.addresses:
        ip = ipaddress.ip_address(a)
        assert ip.is_loopback or any(ip in n for n in subnets), a


def test_storage_checks_shared_uploads_and_dev_environment(docker_env):
    rep = run_verify(docker_env, os.path.join(EXAMPLES, "shared-uploads", "topology.yaml"))
    got = {(s.check, s.service, s.status) for s in rep.storage}
    assert {
        ("shared", "process-service", "ok"),
        ("shared", "delivery-service", "ok"),
        ("read-only", "process-service", "ok"),
        ("read-only", "delivery-service", "ok"),
        ("tmpfs", "process-service", "ok"),
        ("persists", "upload-service", "ok"),
    } <= got
    rep = run_verify(docker_env, os.path.join(EXAMPLES, "dev-environment", "topology.yaml"))
    tmpfs = [s for s in rep.storage if s.check == "tmpfs"]
    assert tmpfs and tmpfs[0].status == "ok" and str(500 * 2**20) in tmpfs[0].detail
    assert ("persists", "ok") in {(s.check, s.status) for s in rep.storage}


def test_volume_drivers_tmpfs_and_bind_parts(docker_env, tmp_path):
    """The tmpfs- and bind-backed volumes of volume-drivers (NFS, CIFS, devices and plugins
    cannot run here): the same services and policy, the other volumes left out."""
    src = os.path.join(EXAMPLES, "volume-drivers")
    with open(os.path.join(src, "topology.yaml")) as fh:
        doc = yaml.safe_load(fh)
    keep = {"scratch", "host-data"}
    doc["volumes"] = {k: v for k, v in doc["volumes"].items() if k in keep}
    for svc in doc["services"].values():
        svc["mounts"] = [m for m in svc.get("mounts", []) if m["source"] in keep]
        if not svc["mounts"]:
            del svc["mounts"]
    shutil.copytree(os.path.join(src, "data"), tmp_path / "data")
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(doc))
    rep = run_verify(docker_env, str(tmp_path / "topology.yaml"))
    assert_agrees(rep, {"database", "storage-app"})
    tmpfs = [s for s in rep.storage if s.check == "tmpfs"]
    assert [(s.target, s.status) for s in tmpfs] == [("/mnt/scratch", "ok")], rep.render()
    assert str(100 * 2**20) in tmpfs[0].detail
    assert not list((tmp_path / "data").glob(".topogen*")), "verify wrote into a bind-backed volume"


def test_flipped_prediction_fails_and_names_the_pair(docker_env, monkeypatch):
    from topogen.analysis import reach
    from topogen.cli import app

    real = reach.analyze

    def flipped(topo):
        m = real(topo)
        pairs = tuple(
            reach.Pair(p.source, p.target, True, ("database",), p.ports, ("postgres-db",))
            if (p.source, p.target) == ("web-server", "postgres-db")
            else p
            for p in m.pairs
        )
        return reach.Matrix(m.endpoints, pairs)

    monkeypatch.setattr(reach, "analyze", flipped)
    for key in ("DOCKER_HOST",):
        monkeypatch.setenv(key, docker_env.env[key])
    monkeypatch.setenv("TOPOGEN_DOCKER", docker_env.docker)
    monkeypatch.setenv("TOPOGEN_COMPOSE", docker_env.compose)
    path = os.path.join(EXAMPLES, "three-tier", "topology.yaml")
    res = CliRunner().invoke(app, ["verify", path, "--live", "--stub-image", docker_env.image])
    assert res.exit_code == 1, res.output
    line = next(ln for ln in res.output.splitlines() if "MISMATCH" in ln)
    assert line.split()[:2] == ["web-server", "postgres-db"], res.output
    assert "predicted reachable, observed unreachable" in line
    res = CliRunner().invoke(
        app, ["verify", path, "--live", "--stub-image", docker_env.image, "--format", "json"]
    )

    data = json.loads(res.output)
    assert res.exit_code == 1 and data["ok"] is False
    assert [(p["from"], p["to"]) for p in data["pairs"] if p["status"] == "mismatch"] == [
        ("web-server", "postgres-db")
    ]


def test_engine_conflict_stops_before_anything_is_created(docker_env, cleanup, unique_name):
    """A subnet taken on the engine: verify reports it at the topology's line (preflight) and
    creates nothing."""
    net = cleanup.network(unique_name("taken"))
    docker_env.docker_cmd(
        "network", "create", "--subnet", "172.22.0.0/24", net, check=True, timeout=30
    )
    rep = run_verify(docker_env, os.path.join(EXAMPLES, "three-tier", "topology.yaml"))
    assert rep.exit_code == 1 and rep.project == "" and rep.rows == []
    assert [(d.line, d.rule) for d in rep.diagnostics] == [(7, "engine-pool-overlap")]


def test_failed_up_leaves_nothing(docker_env, tmp_path):
    """`up` fails half-way (a macvlan parent that does not exist, after the bridges were
    created): verify reports it and removes what it had created."""
    from tests.live.test_verify_zoo import ZOO

    (tmp_path / "topology.yaml").write_text(ZOO)
    rep = run_verify(docker_env, str(tmp_path / "topology.yaml"), parent="tgnope0")
    assert rep.exit_code == 1 and rep.project.startswith("tgv-zoo-")
    assert any("up failed" in e and "tgnope0" in e for e in rep.errors), rep.errors


def test_keep_leaves_the_project_up(docker_env, cleanup):
    rep = verify(
        os.path.join(EXAMPLES, "custom-bridge", "topology.yaml"),
        Options(stub_image=docker_env.image, probe_image=docker_env.image, keep=True),
        engine_of(docker_env),
    )
    try:
        assert rep.exit_code == 0, rep.render()
        cp = docker_env.docker_cmd(
            "ps", "-q", "--filter", f"label=com.docker.compose.project={rep.project}"
        )
        assert len(cp.stdout.split()) == 3
        assert (
            rep.kept.startswith(f"docker-compose -p {rep.project} -f ") and rep.kept in rep.render()
        )
        down = docker_env.run(
            rep.kept.replace("docker-compose", docker_env.compose, 1).split(), timeout=120
        )
        assert down.returncode == 0, down.stderr
        assert project_leftovers(docker_env, rep.project) == []
    finally:
        cp = docker_env.docker_cmd(
            "ps", "-aq", "--filter", f"label=com.docker.compose.project={rep.project}"
        )
        if cp.stdout.split():
            docker_env.docker_cmd("rm", "-f", *cp.stdout.split(), timeout=60)
        nets = docker_env.docker_cmd(
            "network", "ls", "-q", "--filter", f"label=com.docker.compose.project={rep.project}"
        )
        if nets.stdout.split():
            docker_env.docker_cmd("network", "rm", *nets.stdout.split(), timeout=60)
        if " -f " in rep.kept:  # the compiled file kept for the user
            shutil.rmtree(os.path.dirname(rep.kept.split(" -f ")[1].split()[0]), ignore_errors=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_tears_everything_down(docker_env, sig):
    path = os.path.join(EXAMPLES, "three-tier", "topology.yaml")
    env = {
        **os.environ,
        **docker_env.env,
        "TOPOGEN_DOCKER": docker_env.docker,
        "TOPOGEN_COMPOSE": docker_env.compose,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from topogen.cli import main; main()",
            "verify",
            path,
            "--live",
            "--stub-image",
            docker_env.image,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # interrupt while the probe sidecars run: the project is up and probes are running
        deadline = time.monotonic() + 60
        probing = ""
        while time.monotonic() < deadline and not probing and proc.poll() is None:
            probing = docker_env.docker_cmd(
                "ps", "-q", "--filter", "label=topogen.verify", timeout=20
            ).stdout.strip()
        assert probing, "the probes never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, (
        err
    )  # 130 for SIGINT, 143 for SIGTERM, as a shell reports them
    assert "interrupted" in err
    assert project_leftovers(docker_env, "tgv-three-tier-") == []


NODE_EXPORTER = """\
name: nodex
networks:
  shared: {{external: true, name: {net}}}
  own: {{}}
volumes:
  data: {{external: true, name: {vol}}}
  kept: {{external: true, name: {kept}}}
services:
  exporter:
    image: prom/node-exporter
    networks: [shared, own]
    expose: ["9100"]
    volumes: ["/proc:/host/proc:ro", "/sys:/host/sys:ro", "/:/rootfs:ro", "data:/data"]
  app:
    image: x
    networks: [shared]
    expose: ["80"]
    volumes: ["kept:/kept"]
"""


def test_create_external_and_a_read_only_proc_bind_leave_nothing(
    docker_env, cleanup, unique_name, tmp_path, monkeypatch
):
    """`verify --live --stub-image IMG --create-external` on a node-exporter-like topology: the
    missing external network and volume are created for the run and removed after, the one that
    existed is used and kept, the stub image serves as probe image, and the read-only binds of
    /proc and /sys pass the storage check."""
    from tests.live import guard
    from topogen.cli import app

    net, vol, kept = (
        unique_name("extnet"),
        unique_name("extvol"),
        cleanup.volume(unique_name("kept")),
    )
    docker_env.docker_cmd("volume", "create", kept, check=True, timeout=30)
    path = tmp_path / "topology.yaml"
    path.write_text(NODE_EXPORTER.format(net=net, vol=vol, kept=kept))
    monkeypatch.setenv("DOCKER_HOST", docker_env.env["DOCKER_HOST"])
    monkeypatch.setenv("TOPOGEN_DOCKER", docker_env.docker)
    monkeypatch.setenv("TOPOGEN_COMPOSE", docker_env.compose)
    args = ["verify", str(path), "--live", "--stub-image", docker_env.image, "--format", "json"]
    res = CliRunner().invoke(
        app, args
    )  # without --create-external: the preflight says what is missing
    assert res.exit_code == 1 and json.loads(res.output)["project"] == "", res.output
    assert sorted((d["line"], d["rule"]) for d in json.loads(res.output)["diagnostics"]) == [
        (3, "engine-external-missing"),
        (6, "engine-external-missing"),
    ]
    res = CliRunner().invoke(app, [*args, "--create-external"])
    data = json.loads(res.output)
    assert res.exit_code == 0 and data["ok"], res.output
    assert data["summary"]["mismatches"] == 0 and data["summary"]["probed"] >= 6, data["summary"]
    storage = {(s["check"], s["target"]): s["status"] for s in data["storage"]}
    assert {storage[("read-only", t)] for t in ("/host/proc", "/host/sys", "/rootfs")} == {"ok"}, (
        data["storage"]
    )
    assert docker_env.docker_cmd("network", "inspect", net, timeout=30).returncode != 0, (
        "external network left"
    )
    assert docker_env.docker_cmd("volume", "inspect", vol, timeout=30).returncode != 0, (
        "external volume left"
    )
    assert project_leftovers(docker_env, data["project"]) == []
    # of everything this session created, only the volume that existed before the run is left
    assert {k: v for k, v in guard.labelled(docker_env).items() if v} == {"volumes": [kept]}
