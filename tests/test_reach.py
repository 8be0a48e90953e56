"""Reachability analysis: one small topology per rule of Docker's networking model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from tools import EXAMPLES

from topogen import pipeline
from topogen.analysis import reach
from topogen.analysis.reach import EXTERNAL, HOST, Pair


def index(text: str) -> reach.Index:
    result = pipeline.check("topology.yaml", "name: t\n" + textwrap.dedent(text))
    assert result.topology is not None, [d.format() for d in result.diagnostics]
    return reach.Index(result.topology)


def edge(ix: reach.Index, source: str, target: str) -> tuple[bool, tuple[str, ...]]:
    p = ix.pair(source, target)
    return p.reachable, p.via


# ------------------------------------------------------------------------ bridge and ICC

TWO_ON_BRIDGE = """
networks:
  net: {icc: %s}
services:
  a: {image: x, networks: [net]}
  b: {image: x, networks: [net], expose: ["5432"]}
"""


def test_shared_bridge_reaches_both_ways() -> None:
    ix = index(TWO_ON_BRIDGE % "true")
    assert edge(ix, "a", "b") == (True, ("net",))
    assert edge(ix, "b", "a") == (True, ("net",))
    assert ix.pair("a", "b").ports == (5432,)
    assert ix.pair("a", "b").names == ("b",)


def test_icc_off_blocks_members_but_not_host_or_egress() -> None:
    ix = index(TWO_ON_BRIDGE % "false")
    assert edge(ix, "a", "b") == (False, ())
    assert ix.pair("a", "b").names == ("b",)  # the embedded DNS still answers
    assert edge(ix, "a", HOST) == (True, ("net",))
    assert edge(ix, HOST, "b") == (True, ("net",))
    assert edge(ix, "a", EXTERNAL) == (True, ("net",))


def test_icc_off_through_raw_driver_opts() -> None:
    ix = index("""
        networks:
          net: {driver_opts: {com.docker.network.bridge.enable_icc: "false"}}
        services:
          a: {image: x, networks: [net]}
          b: {image: x, networks: [net]}
        """)
    assert edge(ix, "a", "b") == (False, ())


def test_no_shared_network() -> None:
    ix = index("""
        networks: {n1: {}, n2: {}}
        services:
          a: {image: x, networks: [n1]}
          b: {image: x, networks: [n2]}
        """)
    assert ix.pair("a", "b") == Pair("a", "b", False, (), (), ())


def test_services_without_networks_share_default() -> None:
    ix = index("""
        services:
          a: {image: x}
          b: {image: x}
        """)
    assert edge(ix, "a", "b") == (True, ("default",))


# ------------------------------------------------------------------------ names


def test_names_are_service_container_name_aliases_and_link_aliases() -> None:
    ix = index("""
        networks: {n1: {}, n2: {}}
        services:
          db:
            image: x
            container_name: pg
            networks: {n1: {aliases: [database]}, n2: {aliases: [other-net-only]}}
          app: {image: x, networks: [n1], links: ["db:primary"]}
        """)
    assert ix.pair("app", "db").names == ("database", "db", "pg", "primary")
    assert ix.pair("app", "db").dns == (("n1", ("database", "db", "pg", "primary")),)
    assert ix.pair("db", "app").names == ("app",)


def test_names_are_reported_per_shared_network() -> None:
    ix = index("""
        networks: {front: {}, back: {}}
        services:
          api: {image: x, networks: {front: {aliases: [www]}, back: {aliases: [internal-api]}}}
          web: {image: x, networks: [front, back]}
        """)
    pair = ix.pair("web", "api")
    assert pair.dns == (("back", ("api", "internal-api")), ("front", ("api", "www")))
    assert pair.to_json()["dns"] == {"back": ["api", "internal-api"], "front": ["api", "www"]}


def test_default_bridge_mode_has_no_dns_but_links() -> None:
    ix = index("""
        services:
          a: {image: x, network_mode: bridge, links: ["b:bee"]}
          b: {image: x, network_mode: bridge}
        """)
    assert edge(ix, "a", "b") == (True, ("bridge",))
    assert ix.pair("a", "b").names == ("b", "bee")
    assert ix.pair("b", "a").names == ()


def test_network_mode_default_is_the_default_bridge() -> None:
    ix = index("""
        services:
          a: {image: x, network_mode: default}
          b: {image: x, network_mode: bridge}
        """)
    assert edge(ix, "a", "b") == (True, ("bridge",))
    assert edge(ix, "a", EXTERNAL)[0]


# ------------------------------------------------------------------------ namespaces

SIDECAR = """
networks: {app: {}, other: {}}
services:
  main: {image: x, networks: {app: {aliases: [svc]}}, ports: ["8080:80"]}
  sidecar: {image: x, network_mode: "service:main"}
  client: {image: x, networks: [app]}
  stranger: {image: x, networks: [other]}
"""


def test_service_mode_shares_the_targets_reachability() -> None:
    ix = index(SIDECAR)
    assert edge(ix, "sidecar", "client") == (True, ("app", "namespace"))
    # reached as the target: on its network, and through the host port main publishes
    assert edge(ix, "client", "sidecar") == (True, ("app", "published-port", "namespace"))
    assert ix.pair("client", "sidecar").names == ("main", "svc")
    assert edge(ix, "sidecar", "stranger") == (False, ())
    assert edge(ix, "stranger", "sidecar") == (True, ("published-port", "namespace"))
    assert edge(ix, "sidecar", EXTERNAL) == edge(ix, "main", EXTERNAL)


def test_service_mode_reaches_its_target_over_localhost() -> None:
    ix = index(SIDECAR)
    pair = ix.pair("sidecar", "main")
    # the shared resolver answers the owner's names too (verified live by verify's zoo test)
    assert (pair.reachable, pair.via, pair.names) == (
        True,
        ("namespace",),
        ("localhost", "main", "svc"),
    )


def test_container_mode_by_container_name() -> None:
    ix = index("""
        services:
          main: {image: x, container_name: the-main}
          side: {image: x, network_mode: "container:the-main"}
          peer: {image: x}
        """)
    assert edge(ix, "side", "peer") == (True, ("default", "namespace"))


def test_container_mode_of_an_unknown_container_reaches_nothing() -> None:
    ix = index("""
        services:
          side: {image: x, network_mode: "container:elsewhere"}
          peer: {image: x}
        """)
    assert edge(ix, "side", "peer") == (False, ())
    assert edge(ix, "side", EXTERNAL) == (False, ())


def test_network_mode_none_reaches_nothing() -> None:
    ix = index("""
        services:
          lonely: {image: x, network_mode: none}
          peer: {image: x}
        """)
    for other in ("peer", HOST, EXTERNAL):
        assert edge(ix, "lonely", other) == (False, ())
        assert edge(ix, other, "lonely") == (False, ())


# ------------------------------------------------------------------------ host networking

HOSTNET = """
networks:
  lan: {}
  sealed: {internal: true}
services:
  h: {image: x, network_mode: host, expose: ["80"]}
  c: {image: x, networks: [lan]}
  mv: {image: x, networks: [sealed]}
"""


def test_host_network_service_is_the_host() -> None:
    ix = index(HOSTNET)
    assert edge(ix, "h", HOST) == (True, ("host",))
    assert edge(ix, HOST, "h") == (True, ("host",))
    assert edge(ix, "h", EXTERNAL) == (True, ("host",))
    assert edge(ix, EXTERNAL, "h") == (True, ("host",))
    assert ix.pair(EXTERNAL, "h").ports == (80,)


def test_host_network_service_reaches_containers_like_the_host() -> None:
    ix = index(HOSTNET)
    assert edge(ix, "h", "c") == (True, ("lan",))
    assert edge(ix, "c", "h") == (True, ("lan",))
    assert edge(ix, "h", "mv") == (True, ("sealed",))  # the host reaches internal bridges too


# ------------------------------------------------------------------------ internal networks

INTERNAL = """
networks:
  sealed: {internal: true}
  open: {}
services:
  db: {image: x, networks: [sealed], ports: ["5432:5432"]}
  web: {image: x, networks: [open], ports: ["8080:80", "127.0.0.1:9000:9000"]}
"""


def test_internal_only_service_has_no_egress_and_no_ingress() -> None:
    ix = index(INTERNAL)
    assert edge(ix, "db", EXTERNAL) == (False, ())
    assert edge(ix, EXTERNAL, "db") == (False, ())  # published ports are unreachable (moby#36174)
    assert edge(ix, HOST, "db") == (True, ("sealed",))  # but the host routes to its IP
    assert edge(ix, "db", HOST) == (True, ("sealed",))  # and it reaches its gateway


def test_published_ports_give_ingress_unless_bound_to_loopback() -> None:
    ix = index(INTERNAL)
    ingress = ix.pair(EXTERNAL, "web")
    assert (ingress.reachable, ingress.via, ingress.ports, ingress.published) == (
        True,
        ("published-port",),
        (80,),
        (8080,),
    )
    assert ix.pair(HOST, "web").published == (8080, 9000)


HAIRPIN = """
networks:
  a: {}
  quiet: {icc: false}
  sealed: {internal: true}
services:
  web: {image: x, networks: [a], ports: ["8080:80", "127.0.0.1:9000:9000"]}
  other: {image: x, networks: [quiet]}
  inside: {image: x, networks: [sealed]}
"""


def test_containers_reach_published_ports_through_the_host() -> None:
    # Measured on Engine 20.10.24: a container on another bridge (ICC off too) reaches
    # HOST_GATEWAY:8080; one on an internal network only does not.
    ix = index(HAIRPIN)
    pair = ix.pair("other", "web")
    assert (pair.reachable, pair.via, pair.published, pair.names) == (
        True,
        ("published-port",),
        (8080,),
        (),
    )
    assert edge(ix, "inside", "web") == (False, ())


def test_through_the_host_only_the_published_ports_are_reached() -> None:
    """A pair reached only through the host reaches the container ports it publishes on an
    address other containers can use, not its loopback-bound or unpublished ones."""
    ix = index(
        """
        networks: {a: {}, b: {}}
        services:
          web:
            image: x
            networks: [a]
            expose: ["9000"]
            ports: ["8080:80", "127.0.0.1:8443:443"]
          other: {image: x, networks: [b]}
          peer: {image: x, networks: [a]}
        """
    )
    assert ix.pair("other", "web").ports == (80,)
    assert ix.pair("other", "web").published == (8080,)
    assert ix.pair("peer", "web").ports == (80, 443, 9000)  # on the shared network: every port


def test_external_never_reaches_the_host_itself() -> None:
    ix = index(INTERNAL)
    assert edge(ix, EXTERNAL, HOST) == (False, ())
    assert edge(ix, HOST, EXTERNAL) == (True, ("host",))


# ------------------------------------------------------------------------ macvlan / ipvlan

MACVLAN = """
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 192.168.1.0/24}
  priv: {driver: macvlan, parent: eth1, macvlan_mode: private}
  dummy: {driver: macvlan}
  l2: {driver: ipvlan, parent: eth2}
services:
  a: {image: x, networks: [lan], expose: ["80"]}
  b: {image: x, networks: [lan]}
  p1: {image: x, networks: [priv]}
  p2: {image: x, networks: [priv]}
  d: {image: x, networks: [dummy]}
  i1: {image: x, networks: [l2]}
  i2: {image: x, networks: [l2]}
"""


def test_macvlan_members_reach_each_other_but_not_the_host() -> None:
    ix = index(MACVLAN)
    assert edge(ix, "a", "b") == (True, ("lan",))
    assert edge(ix, HOST, "a") == (False, ())
    assert edge(ix, "a", HOST) == (False, ())


def test_macvlan_members_are_on_the_lan() -> None:
    ix = index(MACVLAN)
    assert edge(ix, "a", EXTERNAL) == (True, ("lan",))
    assert edge(ix, EXTERNAL, "a") == (True, ("lan",))
    assert ix.pair(EXTERNAL, "a").ports == (80,)


def test_macvlan_private_mode_and_dummy_parent() -> None:
    ix = index(MACVLAN)
    assert edge(ix, "p1", "p2") == (False, ())
    assert edge(ix, "d", EXTERNAL) == (False, ())
    assert edge(ix, EXTERNAL, "d") == (False, ())


def test_ipvlan_members_reach_each_other_but_not_the_host() -> None:
    ix = index(MACVLAN)
    assert edge(ix, "i1", "i2") == (True, ("l2",))
    assert edge(ix, HOST, "i1") == (False, ())


# ------------------------------------------------------------------------ overlay


def test_overlay_members_reach_each_other_and_egress_through_docker_gwbridge() -> None:
    ix = index("""
        targets: [swarm]
        networks:
          mesh: {driver: overlay, attachable: true}
          sealed: {driver: overlay, internal: true}
        services:
          a: {image: x, networks: [mesh]}
          b: {image: x, networks: [mesh]}
          c: {image: x, networks: [sealed]}
          d: {image: x, networks: [sealed]}
        """)
    assert edge(ix, "a", "b") == (True, ("mesh",))
    assert edge(ix, "c", "d") == (True, ("sealed",))
    assert edge(ix, "a", EXTERNAL) == (True, ("docker_gwbridge",))
    assert edge(ix, "c", EXTERNAL) == (False, ())
    assert edge(ix, HOST, "a") == (True, ("docker_gwbridge",))


# ------------------------------------------------------------------------ the matrix


def test_matrix_has_every_ordered_pair_and_json_shape() -> None:
    result = pipeline.check("t.yaml", "name: t\nservices: {b: {image: x}, a: {image: x}}\n")
    assert result.topology is not None
    matrix = reach.analyze(result.topology)
    assert matrix.endpoints == ("a", "b", HOST, EXTERNAL)
    assert len(matrix.pairs) == 4 * 3
    assert matrix.pair("a", "b").via == ("default",)
    data = matrix.to_json()
    assert set(data) == {"endpoints", "pairs"}
    assert {"from", "to", "reachable", "via", "ports", "names"} <= set(data["pairs"][0])


def _three_tier_json() -> dict[str, object]:
    path = os.path.join(EXAMPLES, "three-tier", "topology.yaml")
    done = subprocess.run(
        [sys.executable, "-m", "topogen", "reach", path, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def three_tier() -> dict[tuple[str, str], dict[str, object]]:
    return {(p["from"], p["to"]): p for p in _three_tier_json()["pairs"]}  # type: ignore[index, union-attr]


@pytest.mark.parametrize(
    ("source", "target", "reachable", "via"),
    [
        ("web-server", "postgres-db", False, []),
        ("api-server", "postgres-db", True, ["database"]),
        ("load-balancer", "web-server", True, ["frontend", "published-port"]),
        ("load-balancer", "api-server", False, []),
        ("postgres-db", EXTERNAL, False, []),
        ("api-server", EXTERNAL, False, []),
        ("load-balancer", EXTERNAL, True, ["frontend"]),
    ],
)
def test_three_tier(
    three_tier: dict, source: str, target: str, reachable: bool, via: list[str]
) -> None:  # type: ignore[type-arg]
    pair = three_tier[(source, target)]
    assert (pair["reachable"], pair["via"]) == (reachable, via)


def test_three_tier_ingress_only_through_published_ports(three_tier: dict) -> None:  # type: ignore[type-arg]
    reached = {t: p for (s, t), p in three_tier.items() if s == EXTERNAL and p["reachable"]}
    assert sorted(reached) == ["load-balancer", "web-server"]
    assert reached["load-balancer"]["published"] == [80, 443]
    assert reached["web-server"]["published"] == [8080]
    assert reached["web-server"]["ports"] == [80]


def test_cli_table_and_filters() -> None:
    from typer.testing import CliRunner

    from topogen.cli import app

    path = os.path.join(EXAMPLES, "three-tier", "topology.yaml")
    args = ["reach", path, "--from", "web-server", "--to", "postgres-db", "--to", "external"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    rows = [line.split() for line in out.output.splitlines()]
    assert rows == [
        ["FROM", "TO", "REACH", "NEEDED", "VIA", "PORTS", "NAMES"],
        ["web-server", "postgres-db", "no", "-", "-", "-", "-"],
        ["web-server", "external", "yes", "-", "frontend", "-", "-"],
    ]
    bad = CliRunner().invoke(app, ["reach", path, "--from", "web-srver"])
    assert bad.exit_code == 2
    assert "unknown endpoint web-srver" in bad.output


def test_analyze_subset_evaluates_only_the_requested_pairs() -> None:
    result = pipeline.check("t.yaml", "name: t\nservices: {a: {image: x}, b: {image: x}}\n")
    assert result.topology is not None
    matrix = reach.analyze(result.topology, sources=["a"])
    assert [(p.source, p.target) for p in matrix.pairs] == [
        ("a", "b"),
        ("a", HOST),
        ("a", EXTERNAL),
    ]


@pytest.mark.parametrize("value", ["f", "false", "0", "F", "FALSE"])
def test_icc_off_in_any_go_spelling_isolates(value: str) -> None:
    """One parser for Go booleans: the driver rule accepts "f", so reach must read it as off."""
    text = (
        "name: t\nnetworks:\n  lan:\n    driver_opts:\n"
        f'      com.docker.network.bridge.enable_icc: "{value}"\n'
        "services:\n  a: {image: x, networks: [lan]}\n  b: {image: x, networks: [lan]}\n"
    )
    result = pipeline.check("t.yaml", text)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.topology is not None
    assert reach.analyze(result.topology).pair("a", "b").reachable is False
