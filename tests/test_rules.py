"""Rule tables (yamllint style): inline topologies and the exact ``line:col rule-id`` list each
one yields, every rule included (so a case also proves what is *not* reported)."""

from __future__ import annotations

import os
import textwrap

import pytest

from topogen import pipeline, rules
from topogen.rules import addressing, drivers, names, ports, references, security, services, storage


def problems(text: str, file: str = "t.yaml") -> list[str]:
    result = pipeline.check(file, textwrap.dedent(text))
    return sorted(f"{d.line}:{d.col} {d.rule}" for d in result.diagnostics)


def case(text: str, *expected: str, id: str) -> object:
    return pytest.param(text, sorted(expected), id=id)


# ------------------------------------------------------------------------------------------ ports

PORTS = [
    case(
        """\
        name: t
        services:
          a: {image: x, ports: ["53:53/udp", "53:53/tcp", "53:53/sctp"]}
        """,
        id="protocols-do-not-collide",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, ports: ["127.0.0.1:80:80", "10.0.0.1:80:80", "[::1]:80:80"]}
        """,
        id="distinct-addresses-do-not-collide",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, ports: ["0.0.0.0:80:80", "[::1]:80:80"]}
        """,
        id="ipv4-wildcard-leaves-ipv6-alone",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, ports: ["[::]:80:80"]}
          b: {image: x, ports: ["80:80"]}
        """,
        "4:25 duplicate-published-port",
        id="default-address-includes-ipv6-wildcard",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, ports: ["80", "80", "8000-8010:80"]}
          b: {image: x, ports: ["8005:80"]}
        """,
        id="random-and-picked-host-ports-do-not-collide",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, ports: ["9000-9002:9000-9002"]}
          b: {image: x, ports: ["8990-9000:8990-9000"]}
        """,
        "3:25 duplicate-published-port",
        id="range-edges-touch",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, ports: [{target: 80, published: "8080", protocol: udp}]}
          b: {image: x, ports: ["8080:80/udp"]}
        """,
        "4:25 duplicate-published-port",
        id="long-and-short-forms-collide",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, network_mode: host, ports: ["80:80"]}
          b: {image: x, ports: ["80:8080"]}
        """,
        "3:31 host-network",
        "3:37 ports-with-host-network",
        "4:25 duplicate-published-port",
        id="host-mode-container-port-is-a-host-port",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, network_mode: host, expose: ["9100", "9100/tcp"]}
        """,
        "3:31 host-network",
        id="host-mode-same-port-twice-is-one-listener",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, ports: ["80:80"]}
          b: {image: x, network_mode: "service:a", ports: ["80:80"]}
        """,
        "4:44 network-mode-conflict",
        id="container-mode-ports-only-conflict-with-the-mode",
    ),
    case(
        """\
        name: t
        networks:
          db: {internal: true}
          web: {}
        services:
          a: {image: x, networks: [db, web], ports: ["80:80"]}
        """,
        id="internal-plus-external-network-is-reachable",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, network_mode: "container:abc", domainname: example.org, mac_address: "02:42:ac:11:00:02"}
        """,
        "3:73 network-mode-conflict",
        id="container-mode-allows-domainname-not-mac",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, network_mode: none, ports: ["80:80"]}
        """,
        id="none-mode-is-not-checked-for-collisions",
    ),
]


@pytest.mark.parametrize("text,expected", PORTS)
def test_ports(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


# ------------------------------------------------------------------------------------------ drivers

DRIVERS = [
    case(
        """\
        name: t
        networks:
          n: {bridge_name: br-exactly-15ch}
        services:
          a: {image: x, networks: [n]}
        """,
        id="fifteen-characters-is-the-limit",
    ),
    case(
        """\
        name: t
        networks:
          a: {mtu: 0}
          b: {mtu: 68}
          c: {mtu: 65536}
          d: {mtu: 1280, enable_ipv6: true}
          e: {mtu: -1}
        services:
          s: {image: x, networks: [a, b, c, d, e]}
        """,
        "5:12 mtu-out-of-range",
        "7:12 mtu-out-of-range",
        id="mtu-bounds",
    ),
    case(
        """\
        name: t
        networks:
          a: {driver: macvlan, internal: true}
          b: {driver: macvlan, parent: eth0.50}
          c: {driver: macvlan, parent: eth0.60}
          d: {driver: ipvlan, parent: eth1}
        services:
          s: {image: x, networks: [a, b, c, d]}
        """,
        id="vlan-sub-interfaces-and-internal-need-no-parent",
    ),
    case(
        """\
        name: t
        networks:
          a: {driver: macvlan, parent: eth0}
          b: {driver: ipvlan, parent: eth0}
        services:
          s: {image: x, networks: [a, b]}
        """,
        id="one-macvlan-and-one-ipvlan-network",
    ),
    case(
        """\
        name: t
        targets: [swarm]
        networks:
          mesh: {driver: overlay}
        services:
          s: {image: x, networks: [mesh]}
        """,
        id="overlay-needs-attachable-only-for-compose",
    ),
    case(
        """\
        name: t
        networks:
          a: {driver: overlay, attachable: true, encrypted: true}
          b: {driver: overlay, attachable: true, driver_opts: {encrypted: ""}}
          c: {driver: overlay, attachable: true, driver_opts: {encrypted: false}}
        services:
          s: {image: x, networks: [a, b, c]}
        """,
        "5:67 overlay-encrypted-false",
        id="encrypted-flavours",
    ),
    case(
        """\
        name: t
        networks:
          a: {driver: bridge, driver_opts: {parent: eth0}}
          b: {driver: my-plugin, driver_opts: {foo: bar}}
        services:
          s: {image: x, networks: [a, b]}
        """,
        id="raw-driver-opts-are-an-escape-hatch",
    ),
    case(
        """\
        name: t
        networks:
          a: {driver: macvlan, parent: eth0, icc: false}
          b: {driver: none}
        services:
          s: {image: x, networks: [a, b]}
        """,
        "3:38 option-wrong-driver",
        "4:15 host-network-driver",
        id="icc-on-macvlan-and-none-driver",
    ),
    case(
        """\
        name: t
        networks:
          a: {external: true, driver: host}
        services:
          s: {image: x, networks: [a]}
        """,
        id="external-networks-are-not-ours",
    ),
]


@pytest.mark.parametrize("text,expected", DRIVERS)
def test_drivers(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


# ------------------------------------------------------------------------------------------ storage

STORAGE = [
    case(
        """\
        name: t
        services:
          a:
            image: x
            mounts:
              - {type: tmpfs, target: /a, size: 100m, mode: "1777"}
              - {type: tmpfs, target: /b, size: 1g}
              - {type: tmpfs, target: /c, size: 1048576}
              - {type: tmpfs, target: /d, size: "1.5GiB"}
            tmpfs: ["/e:size=50%,mode=700,uid=1000,noexec,nr_inodes=1k"]
        """,
        id="good-tmpfs-sizes-and-modes",
    ),
    case(
        """\
        name: t
        services:
          a:
            image: x
            mounts: [{type: tmpfs, target: /a, size: -1}]
        """,
        "5:46 invalid-tmpfs-size",
        id="negative-size",
    ),
    case(
        """\
        name: t
        volumes:
          v: {}
        services:
          a: {image: x, volumes: ["v:/data/", "v:/data/sub", "v:/other/../data"]}
        """,
        "5:54 duplicate-mount-target",
        id="targets-are-cleaned",
    ),
    case(
        """\
        name: t
        volumes:
          v: {driver_opts: {type: none, o: bind, device: /srv/data}}
          w: {driver_opts: {size: 10G}}
          p: {driver: rexray/ebs, driver_opts: {size: "20", volumetype: gp2}}
        services:
          a: {image: x, volumes: ["v:/v", "w:/w", "p:/p"]}
        """,
        "3:50 bind-source-missing",
        id="valid-local-and-plugin-options",
    ),
    case(
        """\
        name: t
        volumes:
          up: {nfs: {server: 10.0.0.1, path: /exports, options: [rw, nfsvers=4, soft, noatime]}}
        services:
          a: {image: x, volumes: ["up:/u"]}
        """,
        id="nfs-options-are-kernel-options",
    ),
    case(
        """\
        name: t
        volumes:
          up: {nfs: {server: 10.0.0.1, path: /exports}, driver_opts: {nfsvers: "4"}}
        services:
          a: {image: x, volumes: ["up:/u"]}
        """,
        "3:63 unknown-volume-option",
        id="raw-options-of-a-typed-volume-are-checked-too",
    ),
    case(
        """\
        name: t
        volumes:
          v: {}
        services:
          a: {image: x, mounts: [{source: v, target: /v, subpath: sub/dir}, {type: bind, source: /, target: /h, subpath: x}]}
        """,
        "5:105 mount-option-wrong-type",
        id="subpath-only-on-volumes",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, mounts: [{type: bind, target: /x}]}
        """,
        "3:26 mount-option-wrong-type",
        id="bind-without-source",
    ),
    case(
        """\
        name: t
        volumes:
          vv: {external: true}
        services:
          a: {image: x, volumes: ["vv:${DATA_DIR:-/data}", "./${SUB:-sub}/x:/h", "~/cache:/c"]}
        """,
        id="interpolated-and-home-paths-are-not-checked",
    ),
    case(
        """\
        name: t
        volumes:
          vv: {external: true}
        services:
          a: {image: x, volumes: ["vv:${DATA_DIR}"]}
        """,
        "5:27 unset-variable",
        id="an-unset-variable-skips-the-check-with-a-warning",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, volumes: ["${DATA_DIR:-/srv}:/data", "${CONF:-./conf}:/etc/app:ro"]}
        """,
        id="interpolated-sources-are-binds-not-undefined-volumes",
    ),
    case(
        """\
        name: t
        volumes:
          data: {}
        services:
          a: {image: x, volumes: ["${DATA:-data}:/data"]}
        """,
        id="an-interpolated-volume-name-is-a-named-volume",
    ),
]


@pytest.mark.parametrize("text,expected", STORAGE)
def test_storage(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_bind_sources_are_relative_to_the_topology_file(tmp_path: object) -> None:
    root = str(tmp_path)
    os.makedirs(os.path.join(root, "site"))
    text = """\
        name: t
        services:
          a: {image: x, volumes: ["./site:/usr/share/nginx/html", "./gone:/gone"]}
        """
    assert problems(text, os.path.join(root, "topology.yaml")) == ["3:59 bind-source-missing"]
    result = pipeline.check(os.path.join(root, "topology.yaml"), textwrap.dedent(text))
    assert os.path.join(root, "gone") in result.diagnostics[0].message


def test_create_host_path_false_says_the_engine_refuses(tmp_path: object) -> None:
    text = "name: t\nservices:\n  a: {image: x, mounts: [{type: bind, source: ./x, target: /x, create_host_path: false}]}\n"
    [d] = pipeline.check(os.path.join(str(tmp_path), "t.yaml"), text).diagnostics
    assert d.rule == "bind-source-missing" and "refuses" in d.message


def test_seed_loop_message_says_what_to_do() -> None:
    text = "name: t\nvolumes:\n  v: {device: {path: /dev/loop0, options: [loop]}}\nservices:\n  a: {image: x, volumes: ['v:/v']}\n"
    [d] = pipeline.check("t.yaml", text).diagnostics
    assert "mount(2)" in d.message and "losetup" in d.hint and "LUKS" in d.hint


# ------------------------------------------------------------------------------------------ names

NAMES = [
    case(
        """\
        name: my_app-2
        networks:
          net.front_1-x: {}
        volumes:
          ab: {external: true}
        services:
          Web.App_1-x: {image: x, networks: [net.front_1-x], volumes: ["ab:/ab"], container_name: web-1}
        """,
        id="valid-names",
    ),
    case(
        """\
        name: -app
        services:
          a: {image: x}
        """,
        "1:7 invalid-project-name",
        id="project-must-start-with-letter-or-digit",
    ),
    case(
        """\
        name: t
        volumes:
          a: {external: true}
          b: {driver: my-plugin, name: "x"}
        services:
          s: {image: x, volumes: ["a:/a", "b:/b"]}
        """,
        "3:3 invalid-volume-name",
        id="one-character-local-volume",
    ),
    case(
        f"""\
        name: t
        services:
          a: {{image: x, hostname: {"h" * 63}}}
          b: {{image: x, hostname: {"h" * 64}}}
          c: {{image: x, hostname: {".".join(["abcdefg"] * 8)}x}}
          d: {{image: x, hostname: {".".join(["abcdefg"] * 8)}xy}}
        """,
        "4:27 invalid-hostname",
        "6:27 invalid-hostname",
        id="hostname-lengths",
    ),
]


@pytest.mark.parametrize("text,expected", NAMES)
def test_names(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


# ------------------------------------------------------------------------------------------ security

SECURITY = [
    case(
        """\
        name: t
        services:
          a: {image: x, environment: ["USER=admin", "DB_PASSWORD=x", "DB_PASSWORD2", "API_KEY=$KEY"]}
        """,
        "3:45 plain-text-password",
        id="environment-list-form",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"], privileged: false}
        """,
        "3:27 docker-socket",
        id="socket-even-read-only",
    ),
    case(
        """\
        name: t
        services:
          db:
            image: mysql
            environment:
              MYSQL_ALLOW_EMPTY_PASSWORD: "yes"
              MYSQL_RANDOM_ROOT_PASSWORD: "1"
              PASSWORD_MIN_LENGTH: 12
              TOKEN_TTL: 3600
              MYSQL_PASSWORD_FILE: /run/secrets/db
              MYSQL_PASSWORD: "12"
        """,
        "11:23 plain-text-password",
        id="settings-about-secrets-are-not-secrets",
    ),
]


@pytest.mark.parametrize("text,expected", SECURITY)
def test_security(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


# ------------------------------------------------------------------------------------------ references

REFERENCES = [
    case(
        """\
        name: t
        services:
          a: {image: x, depends_on: [b]}
          b: {image: x, depends_on: [c]}
          c: {image: x}
        """,
        id="a-chain-is-not-a-cycle",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, depends_on: [b, c]}
          b: {image: x, depends_on: [c]}
          c: {image: x, depends_on: {b: {condition: service_healthy}}}
        """,
        "5:30 dependency-cycle",
        "5:45 dependency-without-healthcheck",
        id="cycle-not-through-the-root",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, network_mode: "container:some-existing-container"}
        """,
        id="container-targets-are-outside-the-project",
    ),
]


@pytest.mark.parametrize("text,expected", REFERENCES)
def test_references(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


# ------------------------------------------------------------------------------------------ addressing

ADDRESSING = [
    case(
        """\
        name: t
        networks:
          mesh: {driver: overlay, attachable: true, subnet: 10.40.0.0/24}
          lan: {subnet: 10.40.0.0/24}
          mesh2: {driver: overlay, attachable: true, subnet: 10.40.0.128/25}
        services:
          a: {image: x, networks: [mesh, lan, mesh2]}
        """,
        "5:54 subnet-overlap",
        id="overlays-and-local-networks-are-separate-address-spaces",
    ),
    case(
        """\
        name: t
        networks:
          ext: {external: true, subnet: 10.41.0.0/16}
          lan: {subnet: 10.41.1.0/24}
        services:
          a: {image: x, networks: [ext, lan]}
        """,
        id="external-networks-are-not-allocated-by-us",
    ),
    case(
        """\
        name: t
        networks:
          lan: {subnet: 192.168.1.0/24, ip_range: 192.168.1.128/25, gateway: 192.168.1.1}
        services:
          a: {image: x, networks: {lan: {ipv4_address: 192.168.1.127}}}
          b: {image: x, networks: {lan: {ipv4_address: 192.168.1.254}}}
        """,
        "6:48 static-ip-in-ip-range",
        id="ip-range-edges",
    ),
    case(
        """\
        name: t
        networks:
          lan: {subnet: 10.42.0.0/31}
        services:
          a: {image: x, networks: {lan: {ipv4_address: 10.42.0.0}}}
        """,
        id="slash-31-has-no-network-or-broadcast-address",
    ),
    case(
        """\
        name: t
        networks:
          v6: {enable_ipv6: true, subnets: [{subnet: "fd00:42::/64", gateway: "fd00:42::1"}]}
        services:
          a: {image: x, networks: {v6: {ipv6_address: "fd00:42::1"}}}
          b: {image: x, networks: {v6: {ipv6_address: "fd00:43::1"}}}
        """,
        "5:47 static-ip-reserved",
        "6:47 static-ip-outside-subnet",
        id="ipv6-static-addresses",
    ),
]


@pytest.mark.parametrize("text,expected", ADDRESSING)
def test_addressing(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


# ------------------------------------------------------------------------------------------ services

SERVICES = [
    case(
        """\
        name: t
        services:
          a: {image: x, healthcheck: {test: "curl -f http://localhost"}}
          b: {image: x, healthcheck: {test: ["NONE"]}}
          c: {image: x, healthcheck: {test: ["CMD-SHELL", "true"]}}
          d: {image: x, healthcheck: {test: ["CMD"]}}
          e: {image: x, healthcheck: {test: ["Cmd", "true"]}}
        """,
        "7:38 invalid-healthcheck",
        id="healthcheck-forms-and-case",
    ),
    case(
        """\
        name: t
        services:
          a: {image: x, environment: [HOME, "A=", "B==c"], labels: ["x=", "=y"], sysctls: ["=1"]}
        """,
        "3:52 empty-key",
        "3:84 empty-key",
        id="empty-names-in-lists",
    ),  # labels are sorted: at the key
    case(
        """\
        name: t
        services:
          a: {image: x, command: ["sh", "-c", "a; b"], entrypoint: 'sh -c "a | b"'}
          b: {image: x, command: 'echo x \\; y', entrypoint: "it's"}
          c: {image: x, command: "a > out"}
        """,
        "4:53 invalid-command",
        "5:26 command-shell-operator",
        id="command-quoting",
    ),
    case(
        """\
        name: t
        networks: {n: {}}
        services:
          a: {image: x, links: [b, "c:cee"]}
          b: {image: x}
          c: {image: x, networks: [n]}
          d: {image: x, network_mode: host}
          e: {image: x, networks: [n], links: ["c"]}
        """,
        "4:28 link-without-network",
        "7:31 host-network",
        id="links-on-the-default-network",
    ),
    case(
        """\
        name: t
        secrets:
          s: {external: true}
          f: {environment: S}
        configs:
          c: {external: true}
          e: {environment: C}
          g: {file: ./x, environment: C}
        services:
          a: {image: x, secrets: [s, f], configs: [c, e, g]}
        """,
        "8:3 invalid-config-source",
        id="external-and-single-sources",
    ),
    case(
        """\
        name: t
        networks:
          lan: {subnet: 10.1.0.0/24, aux_addresses: {r: 10.1.0.1}}
          far: {subnet: 10.3.0.0/24, gateway: 10.3.0.9, aux_addresses: {r: 10.3.0.1}}
          gw: {subnet: 10.2.0.0/24, gateway: 10.2.0.254, aux_addresses: {r: 10.2.0.1, s: 10.2.0.254}}
        services:
          a: {image: x, networks: [lan, gw, far]}
        """,
        "3:49 aux-address-is-gateway",
        "5:82 aux-address-is-gateway",
        id="aux-address-vs-gateway",
    ),
]


@pytest.mark.parametrize("text,expected", SERVICES)
def test_services(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_env_file_is_relative_to_the_topology(tmp_path: object) -> None:
    base = str(tmp_path)
    os.mkdir(os.path.join(base, "env"))
    open(os.path.join(base, "env", "app.env"), "w").close()
    text = "name: t\nservices:\n  a: {image: x, env_file: env/app.env}\n  b: {image: x, env_file: app.env}\n"
    assert problems(text, os.path.join(base, "topology.yaml")) == ["4:27 env-file-missing"]


# ------------------------------------------------------------------------------------------ registry


def test_overlay_not_attachable_is_a_warning_where_no_target_is_declared() -> None:
    """A plain Compose file may be a stack file (docker stack deploy runs it as it is);
    a topology that declares the compose target is refused."""
    body = "networks:\n  mesh: {driver: overlay}\nservices:\n  s: {image: x, networks: [mesh]}\n"
    for head, level in (("name: t\n", "warning"), ("name: t\ntargets: [compose]\n", "error")):
        found = [d for d in pipeline.check("t.yaml", head + body).diagnostics]
        assert [(d.rule, d.level.value) for d in found] == [("overlay-not-attachable", level)]


def test_network_mode_word_is_a_network_name_to_the_engine() -> None:
    """Docker joins the existing network a network_mode word names ("default" is the bridge);
    only an empty container:/service: target is refused."""
    head = "name: t\nservices:\n  s: {image: x, network_mode: "
    levels = {
        mode: [
            (d.rule, d.level.value)
            for d in pipeline.check("t.yaml", head + mode + "}\n").diagnostics
        ]
        for mode in ("default", "shared_nw", '"pasta:--mtu,1280"', '"container:"', '"service:"')
    }
    assert levels == {
        "default": [],
        "shared_nw": [("invalid-network-mode", "warning")],
        '"pasta:--mtu,1280"': [("invalid-network-mode", "warning")],
        '"container:"': [("invalid-network-mode", "error")],
        '"service:"': [("invalid-network-mode", "error")],
    }


def test_every_rule_is_registered_and_documented() -> None:
    modules = (ports, drivers, storage, names, security, references, addressing, services)
    for module in modules:
        for rule in module.RULES:
            assert rule in rules.RULES
            doc = rule.__doc__ or ""
            assert doc.strip() and "``" in doc, (
                f"{rule.__name__} needs a sentence and a failing example"
            )


# ------------------------------------------------------------------------------------------ scale


def big_topology(n: int) -> dict[str, object]:
    """n services on 50 networks, each publishing its own ports and mounting its own volume."""
    services = {
        f"s{i}": {
            "image": "x",
            "networks": {
                f"n{i % 50}": {"ipv4_address": f"10.{i % 50}.{i // 50 % 250}.{i // 12500 + 2}"}
            },
            "ports": [f"{1024 + i}:80", f"127.0.0.1:{1024 + i}:81/udp"],
            "volumes": [f"v{i}:/data", f"/srv/{i}:/srv"],
            "tmpfs": ["/run:size=10m"],
            "hostname": f"h{i}",
            "environment": {"TOKEN": "${T}"},
            "depends_on": [f"s{i - 1}"] if i else [],
        }
        for i in range(n)
    }
    return {
        "name": "big",
        "networks": {f"n{i}": {"subnet": f"10.{i}.0.0/16"} for i in range(50)},
        "volumes": {f"v{i}": {} for i in range(n)},
        "services": services,
    }


def test_rules_run_on_20000_services() -> None:
    """Every rule completes on a large topology (how fast is the benchmark's job: bench/run.py)."""
    from topogen import resolve, spec

    topo, _ = resolve.resolve(spec.Topology.model_validate(big_topology(20000)), "big.yaml")
    assert len(topo.services) == 20000
    for rule in rules.RULES:
        list(rule(topo))


def test_duplicates_are_reported_at_the_later_occurrence_in_the_file() -> None:
    """Names sort api < web, but web comes first in the file: the second occurrence (api) is flagged."""
    text = """\
        name: t
        networks:
          zz: {bridge_name: br0, subnet: 10.0.0.0/24}
          aa: {bridge_name: br0}
        services:
          web: {image: x, ports: ["80:80"], container_name: c1, networks: {zz: {ipv4_address: 10.0.0.5}, aa: {}}}
          api: {image: x, ports: ["80:81"], container_name: c1, networks: {zz: {ipv4_address: 10.0.0.5}}}
        """
    assert problems(text) == [
        "4:21 duplicate-bridge-name",
        "7:27 duplicate-published-port",
        "7:53 duplicate-container-name",
        "7:87 duplicate-static-ip",
    ]
    messages = [d.message for d in pipeline.check("t.yaml", textwrap.dedent(text)).diagnostics]
    assert all(m.endswith(("network zz", "service web")) for m in messages), messages


# ------------------------------------------------------------------------------------------ catalog

RULES_DOC = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "rules.md"
)


def test_rules_page_is_generated_from_the_docstrings() -> None:
    """docs/rules.md is the catalog's output (like docs/swarm.md); TOPOGEN_REGEN=1 rewrites it."""
    from topogen.rules import catalog

    wanted = catalog.markdown()
    if os.environ.get("TOPOGEN_REGEN"):
        with open(RULES_DOC, "w", encoding="utf-8") as fh:
            fh.write(wanted)
    with open(RULES_DOC, encoding="utf-8") as fh:
        assert fh.read() == wanted, (
            "docs/rules.md is stale: python -m topogen.rules.catalog > docs/rules.md"
        )


def test_the_cli_does_not_import_the_catalog() -> None:
    import subprocess
    import sys

    probe = "import sys, topogen.cli, topogen.pipeline, topogen.rules; print('topogen.rules.catalog' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0s", 0),
        ("1ms", 1e6),
        ("500us", 5e5),
        ("900µs", 9e5),
        ("1m30s", 90e9),
        ("1.5h", 5400e9),
        (".5s", 5e8),
        ("10", None),
        ("1x", None),
        ("", None),
        ("s", None),
        ("1s ", None),
        ("-1s", None),
    ],
)
def test_go_durations(text: str, ns: float | None) -> None:
    from topogen.rules.runtime import duration_ns

    assert duration_ns(text) == ns


@pytest.mark.parametrize(
    ("signal", "ok"),
    [
        ("SIGTERM", True),
        ("term", True),
        ("SIGRTMIN+3", True),
        ("RTMAX-14", True),
        ("9", True),
        ("255", True),
        ("SIGFOO", False),
        ("0", False),
        ("256", False),
        ("SIGRTMIN+16", False),
        ("${STOP_SIGNAL}", True),
    ],
)
def test_stop_signals(signal: str, ok: bool) -> None:
    text = f'name: t\nservices:\n  a: {{image: x, stop_signal: "{signal}"}}\n'
    assert [d.rule for d in pipeline.check("t.yaml", text).diagnostics] == (
        [] if ok else ["invalid-stop-signal"]
    )


@pytest.mark.parametrize(
    ("restart", "ok"),
    [
        ("no", True),
        ("none", True),
        ("always", True),
        ("any", True),
        ("unless-stopped", True),
        ("on-failure", True),
        ("on-failure:0", True),
        ("on-failure:12", True),
        ("${RESTART:-always}", True),
        ("On-Failure", False),
        ("on-failure:", False),
        ("on-failure:-1", False),
        ("unless-stopped:2", False),
        ("", True),
    ],
)
def test_restart_values(restart: str, ok: bool) -> None:
    text = f'name: t\nservices:\n  a: {{image: x, restart: "{restart}"}}\n'
    assert [d.rule for d in pipeline.check("t.yaml", text).diagnostics] == (
        [] if ok else ["invalid-restart"]
    )
