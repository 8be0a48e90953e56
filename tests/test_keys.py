"""The one table of service keys (topogen/keys.py) against the model and the real tools.

Every ``spec.Service`` field has exactly one row. Every key resolve keeps as written has a
sample here (a new row fails until it gets one); a service writing every sample is accepted by
the real ``docker-compose config``, and its stack by the real ``docker stack config``, which
then holds every carried key and none of the dropped ones, each dropped key reported at its
line with the row's reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from tools import compose_config, docker_cli

from topogen import keys, pipeline, spec
from topogen.live import stub

SAMPLES: dict[str, Any] = {
    "command": "echo hi",
    "entrypoint": ["/bin/sh", "-c"],
    "env_file": ["app.env"],
    "user": "1000",
    "working_dir": "/srv",
    "domainname": "example.com",
    "dns": ["10.0.0.2"],
    "dns_search": ["example.com"],
    "extra_hosts": ["db:10.0.0.5"],
    "mac_address": "02:42:ac:11:00:02",
    "cap_add": ["NET_ADMIN"],
    "cap_drop": ["ALL"],
    "read_only": True,
    "security_opt": ["no-new-privileges:true"],
    "sysctls": {"net.core.somaxconn": 1024},
    "ulimits": {"nofile": {"soft": 1024, "hard": 2048}},
    "logging": {"driver": "json-file", "options": {"max-size": "10m"}},
    "profiles": ["debug"],
    "init": True,
    "stop_grace_period": "5s",
    "stop_signal": "SIGINT",
    "tty": True,
    "stdin_open": True,
    "shm_size": "64m",
    "cpus": 0.5,
    "mem_limit": "1g",
    "mem_reservation": "10m",
    "pids_limit": 100,
    "cpu_shares": 512,
    "isolation": "default",
    "credential_spec": {"config": "cred"},
    "oom_score_adj": 10,
    "scale": 2,
    "pid": "host",
    "ipc": "shareable",
    "userns_mode": "host",
    "cgroup_parent": "parent",
    "devices": ["/dev/null:/dev/null"],
    "external_links": ["other:o"],
    "volumes_from": ["helper:ro"],
    "cpu_quota": 50000,
    "cpuset": "0",
    "memswap_limit": "2g",
    "annotations": {"a": "b"},
    "attach": False,
    "blkio_config": {"weight": 300},
    "cgroup": "private",
    "cpu_count": 1,
    "cpu_percent": 50,
    "cpu_period": 100000,
    "cpu_rt_period": 1000,
    "cpu_rt_runtime": 1000,
    "develop": {"watch": [{"action": "sync", "path": "./src", "target": "/srv"}]},
    "device_cgroup_rules": ["c 1:3 mr"],
    "dns_opt": ["use-vc"],
    "gpus": "all",
    "group_add": ["audio"],
    "label_file": ["app.labels"],
    "mem_swappiness": 10,
    "models": ["llm"],
    "oom_kill_disable": True,
    "platform": "linux/amd64",
    "post_start": [{"command": "echo started"}],
    "pre_start": [{"command": "echo starting"}],
    "pre_stop": [{"command": "echo stopping"}],
    "provider": {"type": "model", "options": {"model": "ai/x"}},
    "pull_policy": "missing",
    "pull_refresh_after": "1h",
    "runtime": "runc",
    "storage_opt": {"size": "1G"},
    "umask": "0022",
    "use_api_socket": True,
    "uts": "host",
}
#: Keys written on another service: resources and scale on "sized"; provider on "llm" (a
#: provider service has no image, so no stack can run it: checked with Compose only).
APART = {"provider", "cpus", "mem_limit", "mem_reservation", "pids_limit", "scale"}


def _field_names() -> set[str]:
    return {f.alias or name for name, f in spec.Service.model_fields.items()}


def test_every_service_field_has_one_row() -> None:
    assert set(keys.SERVICE) == _field_names()


def test_every_kept_key_has_a_sample() -> None:
    assert set(keys.OPTIONS) <= set(SAMPLES), "add a sample for the new row"
    assert set(SAMPLES) <= set(keys.OPTIONS)


def test_rows_are_consistent() -> None:
    for key, row in keys.SERVICE.items():
        assert row.swarm in ("typed", "carry", "resource", "replicas", "drop"), key
        assert (row.swarm == "typed") == row.typed, key
        assert bool(row.why) == (row.swarm == "drop"), key
        assert (row.swarm == "resource") == (row.to != ("", "")), key


def _project(tmp_path: Path, swarm: bool = True) -> Path:
    (tmp_path / "app.env").write_text("A=1\n")
    (tmp_path / "app.labels").write_text("l=1\n")
    (tmp_path / "src").mkdir()
    web = {k: v for k, v in SAMPLES.items() if k not in APART and not keys.SERVICE[k].newer}
    topo = {
        "name": "keys",
        "targets": ["compose", "swarm"],
        "services": {
            "web": {"image": "nginx:alpine", **web},
            "helper": {"image": "busybox"},
            "sized": {
                "image": "busybox",
                **{k: SAMPLES[k] for k in ("cpus", "mem_limit", "mem_reservation")},
                "pids_limit": SAMPLES["pids_limit"],
                "scale": SAMPLES["scale"],
            },
        },
        "models": {"llm": {"model": "ai/smollm2"}},
        "configs": {"cred": {"file": "./app.env"}},
    }
    if not swarm:
        topo["targets"] = ["compose"]
        topo["services"]["llm"] = {"provider": SAMPLES["provider"]}
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(topo, sort_keys=False))
    return path


def test_every_key_through_the_real_tools(tmp_path: Path) -> None:
    path = _project(tmp_path)
    out = pipeline.build(str(path))
    assert not out.result.failed(), [d.format() for d in out.result.diagnostics]
    pipeline.write(out.files)
    compose = compose_config(str(tmp_path / "docker-compose.yml"), "-q")
    assert compose.returncode == 0, compose.stderr

    stack = tmp_path / "docker-stack.yml"
    proc = subprocess.run(
        [docker_cli(), "stack", "config", "-c", str(stack)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "gnoring" not in proc.stderr, proc.stderr  # nothing the stack itself would drop
    written = yaml.safe_load(stack.read_text())["services"]
    warned = {
        d.path[-1]: d
        for d in out.result.diagnostics
        if d.rule == "swarm-ignored-option" and d.path[:2] == ("services", "web")
    }
    lines = path.read_text().splitlines()
    for key, row in keys.SERVICE.items():
        if key not in keys.OPTIONS or key == "provider" or row.newer:
            continue
        where = "sized" if key in APART else "web"
        if row.swarm == "carry":
            assert key in written[where], key
            assert key not in warned, key
        elif row.swarm == "drop":
            assert key not in written.get(where, {}), key
            d = warned[key]
            assert row.why in d.message, d.message
            assert lines[d.line - 1].lstrip().startswith(f"{key}:"), (key, d.line)
        elif row.swarm == "resource":
            kind, name = row.to
            assert name in written["sized"]["deploy"]["resources"][kind], key
            assert key not in written["sized"], key
    assert written["sized"]["deploy"]["replicas"] == SAMPLES["scale"]


def test_newer_keys_are_what_this_compose_refuses(tmp_path: Path) -> None:
    """If a later Compose accepts them, this fails: then drop the rows' ``newer`` flag."""
    for key in (*keys.NEWER_SERVICE, *keys.NEWER_TOP):  # Compose names one place at a time
        one: dict[str, Any] = {"services": {"web": {"image": "nginx"}}}
        if key in keys.NEWER_TOP:
            one[key] = {}
        else:
            one["services"]["web"][key] = SAMPLES[key]
        (tmp_path / "one.yaml").write_text(yaml.safe_dump(one))
        proc = compose_config(str(tmp_path / "one.yaml"), "-q")
        assert proc.returncode != 0 and f"'{key}' not allowed" in proc.stderr, (key, proc.stderr)
    service = {"image": "nginx", **{k: SAMPLES[k] for k in keys.NEWER_SERVICE}}
    doc: dict[str, Any] = {"services": {"web": service}, **{k: {} for k in keys.NEWER_TOP}}
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(doc))
    found = {
        d.path[-1] for d in pipeline.check(str(path)).diagnostics if d.rule == "newer-compose-key"
    }
    assert found == {*keys.NEWER_SERVICE, *keys.NEWER_TOP}


def test_a_provider_service_is_compose(tmp_path: Path) -> None:
    path = _project(tmp_path, swarm=False)
    out = pipeline.build(str(path))
    assert not out.result.failed(), [d.format() for d in out.result.diagnostics]
    pipeline.write(out.files)
    compose = compose_config(str(tmp_path / "docker-compose.yml"), "-q")
    assert compose.returncode == 0, compose.stderr
    assert keys.SERVICE["provider"].swarm == "drop"


def test_a_stub_leaves_out_its_rows() -> None:
    assert set(stub._DROP) == {k for k, row in keys.SERVICE.items() if row.stub}
    assert {"build", "healthcheck", "command", "entrypoint"} <= set(stub._DROP)


def test_table_is_read_without_the_emitters() -> None:
    """keys.py is data: importing it loads no stage."""
    code = "import sys, topogen.keys; print(sorted(m for m in sys.modules if m.startswith('topogen.')))"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(keys.__file__))},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['topogen.keys']"
