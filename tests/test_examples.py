"""Golden examples: each ``examples/<name>/`` rebuilds byte for byte, is accepted by the real
tools, and ``docker-compose config --format json`` reports what its topology declares.

Regenerate an example with ``topogen build examples/<name>/topology.yaml``; never edit the
generated file by hand. Expected values below are computed from ``topology.yaml`` (read with
PyYAML, independently of topogen) and compared with what the real Compose binary reports.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
from typing import Any

import pytest
import yaml
from tools import EXAMPLES, ROOT, compose_binary, compose_config, examples, unescape

from topogen import interpolation

SCHEMA = os.path.join(ROOT, "schemas", "topology.schema.json")
OUTPUT = "docker-compose.yml"
#: Variables the examples interpolate; values contain a `$` to show they reach the model as is.
ENV = {"SMB_PASSWORD": "smb-$ecret", "POSTGRES_PASSWORD": "pg-secret"}
NAMES = examples()
#: Examples that target Compose (swarm-only ones are checked by the swarm tests).
COMPOSE = [n for n in NAMES if os.path.isfile(os.path.join(EXAMPLES, n, "docker-compose.yml"))]
SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/topology.schema.json"
WANTED = {
    "three-tier",
    "custom-bridge",
    "host-network",
    "macvlan",
    "dev-environment",
    "db-backup",
    "shared-uploads",
    "volume-drivers",
    "service-mesh",
    "segmentation",
}


def topogen(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        check=False,
        args=[sys.executable, "-m", "topogen", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def example_dir(name: str) -> str:
    return os.path.join(EXAMPLES, name)


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


@functools.cache
def topology(name: str) -> dict[str, Any]:
    with open(os.path.join(example_dir(name), "topology.yaml"), encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict)
    return data


def compose_in(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f docker-compose.yml ARGS`` run in the example's folder, as a user would."""
    return subprocess.run(
        [compose_binary(), "-f", OUTPUT, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=example_dir(name),
        env={**os.environ, **ENV},
    )


@functools.cache
def model(name: str) -> dict[str, Any]:
    """What the real Compose makes of the committed file (cwd = the example's folder)."""
    proc = compose_in(name, "config", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def interpolate(text: str) -> str:
    """Expected value of a topology string: every ${VAR} is set in ENV for these tests, and
    the rest follows Compose's rules ($$ is one $; test_interpolation checks them)."""
    value = interpolation.interpolate(text, ENV)
    assert not value.unset and value.error is None, value
    return value.text


# ---------------------------------------------------------------------- the set of examples


def test_every_wanted_example_exists() -> None:
    assert WANTED <= set(COMPOSE)


@pytest.mark.parametrize("name", NAMES)
def test_first_line_points_editors_at_the_schema(name: str) -> None:
    with open(os.path.join(example_dir(name), "topology.yaml"), encoding="utf-8") as fh:
        assert fh.readline().rstrip("\n") == SCHEMA_LINE


@pytest.mark.parametrize("name", sorted(WANTED))
def test_states_its_policies(name: str) -> None:
    kinds = {"allow", "deny", "isolated", "no_egress"}
    policies = topology(name).get("policies") or []
    assert policies and all(len(kinds & set(p)) == 1 for p in policies)


def test_three_tier_policies_are_the_labs() -> None:
    """Step 3 of the seed's Lab 1: web-server cannot reach the database, api-server can."""
    policies = topology("three-tier")["policies"]
    assert {"deny": {"from": "web-server", "to": "postgres-db"}} in [
        {k: v for k, v in p.items() if k != "description"} for p in policies
    ]
    assert any(
        p.get("allow") == {"from": "api-server", "to": "postgres-db", "port": 5432}
        for p in policies
    )


@pytest.mark.parametrize("name", NAMES)
def test_validate_reports_no_errors(name: str) -> None:
    proc = topogen("validate", "topology.yaml", cwd=example_dir(name))
    assert proc.returncode == 0, proc.stderr
    assert "[error]" not in proc.stderr


# ---------------------------------------------------------------------- golden bytes


def fresh_copy(name: str, dest: str) -> str:
    """The example without its generated file, copied to ``dest``."""
    shutil.copytree(
        example_dir(name), dest, ignore=shutil.ignore_patterns(OUTPUT, "docker-stack.yml")
    )
    return dest


@pytest.mark.parametrize("name", NAMES)
def test_rebuild_reproduces_committed_bytes(name: str, tmp_path: Any) -> None:
    work = fresh_copy(name, str(tmp_path / name))
    proc = topogen("build", "topology.yaml", cwd=work)
    assert proc.returncode == 0, proc.stderr
    produced = sorted(f for f in os.listdir(work) if f.startswith("docker-") and f.endswith(".yml"))
    committed = sorted(
        f for f in os.listdir(example_dir(name)) if f.startswith("docker-") and f.endswith(".yml")
    )
    assert produced == committed
    for fname in produced:
        assert read_bytes(os.path.join(work, fname)) == read_bytes(
            os.path.join(example_dir(name), fname)
        ), f"{name}/{fname} drifted: run `topogen build examples/{name}/topology.yaml`"
    first = {f: read_bytes(os.path.join(work, f)) for f in produced}
    assert topogen("build", "topology.yaml", cwd=work).returncode == 0
    assert {f: read_bytes(os.path.join(work, f)) for f in produced} == first


@pytest.mark.parametrize("name", NAMES)
def test_build_check_detects_an_edit(name: str, tmp_path: Any) -> None:
    work = fresh_copy(name, str(tmp_path / name))
    assert topogen("build", "topology.yaml", cwd=work).returncode == 0
    out = os.path.join(work, next(f for f in sorted(os.listdir(work)) if f.startswith("docker-")))
    fresh = topogen("build", "--check", "topology.yaml", cwd=work)
    assert fresh.returncode == 0, fresh.stderr
    with open(out, "a", encoding="utf-8") as fh:
        fh.write("# edited by hand\n")
    edited = read_bytes(out)
    stale = topogen("build", "--check", "topology.yaml", cwd=work)
    assert stale.returncode == 1
    assert "stale" in stale.stderr
    assert read_bytes(out) == edited  # --check writes nothing


# ---------------------------------------------------------------------- the real tools


@pytest.mark.parametrize("name", COMPOSE)
def test_compose_config_accepts(name: str) -> None:
    proc = compose_in(name, "config", "-q")
    assert proc.returncode == 0, proc.stderr


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    # Beside this interpreter first: the README's command runs the suite from a venv it does not activate.
    beside = os.path.join(os.path.dirname(sys.executable), "check-jsonschema")
    exe = beside if os.path.exists(beside) else shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema not installed")
    return subprocess.run(
        check=False, args=[exe, *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("name", COMPOSE)
def test_output_matches_compose_spec_schema(name: str) -> None:
    proc = check_jsonschema(
        "--builtin-schema", "vendor.compose-spec", os.path.join(example_dir(name), OUTPUT)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", NAMES)
def test_topology_matches_topology_schema(name: str) -> None:
    proc = check_jsonschema(
        "--schemafile", SCHEMA, os.path.join(example_dir(name), "topology.yaml")
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_config_output_escapes_dollars(tmp_path: Any) -> None:
    """Why :func:`unescape` is right: a `$` that reaches the model is printed as `$$`."""
    path = tmp_path / "compose.yml"
    path.write_text(
        'name: p\nservices:\n  a:\n    image: x\n    command: ["${PROBE}", "$$(date)"]\n'
    )
    proc = compose_config(str(path), "--format", "json", env={"PROBE": "a$b"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["services"]["a"]["command"] == ["a$$b", "$$(date)"]


# ---------------------------------------------------------------------- semantics


def test_backup_loop_reaches_the_shell_literally() -> None:
    command = unescape(model("db-backup")["services"]["db-backup"]["command"])
    assert command[:2] == ["sh", "-c"]
    assert "> /backups/backup-$(date +%Y%m%d-%H%M%S).sql" in command[2]
    assert command[2] == interpolate(topology("db-backup")["services"]["db-backup"]["command"][2])


@pytest.mark.parametrize("name", COMPOSE)
def test_networks_as_declared(name: str) -> None:
    topo, got = topology(name), model(name)
    for key, net in (topo.get("networks") or {}).items():
        net = net or {}
        used = any(_joins(s, key) for s in topo.get("services", {}).values())
        if not used:
            continue  # Compose drops unused networks from its model
        actual = got["networks"][key]
        assert actual["name"] == net.get("name", f"{topo['name']}_{key}")
        assert actual.get("driver", "bridge") == net.get("driver", "bridge")
        assert bool(actual.get("internal")) == bool(net.get("internal"))
        if "subnet" in net:
            pool = actual["ipam"]["config"][0]
            assert pool["subnet"] == net["subnet"]
            for field in ("gateway", "ip_range"):
                assert pool.get(field) == net.get(field)
        assert actual.get("driver_opts", {}) == _expected_driver_opts(net)


def _joins(service: dict[str, Any], network: str) -> bool:
    return network in (service.get("networks") or ())


def _expected_driver_opts(net: dict[str, Any]) -> dict[str, str]:
    """The engine's option keys for the typed options (FACTS 1.2)."""
    bridge = "com.docker.network.bridge."
    opts: dict[str, str] = {}
    for field, key in (
        ("bridge_name", bridge + "name"),
        ("icc", bridge + "enable_icc"),
        ("ip_masquerade", bridge + "enable_ip_masquerade"),
        ("mtu", "com.docker.network.driver.mtu"),
        ("parent", "parent"),
    ):
        if field in net:
            value = net[field]
            opts[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return opts


@pytest.mark.parametrize("name", COMPOSE)
def test_services_as_declared(name: str) -> None:
    topo, got = topology(name), model(name)
    for sname, svc in topo["services"].items():
        actual = got["services"][sname]
        assert actual["image"] == svc["image"]
        if "network_mode" in svc:
            assert actual["network_mode"] == svc["network_mode"]
            assert "networks" not in actual
        nets = svc.get("networks")
        if nets is not None:
            assert set(actual["networks"]) == set(nets)
        for net, spec in nets.items() if isinstance(nets, dict) else ():
            spec = spec or {}
            attached = actual["networks"][net] or {}
            assert attached.get("ipv4_address") == spec.get("ipv4_address")
            assert set(spec.get("aliases", ())) <= set(attached.get("aliases", ()))
        environment = {k: interpolate(str(v)) for k, v in (svc.get("environment") or {}).items()}
        assert unescape(actual.get("environment", {})) == environment
        if "command" in svc:
            cmd = svc["command"]
            assert unescape(actual["command"]) == (
                shlex.split(interpolate(cmd))
                if isinstance(cmd, str)
                else [interpolate(c) for c in cmd]
            )
        assert _ports(actual) == sorted(_expected_ports(svc))
        if svc.get("deploy", {}).get("replicas"):
            assert actual["deploy"]["replicas"] == svc["deploy"]["replicas"]
        for link in svc.get("links", ()):
            assert link in actual["links"]


def _ports(service: dict[str, Any]) -> list[tuple[str | None, int, str]]:
    return sorted(
        (p.get("published"), p["target"], p["protocol"]) for p in service.get("ports", ())
    )


def _expected_ports(svc: dict[str, Any]) -> list[tuple[str | None, int, str]]:
    out = []
    for p in svc.get("ports", ()):
        published, _, target = str(p).rpartition(":")
        out.append((published or None, int(target), "tcp"))
    return out


_SIZE = {"k": 2**10, "m": 2**20, "g": 2**30}


def _bytes(size: str) -> str:
    return str(int(size[:-1]) * _SIZE[size[-1].lower()])


@pytest.mark.parametrize("name", COMPOSE)
def test_mounts_as_declared(name: str) -> None:
    topo, got = topology(name), model(name)
    for sname, svc in topo["services"].items():
        actual = got["services"][sname].get("volumes", [])
        declared = svc.get("mounts", [])
        assert len(actual) == len(declared)
        for want, have in zip(declared, actual):
            kind = want.get("type", "volume")
            assert have["type"] == kind
            assert have["target"] == want["target"]
            assert bool(have.get("read_only")) == bool(want.get("read_only"))
            if kind == "bind":
                assert have["source"] == os.path.normpath(
                    os.path.join(example_dir(name), want["source"])
                )
                assert os.path.exists(have["source"]), (
                    "bind sources of examples exist in the repository"
                )
                if want.get("create_host_path") is False:
                    assert not have.get("bind", {}).get("create_host_path")
            elif kind == "volume":
                assert have["source"] == want["source"]
            if "size" in want:
                assert have["tmpfs"]["size"] == _bytes(want["size"])


@pytest.mark.parametrize("name", COMPOSE)
def test_volumes_as_declared(name: str) -> None:
    topo, got = topology(name), model(name)
    for key, vol in (topo.get("volumes") or {}).items():
        actual = got["volumes"][key]
        assert actual["name"] == f"{topo['name']}_{key}"
        assert (actual.get("driver"), unescape(actual.get("driver_opts"))) == _expected_volume(
            name, vol or {}
        )


def _expected_volume(name: str, vol: dict[str, Any]) -> tuple[str | None, dict[str, str] | None]:
    """The local driver's options for each typed kind (the seed's docker volume create flags)."""
    if "nfs" in vol:
        n = vol["nfs"]
        return "local", {
            "type": "nfs",
            "o": ",".join([f"addr={n['server']}", *n.get("options", [])]),
            "device": f":{n['path']}",
        }
    if "cifs" in vol:
        c = vol["cifs"]
        o = f"addr={c['server']},username={c['username']},password={interpolate(c['password'])}"
        return "local", {"type": "cifs", "o": o, "device": f"//{c['server']}/{c['share']}"}
    if "device" in vol:
        d = vol["device"]
        opts = {"type": d.get("fs", "ext4"), "device": d["path"]}
        if d.get("options"):
            opts["o"] = ",".join(d["options"])
        return "local", opts
    if "tmpfs" in vol:
        t = vol["tmpfs"]
        o = ",".join(f"{k}={t[k]}" for k in ("size", "uid", "gid", "mode") if k in t)
        return "local", {"type": "tmpfs", "device": "tmpfs", "o": o}
    if "bind" in vol:
        path = os.path.normpath(os.path.join(example_dir(name), vol["bind"]["path"]))
        assert os.path.isdir(path)
        return "local", {"type": "none", "o": "bind", "device": path}
    opts = {k: str(v) for k, v in vol["driver_opts"].items()} if "driver_opts" in vol else None
    return vol.get("driver"), opts
