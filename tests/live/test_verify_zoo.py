"""Every kind of endpoint in one topology, verified live: user bridges (one internal, one
with ICC off), aliases, container_name, a service-mode sidecar, network_mode none, the
default bridge, the host network, macvlan on the veth parent, published ports (hairpin)."""

from __future__ import annotations

import ipaddress

import pytest

from tests.live.test_verify import run_verify

pytestmark = pytest.mark.live

ZOO = """\
name: zoo
networks:
  front: {subnet: 172.31.1.0/24}
  back: {internal: true, subnet: 172.31.2.0/24}
  quiet: {icc: false, subnet: 172.31.3.0/24}
  lan: {driver: macvlan, parent: eth0, subnet: 172.31.4.0/24}
services:
  web:
    image: x
    container_name: zoo-web-c
    expose: ["80"]
    ports: ["18080:80"]
    networks:
      front: {aliases: [www]}
      back: {}
  db:
    image: x
    expose: ["5432"]
    networks:
      back: {aliases: [database]}
  side: {image: x, network_mode: "service:web"}
  alone: {image: x, network_mode: none}
  legacy: {image: x, network_mode: bridge, expose: ["7000"]}
  hostsvc: {image: x, network_mode: host, expose: ["18081"]}
  q1: {image: x, networks: [quiet], expose: ["81"]}
  q2: {image: x, networks: [quiet, front], expose: ["82"], ports: ["18082:82"]}
  m1: {image: x, networks: [lan], expose: ["83"]}
  m2: {image: x, networks: [lan, front], expose: ["84"]}
"""


def test_zoo_observed_equals_predicted(docker_env, macvlan_parent, tmp_path):
    f = tmp_path / "topology.yaml"
    f.write_text(ZOO)
    rep = run_verify(docker_env, str(f), veth=True)
    assert rep.errors == []
    services = {r.source for r in rep.rows} - {"host", "external"}
    rows = {(r.source, r.target): r for r in rep.rows}
    # from the host's namespace there is no DNS to ask, and m1 is only on the macvlan
    unprobed = {("hostsvc", "alone"), ("hostsvc", "m1")}
    for s in services:
        for t in services - {s}:
            assert (rows[(s, t)].observed is None) == ((s, t) in unprobed), f"{s} -> {t}"
    assert not rep.mismatches, rep.render()
    obs = {k: r.observed for k, r in rows.items()}
    assert obs[("web", "db")].reachable and obs[("web", "db")].names == {"database", "db"}
    # ICC off: no direct connection, but the published port through the host (hairpin)
    assert obs[("q1", "q2")].reachable and obs[("q1", "q2")].evidence == ["tcp 172.31.3.1:18082"]
    assert not obs[("db", "web")].ports - {80} and not obs[("db", "external")].reachable
    assert obs[("m1", "m2")].reachable and obs[("m2", "m1")].reachable
    assert not obs[("legacy", "web")].names  # the default bridge has no embedded DNS
    assert obs[("alone", "web")].reachable is False
    # every probed address is inside the topology: its subnets, the default bridge
    # (legacy's network) or loopback; none on the macvlan was probed from outside it
    bridge = docker_env.docker_cmd(
        "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "bridge"
    )
    nets = [ipaddress.ip_network(n) for n in ("172.31.0.0/16", bridge.stdout.strip())]
    for a in rep.addresses:
        assert ipaddress.ip_address(a).is_loopback or any(
            ipaddress.ip_address(a) in n for n in nets
        ), a
