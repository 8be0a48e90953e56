"""Unit tests (no engine) of what ``verify --attach`` added to topogen.live: how TCP and UDP
probe results are read, replicas, the project's labels, the JUnit report and the CLI."""

from __future__ import annotations

import json
import os
import textwrap
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from tests.tools import EXAMPLES
from topogen import pipeline
from topogen.analysis import reach
from topogen.cli import app
from topogen.live import attached as attach
from topogen.live import compare, plan, replicas
from topogen.live.report import Report
from topogen.live.storage import StorageResult

THREE_TIER = os.path.join(EXAMPLES, "three-tier", "topology.yaml")
HEADER = "traceroute to 10.0.0.2 (10.0.0.2), 3 hops max, 46 byte packets"


# ---------------------------------------------------------------------- reading one probe


@pytest.mark.parametrize(
    ("hop", "want"),
    [
        ("3 10.0.0.2 0.008 ms", "refused"),  # the target's kernel: port unreachable
        ("3 *", "silent"),  # a listener took it, or something dropped it
        ("3 10.0.0.1 0.004 ms", "other"),  # the gateway: time exceeded
        ("3 10.0.0.2 0.010 ms !X", "other"),  # administratively prohibited, not port-unreachable
        ("3 10.0.0.1 3001.2 ms !H", "other"),  # host unreachable from the gateway
    ],
)
def test_udp_outcome(hop, want):
    assert compare.udp_outcome(f"{HEADER} {hop}", "10.0.0.2") == want


def test_udp_outcome_without_a_hop_line_is_no_evidence():
    assert compare.udp_outcome("traceroute: socket: Operation not permitted", "10.0.0.2") == "other"


def test_tcp_outcome_a_refusal_counts_only_from_the_target():
    direct = plan.Probe(0, "a", "b", "tcp", "10.0.0.2", 80)
    published = plan.Probe(1, "a", "b", "tcp", "10.0.0.1", 8080, 80, published=True)
    refused = "nc: can't connect to remote host (10.0.0.2): Connection refused"
    assert compare.tcp_outcome(direct, 0, "") == "open"
    assert compare.tcp_outcome(direct, 1, refused) == "refused"
    assert compare.tcp_outcome(direct, 1, "nc: timed out") == "silent"
    assert compare.tcp_outcome(direct, 1, "nc: can't connect: No route to host") == "silent"
    # the host itself refuses at a published port that nothing forwards
    assert compare.tcp_outcome(published, 1, refused) == "silent"
    assert compare.answered(direct, 1, refused) and not compare.answered(published, 1, refused)


def _udp_obs(declared: str, canary: str):
    probes = [
        plan.Probe(0, "a", "b", "udp", "10.0.0.2", 53),
        plan.Probe(1, "a", "b", "udp", "10.0.0.2", plan.CANARY, canary=True),
    ]
    rt = plan.Runtime({"a": "1"}, {}, {}, {}, {})
    results = {0: (0, f"{HEADER} {declared}"), 1: (0, f"{HEADER} {canary}")}
    return compare.observe(probes, results, rt, {}, {}, {})[("a", "b")]


def test_udp_silence_is_a_listener_only_when_the_canary_was_refused():
    listening = _udp_obs("3 *", "3 10.0.0.2 0.01 ms")
    assert listening.reachable and listening.udp_listening == {53}
    assert listening.udp_probed == {53} and listening.udp_closed == set()
    unknown = _udp_obs("3 *", "3 *")
    assert not unknown.reachable and unknown.udp_listening == set()
    closed = _udp_obs("3 10.0.0.2 0.01 ms", "3 10.0.0.2 0.01 ms")
    assert closed.udp_closed == {53} and closed.udp_listening == set()


def test_udp_silence_is_a_mismatch_with_stubs_only():
    """A stub never listens on UDP, so a reachable stub refuses every datagram."""
    pred = reach.Pair("a", "b", True, ("n",), (53,), ("b",))
    obs = _udp_obs("3 *", "3 10.0.0.2 0.01 ms")
    assert compare.problems(pred, obs, ports=False) == ()
    assert compare.problems(pred, obs, ports=True) == (
        "udp ports: predicted [53] open, no answer from [53]",
    )


def test_planner_sends_udp_to_a_shared_address_and_a_canary(tmp_path):
    f = tmp_path / "compose.yaml"
    f.write_text(
        textwrap.dedent(
            """\
            services:
              a: {image: x, networks: [front]}
              b: {image: x, networks: [back, front], expose: ["53/udp", "5353-5360/udp", "80"]}
            networks: {front: {}, back: {}}
            """
        )
    )
    topo = pipeline.check(str(f)).topology
    assert topo is not None
    rt = plan.Runtime(
        {"a": "1", "b": "2"},
        {"a": {"front": ("10.1.0.2",)}, "b": {"back": ("10.2.0.3",), "front": ("10.1.0.3",)}},
        {"front": "10.1.0.1", "back": "10.2.0.1"},
        {"front": "bridge", "back": "bridge"},
    )
    probes = [p for p in plan.plan(topo, reach.analyze(topo), rt) if p.kind == "udp"]
    a_to_b = [p for p in probes if (p.source, p.target) == ("a", "b")]
    assert {p.address for p in a_to_b} == {"10.1.0.3"}  # front, which a shares
    assert [p.port for p in a_to_b if not p.canary] == [53, 5353, 5354, 5355][: plan.MAX_UDP]
    [canary] = [p for p in a_to_b if p.canary]
    assert canary.port not in (53, *range(5353, 5361))
    assert "-p 52 " in plan.command(a_to_b[0]) and "traceroute" in plan.command(a_to_b[0])
    assert plan.udp_canary((plan.CANARY, plan.CANARY + 1)) == plan.CANARY + 2


# ---------------------------------------------------------------------- replicas


def test_replicas_that_disagree_are_a_mismatch():
    seen = [
        {("a", "b"): compare.Observed(reachable=True, reached_ips={"10.0.0.2"})},
        {("a", "b"): compare.Observed(reachable=False)},
    ]
    merged = replicas.merge(seen)
    o = merged[("a", "b")]
    assert o.reachable and o.conflicts == ["source replica 2 observed unreachable"]
    pred = reach.Pair("a", "b", True, ("n",), (), ())
    assert compare.problems(pred, o, ports=False) == ("source replica 2 observed unreachable",)


def test_a_target_replica_that_does_not_answer_is_a_conflict():
    o = compare.Observed(
        reachable=True, probed_ips={"10.0.0.2", "10.0.0.3"}, reached_ips={"10.0.0.2"}
    )
    replicas.conflicts({("a", "b"): o}, {"b": [{"10.0.0.2"}, {"10.0.0.3"}]})
    assert o.conflicts == ["target replica(s) 2 did not answer"]
    fine = compare.Observed(reachable=True, probed_ips={"10.0.0.2"}, reached_ips={"10.0.0.2"})
    replicas.conflicts({("a", "b"): fine}, {"b": [{"10.0.0.2"}, {"10.0.0.9"}]})
    assert fine.conflicts == []  # replica 2 was not probed (no safe address): no verdict


# ---------------------------------------------------------------------- the project's labels


def _container(service: str, n: int, running: bool = True, **labels: str) -> dict:
    return {
        "Id": f"{service}-{n}",
        "State": {"Running": running},
        "Config": {
            "Labels": {
                "com.docker.compose.service": service,
                "com.docker.compose.container-number": str(n),
                "com.docker.compose.oneoff": "False",
                **labels,
            }
        },
    }


def test_running_leaves_out_stopped_and_one_off_containers():
    found = {
        "web": [_container("web", 1), _container("web", 2, running=False)],
        "db": [_container("db", 1, running=False)],
        "job": [_container("job", 1, **{attach.ONEOFF: "True"})],
    }
    assert {s: [c["Id"] for c in cs] for s, cs in attach.running(found).items()} == {
        "web": ["web-1"]
    }


def test_config_from_labels():
    labels = {
        attach.CONFIG_FILES: "/srv/app/compose.yaml,/srv/app/compose.prod.yaml",
        attach.WORKING_DIR: "/srv/app",
        attach.ENV_FILE: "/srv/app/.env",
    }
    files, envs, workdir = attach.config_from_labels({"web": [_container("web", 1, **labels)]})
    assert files == ["/srv/app/compose.yaml", "/srv/app/compose.prod.yaml"]
    assert envs == ["/srv/app/.env"] and workdir == "/srv/app"
    assert attach.config_from_labels({"web": [_container("web", 1)]}) == ([], [], "")


# ---------------------------------------------------------------------- junit


def _report() -> Report:
    topo = pipeline.check(THREE_TIER).topology
    assert topo is not None
    matrix = reach.analyze(topo)
    seen = {
        (p.source, p.target): compare.Observed(reachable=p.reachable)
        for p in matrix.pairs
        if p.source != "external"
    }
    flip = ("web-server", "postgres-db")
    seen[flip] = compare.Observed(reachable=True, evidence=["ping 172.22.0.10 <&\"'>"])
    rows = compare.compare(matrix, seen, ports=False)
    rep = Report(THREE_TIER, project="p", rows=rows, attached=True)
    rep.policies = compare.check_policies(topo, rows)
    rep.storage = [
        StorageResult("tmpfs", "web-server", "/tmp", "failed", "not tmpfs"),
        StorageResult("persists", "postgres-db", "/data", "unverified", "no shell"),
    ]
    rep.errors = ["probes from x: 1 of 2 gave no result"]
    rep.absent, rep.unknown = ["load-balancer"], ["intruder"]
    return rep


def test_junit_counts_agree_with_the_json_report():
    rep = _report()
    data = json.loads(rep.render("json"))
    root = ET.fromstring(rep.render("junit"))
    assert root.tag == "testsuites"
    suites = {s.get("name").rsplit(".", 1)[-1]: s for s in root.findall("testsuite")}
    assert set(suites) == {"run", "pairs", "policies", "storage", "services"}
    for s in suites.values():  # every suite's counts are those of its testcases
        cases = s.findall("testcase")
        assert int(s.get("tests")) == len(cases)
        for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert int(s.get(attr)) == len(s.findall(f"testcase/{tag}"))
        assert all(c.get("classname") and c.get("name") for c in cases)
    for attr in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(attr)) == sum(int(s.get(attr)) for s in suites.values())
    pairs = suites["pairs"]
    assert int(pairs.get("tests")) == data["summary"]["pairs"]
    assert int(pairs.get("tests")) - int(pairs.get("skipped")) == data["summary"]["probed"]
    failed = [c for c in pairs.findall("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == [
        f"{p['from']} -> {p['to']}" for p in data["pairs"] if p["status"] == "mismatch"
    ]
    text = failed[0].find("failure").text
    assert "predicted: unreachable" in text and "observed: reachable" in text
    assert "<&\"'>" in text  # escaped in the XML, the same after parsing
    policies = suites["policies"]
    violated = sum(1 for p in data["policies"] if p["status"] == "violated")
    assert int(policies.get("failures")) == violated == data["summary"]["policies_violated"]
    assert int(suites["storage"].get("failures")) == data["summary"]["storage_failed"] == 1
    assert int(suites["storage"].get("skipped")) == 1
    assert int(suites["run"].get("errors")) == len(data["errors"]) == 1
    services = {c.get("name"): c for c in suites["services"].findall("testcase")}
    assert services["intruder"].find("failure") is not None
    assert services["load-balancer"].find("skipped") is not None


def test_junit_of_a_live_run_has_no_services_suite():
    rep = _report()
    rep.attached, rep.absent, rep.unknown = False, [], []
    names = [s.get("name") for s in ET.fromstring(rep.render("junit")).findall("testsuite")]
    assert names == [f"topogen.verify.{n}" for n in ("run", "pairs", "policies", "storage")]


# ---------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["verify", THREE_TIER, "--live", "--attach", "p"], "--attach PROJECT"),
        (["verify", "--attach", "p", "--stub-image", "bb"], "--stub-image"),
        (["verify", "--attach", "p", "--keep"], "--keep"),
        (["verify", THREE_TIER, "--live", "--profile", "x"], "go with --attach"),
        (["verify", "--live"], "FILE"),
        (["verify", "--attach", "p", "-"], "stdin"),
    ],
)
def test_verify_usage(args, said):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and said in res.output, res.output


def test_attach_without_an_engine_is_a_located_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    res = CliRunner().invoke(app, ["verify", "--attach", "p", THREE_TIER, "--format", "junit"])
    assert res.exit_code == 1, res.output
    root = ET.fromstring(res.output)
    [error] = root.findall("testsuite/testcase/error")
    assert "no Docker engine reachable" in error.get("message")


def test_runnable_keeps_host_network_services_and_drops_what_does_not_run(tmp_path):
    f = tmp_path / "compose.yaml"
    f.write_text(
        "services:\n"
        "  a: {image: x}\n"
        "  h: {image: x, network_mode: host}\n"
        "  side: {image: x, network_mode: 'service:gone'}\n"
        "  gone: {image: x}\n"
    )
    topo = pipeline.check(str(f)).topology
    assert topo is not None
    rt = plan.Runtime({"a": "1", "h": "2"}, {"a": {"default": ("10.0.0.2",)}}, {}, {})
    planner = plan.Planner(topo, reach.analyze(topo), rt)
    up = {"a": [{}], "h": [{}], "side": [{}]}  # side runs, but in the namespace of gone
    kept = attach.runnable(planner.run(), planner, up)
    ends = {p.source for p in kept} | {p.target for p in kept}
    assert {"a", "h", "host"} <= ends and not ends & {"side", "gone"}


# ---------------------------------------------------------------------- storage from docker inspect

# as Engine 20.10 inspects a container of `tmpfs: ["/t1:size=1m"]`, a long-syntax tmpfs of
# 2097152 bytes, a read-only volume, a tmpfs-backed volume and a read-only bind
INSPECTED = {
    "Mounts": [
        {"Type": "volume", "Name": "p_mem", "Destination": "/mem", "RW": True},
        {"Type": "bind", "Source": "/srv", "Destination": "/cfg", "RW": False},
        {"Type": "tmpfs", "Source": "", "Destination": "/t2", "RW": True},
        {"Type": "volume", "Name": "p_data", "Destination": "/data", "RW": False},
    ],
    "HostConfig": {
        "Tmpfs": {"/t1": "size=1m"},
        "Mounts": [{"Type": "tmpfs", "Target": "/t2", "TmpfsOptions": {"SizeBytes": 2097152}}],
    },
}
VOLUMES = {"p_mem": {"Options": {"device": "tmpfs", "o": "size=3m", "type": "tmpfs"}}}


@pytest.mark.parametrize(
    ("declared", "want"),
    [
        ("tmpfs: ['/t1:size=1m']", ("tmpfs", "/t1", "ok")),
        ("tmpfs: ['/t1:size=2m']", ("tmpfs", "/t1", "failed")),
        ("tmpfs: ['/nowhere']", ("tmpfs", "/nowhere", "failed")),
        ("volumes: [{type: tmpfs, target: /t2, tmpfs: {size: 2097152}}]", ("tmpfs", "/t2", "ok")),
        ("volumes: ['data:/data:ro']", ("read-only", "/data", "ok")),
        ("volumes: ['./:/cfg:ro']", ("read-only", "/cfg", "ok")),
        ("volumes: ['mem:/mem:ro']", ("tmpfs", "/mem", "ok")),
        ("volumes: ['data:/mem:ro']", ("read-only", "/mem", "failed")),  # mounted read-write
        ("volumes: ['data:/gone:ro']", ("read-only", "/gone", "failed")),
    ],
)
def test_storage_checks_from_docker_inspect(tmp_path, declared, want):
    from topogen.live import inspected

    f = tmp_path / "compose.yaml"
    f.write_text(
        f"services:\n  a:\n    image: x\n    {declared}\n"
        "volumes:\n  data: {}\n  mem: {driver_opts: {type: tmpfs, device: tmpfs, o: size=3m}}\n"
    )
    topo = pipeline.check(str(f)).topology
    assert topo is not None
    [result] = inspected.checks(topo, {"a": [INSPECTED]}, VOLUMES)
    assert (result.check, result.target, result.status) == want, result
    assert inspected.volume_names({"a": [INSPECTED]}) == ["p_data", "p_mem"]
