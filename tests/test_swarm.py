"""The swarm target: ``docker-stack.yml`` accepted by the real ``docker stack config -c``, its
lowering rules checked in what that tool makes of the file, and the target diagnostics.

``docker stack config`` runs docker/cli's own v3 loader offline: schema, interpolation and
the forbidden-property check; its output is the model ``docker stack deploy`` converts.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tools import EXAMPLES, ROOT, docker_cli, examples

from topogen import lower, pipeline
from topogen.rules import targets

STACK = "docker-stack.yml"
CASES = os.path.join(ROOT, "tests", "cases", "swarm-invalid")
_EXPECT = re.compile(r"^# expect: (\d+:\d+ [a-z0-9-]+)$")


def swarm_examples() -> list[str]:
    out = []
    for name in examples():
        with open(os.path.join(EXAMPLES, name, "topology.yaml"), encoding="utf-8") as fh:
            if "swarm" in (yaml.safe_load(fh).get("targets") or ()):
                out.append(name)
    return out


SWARM = swarm_examples()


def stack_config(path: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker_cli(), "stack", "config", "-c", path],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
        env={**os.environ, "POSTGRES_PASSWORD": "pw"},
    )


def topogen(*args: str, cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topogen", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


class DockerOutput(yaml.SafeLoader):
    """YAML as go-yaml prints it: a plain ``<<`` is a string there, not a merge key."""


DockerOutput.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:merge"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def docker_model(text: str) -> Any:
    return yaml.load(text, Loader=DockerOutput)


def build(tmp_path: Path, text: str) -> tuple[str, dict[str, Any]]:
    """Build a swarm topology in ``tmp_path``; returns the stack text and docker's model of it."""
    (tmp_path / "topology.yaml").write_text(text)
    out = pipeline.build(str(tmp_path / "topology.yaml"), targets=["swarm"])
    assert not out.result.failed(), [d.format() for d in out.result.diagnostics]
    pipeline.write(out.files)
    stack = (tmp_path / STACK).read_text()
    cfg = stack_config(STACK, cwd=str(tmp_path))
    assert cfg.returncode == 0, cfg.stderr
    assert "Ignoring" not in cfg.stderr and "ignoring" not in cfg.stderr, cfg.stderr
    return stack, docker_model(cfg.stdout)


# ---------------------------------------------------------------------- examples


def test_swarm_overlay_targets_swarm_only() -> None:
    assert "swarm-overlay" in SWARM
    assert not os.path.exists(os.path.join(EXAMPLES, "swarm-overlay", "docker-compose.yml"))


@pytest.mark.parametrize("name", SWARM)
def test_example_stack_accepted_by_docker_stack_config(name: str) -> None:
    proc = stack_config(STACK, cwd=os.path.join(EXAMPLES, name))
    assert proc.returncode == 0, proc.stderr
    assert "gnoring" not in proc.stderr, proc.stderr  # nothing the stack would drop


@pytest.mark.parametrize("name", SWARM)
def test_example_stack_rebuilds_byte_for_byte(name: str, tmp_path: Path) -> None:
    work = tmp_path / name
    shutil.copytree(
        os.path.join(EXAMPLES, name), work, ignore=shutil.ignore_patterns("docker-*.yml")
    )
    proc = topogen("build", "--target", "swarm", "topology.yaml", cwd=str(work))
    assert proc.returncode == 0, proc.stderr
    committed = Path(EXAMPLES, name, STACK).read_bytes()
    assert (work / STACK).read_bytes() == committed, (
        f"run `topogen build examples/{name}/topology.yaml`"
    )


def test_swarm_overlay_is_the_seed_service_create() -> None:
    """``docker service create --name web --network multi-host-network --replicas 3 nginx``."""
    cfg = stack_config(STACK, cwd=os.path.join(EXAMPLES, "swarm-overlay"))
    model = docker_model(cfg.stdout)
    net = model["networks"]["multi-host-network"]
    assert (net["driver"], net["attachable"], net["name"]) == (
        "overlay",
        True,
        "multi-host-network",
    )
    assert "encrypted" not in (net.get("driver_opts") or {})
    web = model["services"]["web"]
    assert web["image"].startswith("nginx")
    assert web["deploy"]["replicas"] == 3
    assert list(web["networks"]) == ["multi-host-network"]


# ---------------------------------------------------------------------- lowering

HEAD = "name: t\ntargets: [swarm]\n"


def test_stack_format_has_version_and_no_name(tmp_path: Path) -> None:
    stack, model = build(tmp_path, HEAD + "services:\n  a: {image: busybox}\n")
    data = yaml.safe_load(stack)
    assert data["version"] == "3.8" and "name" not in data
    assert model["services"]["a"]["image"] == "busybox"


def test_pids_limit_raises_the_version(tmp_path: Path) -> None:
    stack, model = build(
        tmp_path,
        HEAD + "services:\n  a:\n    image: busybox\n"
        "    deploy: {resources: {limits: {pids: 50}}}\n",
    )
    assert yaml.safe_load(stack)["version"] == "3.9"
    assert model["services"]["a"]["deploy"]["resources"]["limits"]["pids"] == 50


@pytest.mark.parametrize(
    ("restart", "policy"),
    [
        ("no", {"condition": "none"}),
        ("none", {"condition": "none"}),  # Compose reads none as no; swarm's default would be any
        ("always", {"condition": "any"}),
        ("any", {"condition": "any"}),
        ("unless-stopped", {"condition": "any"}),
        ("on-failure", {"condition": "on-failure"}),
        ("on-failure:3", {"condition": "on-failure", "max_attempts": 3}),
    ],
)
def test_restart_becomes_restart_policy(
    tmp_path: Path, restart: str, policy: dict[str, Any]
) -> None:
    stack, model = build(
        tmp_path, HEAD + f'services:\n  a: {{image: busybox, restart: "{restart}"}}\n'
    )
    assert "restart:" not in stack  # the stack would warn "Ignoring unsupported options: restart"
    assert model["services"]["a"]["deploy"]["restart_policy"] == policy


def test_interpolated_restart_is_left_to_the_stack(tmp_path: Path) -> None:
    """docker stack deploy lowers ``restart`` itself when no restart_policy is given."""
    _, model = build(
        tmp_path, HEAD + 'services:\n  a: {image: busybox, restart: "${R:-on-failure:2}"}\n'
    )
    assert model["services"]["a"]["restart"] == "on-failure:2"
    assert "restart_policy" not in model["services"]["a"].get("deploy", {})


def test_service_resource_keys_become_deploy_resources(tmp_path: Path) -> None:
    """The v3 schema has no cpus/mem_limit/mem_reservation/pids_limit: they move under deploy,
    next to what deploy already says (the same, or Compose would refuse the topology's Compose
    file); cpu_shares has no swarm form and is left out."""
    stack, model = build(
        tmp_path,
        HEAD + "services:\n  a:\n    image: busybox\n    cpus: 0.5\n"
        "    mem_limit: 1g\n    mem_reservation: 256m\n    pids_limit: 100\n    cpu_shares: 512\n"
        '    deploy: {resources: {limits: {memory: 1024m, cpus: "0.5", pids: 100}}}\n',
    )
    assert yaml.safe_load(stack)["version"] == "3.9"  # pids needs 3.9
    a = model["services"]["a"]
    assert not {"cpus", "mem_limit", "mem_reservation", "pids_limit", "cpu_shares"} & set(a)
    assert a["deploy"]["resources"] == {
        "limits": {"cpus": "0.5", "memory": str(1 << 30), "pids": 100},
        "reservations": {"memory": str(256 << 20)},
    }
    _, alone = build(
        tmp_path, HEAD + "services:\n  a: {image: busybox, cpus: 0.25, pids_limit: 5}\n"
    )
    assert alone["services"]["a"]["deploy"]["resources"] == {"limits": {"cpus": "0.25", "pids": 5}}


def test_declared_restart_policy_wins(tmp_path: Path) -> None:
    _, model = build(
        tmp_path,
        HEAD + "services:\n  a:\n    image: busybox\n    restart: always\n"
        "    deploy: {restart_policy: {condition: on-failure, delay: 5s}}\n",
    )
    assert model["services"]["a"]["deploy"]["restart_policy"] == {
        "condition": "on-failure",
        "delay": "5s",
    }


def test_networks_become_overlays_with_subnet_only_ipam(tmp_path: Path) -> None:
    _, model = build(
        tmp_path,
        HEAD
        + """networks:
  plain: {}
  sized: {subnet: 10.31.0.0/24, gateway: 10.31.0.254, ip_range: 10.31.0.128/25, mtu: 1400}
  secure: {driver: overlay, encrypted: true, attachable: true, internal: true}
  clear: {driver: overlay, encrypted: false}
services:
  a: {image: busybox, networks: [plain, sized, secure, clear]}
""",
    )
    nets = model["networks"]
    assert {k: n["driver"] for k, n in nets.items()} == dict.fromkeys(nets, "overlay")
    assert nets["sized"]["ipam"] == {"config": [{"subnet": "10.31.0.0/24"}]}
    assert nets["sized"]["driver_opts"] == {"com.docker.network.driver.mtu": "1400"}
    assert nets["secure"]["driver_opts"] == {"encrypted": ""}
    assert (nets["secure"]["attachable"], nets["secure"]["internal"]) == (True, True)
    assert "encrypted" not in (nets["clear"].get("driver_opts") or {})  # presence alone encrypts


def test_cpus_and_memory_are_strings(tmp_path: Path) -> None:
    _, model = build(
        tmp_path,
        HEAD + "services:\n  a:\n    image: busybox\n    deploy:\n      resources:\n"
        "        limits: {cpus: 0.5, memory: 64m}\n        reservations: {cpus: 1, memory: 1048576}\n",
    )
    res = model["services"]["a"]["deploy"]["resources"]
    assert res["limits"]["cpus"] == "0.5" and res["reservations"]["cpus"] == "1"
    assert res["limits"]["memory"] == str(64 * 2**20) and res["reservations"]["memory"] == "1048576"


def test_tmpfs_becomes_long_syntax_mounts(tmp_path: Path) -> None:
    stack, model = build(
        tmp_path,
        HEAD + "services:\n  a:\n    image: busybox\n"
        '    tmpfs: ["/run:rw,noexec,size=100m", /tmp]\n'
        "    mounts: [{type: tmpfs, target: /cache, size: 1g}]\n",
    )
    assert "tmpfs:\n      -" not in stack  # no service-level tmpfs key, which the stack ignores
    got = {m["target"]: m for m in model["services"]["a"]["volumes"]}
    assert got["/run"] == {"type": "tmpfs", "target": "/run", "tmpfs": {"size": 100 * 2**20}}
    assert got["/tmp"] == {"type": "tmpfs", "target": "/tmp"}
    assert got["/cache"]["tmpfs"] == {"size": 2**30}


def test_host_networking_is_the_external_host_network(tmp_path: Path) -> None:
    _, model = build(
        tmp_path,
        HEAD + "networks:\n  host: {}\nservices:\n"
        "  a: {image: busybox, network_mode: host}\n  b: {image: busybox, networks: [host]}\n",
    )
    assert "network_mode" not in model["services"]["a"]
    (key,) = model["services"]["a"]["networks"]
    assert model["networks"][key] == {"name": "host", "external": True}
    assert model["networks"]["host"]["driver"] == "overlay"  # the topology's own "host" network


def test_ports_lose_host_ip_and_expand_ranges(tmp_path: Path) -> None:
    _, model = build(
        tmp_path,
        HEAD + "services:\n  a:\n    image: busybox\n    ports:\n"
        '      - "127.0.0.1:8080:80"\n      - "9000-9001:7000-7001/udp"\n'
        '      - {target: 53, published: 53, protocol: udp, mode: host}\n      - "443"\n',
    )
    ports = [
        (p.get("published"), p["target"], p["protocol"], p["mode"])
        for p in model["services"]["a"]["ports"]
    ]
    assert ports == [
        (8080, 80, "tcp", "ingress"),
        (9000, 7000, "udp", "ingress"),
        (9001, 7001, "udp", "ingress"),
        (53, 53, "udp", "host"),
        (None, 443, "tcp", "ingress"),
    ]


def test_deploy_keys_are_carried_over(tmp_path: Path) -> None:
    deploy = {
        "mode": "replicated",
        "replicas": 2,
        "endpoint_mode": "dnsrr",
        "placement": {
            "constraints": ["node.role == manager"],
            "preferences": [{"spread": "node.labels.zone"}],
            "max_replicas_per_node": 1,
        },
        "update_config": {
            "parallelism": 2,
            "delay": "10s",
            "failure_action": "rollback",
            "monitor": "5s",
            "max_failure_ratio": 0.5,
            "order": "start-first",
        },
        "rollback_config": {"parallelism": 1, "failure_action": "pause", "order": "stop-first"},
        "labels": {"tier": "web"},
    }
    text = (
        HEAD
        + "services:\n  a:\n    image: busybox\n    deploy: "
        + yaml.safe_dump(deploy, default_flow_style=True)
    )
    _, model = build(tmp_path, text)
    assert model["services"]["a"]["deploy"] == deploy


def test_dropped_keys_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")  # build: . (a context that exists)
    _, model = build(
        tmp_path,
        HEAD
        + """networks:
  n: {subnet: 10.32.0.0/24}
services:
  db: {image: busybox}
  a:
    image: busybox
    build: .
    container_name: app-a
    depends_on: [db]
    links: [db]
    expose: ["80"]
    privileged: true
    shm_size: 64m
    healthcheck: {test: [CMD, "true"], start_interval: 1s}
    networks:
      n: {aliases: [alpha], priority: 3}
""",
    )
    a = model["services"]["a"]
    for key in (
        "build",
        "container_name",
        "depends_on",
        "links",
        "expose",
        "privileged",
        "shm_size",
    ):
        assert key not in a
    assert "start_interval" not in a["healthcheck"]
    assert a["networks"] == {"n": {"aliases": ["alpha"]}}


def test_secrets_and_configs_from_files(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("x")
    _, model = build(
        tmp_path,
        HEAD + "secrets:\n  s: {file: ./s.txt}\n  e: {external: true, name: prod_e}\n"
        "configs:\n  c: {file: ./s.txt}\nservices:\n  a:\n    image: busybox\n"
        '    secrets: [s, {source: e, target: e.txt, mode: "0400"}]\n    configs: [c]\n',
    )
    assert model["secrets"]["s"]["file"] == str(tmp_path / "s.txt")
    assert model["secrets"]["e"] == {"name": "prod_e", "external": True}
    assert model["services"]["a"]["secrets"][1]["mode"] == 0o400


def test_device_reservations_are_left_out_with_a_warning(tmp_path: Path) -> None:
    """The v3 stack format has no ``reservations.devices`` (docker stack config refuses it)."""
    text = (
        HEAD + "services:\n  a:\n    image: busybox\n    deploy:\n      resources:\n"
        "        reservations:\n          memory: 64m\n"
        "          devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]\n"
    )
    _, model = build(tmp_path, text)
    reservations = model["services"]["a"]["deploy"]["resources"]["reservations"]
    assert reservations == {"memory": str(64 * 1024 * 1024)}  # 64m, and no devices
    _, model = build(tmp_path, text.replace("          memory: 64m\n", ""))
    assert "resources" not in model["services"]["a"].get("deploy", {})
    warned = [d.rule for d in pipeline.check(str(tmp_path / "topology.yaml")).diagnostics]
    assert "swarm-ignored-option" in warned


def test_grant_modes_reach_the_stack_as_compose_reads_them(tmp_path: Path) -> None:
    """A YAML integer is the number itself (493 is 0755); text is octal digits."""
    (tmp_path / "s.txt").write_text("x")
    _, model = build(
        tmp_path,
        HEAD + "secrets:\n  s: {file: ./s.txt}\nservices:\n  a:\n    image: busybox\n"
        '    secrets: [{source: s, target: a, mode: 493}, {source: s, target: b, mode: "0440"},'
        " {source: s, target: c, mode: 0644}]\n",
    )
    assert [g["mode"] for g in model["services"]["a"]["secrets"]] == [0o755, 0o440, 0o644]


def test_emit_is_deterministic() -> None:
    path = os.path.join(EXAMPLES, "swarm-overlay", "topology.yaml")
    result = pipeline.check(path)
    assert result.topology is not None
    first = pipeline.compile(result.topology, os.path.dirname(path), ["swarm"])
    assert pipeline.compile(result.topology, os.path.dirname(path), ["swarm"]) == first


# ---------------------------------------------------------------------- diagnostics


def expected(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [m.group(1) for line in fh if (m := _EXPECT.match(line.rstrip("\n")))]


CASE_FILES = sorted(glob.glob(os.path.join(CASES, "*.yaml")))


@pytest.mark.parametrize("case", CASE_FILES, ids=os.path.basename)
def test_negative_corpus(case: str) -> None:
    result = pipeline.check(case)
    got = [f"{d.line}:{d.col} {d.rule}" for d in result.diagnostics if d.rule.startswith("swarm-")]
    assert got == expected(case)
    assert all(d.file == case for d in result.diagnostics)


DOTENV = os.path.join(ROOT, "tests", "cases", "swarm-dotenv", "topology.yaml")


def test_dotenv_case() -> None:
    got = [
        f"{d.line}:{d.col} {d.rule}"
        for d in pipeline.check(DOTENV).diagnostics
        if d.rule.startswith("swarm-")
    ]
    assert got == expected(DOTENV)


def test_docker_stack_config_does_not_read_dotenv(tmp_path: Path) -> None:
    """swarm-dotenv's premise, checked on the real tool: .env beside the file is not read."""
    (tmp_path / ".env").write_text("DB_PASSWORD=from-dotenv\n")
    (tmp_path / STACK).write_text(
        'version: "3.8"\nservices:\n  a:\n    image: x\n    environment: {P: "${DB_PASSWORD}"}\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "DB_PASSWORD"}
    proc = subprocess.run(
        [docker_cli(), "stack", "config", "-c", STACK],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
        env=env,
        check=False,
    )
    assert docker_model(proc.stdout)["services"]["a"]["environment"] == {"P": ""}


def test_docker_stack_config_does_not_resolve_a_volume_device(tmp_path: Path) -> None:
    """swarm-relative-volume-path's premise: service bind sources are made absolute, a volume's
    ``device`` is not."""
    (tmp_path / STACK).write_text(
        'version: "3.8"\nservices:\n  a:\n    image: x\n    volumes:\n'
        "      - {type: bind, source: ./rel, target: /r}\nvolumes:\n  v:\n"
        "    driver: local\n    driver_opts: {type: none, o: bind, device: ./data}\n"
    )
    model = docker_model(stack_config(STACK, cwd=str(tmp_path)).stdout)
    assert model["services"]["a"]["volumes"][0]["source"] == str(tmp_path / "rel")
    assert model["volumes"]["v"]["driver_opts"]["device"] == "./data"


def rule_ids() -> set[str]:
    return {rule.__name__.replace("_", "-") for rule in targets.RULES}


def test_every_target_rule_has_a_case_and_documents_the_stack() -> None:
    covered = {e.split()[1] for case in [*CASE_FILES, DOTENV] for e in expected(case)}
    assert rule_ids() <= covered
    for rule in targets.RULES:
        doc = rule.__doc__ or ""
        assert "``" in doc and len(doc.strip().splitlines()) >= 3, rule.__name__


ERRORS = {
    "swarm-static-ip",
    "swarm-bind-mount",
    "swarm-local-network",
    "swarm-network-mode",
    "swarm-dnsrr-ingress",
    "swarm-replicas-global",
    "swarm-secret-source",
    "swarm-image-required",
    "swarm-port-conflict",
    "swarm-relative-volume-path",
}


def test_levels() -> None:
    for case in CASE_FILES:
        for d in pipeline.check(case).diagnostics:
            if d.rule in ERRORS:
                assert d.is_error, d.format()
            elif d.rule.startswith("swarm-") and d.rule != "swarm-depends-on":
                assert not d.is_error, d.format()
    levels = [
        d.is_error
        for d in pipeline.check(os.path.join(CASES, "depends-on.yaml")).diagnostics
        if d.rule == "swarm-depends-on"
    ]
    assert levels == [True, False]  # service_healthy is an error, a plain list a warning


def test_target_rules_do_not_run_for_compose_only() -> None:
    text = Path(CASES, "static-ip.yaml").read_text(encoding="utf-8")
    result = pipeline.check(
        "static-ip.yaml", text.replace("targets: [compose, swarm]", "targets: [compose]")
    )
    assert not [d for d in result.diagnostics if d.rule.startswith("swarm-")]


# ---------------------------------------------------------------------- every key, any value

KITCHEN_SINK = """name: ks
targets: [swarm]
networks:
  a: {driver: overlay, subnet: 10.40.0.0/24, labels: [x=y], ipam_driver: default, mtu: 1400, encrypted: true}
  ext: {external: true, name: shared-net}
volumes:
  data: {labels: {a: b}}
  nfs: {nfs: {server: 10.0.0.1, path: /x, options: [rw, nfsvers=4]}}
  ext: {external: true, name: other}
  plug: {driver: rexray/ebs, driver_opts: {size: 20, encrypted: true}}
secrets:
  s: {file: ./s.txt, labels: [a=b]}
configs:
  c: {file: ./s.txt}
  ce: {external: true, name: cfg}
services:
  a:
    image: "busybox:1.36"
    command: echo hi
    entrypoint: ["/bin/sh", "-c"]
    user: 1000
    working_dir: /x
    hostname: h
    dns: 1.1.1.1
    dns_search: example.com
    extra_hosts: ["db:10.0.0.5", "x=10.0.0.6"]
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    read_only: true
    sysctls: [net.core.somaxconn=1024]
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}
    init: true
    stop_grace_period: 5s
    stop_signal: SIGINT
    tty: true
    stdin_open: true
    environment: [A=1, B, "C=on"]
    labels: {"com.example": "on", n: "0755"}
    ports: ["53:53/udp", "8000-8002:8000-8002", {target: 9000, published: 9000, mode: host, protocol: sctp}]
    networks:
      a: {aliases: [alpha, "yes"]}
      ext:
    volumes:
      - data:/data:ro,nocopy
      - {source: nfs, target: /nfs, subpath: sub}
      - {source: ext, target: /ext}
      - {source: plug, target: /plug}
    tmpfs: ["/run:size=1g,ro"]
    secrets: [s, {source: s, target: /run/x, uid: "0", gid: "0", mode: "0440"}]
    configs: [c, {source: ce, target: /etc/ce}]
    healthcheck: {test: "true", interval: 10s, timeout: 2s, retries: 3, start_period: 5s}
    deploy:
      mode: replicated-job
      replicas: 2
      resources: {limits: {cpus: "1.5", memory: 1g, pids: 100}, reservations: {cpus: 0.1, memory: 10m}}
      placement: {constraints: [node.role==manager], preferences: [{spread: node.labels.az}], max_replicas_per_node: 1}
      labels: [a=b]
    x-swarm: {isolation: default}
  b:
    image: busybox
    network_mode: host
    restart: on-failure:5
"""


def test_every_lowered_key_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("s")
    _, model = build(tmp_path, KITCHEN_SINK)
    a = model["services"]["a"]
    assert a["user"] == "1000" and a["environment"] == {"A": "1", "B": None, "C": "on"}
    assert a["networks"]["a"]["aliases"] == ["alpha", "yes"] and a["labels"]["n"] == "0755"
    assert a["volumes"][-1] == {
        "type": "tmpfs",
        "target": "/run",
        "read_only": True,
        "tmpfs": {"size": 2**30},
    }
    assert a["isolation"] == "default"
    assert model["networks"]["a"]["driver_opts"]["encrypted"] == ""
    assert model["services"]["b"]["deploy"]["restart_policy"] == {
        "condition": "on-failure",
        "max_attempts": 5,
    }


_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="$"), max_size=20
)
_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_PORT = st.integers(1, 65535)


@settings(max_examples=30, deadline=None)
@given(
    env=st.dictionaries(_NAME, _TEXT, max_size=4),
    labels=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9.]{0,8}", fullmatch=True), _TEXT, max_size=3
    ),
    aliases=st.lists(
        st.from_regex(r"[a-z0-9][a-z0-9-]{0,8}", fullmatch=True), max_size=3, unique=True
    ),
    restart=st.sampled_from([None, "no", "always", "unless-stopped", "on-failure", "on-failure:7"]),
    cpus=st.floats(0.01, 64, allow_nan=False).map(lambda f: round(f, 2)),
    ports=st.lists(
        st.tuples(st.one_of(st.none(), _PORT), _PORT, st.sampled_from(["tcp", "udp", "sctp"])),
        max_size=3,
        unique_by=lambda p: (p[0] or -p[1], p[2]),
    ),
)
def test_any_scalar_reaches_docker_stack_config_unchanged(
    env: dict[str, str],
    labels: dict[str, str],
    aliases: list[str],
    restart: str | None,
    cpus: float,
    ports: list[tuple[int | None, int, str]],
) -> None:
    svc: dict[str, Any] = {
        "image": "busybox",
        "environment": env,
        "labels": labels,
        "networks": {"n": {"aliases": aliases}},
        "ports": [f"{p}:{t}/{proto}" if p else f"{t}/{proto}" for p, t, proto in ports],
        "deploy": {"resources": {"limits": {"cpus": cpus}}},
    }
    if restart:
        svc["restart"] = restart
    topo = {"name": "h", "targets": ["swarm"], "networks": {"n": {}}, "services": {"a": svc}}
    with tempfile.TemporaryDirectory() as tmp:
        _, model = build(Path(tmp), yaml.safe_dump(topo))
    a = model["services"]["a"]
    assert a.get("environment", {}) == env
    assert a.get("labels", {}) == labels
    assert (a["networks"]["n"] or {}).get("aliases", []) == aliases
    assert float(a["deploy"]["resources"]["limits"]["cpus"]) == cpus
    assert [(p.get("published"), p["target"], p["protocol"]) for p in a.get("ports", [])] == ports
    assert ("restart_policy" in a["deploy"]) == (restart is not None)


# ---------------------------------------------------------------------- the reference page

DOC = os.path.join(ROOT, "docs", "swarm.md")
BEGIN, END = (
    "regenerate with\n     TOPOGEN_REGEN=1 pytest tests/test_swarm.py -k reference -->\n",
    "<!-- end generated -->",
)


def _paragraph(doc: str | None) -> str:
    return _md(" ".join((doc or "").split("\n\n")[0].split()))


def _rest(doc: str | None) -> str:
    return _md(" ".join(" ".join((doc or "").split("\n\n")[1:]).split()))


def _md(text: str) -> str:
    return re.sub(r":func:`([^`]+)`", r"`\1`", text)


def reference() -> str:
    """The generated part of docs/swarm.md: lowering rules, then target rules with the level
    each one reports in the negative corpus."""
    out = ["", "## Lowering rules (`topogen/lower.py`)", ""]
    out += [f"- **`{fn.__name__}`**: {_paragraph(fn.__doc__)}" for fn in lower.LOWERING]
    levels: dict[str, set[str]] = {}
    for case in [*CASE_FILES, DOTENV]:
        for d in pipeline.check(case).diagnostics:
            levels.setdefault(d.rule, set()).add(d.level.value)
    out += [
        "",
        "## Target rules (`topogen/rules/targets.py`)",
        "",
        "| rule | level | what the stack does, and a failing example |",
        "|---|---|---|",
    ]
    for rule in targets.RULES:
        rid = rule.__name__.replace("_", "-")
        text = f"{_paragraph(rule.__doc__)} {_rest(rule.__doc__)}".replace("|", "\\|")
        out.append(f"| `{rid}` | {' or '.join(sorted(levels.get(rid, ())))} | {text} |")
    return "\n".join(out) + "\n"


def test_reference_page_is_generated_from_the_docstrings() -> None:
    with open(DOC, encoding="utf-8") as fh:
        text = fh.read()
    head, _, tail = text.partition(BEGIN)
    _, _, tail = tail.partition(END)
    wanted = head + BEGIN + reference() + END + tail
    if os.environ.get("TOPOGEN_REGEN"):
        with open(DOC, "w", encoding="utf-8") as fh:
            fh.write(wanted)
    assert text == wanted, (
        "docs/swarm.md is stale: TOPOGEN_REGEN=1 pytest tests/test_swarm.py -k reference"
    )


@pytest.mark.parametrize("case", [*CASE_FILES, DOTENV], ids=os.path.basename)
def test_corpus_still_lowers_to_a_valid_stack(case: str, tmp_path: Path) -> None:
    """The lowering never writes what the v3 schema rejects, even for topologies the target
    rules complain about: the rules, not a schema error, tell the user what is wrong."""
    result = pipeline.check(case)
    assert result.topology is not None
    (tmp_path / STACK).write_text(
        pipeline.compile(result.topology, str(tmp_path), ["swarm"])[STACK]
    )
    proc = stack_config(STACK, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "gnoring" not in proc.stderr, proc.stderr
