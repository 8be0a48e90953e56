"""``topogen import``: a Compose file lifted into a topology whose build means the same.

Three kinds of evidence. (1) Tables of small inputs with the exact topology expected, each
case saying why: a typed form is expected only where the README's lowering of it writes the
original spelling back, raw where it would not. (2) A round-trip property, judged by the
real compiler rather than by the importer's own check: every network, volume and mount that
:func:`lift` made typed is compiled by ``pipeline.compile`` and must give back the original
``driver_opts`` / ``ipam`` / long-form mount. (3) Each example's ``docker-compose.yml``,
imported and built again, is the same project for the real ``docker-compose config``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tools import EXAMPLES, compose_config, examples

from topogen import pipeline, source
from topogen.importer import dump, import_file, lift

BRIDGE = "com.docker.network.bridge."
MTU = "com.docker.network.driver.mtu"

# ---------------------------------------------------------------------- (1) networks

NETWORKS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        # bridge_name -> ...bridge.name, icc: false -> "false", mtu: 1400 -> "1400": all typed
        "bridge options typed",
        {
            "driver": "bridge",
            "driver_opts": {BRIDGE + "name": "br-app", BRIDGE + "enable_icc": "false", MTU: "1400"},
        },
        {"driver": "bridge", "bridge_name": "br-app", "icc": False, "mtu": 1400},
    ),
    (
        # Compose hands the number 1400 to the engine as "1400", which is what mtu: 1400 lowers to
        "mtu written as a number",
        {"driver_opts": {MTU: 1400}},
        {"mtu": 1400},
    ),
    (
        # icc: false lowers to "false", not "False": the spelling differs, so it stays raw
        "boolean spelt differently stays raw",
        {"driver": "bridge", "driver_opts": {BRIDGE + "enable_icc": "False"}},
        {"driver": "bridge", "driver_opts": {BRIDGE + "enable_icc": "False"}},
    ),
    (
        # raw driver_opts are merged over the typed ones, so an unknown option stays beside them
        "unknown option kept beside typed ones",
        {"driver_opts": {BRIDGE + "name": "br0", BRIDGE + "gateway_mode_ipv4": "routed"}},
        {"bridge_name": "br0", "driver_opts": {BRIDGE + "gateway_mode_ipv4": "routed"}},
    ),
    (
        # parent and macvlan_mode are macvlan's; a bridge option on macvlan has no typed field there
        "macvlan options typed, a bridge option on macvlan stays raw",
        {
            "driver": "macvlan",
            "driver_opts": {"parent": "eth0.50", "macvlan_mode": "bridge", BRIDGE + "name": "x"},
        },
        {
            "driver": "macvlan",
            "parent": "eth0.50",
            "macvlan_mode": "bridge",
            "driver_opts": {BRIDGE + "name": "x"},
        },
    ),
    (
        # mtu is an integer in the topology: an interpolation cannot be one
        "interpolated mtu stays raw",
        {"driver_opts": {MTU: "${MTU:-1500}"}},
        {"driver_opts": {MTU: "${MTU:-1500}"}},
    ),
    (
        # the spec refuses macvlan_mode: foo, so it is not offered as a typed field
        "a mode the spec refuses stays raw",
        {"driver": "macvlan", "driver_opts": {"parent": "eth0", "macvlan_mode": "foo"}},
        {"driver": "macvlan", "parent": "eth0", "driver_opts": {"macvlan_mode": "foo"}},
    ),
    (
        # encrypted: true lowers to the key with an empty value; "true" is another spelling
        "overlay encryption",
        {"driver": "overlay", "driver_opts": {"encrypted": ""}},
        {"driver": "overlay", "encrypted": True},
    ),
    (
        "overlay encryption spelt true stays raw",
        {"driver": "overlay", "driver_opts": {"encrypted": "true"}},
        {"driver": "overlay", "driver_opts": {"encrypted": "true"}},
    ),
    (
        # the first pool is the shorthand, further pools are subnets:, driver and options renamed
        "ipam shorthand and further pools",
        {
            "driver": "bridge",
            "ipam": {
                "driver": "default",
                "config": [
                    {
                        "subnet": "10.1.0.0/16",
                        "ip_range": "10.1.5.0/24",
                        "gateway": "10.1.0.1",
                        "aux_addresses": {"router": "10.1.0.2"},
                    },
                    {"subnet": "fd00:1::/64"},
                ],
                "options": {"foo": "bar"},
            },
            "labels": {"tier": "front"},
        },
        {
            "driver": "bridge",
            "ipam_driver": "default",
            "subnet": "10.1.0.0/16",
            "ip_range": "10.1.5.0/24",
            "gateway": "10.1.0.1",
            "aux_addresses": {"router": "10.1.0.2"},
            "subnets": [{"subnet": "fd00:1::/64"}],
            "ipam_options": {"foo": "bar"},
            "labels": {"tier": "front"},
        },
    ),
    (
        # the typed subnet must parse as a CIDR
        "interpolated subnet stays raw",
        {"ipam": {"config": [{"subnet": "${SUBNET}"}]}},
        {"ipam": {"config": [{"subnet": "${SUBNET}"}]}},
    ),
    (
        # a pool key the shorthand does not have
        "unknown pool key stays raw",
        {"ipam": {"config": [{"subnet": "10.2.0.0/24", "x-note": "a"}]}},
        {"ipam": {"config": [{"subnet": "10.2.0.0/24", "x-note": "a"}]}},
    ),
    (
        # an ipam block without pools has no shorthand: it would lower to no config at all
        "ipam driver alone stays raw? no: it lowers to {driver} exactly",
        {"ipam": {"driver": "dhcp"}},
        {"ipam_driver": "dhcp"},
    ),
    (
        "external network as written",
        {"external": True, "name": "shared"},
        {"external": True, "name": "shared"},
    ),
]


@pytest.mark.parametrize(("why", "compose", "expected"), NETWORKS, ids=[c[0] for c in NETWORKS])
def test_network(why: str, compose: dict[str, Any], expected: dict[str, Any]) -> None:
    got = lift({"networks": {"n": compose}})["networks"]["n"]
    assert got == expected
    assert list(got) == list(expected)  # typed fields take the place of the key they replace


# ---------------------------------------------------------------------- (1) volumes

VOLUMES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        # nfs lowers to type=nfs, o=addr=SERVER[,options], device=:PATH
        "nfs",
        {
            "driver": "local",
            "driver_opts": {
                "type": "nfs",
                "o": "addr=10.0.0.1,nfsvers=4,soft",
                "device": ":/exports/a",
            },
        },
        {"nfs": {"server": "10.0.0.1", "path": "/exports/a", "options": ["nfsvers=4", "soft"]}},
    ),
    (
        # the typed kinds lower with driver: local, which Compose reports and this file does not say
        "nfs without driver: local stays raw",
        {"driver_opts": {"type": "nfs", "o": "addr=10.0.0.1", "device": ":/exports/a"}},
        {"driver_opts": {"type": "nfs", "o": "addr=10.0.0.1", "device": ":/exports/a"}},
    ),
    (
        # nfs always writes addr= first
        "nfs with addr= elsewhere stays raw",
        {
            "driver": "local",
            "driver_opts": {"type": "nfs", "o": "rw,addr=10.0.0.1", "device": ":/exports/a"},
        },
        {
            "driver": "local",
            "driver_opts": {"type": "nfs", "o": "rw,addr=10.0.0.1", "device": ":/exports/a"},
        },
    ),
    (
        # cifs lowers to o=addr=S,username=,password=,domain=,options and device=//S/SHARE
        "cifs",
        {
            "driver": "local",
            "driver_opts": {
                "type": "cifs",
                "device": "//fs1/media/films",
                "o": "addr=fs1,username=u,password=${SMB_PASSWORD},domain=corp,vers=3.0",
            },
            "labels": ["a=b"],
        },
        {
            "cifs": {
                "server": "fs1",
                "share": "media/films",
                "username": "u",
                "password": "${SMB_PASSWORD}",
                "domain": "corp",
                "options": ["vers=3.0"],
            },
            "labels": ["a=b"],
        },
    ),
    (
        # without addr= in o the typed form would add it
        "cifs without addr stays raw",
        {
            "driver": "local",
            "driver_opts": {"type": "cifs", "device": "//fs1/s", "o": "username=u"},
        },
        {
            "driver": "local",
            "driver_opts": {"type": "cifs", "device": "//fs1/s", "o": "username=u"},
        },
    ),
    (
        "tmpfs",
        {
            "driver": "local",
            "driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000"},
        },
        {"tmpfs": {"size": "100m", "uid": 1000}},
    ),
    (
        # the typed tmpfs has size, uid, gid and mode only
        "tmpfs with another option stays raw",
        {
            "driver": "local",
            "driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m,nr_inodes=1k"},
        },
        {
            "driver": "local",
            "driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m,nr_inodes=1k"},
        },
    ),
    (
        "bind",
        {
            "name": "data",
            "driver": "local",
            "driver_opts": {"type": "none", "o": "bind", "device": "/srv/data"},
        },
        {"name": "data", "bind": {"path": "/srv/data"}},
    ),
    (
        # the document keeps a relative host path as written, so the typed form lowers back exactly
        "relative bind path without ./ is typed too",
        {"driver": "local", "driver_opts": {"type": "none", "o": "bind", "device": "data"}},
        {"bind": {"path": "data"}},
    ),
    (
        # bind lowers to o=bind exactly
        "rbind stays raw",
        {"driver": "local", "driver_opts": {"type": "none", "o": "rbind", "device": "/srv/data"}},
        {"driver": "local", "driver_opts": {"type": "none", "o": "rbind", "device": "/srv/data"}},
    ),
    (
        "block device",
        {"driver": "local", "driver_opts": {"type": "xfs", "device": "/dev/sdc1", "o": "noatime"}},
        {"device": {"path": "/dev/sdc1", "fs": "xfs", "options": ["noatime"]}},
    ),
    (
        # an option the typed kind does not write
        "extra option stays raw",
        {
            "driver": "local",
            "driver_opts": {"type": "none", "o": "bind", "device": "/srv", "foo": "bar"},
        },
        {
            "driver": "local",
            "driver_opts": {"type": "none", "o": "bind", "device": "/srv", "foo": "bar"},
        },
    ),
    (
        "plugin driver as written",
        {"driver": "rexray/ebs", "driver_opts": {"size": "10"}},
        {"driver": "rexray/ebs", "driver_opts": {"size": "10"}},
    ),
]


@pytest.mark.parametrize(("why", "compose", "expected"), VOLUMES, ids=[c[0] for c in VOLUMES])
def test_volume(why: str, compose: dict[str, Any], expected: dict[str, Any]) -> None:
    got = lift({"volumes": {"v": compose}})["volumes"]["v"]
    assert got == expected
    assert list(got) == list(expected)


# ---------------------------------------------------------------------- (1) mounts

MOUNTS: list[tuple[str, list[Any], str, list[Any]]] = [
    (
        # the emitter writes type, source, target, read_only: true and the type's own block
        "long forms become mounts",
        [
            {"type": "volume", "source": "data", "target": "/data", "volume": {"nocopy": True}},
            {
                "type": "bind",
                "source": "./conf",
                "target": "/etc/app",
                "read_only": True,
                "bind": {"create_host_path": True, "selinux": "z"},
            },
            {"type": "tmpfs", "target": "/run", "tmpfs": {"size": "64m", "mode": 1023}},
        ],
        "mounts",
        [
            {"source": "data", "target": "/data", "nocopy": True},
            {
                "type": "bind",
                "source": "./conf",
                "target": "/etc/app",
                "read_only": True,
                "create_host_path": True,
                "selinux": "z",
            },
            {"type": "tmpfs", "target": "/run", "size": "64m", "mode": "1777"},  # 1023 == 0o1777
        ],
    ),
    # a short entry: all or none, so that the order of the mounts is kept
    (
        "a short entry keeps volumes",
        ["data:/data", {"type": "volume", "source": "x", "target": "/x"}],
        "volumes",
        ["data:/data", {"type": "volume", "source": "x", "target": "/x"}],
    ),
    # read_only: false is not written back by the lowering
    (
        "read_only false keeps volumes",
        [{"type": "volume", "source": "d", "target": "/d", "read_only": False}],
        "volumes",
        [{"type": "volume", "source": "d", "target": "/d", "read_only": False}],
    ),
    # the document keeps a bind source as written: the typed mount lowers back exactly
    (
        "bind source without ./ is a typed mount",
        [{"type": "bind", "source": "conf", "target": "/c"}],
        "mounts",
        [{"type": "bind", "source": "conf", "target": "/c"}],
    ),
    # consistency is a key of the typed mount too
    (
        "consistency is a typed mount",
        [{"type": "bind", "source": "/c", "target": "/c", "consistency": "cached"}],
        "mounts",
        [{"type": "bind", "source": "/c", "target": "/c", "consistency": "cached"}],
    ),
]


@pytest.mark.parametrize(("why", "volumes", "key", "expected"), MOUNTS, ids=[c[0] for c in MOUNTS])
def test_mounts(why: str, volumes: list[Any], key: str, expected: list[Any]) -> None:
    svc = {"image": "busybox", "volumes": volumes, "restart": "no"}
    got = lift({"services": {"s": svc}})["services"]["s"]
    assert got == {"image": "busybox", key: expected, "restart": "no"}
    assert list(got) == ["image", key, "restart"]


def test_document_kept_as_written() -> None:
    """Order of keys and entries, x- extensions, unknown keys; version is dropped; no name added."""
    compose = {
        "version": "3.8",
        "x-common": {"restart": "always"},
        "volumes": {"z": None, "a": {}},
        "services": {
            "web": {"image": "nginx", "x-owner": "me", "pid": "host"},
            "api": {"build": "."},
        },
        "networks": {"b": None, "a": {"driver": "bridge"}},
        "secrets": {"s": {"file": "./s.txt"}},
    }
    got = lift(compose)
    assert got == {k: v for k, v in compose.items() if k != "version"}
    assert list(got) == ["x-common", "volumes", "services", "networks", "secrets"]
    assert list(got["services"]) == ["web", "api"] and list(got["volumes"]) == ["z", "a"]


# ---------------------------------------------------------------------- (2) round trip


def _compiled(tmp: Path, topology: dict[str, Any]) -> dict[str, Any]:
    """The Compose document topogen compiles ``topology`` to (diagnostics aside)."""
    path = tmp / "topology.yaml"
    path.write_text(json.dumps({"name": "rt", **topology}))
    result = pipeline.check(str(path))
    assert result.topology is not None, [d.format() for d in result.diagnostics]
    text = pipeline.compile(result.topology, str(tmp), ["compose"])["docker-compose.yml"]
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def _engine(opts: dict[str, Any] | None) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, int) else v for k, v in (opts or {}).items()}


def _assert_networks_round_trip(tmp: Path, networks: dict[str, Any]) -> None:
    """Compiles what lift typed; a raw ``ipam`` (not a topology key before issue 10) is left out
    of the compiled topology and not compared."""
    lifted = lift({"networks": networks})["networks"]
    for key, original in networks.items():
        if lifted[key] == original:
            continue
        typed = {k: v for k, v in lifted[key].items() if k != "ipam"}
        out = _compiled(tmp, {"networks": {key: typed}})["networks"][key]
        assert _engine(out.get("driver_opts")) == _engine(original.get("driver_opts")), key
        if "ipam" not in lifted[key]:
            assert out.get("ipam") == original.get("ipam"), key


def _assert_volumes_round_trip(tmp: Path, volumes: dict[str, Any]) -> None:
    lifted = lift({"volumes": volumes})["volumes"]
    for key, original in volumes.items():
        if lifted[key] == original:
            continue
        out = _compiled(tmp, {"volumes": {key: lifted[key]}})["volumes"][key]
        assert out.get("driver") == original.get("driver"), key
        assert _engine(out.get("driver_opts")) == _engine(original.get("driver_opts")), key


def _assert_mounts_round_trip(tmp: Path, volumes: list[Any]) -> None:
    lifted = lift({"services": {"s": {"image": "busybox", "volumes": volumes}}})["services"]["s"]
    if "mounts" in lifted:
        out = _compiled(tmp, {"services": {"s": lifted}})["services"]["s"]
        assert out["volumes"] == volumes
        types = [[(k, type(v)) for k, v in sorted(m.items())] for m in out["volumes"]]
        assert types == [[(k, type(v)) for k, v in sorted(m.items())] for m in volumes]


def test_round_trip_of_the_tables(tmp_path: Path) -> None:
    _assert_networks_round_trip(tmp_path, {f"n{i}": c[1] for i, c in enumerate(NETWORKS)})
    _assert_volumes_round_trip(tmp_path, {f"v{i}": c[1] for i, c in enumerate(VOLUMES)})
    for _why, volumes, _key, _expected in MOUNTS:
        _assert_mounts_round_trip(tmp_path, volumes)


OPTION_VALUES = st.sampled_from(
    [
        "true",
        "false",
        "True",
        "",
        "1500",
        "0",
        "01500",
        "eth0",
        "l2",
        "bridge",
        "passthru",
        "${X}",
        "${X:-1}",
        "x y",
        "no",
    ]
) | st.integers(0, 70000)
OPTION_KEYS = st.sampled_from(
    [
        BRIDGE + "name",
        BRIDGE + "enable_icc",
        BRIDGE + "enable_ip_masquerade",
        BRIDGE + "host_binding_ipv4",
        MTU,
        "parent",
        "macvlan_mode",
        "ipvlan_mode",
        "ipvlan_flag",
        "encrypted",
        "foo",
    ]
)
POOLS = st.fixed_dictionaries(
    {"subnet": st.sampled_from(["10.9.0.0/16", "fd00:9::/64", "${NET}", "10.9.0.0/33"])},
    optional={
        "gateway": st.sampled_from(["10.9.0.1", "${GW}"]),
        "ip_range": st.just("10.9.1.0/24"),
        "aux_addresses": st.dictionaries(
            st.sampled_from(["a", "b"]), st.sampled_from(["10.9.0.2", "x"])
        ),
    },
)
IPAM = st.fixed_dictionaries(
    {},
    optional={
        "driver": st.just("default"),
        "config": st.lists(POOLS, max_size=3),
        "options": st.dictionaries(st.just("k"), st.just("v")),
    },
)
NETWORK = st.fixed_dictionaries(
    {},
    optional={
        "driver": st.sampled_from(["bridge", "macvlan", "ipvlan", "overlay", "${D}"]),
        "driver_opts": st.dictionaries(OPTION_KEYS, OPTION_VALUES, max_size=5),
        "ipam": IPAM,
    },
)
VOLUME_OPTS = st.fixed_dictionaries(
    {"type": st.sampled_from(["nfs", "cifs", "tmpfs", "none", "ext4"])},
    optional={
        "o": st.lists(
            st.sampled_from(
                [
                    "addr=fs",
                    "bind",
                    "size=1m",
                    "uid=1",
                    "mode=1777",
                    "rw",
                    "username=u",
                    "password=${P}",
                ]
            ),
            max_size=4,
        ).map(",".join),
        "device": st.sampled_from([":/x", "//fs/s", "tmpfs", "/dev/sdb", "./d", "/srv"]),
    },
)


MOUNT = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["volume", "bind", "tmpfs"]),
        "target": st.sampled_from(["/a", "/b/c", "rel"]),
    },
    optional={
        "source": st.sampled_from(
            ["data", "./d", "d", "/srv", "~/x", "${DIR}", "../up", "./a/../b"]
        ),
        "read_only": st.sampled_from([True, False, 1, "true"]),
        "bind": st.fixed_dictionaries(
            {},
            optional={
                "propagation": st.sampled_from(["rshared", "bogus"]),
                "create_host_path": st.sampled_from([True, False, "yes"]),
                "selinux": st.sampled_from(["z", "Z", "q"]),
            },
        ),
        "volume": st.fixed_dictionaries(
            {}, optional={"nocopy": st.sampled_from([True, False, 0]), "subpath": st.just("s")}
        ),
        "tmpfs": st.fixed_dictionaries(
            {},
            optional={
                "size": st.sampled_from([1024, "64m", "${S}"]),
                "mode": st.sampled_from([1023, 493, 0, "1777", 1777, 9]),
            },
        ),
        "consistency": st.just("cached"),
    },
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    networks=st.lists(NETWORK, min_size=1, max_size=3),
    volumes=st.lists(VOLUME_OPTS, max_size=3),
    mounts=st.lists(MOUNT, min_size=1, max_size=3),
)
def test_round_trip_property(
    tmp_path: Path,
    networks: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    mounts: list[dict[str, Any]],
) -> None:
    """Whatever lift makes typed compiles back to the original driver options, IPAM and mounts."""
    _assert_mounts_round_trip(tmp_path, mounts)
    _assert_networks_round_trip(tmp_path, {f"n{i}": n for i, n in enumerate(networks)})
    _assert_volumes_round_trip(
        tmp_path, {f"v{i}": {"driver": "local", "driver_opts": o} for i, o in enumerate(volumes)}
    )


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.sampled_from(
        [
            "",
            "local",
            "bind",
            "nfs",
            "tmpfs",
            "none",
            "bridge",
            "volume",
            "addr=x,rw",
            ":/x",
            "//s/h",
            "/dev/sdb",
            "1500",
            "true",
            "${X}",
            "10.0.0.0/8",
            "./d",
            "z",
            "type",
            "driver_opts",
            "ipam",
            "config",
            "subnet",
            "o",
            "device",
        ]
    )
)
PLAIN = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "driver",
                    "driver_opts",
                    "ipam",
                    "config",
                    "subnet",
                    "o",
                    "device",
                    "source",
                    "target",
                    "bind",
                    "volume",
                    "tmpfs",
                    "mode",
                    "external",
                    "volumes",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    doc=st.fixed_dictionaries(
        {}, optional={"networks": PLAIN, "volumes": PLAIN, "services": PLAIN, "x-a": PLAIN}
    )
)
def test_lift_takes_any_plain_data(doc: dict[str, Any]) -> None:
    """Whatever the shape (a broken file is Compose's to report), lift neither fails nor loses a
    section, and its output reads back as written."""
    lifted = lift(doc)
    assert list(lifted) == list(doc)
    assert source.load_text(dump(lifted)).data == lifted


# ---------------------------------------------------------------------- writing

AWKWARD = [
    "no",
    "on",
    "0755",
    "1e3",
    "a: b",
    "#x",
    "${VAR}",
    "${A:-b c}",
    "$$HOME",
    "",
    "null",
    "~",
    " x",
    "line\nbreak",
    "ünï",
    "- x",
    "[x]",
    "{x}",
    "*a",
    "&a",
    "!t",
    "%x",
    "@x",
    "`x",
    "0x1F",
    ".inf",
    "1_000",
]


def test_dump_reads_back_as_written() -> None:
    doc = {
        "services": {
            "s": {
                "environment": {f"K{i}": v for i, v in enumerate(AWKWARD)},
                "command": AWKWARD,
                "labels": {"no": "yes", "1": 2, "on": True, "f": 1.5, "n": None, "e": {}, "l": []},
            }
        }
    }
    text = dump(doc, "docker-compose.yml")
    assert text.startswith("# Imported by topogen from docker-compose.yml")
    assert source.load_text(text).data == doc
    assert dump(doc, "docker-compose.yml") == text  # deterministic


# ---------------------------------------------------------------------- (3) examples

COMPOSE_EXAMPLES = [
    n for n in examples() if os.path.isfile(os.path.join(EXAMPLES, n, "docker-compose.yml"))
]
ENV = {"SMB_PASSWORD": "smb-secret", "POSTGRES_PASSWORD": "pg-secret"}


def topogen(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topogen", *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _config(path: Path) -> Any:
    proc = compose_config(str(path), "--format", "json", env=ENV)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _build(topology: Path) -> None:
    build = pipeline.build(str(topology), targets=["compose"])
    assert not build.result.failed(), [d.format() for d in build.result.diagnostics]
    pipeline.write(build.files)


@pytest.mark.parametrize("name", COMPOSE_EXAMPLES)
def test_example_import_builds_the_same_project(tmp_path: Path, name: str) -> None:
    """build -> import -> build: the real Compose sees the same project (same folder and name)."""
    work = tmp_path / name
    shutil.copytree(os.path.join(EXAMPLES, name), work)
    _build(work / "topology.yaml")
    original = _config(work / "docker-compose.yml")
    files, diags = import_file(str(work / "docker-compose.yml"), str(work / "imported.yaml"))
    assert files and not diags, [d.format() for d in diags]
    pipeline.write(files)
    _build(work / "imported.yaml")
    assert _config(work / "docker-compose.yml") == original


HAND_WRITTEN = """\
version: "3.8"
name: hand
x-owner: {team: web}
services:
  web:
    image: nginx:alpine
    ports: ["8080:80"]
    networks:
      front: {ipv4_address: 10.40.0.10}
      back: {}
    volumes:
      - {type: bind, source: ./conf, target: /etc/nginx/conf.d, read_only: true, bind: {create_host_path: true}}
      - {type: volume, source: media, target: /media, volume: {nocopy: true}}
  db:
    image: postgres:16
    environment: {POSTGRES_PASSWORD: "${PG_PASSWORD:-x}"}
    networks: [back]
    volumes: ["scratch:/tmp/pg", "./conf:/conf:ro"]
networks:
  front:
    driver: bridge
    driver_opts: {com.docker.network.bridge.name: br-front, com.docker.network.driver.mtu: 1450}
    ipam:
      config: [{subnet: 10.40.0.0/24, gateway: 10.40.0.1}]
  back:
    driver: bridge
    internal: true
    ipam: {driver: default, config: [{subnet: 10.41.0.0/24}, {subnet: "fd00:41::/64"}]}
    enable_ipv6: true
volumes:
  media:
    driver: local
    driver_opts: {type: nfs, o: "addr=10.0.0.5,nfsvers=4", device: ":/exports/media"}
  scratch:
    driver: local
    driver_opts: {type: tmpfs, device: tmpfs, o: "size=64m"}
"""


def test_hand_written_compose_is_lifted_and_validates(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    compose = tmp_path / "compose.yaml"
    compose.write_text(HAND_WRITTEN)
    out = tmp_path / "topology.yaml"
    files, diags = import_file(str(compose), str(out))
    assert files and not diags
    lifted = source.load_text(files[str(out)]).data
    assert list(lifted["networks"]["front"]) == [
        "driver",
        "bridge_name",
        "mtu",
        "subnet",
        "gateway",
    ]
    assert list(lifted["networks"]["back"]) == [
        "driver",
        "internal",
        "ipam_driver",
        "subnet",
        "subnets",
        "enable_ipv6",
    ]
    assert lifted["volumes"] == {
        "media": {
            "nfs": {"server": "10.0.0.5", "path": "/exports/media", "options": ["nfsvers=4"]}
        },
        "scratch": {"tmpfs": {"size": "64m"}},
    }
    assert "mounts" in lifted["services"]["web"] and "volumes" in lifted["services"]["db"]
    result = pipeline.check(str(out), files[str(out)])
    assert not result.failed(), [d.format() for d in result.diagnostics]


def test_hand_written_compose_imports_to_the_same_project(tmp_path: Path) -> None:
    """A Compose file written by hand, not by topogen: import, build, same project for Compose."""
    (tmp_path / "conf").mkdir()
    compose = tmp_path / "compose.yaml"
    compose.write_text(HAND_WRITTEN)
    files, diags = import_file(str(compose), str(tmp_path / "topology.yaml"))
    assert files and not diags
    pipeline.write(files)
    _build(tmp_path / "topology.yaml")
    assert _config(tmp_path / "docker-compose.yml") == _config(compose)


def test_examples_use_typed_forms(tmp_path: Path) -> None:
    """The import is idiomatic: the examples' typed networks and volumes come back typed."""
    for name in ("three-tier", "volume-drivers", "macvlan"):
        lifted = lift(source.load_path(os.path.join(EXAMPLES, name, "docker-compose.yml")).data)
        for section in ("networks", "volumes"):
            for key, body in lifted.get(section, {}).items():
                assert "ipam" not in body, (name, key)
                assert body.get("driver") != "local", (name, key)


# ---------------------------------------------------------------------- the command

COMPOSE = "name: demo\nservices:\n  web:\n    image: nginx\n    command: [echo, no]\n"


def test_import_writes_a_topology_that_validates(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    proc = topogen("import", compose, "-o", tmp_path / "topology.yaml")
    assert proc.returncode == 0, proc.stderr
    assert topogen("validate", tmp_path / "topology.yaml").returncode == 0
    again = tmp_path / "again.yaml"
    assert topogen("import", compose, "-o", again).returncode == 0
    assert again.read_bytes() == (tmp_path / "topology.yaml").read_bytes()


def test_existing_output_needs_force(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    out = tmp_path / "topology.yaml"
    out.write_text("keep me\n")
    proc = topogen("import", compose, "-o", out)
    assert proc.returncode == 1
    assert f"{out}:1:1: [error] the output file exists (output-exists)" in proc.stderr
    assert out.read_text() == "keep me\n"
    assert topogen("import", compose, "-o", out, "--force").returncode == 0
    assert source.load_path(str(out)).data == source.load_text(COMPOSE).data


def test_never_overwrites_its_input(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    link = tmp_path / "link.yaml"
    link.symlink_to(compose)
    for out in (compose, link):
        proc = topogen("import", compose, "-o", out, "--force")
        assert proc.returncode == 1
        assert "the output is the Compose file being imported (output-exists)" in proc.stderr
    assert compose.read_text() == COMPOSE
    proc = topogen("import", compose, "-o", tmp_path, "--force")
    assert proc.returncode == 1
    assert f"{tmp_path}:1:1: [error] the output is a directory (output-exists)" in proc.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("services:\n  web:\n    image: [nginx\n", ":4:1: [error]"),
        ("services:\n  a: 1\n  a: 2\n", ":3:3: [error]"),
        ("- a\n- b\n", ":1:1: [error] a Compose file is a mapping"),
        (
            "services:\n  web:\n    image: x\n    x-compose: {a: 1}\n",
            ":4:5: [error] x-compose is an extension in Compose",
        ),
    ],
)
def test_bad_input_is_located_and_nothing_is_written(
    tmp_path: Path, text: str, expected: str
) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(text)
    out = tmp_path / "topology.yaml"
    proc = topogen("import", compose, "-o", out)
    assert proc.returncode == 1
    assert f"{compose}{expected}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_import_elsewhere_rebases_relative_paths(tmp_path: Path) -> None:
    """A topology written in another folder reads its relative paths from there: they are
    re-expressed, so it means what the Compose file meant."""
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx\n    volumes: [./conf:/etc/conf:ro]\n")
    (tmp_path / "sub").mkdir()
    proc = topogen("import", compose, "-o", tmp_path / "sub" / "topology.yaml")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "sub" / "topology.yaml").read_text()
    assert text.startswith("# Imported by topogen from ../compose.yaml")
    assert "../conf:/etc/conf:ro" in text


def test_missing_input(tmp_path: Path) -> None:
    proc = topogen("import", tmp_path / "nope.yaml", "-o", tmp_path / "topology.yaml")
    assert proc.returncode == 1
    assert f"{tmp_path / 'nope.yaml'}:1:1: [error] cannot read file" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "topology.yaml").exists()
