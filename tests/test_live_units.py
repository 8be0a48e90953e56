"""Unit tests of the pure parts of topogen.live (no engine): stub rewrite, probe planning,
the comparison, storage parsing, preflight and the report."""

from __future__ import annotations

import ipaddress
import json
import os
import textwrap

import pytest
import yaml

from tests.tools import EXAMPLES, compose_config
from topogen import pipeline
from topogen.analysis import reach
from topogen.live import compare, plan, preflight, storage, stub
from topogen.live.report import Report

THREE_TIER = os.path.join(EXAMPLES, "three-tier", "topology.yaml")


def load(path: str):
    result = pipeline.check(path)
    assert result.topology is not None, result.diagnostics
    return result


def topo_of(tmp_path, text: str):
    f = tmp_path / "topology.yaml"
    f.write_text(textwrap.dedent(text))
    return load(str(f))


def three_tier_runtime() -> plan.Runtime:
    """What the engine reports for three-tier (addresses as in the topology)."""
    return plan.Runtime(
        containers={
            s: f"id-{s}" for s in ("api-server", "load-balancer", "postgres-db", "web-server")
        },
        addresses={
            "postgres-db": {"database": ("172.22.0.10",)},
            "api-server": {"backend": ("172.21.0.10",), "database": ("172.22.0.2",)},
            "web-server": {"frontend": ("172.20.0.10",), "backend": ("172.21.0.2",)},
            "load-balancer": {"frontend": ("172.20.0.5",)},
        },
        gateways={"frontend": "172.20.0.1", "backend": "172.21.0.1", "database": "172.22.0.1"},
        drivers={"frontend": "bridge", "backend": "bridge", "database": "bridge"},
        isolated={"frontend": False, "backend": True, "database": True},
    )


# ---------------------------------------------------------------------- stub


def test_stub_rewrite_is_accepted_by_compose(tmp_path):
    result = load(THREE_TIER)
    files = pipeline.compile(result.topology, str(tmp_path), ["compose"])
    doc = stub.rewrite(
        yaml.safe_load(files["docker-compose.yml"]), result.topology, stub_image="bb:1"
    )
    web = doc["services"]["web-server"]
    assert web["image"] == "bb:1" and web["entrypoint"] == ["/bin/sh", "-c"]
    assert "nc -ll -p 80 -e true" in web["command"][0]
    # addresses, networks and published ports are untouched
    assert web["networks"]["frontend"]["ipv4_address"] == "172.20.0.10"
    assert web["ports"] == ["8080:80"]  # as the topology wrote it
    out = tmp_path / "docker-compose.yml"
    out.write_text(yaml.safe_dump(doc))
    cp = compose_config(str(out), "-q")
    assert cp.returncode == 0, cp.stderr


def test_stub_listens_on_policy_ports_too():
    # three-tier's policies name postgres-db:5432 and api-server:3000, which declare no ports
    topo = load(THREE_TIER).topology
    assert stub.probe_ports(topo, "postgres-db") == (5432,)
    assert stub.probe_ports(topo, "load-balancer") == (80, 443)


def test_parent_swap_only_touches_macvlan(tmp_path):
    result = load(os.path.join(EXAMPLES, "macvlan", "topology.yaml"))
    files = pipeline.compile(result.topology, str(tmp_path), ["compose"])
    doc = stub.rewrite(
        yaml.safe_load(files["docker-compose.yml"]), result.topology, parent="tgveth0"
    )
    nets = doc["networks"]
    assert [n["driver_opts"]["parent"] for n in nets.values() if n.get("driver") == "macvlan"] == [
        "tgveth0"
    ]


def test_profiles_are_dropped_so_every_service_runs(tmp_path):
    res = topo_of(
        tmp_path,
        """
        name: prof
        services:
          a: {image: x}
          debug: {image: x, profiles: [debug]}
        """,
    )
    files = pipeline.compile(res.topology, str(tmp_path), ["compose"])
    doc = yaml.safe_load(files["docker-compose.yml"])
    assert doc["services"]["debug"]["profiles"] == ["debug"]
    assert "profiles" not in stub.rewrite(doc, res.topology)["services"]["debug"]


def test_stub_script_without_ports_still_waits():
    assert "nc" not in stub.stub_script(())
    assert "trap 'exit 0' TERM" in stub.stub_script((80,))


# ---------------------------------------------------------------------- planning


def test_probes_only_target_the_topology():
    topo = load(THREE_TIER).topology
    rt = three_tier_runtime()
    probes = plan.plan(topo, reach.analyze(topo), rt)
    inside = {ip for per in rt.addresses.values() for ips in per.values() for ip in ips}
    inside |= set(rt.gateways.values()) | {"127.0.0.1"}
    names = {n for s in topo.services for n in plan.candidate_names(topo, "", s, s)}
    for p in probes:
        if p.kind in ("tcp", "ping"):
            assert p.address in inside or (p.by_name and p.address in names), p
        elif p.kind == "dns":
            assert p.address in names, p
    kinds = {(p.source, p.target, p.kind) for p in probes}
    # every ordered pair of services is probed, by DNS and by address
    for s in topo.services:
        for t in topo.services:
            if s != t:
                assert (s, t, "dns") in kinds and (s, t, "ping") in kinds
        assert (s, "external", "route") in kinds


def test_macvlan_address_is_not_probed_from_outside_its_network(tmp_path):
    res = topo_of(
        tmp_path,
        """
        name: lan
        networks:
          lan: {driver: macvlan, parent: eth0, subnet: 192.168.1.0/24}
          br: {subnet: 172.30.0.0/24}
        services:
          a: {image: x, networks: [lan]}
          b: {image: x, networks: [br], expose: ["80"]}
          c: {image: x, networks: [lan, br]}
        """,
    )
    rt = plan.Runtime(
        {"a": "1", "b": "2", "c": "3"},
        {
            "a": {"lan": ("192.168.1.2",)},
            "b": {"br": ("172.30.0.2",)},
            "c": {"lan": ("192.168.1.3",), "br": ("172.30.0.3",)},
        },
        {"lan": "192.168.1.1", "br": "172.30.0.1"},
        {"lan": "macvlan", "br": "bridge"},
    )
    probes = plan.plan(res.topology, reach.analyze(res.topology), rt)
    lan_ips = {"192.168.1.2", "192.168.1.3", "192.168.1.1"}
    for p in probes:
        if p.address in lan_ips:
            # only from a source on the macvlan network itself, never from b or the host
            assert p.source in ("a", "c"), p
    assert not [p for p in probes if p.source == "host" and p.address in lan_ips]


def test_by_name_connects_only_to_the_targets_addresses():
    topo = load(THREE_TIER).topology
    probes = plan.plan(topo, reach.analyze(topo), three_tier_runtime())
    named = [p for p in probes if p.by_name]
    assert {(p.source, p.target, p.address) for p in named} >= {
        ("api-server", "postgres-db", "postgres-db")
    }
    for p in named:
        assert p.allowed and set(p.allowed) <= three_tier_runtime().all_addresses(p.target)
        cmd = plan.command(p)
        assert f'case " {" ".join(p.allowed)} " in' in cmd and f"nc -w 1 $a {p.port}" in cmd


def test_script_and_parse_round_trip():
    probes = [
        plan.Probe(0, "a", "b", "tcp", "10.0.0.2", 80, 80),
        plan.Probe(1, "a", "b", "dns", "b"),
    ]
    text = plan.script(probes)
    assert "nc -w 1 10.0.0.2 80" in text and "nslookup b" in text and text.rstrip().endswith("wait")
    out = "noise\n@@ 0 0 \n@@ 1 1 ;; connection timed out\n@@ x 1\n"
    assert plan.parse(out) == {0: (0, ""), 1: (1, ";; connection timed out")}


# ---------------------------------------------------------------------- comparison

NSLOOKUP = (
    "Server: 127.0.0.11 Address: 127.0.0.11:53 Non-authoritative answer: Name: b Address: 10.0.0.2"
)


def _obs(results):
    rt = plan.Runtime(
        {"a": "1", "b": "2"},
        {"a": {"n": ("10.0.0.3",)}, "b": {"n": ("10.0.0.2",)}},
        {"n": "10.0.0.1"},
        {"n": "bridge"},
        {"n": False},
    )
    probes = [
        plan.Probe(0, "a", "b", "dns", "b"),
        plan.Probe(1, "a", "b", "tcp", "10.0.0.2", 80, 80),
        plan.Probe(2, "a", "external", "route"),
    ]
    return compare.observe(probes, results, rt, {"a": "a", "b": "b"}, {"a": ("n",)}, {"a": False})


def test_observe_and_compare_agree_and_disagree():
    seen = _obs({0: (0, NSLOOKUP), 1: (0, ""), 2: (0, "default via 10.0.0.1 dev eth0")})
    assert (
        seen[("a", "b")].reachable
        and seen[("a", "b")].names == {"b"}
        and seen[("a", "b")].ports == {80}
    )
    assert seen[("a", "external")].reachable
    good = reach.Pair("a", "b", True, ("n",), (80,), ("b",))
    bad = reach.Pair("a", "b", False, (), (), ())
    assert compare.problems(good, seen[("a", "b")], ports=True) == ()
    assert (
        compare.problems(bad, seen[("a", "b")], ports=True)[0]
        == "predicted unreachable, observed reachable"
    )
    matrix = reach.Matrix(("a", "b"), (bad,))
    rows = compare.compare(matrix, seen, ports=True)
    rep = Report("t.yaml", rows=rows)
    row = next(ln for ln in rep.render().splitlines() if "MISMATCH" in ln)
    assert rep.exit_code == 1 and row.split()[:4] == ["a", "b", "-", "reach"], row
    assert json.loads(rep.render("json"))["pairs"][0]["status"] == "mismatch"


def test_unresolved_name_and_internal_route():
    seen = _obs(
        {0: (1, ";; connection timed out"), 1: (1, ""), 2: (0, "default via 10.9.9.9 dev eth0")}
    )
    assert not seen[("a", "b")].reachable and seen[("a", "b")].names == set()
    assert not seen[("a", "external")].reachable  # a default route not through a topology gateway


def test_ping_counts_only_with_a_reply_from_the_address():
    rt = plan.Runtime({"a": "1"}, {}, {}, {}, {})
    probes = [
        plan.Probe(0, "a", "b", "ping", "10.0.0.2"),
        plan.Probe(1, "a", "c", "ping", "10.0.0.3"),
    ]
    out = {
        0: (
            0,
            "PING 10.0.0.2 (10.0.0.2): 56 data bytes 64 bytes from 10.0.0.2: seq=0 ttl=64 time=0.1 ms",
        ),
        1: (
            0,
            "PING 10.0.0.3 (10.0.0.3): 56 data bytes 64 bytes from 10.0.0.9: seq=0 ttl=64 time=0.1 ms",
        ),
    }
    seen = compare.observe(probes, out, rt, {}, {}, {})
    assert seen[("a", "b")].reachable and not seen[("a", "c")].reachable


def test_nslookup_answer_for_another_service_is_not_the_target():
    other = NSLOOKUP.replace("10.0.0.2", "10.0.0.77")
    seen = _obs({0: (0, other), 1: (1, ""), 2: (1, "")})
    assert seen[("a", "b")].names == set()


def test_policies_judged_on_observation(tmp_path):
    res = topo_of(
        tmp_path,
        """
        name: p
        services:
          a: {image: x}
          b: {image: x, expose: ["80"]}
        policies:
          - deny: {from: a, to: b, port: 80}
          - no_egress: a
          - allow: {from: external, to: b}
        """,
    )
    obs = compare.Observed(reachable=True, ports={80}, tcp_probed={80})
    rows = [
        compare.Row("a", "b", reach.Pair("a", "b", True, (), (80,), ()), obs, ()),
        compare.Row(
            "a",
            "external",
            reach.Pair("a", "external", True, (), (), ()),
            compare.Observed(reachable=False, evidence=["no default route"]),
            (),
        ),
    ]
    results = {p.policy.kind: p.status for p in compare.check_policies(res.topology, rows)}
    assert results == {"deny": "violated", "no_egress": "ok", "allow": "unverified"}


# ---------------------------------------------------------------------- storage


@pytest.mark.parametrize(
    "text,want",
    [
        ("100m", 100 * 2**20),
        (1024, 1024),
        ("1g", 2**30),
        ("52428800k", 50 * 2**30),
        ("x", None),
        (None, None),
    ],
)
def test_size_bytes(text, want):
    assert storage.size_bytes(text) == want


def test_mounted_tmpfs():
    mounts = "overlay / overlay rw 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev,noexec,relatime,size=512000k 0 0\n"
    assert storage.mounted_tmpfs(mounts, "/tmp") == (True, 512000 * 1024)
    assert storage.mounted_tmpfs(mounts, "/") == (False, None)


def test_storage_checks_with_a_fake_exec():
    res = load(os.path.join(EXAMPLES, "shared-uploads", "topology.yaml"))
    files: dict[str, str] = {}

    def run(service, cmd):  # a tiny shared filesystem: write with echo, read with cat
        if cmd.startswith("echo "):
            token, _, path = cmd[5:].partition(" > ")
            files[path.split(" ")[0].split("/.topogen")[-1]] = token
            return 0, ""
        if cmd.startswith("cat /proc/mounts"):
            return 0, "tmpfs /tmp/processing tmpfs rw,size=1048576k 0 0\n"
        if cmd.startswith("cat "):
            return 0, files.get(cmd[4:].split(" ")[0].split("/.topogen")[-1], "") + "\n"
        return 1, "touch: /uploads/.topogen-ro-check: Read-only file system"

    results = list(storage.plain_checks(res.topology, run))
    assert {(r.check, r.status) for r in results} == {
        ("read-only", "ok"),
        ("tmpfs", "ok"),
        ("shared", "ok"),
    }


# ---------------------------------------------------------------------- preflight


def test_preflight_conflicts_are_located():
    res = load(THREE_TIER)
    nets = [
        {
            "Name": "other",
            "Scope": "local",
            "IPAM": {"Config": [{"Subnet": "172.21.128.0/17"}]},
            "Labels": {},
        },
        {
            "Name": "three-tier_frontend",
            "Scope": "local",
            "IPAM": {"Config": [{"Subnet": "172.20.0.0/16"}]},
            "Labels": {"com.docker.compose.project": "three-tier"},
        },
    ]
    found = [res.src.finish(d) for d in preflight.subnet_conflicts(res.topology, nets)]
    assert [(d.line, d.rule) for d in found] == [(6, "engine-pool-overlap")]
    containers = [
        {
            "Name": "/web",
            "State": {"Running": True},
            "Config": {"Labels": {}},
            "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "443"}]}},
        }
    ]
    found = [res.src.finish(d) for d in preflight.port_conflicts(res.topology, containers)]
    assert [(d.line, d.rule) for d in found] == [(34, "engine-port-in-use")]
    assert "443/tcp" in found[0].message


def test_preflight_missing_external(tmp_path):
    res = topo_of(
        tmp_path,
        """
        name: ext
        networks:
          shared: {external: true}
        volumes:
          data: {external: true}
        services:
          a: {image: x, networks: [shared], mounts: [{source: data, target: /d}]}
        """,
    )
    found = list(preflight.missing_externals(res.topology, [{"Name": "bridge"}], set()))
    assert sorted(d.message for d in found) == [
        "external network 'shared' does not exist on the engine",
        "external volume 'data' does not exist on the engine",
    ]
    assert not list(preflight.missing_externals(res.topology, [{"Name": "shared"}], {"data"}))


def test_ipaddress_sanity():
    assert ipaddress.ip_network("172.20.0.0/16").overlaps(ipaddress.ip_network("172.20.5.0/24"))


# ---------------------------------------------------------------------- CLI without an engine


def test_verify_cli_usage_and_user_errors(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from topogen.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["verify", THREE_TIER])
    assert res.exit_code == 2 and "--live" in res.output
    bad = tmp_path / "topology.yaml"
    bad.write_text("name: bad\nservices:\n  a: {image: x, networks: [nowhere]}\n")
    res = runner.invoke(app, ["verify", str(bad), "--live"])
    assert res.exit_code == 1, res.output
    assert f"{bad}:3:" in res.output and "nowhere" in res.output
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    res = runner.invoke(app, ["verify", THREE_TIER, "--live", "--format", "json"])
    data = json.loads(res.output)
    assert (
        res.exit_code == 1
        and data["ok"] is False
        and "no Docker engine reachable" in data["errors"][0]
    )


def test_a_failed_probe_is_tried_once_more_and_a_success_stands():
    """ "Unreachable" takes two failures; a probe that connected is not run again."""
    from topogen.live.session import Options, Session

    probes = [
        plan.Probe(1, "a", "b", "tcp", "10.0.0.2", 80),
        plan.Probe(2, "a", "c", "tcp", "10.0.0.3", 80),
        plan.Probe(3, "a", "d", "ping", "10.0.0.4"),
        plan.Probe(4, "a", "", "route"),
    ]
    rounds: list[list[int]] = []
    answers = [{1: (0, ""), 2: (1, ""), 3: (143, ""), 4: (0, "")}, {2: (0, ""), 3: (1, "")}]

    def fake_round(self, ps, rt, planner):  # type: ignore[no-untyped-def]
        rounds.append([p.id for p in ps])
        return answers[len(rounds) - 1]

    session = Session.__new__(Session)
    session.opts = Options()
    session._probe_round = fake_round.__get__(session)  # type: ignore[method-assign]
    results = session._probe(probes, None, None)  # type: ignore[arg-type]
    assert rounds == [[1, 2, 3, 4], [2, 3]]
    assert {i: rc for i, (rc, _) in results.items()} == {1: 0, 2: 0, 3: 1, 4: 0}


# ---------------------------------------------------------------------- verify options, externals, pseudo file systems


NODE_EXPORTER = """
    name: nodex
    networks:
      shared: {external: true, name: tg-ext-net, subnet: 10.250.30.0/24}
    volumes:
      data: {external: true, name: tg-ext-vol}
    services:
      exporter:
        image: prom/node-exporter
        networks: [shared]
        volumes: ["/proc:/host/proc:ro", "/sys:/host/sys:ro", "/srv:/srv:ro", "data:/data"]
    """


def test_mount_entry_reads_the_last_mount_at_a_target():
    mounts = (
        "overlay / overlay rw 0 0\nproc /host/proc proc ro,nosuid,nodev 0 0\n"
        "tmpfs /my\\040dir tmpfs rw 0 0\ntmpfs /host/proc tmpfs rw 0 0\n"
    )
    assert storage.mount_entry(mounts, "/host/proc") == ("tmpfs", frozenset({"rw"}))
    assert storage.mount_entry(mounts, "/my dir") == ("tmpfs", frozenset({"rw"}))
    assert storage.mount_entry(mounts, "/nowhere") is None


@pytest.mark.parametrize(
    "flags,status", [("ro,nosuid,nodev,noexec,relatime", "ok"), ("rw,nosuid", "failed")]
)
def test_read_only_pseudo_file_systems_are_judged_by_their_flags(tmp_path, flags, status):
    """A read-only bind of /proc cannot be write-tested (a new file there is ENOENT, writable or
    not): its mount flags decide, and nothing is written into it. Other binds keep the write test."""
    res = topo_of(tmp_path, NODE_EXPORTER)
    commands: list[str] = []

    def run(service, cmd):
        commands.append(cmd)
        if cmd == "cat /proc/mounts":
            return 0, (
                f"proc /host/proc proc {flags} 0 0\nsysfs /host/sys sysfs ro,nosuid 0 0\n"
                "/dev/sda1 /srv ext4 ro,relatime 0 0\n"
            )
        return 1, "touch: /srv/.topogen-ro-check: Read-only file system"

    got = {
        r.target: (r.status, r.detail)
        for r in storage.plain_checks(res.topology, run)
        if r.check == "read-only"
    }
    assert got["/host/proc"][0] == status and "proc mounted" in got["/host/proc"][1]
    assert got["/host/sys"] == (
        "ok",
        (
            "sysfs mounted read-only (a pseudo file system: judged by its mount flags, "
            "nothing written)"
        ),
    )
    assert got["/srv"] == ("ok", "write rejected: read-only file system")
    assert not [c for c in commands if "/host/" in c], (
        commands
    )  # nothing written into /proc or /sys


def test_the_stub_image_is_the_probe_image_unless_one_is_given():
    from topogen.live.session import DEFAULT_IMAGE, Options

    assert DEFAULT_IMAGE == "busybox:latest"
    assert Options().probe == DEFAULT_IMAGE
    assert Options(stub_image="bb:1").probe == "bb:1"
    assert Options(stub_image="bb:1", probe_image="bb:2").probe == "bb:2"


class FakeEngine:
    """Just enough of topogen.live.Engine for externals: what exists, and the commands run."""

    def __init__(self, networks=(), volumes=(), fail=""):
        self.networks, self.volumes, self.fail, self.calls = set(networks), set(volumes), fail, []

    def lines(self, *args):
        return sorted(self.networks)

    def volume_names(self):
        return set(self.volumes)

    def docker_cmd(self, *args, timeout=60):
        import subprocess

        self.calls.append(args)
        bad = self.fail and self.fail in args
        return subprocess.CompletedProcess(args, 1 if bad else 0, "", "boom" if bad else "")


def test_create_external_makes_only_what_is_missing_labelled_and_removes_it(tmp_path):
    from topogen.live import externals

    res = topo_of(tmp_path, NODE_EXPORTER)
    eng = FakeEngine(volumes={"tg-ext-vol"})
    made = externals.create(eng, res.topology, "topogen.verify=tgv-x")
    assert made == [externals.Created("network", "tg-ext-net")]
    assert eng.calls == [
        (
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            "10.250.30.0/24",
            "--label",
            "topogen.verify=tgv-x",
            "tg-ext-net",
        )
    ]
    assert externals.remove(eng, made) == [] and eng.calls[-1] == ("network", "rm", "tg-ext-net")
    assert externals.cleanup_command(made) == "docker network rm tg-ext-net"
    # a failure removes what was created before it, and says which object failed
    eng = FakeEngine(fail="tg-ext-vol")
    with pytest.raises(Exception, match="could not create external volume 'tg-ext-vol': boom"):
        externals.create(eng, res.topology, "topogen.verify=tgv-y")
    assert eng.calls[-1] == ("network", "rm", "tg-ext-net")


def test_verify_cli_create_external_and_probe_image_options():
    from typer.testing import CliRunner

    from topogen.cli import app

    out = CliRunner().invoke(app, ["verify", "--help"], env={"COLUMNS": "200"}).output
    assert "--create-external" in out and "--probe-image" in out and "topogen/busybox" not in out


PROFILED = """\
services:
  web: {image: x}
  ollama-cpu: {image: x, profiles: [cpu]}
  ollama-gpu: {image: x, profiles: [gpu]}
  tools: {image: x, profiles: [debug, gpu]}
"""


def _container(running: bool = True, oneoff: bool = False) -> dict[str, object]:
    labels = {"com.docker.compose.oneoff": "True"} if oneoff else {}
    return {"State": {"Running": running}, "Config": {"Labels": labels}}


def test_attach_without_profile_takes_the_profiles_of_the_running_services(tmp_path) -> None:
    """Compose records no profile on a container: the running services say which were on."""
    from topogen.live import attached
    from topogen.live.session import Options

    f = tmp_path / "compose.yaml"
    f.write_text(PROFILED)
    containers = {
        "web": [_container()],
        "ollama-gpu": [_container()],
        "ollama-cpu": [_container(running=False)],
        "tools": [_container(oneoff=True)],  # a `compose run` does not enable its profiles
    }
    assert attached.inferred_profiles(pipeline.check(str(f)), containers) == ["gpu"]
    chosen = pipeline.check(str(f), profiles=["cpu"])
    assert attached.inferred_profiles(chosen, containers) == []  # --profile given: kept
    session = attached.Attach(None, "p", str(f), Options(), attached.Selection())  # type: ignore[arg-type]
    topo = session._model(containers)
    assert topo is not None and topo.profiles == ("gpu",)
    assert topo.together(topo.services["web"], topo.services["ollama-gpu"])
    assert set(topo.services) == {"web", "ollama-gpu", "tools"}  # tools: in gpu as well
    assert any("--profile not given: using gpu" in n for n in session.report.notes)
