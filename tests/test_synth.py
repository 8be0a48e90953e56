"""Synthesized layouts, judged by ``reach`` (the independent oracle): every intended pair is
reachable and every other service pair is not, except the pairs Docker adds whatever the
layout (one-way flows carried both ways, published ports seen through the host), which are
warnings. Expectations are derived here from the input, never from the layout."""

from __future__ import annotations

import itertools
import os
import random
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tools import EXAMPLES, compose_config

from topogen import pipeline
from topogen.analysis import reach

Flow = tuple[str, str]


def topology(
    services: list[str],
    flows: set[Flow],
    *,
    egress: set[str] = frozenset(),  # type: ignore[assignment]
    ports: set[str] = frozenset(),  # type: ignore[assignment]
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "name": "synth",
        "synthesize": {"egress": sorted(egress)},
        "services": {
            s: {"image": "busybox", **({"ports": [f"{8000 + i}:80"]} if s in ports else {})}
            for i, s in enumerate(services)
        },
        "policies": [{"allow": {"from": a, "to": b}} for a, b in sorted(flows)],
        **(extra or {}),
    }


def expected(flows: set[Flow], egress: set[str], ports: set[str]) -> set[Flow]:
    """What Docker makes reachable: intended pairs both ways, and every published port from
    every container on a non-internal bridge (the egress ones and the publishers)."""
    outward = egress | ports
    forced = {(a, b) for a in outward for b in ports if a != b}
    both = {f for a, b in flows if (a, b) not in forced for f in ((a, b), (b, a))}
    return both | forced


def check(data: dict[str, Any], file: str = "topology.yaml") -> pipeline.Result:
    result = pipeline.check(file, yaml.safe_dump(data, sort_keys=False))
    errors = [d for d in result.diagnostics if d.is_error]
    assert not errors, errors
    assert result.topology is not None
    return result


def reached(result: pipeline.Result, among: list[str]) -> set[Flow]:
    assert result.topology is not None
    matrix = reach.analyze(result.topology, among, among)
    return {(p.source, p.target) for p in matrix.pairs if p.reachable}


def warned(result: pipeline.Result) -> set[str]:
    return {d.rule for d in result.diagnostics}


@st.composite
def intents(draw: st.DrawFn) -> tuple[list[str], set[Flow], set[str], set[str]]:
    n = draw(st.integers(2, 9))
    services = [f"svc{i}" for i in range(n)]
    pairs = list(itertools.permutations(services, 2))
    flows = set(draw(st.lists(st.sampled_from(pairs), max_size=2 * n)))
    egress = set(draw(st.lists(st.sampled_from(services), max_size=3)))
    ports = set(draw(st.lists(st.sampled_from(services), max_size=2)))
    return services, flows, egress, ports


@settings(max_examples=60, deadline=None)
@given(intents())
def test_reach_of_a_synthesized_layout_is_the_intent(
    intent: tuple[list[str], set[Flow], set[str], set[str]],
) -> None:
    services, flows, egress, ports = intent
    result = check(topology(services, flows, egress=egress, ports=ports))
    got = reached(result, services)
    assert got == expected(flows, egress, ports)
    assert flows <= got
    rules = warned(result)
    forced = expected(set(), egress, ports)  # what published ports add whatever the flows
    one_way = any((a, b) not in forced and (b, a) not in flows | forced for a, b in flows)
    assert one_way == ("synth-one-way" in rules)
    assert result.topology is not None
    external = reach.analyze(result.topology, services, [reach.EXTERNAL])
    assert {p.source for p in external.pairs if p.reachable} == egress | ports


def test_forty_services_eighty_flows_and_compose_accepts_the_build(tmp_path: Any) -> None:
    rng = random.Random(40)
    services = [f"svc{i:02}" for i in range(40)]
    flows: set[Flow] = set()
    while len(flows) < 80:
        a, b = rng.sample(services, 2)
        flows.add((a, b))
    egress = set(rng.sample(services, 4))
    ports = set(rng.sample(services, 3))
    path = tmp_path / "topology.yaml"
    data = topology(services, flows, egress=egress, ports=ports)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    b = pipeline.build(str(path))
    assert b.result.topology is not None and b.result.ok, b.result.diagnostics
    assert reached(b.result, services) == expected(flows, egress, ports)
    layout = b.result.topology.synthesized
    undirected = {tuple(sorted(f)) for f in flows}
    peers = [n for n in layout.networks if n.role == "peers"]
    assert len(peers) <= len(undirected)
    pipeline.write(b.files)
    out = tmp_path / "docker-compose.yml"
    done = compose_config(str(out), "-q")
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    for n in peers:  # each generated network says which flows it carries
        a, c = n.flows[0]
        assert f"  # synthesized: carries {a} -> {c}" in text


def test_one_way_and_port_only_intents_are_warnings_at_the_policy() -> None:
    data = topology(["web", "db"], set())
    data["policies"] = [{"allow": {"from": "web", "to": "db", "port": 5432}}]
    text = yaml.safe_dump(data, sort_keys=False)
    result = pipeline.check("t.yaml", text)
    line = 1 + text.splitlines().index("- allow:")
    found = sorted((d.line, d.rule) for d in result.diagnostics)
    assert found == [(line, "synth-one-way"), (line + 3, "synth-port-only")]


def test_published_reach_is_a_warning_at_the_ports() -> None:
    data = topology(["web", "worker"], set(), egress={"worker"}, ports={"web"})
    result = check(data)
    assert reached(result, ["web", "worker"]) == {("worker", "web")}
    [d] = [d for d in result.diagnostics if d.rule == "synth-published-reach"]
    assert d.path[-1] == "ports" and "worker" in d.message


def test_no_egress_wins_over_the_egress_list() -> None:
    data = topology(["web", "db"], {("web", "db")}, egress={"db"})
    data["policies"].append({"no_egress": "db"})
    result = check(data)
    assert "synth-conflict" in warned(result)
    assert result.topology is not None
    assert not reach.analyze(result.topology, ["db"], [reach.EXTERNAL]).pairs[0].reachable


def test_names_and_subnets_stay_when_a_service_is_added() -> None:
    services = ["api", "cache", "db", "web"]
    flows = {("web", "api"), ("api", "web"), ("api", "db"), ("db", "api"), ("api", "cache")}
    before = check(topology(services, flows)).topology
    after = check(
        topology([*services, "queue"], flows | {("queue", "api"), ("api", "queue")})
    ).topology
    assert before is not None and after is not None
    old = {n.key: n.subnet for n in before.synthesized.networks}
    new = {n.key: n.subnet for n in after.synthesized.networks}
    assert set(new) - set(old) == {"api-queue"}
    assert {k: new[k] for k in old} == old


def test_subnets_avoid_declared_ones_and_auto_is_allocated() -> None:
    from topogen.synth import subnets

    pool = subnets.parse_pool("10.50.0.0/22", 24)  # four /24s
    data = topology(["a", "b", "c"], {("a", "b"), ("b", "a")})
    data["synthesize"]["pool"] = "10.50.0.0/22"
    data["networks"] = {
        "hand": {"subnet": "10.50.1.0/24"},
        "mine": {"subnet": "auto"},
    }
    data["services"]["c"]["networks"] = ["hand", "mine"]
    result = check(data)
    assert result.topology is not None
    nets = result.topology.networks
    subnets_given = [str(nets[k].pools[0].subnet) for k in ("a-b", "mine")]
    assert "10.50.1.0/24" not in subnets_given
    assert len(set(subnets_given)) == 2
    assert all(pool.supernet_of(nets[k].pools[0].subnet) for k in ("a-b", "mine"))  # type: ignore[arg-type]
    assert "c" not in result.topology.synthesized.services  # it keeps its own networks


def test_pool_exhausted_is_a_located_error() -> None:
    data = topology(["a", "b", "c"], {("a", "b")})
    data["synthesize"]["pool"] = "10.50.0.0/24"
    result = pipeline.check("t.yaml", yaml.safe_dump(data, sort_keys=False))
    assert [d.rule for d in result.diagnostics if d.is_error] == ["synth-pool"]
    assert result.diagnostics[0].line == 2


def test_a_compose_file_asks_under_x_topogen(tmp_path: Any) -> None:
    data = topology(["a", "b", "c"], {("a", "b"), ("b", "a")})
    data["x-topogen"] = {"synthesize": data.pop("synthesize"), "policies": data.pop("policies")}
    result = check(data, str(tmp_path / "compose.yaml"))
    assert reached(result, ["a", "b", "c"]) == {("a", "b"), ("b", "a")}


# ---------------------------------------------------------------------- the examples


def _example_files() -> list[str]:
    found = []
    for name in sorted(os.listdir(EXAMPLES)):
        path = os.path.join(EXAMPLES, name, "topology.yaml")
        if os.path.exists(path):
            found.append(path)
    return found


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.split(os.sep)[-2])
def test_every_example_resynthesized_from_its_own_reach(path: str) -> None:
    original = pipeline.check(path)
    assert original.topology is not None
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    places = [k for k, s in data["services"].items() if "network_mode" not in s]
    topo = original.topology
    flows = reached(original, places)
    ext = reach.analyze(topo, places, [reach.EXTERNAL])
    egress = {p.source for p in ext.pairs if p.reachable}
    ports = {s for s in places if topo.services[s].ports}
    for s in places:
        data["services"][s].pop("networks", None)
    data["targets"] = ["compose"]
    data["synthesize"] = {"egress": sorted(egress)}
    data["policies"] = [{"allow": {"from": a, "to": b}} for a, b in sorted(flows)]
    result = pipeline.check(path, yaml.safe_dump(data, sort_keys=False))
    assert not [d for d in result.diagnostics if d.is_error and d.rule.startswith("synth")]
    assert result.topology is not None
    got = reached(result, places)
    assert got == expected(flows, egress, ports)
    assert flows <= got


CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases", "synth")


@pytest.mark.parametrize("case", sorted(os.listdir(CASES)))
def test_synthesis_corpus(case: str) -> None:
    path = os.path.join(CASES, case)
    with open(path, encoding="utf-8") as fh:
        expect = [ln.split(": ", 1)[1].strip() for ln in fh if ln.startswith("# expect: ")]
    result = pipeline.check(path)
    got = [f"{d.line}:{d.col} {d.rule}" for d in result.diagnostics if d.rule.startswith("synth")]
    assert got == expect


def test_subnets_avoid_the_engines_networks() -> None:
    from topogen.live.inuse import subnets_in_use

    class FakeEngine:
        def networks(self) -> list[dict[str, Any]]:
            return [{"IPAM": {"Config": [{"Subnet": taken}]}}, {"IPAM": None}]

    text = yaml.safe_dump(topology(["a", "b"], {("a", "b"), ("b", "a")}), sort_keys=False)
    first = pipeline.check("t.yaml", text).topology
    assert first is not None
    taken = str(first.networks["a-b"].pools[0].subnet)
    avoid = subnets_in_use(FakeEngine())  # type: ignore[arg-type]
    assert avoid == [taken]
    again = pipeline.check("t.yaml", text, avoid=avoid).topology
    assert again is not None
    moved = again.networks["a-b"].pools[0].subnet
    assert moved is not None and str(moved) != taken
    assert not moved.overlaps(first.networks["a-b"].pools[0].subnet)  # type: ignore[arg-type]


def test_subnet_auto_without_synthesis_in_ipam_and_shorthand(tmp_path: Any) -> None:
    from topogen.synth import subnets

    data = {
        "name": "auto",
        "services": {"a": {"image": "busybox", "networks": ["one", "two"]}},
        "networks": {
            "one": {"subnet": "auto"},
            "two": {"ipam": {"config": [{"subnet": "auto"}]}},
        },
    }
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    b = pipeline.build(str(path))
    assert b.result.ok, b.result.diagnostics
    assert b.result.topology is not None
    pool = subnets.parse_pool(subnets.DEFAULT_POOL, subnets.DEFAULT_PREFIX)
    given = [b.result.topology.networks[k].pools[0].subnet for k in ("one", "two")]
    assert all(g is not None and g.subnet_of(pool) for g in given)  # type: ignore[union-attr,arg-type]
    assert given[0] != given[1]
    pipeline.write(b.files)
    done = compose_config(str(tmp_path / "docker-compose.yml"), "-q")
    assert done.returncode == 0, done.stderr
    assert "subnet: auto" not in (tmp_path / "docker-compose.yml").read_text()
