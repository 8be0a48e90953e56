"""What the live tests do to an engine: they label everything they create, remove only that,
skip (or, under TOPOGEN_REQUIRE_ENGINE=1, fail) with the reason when the engine, the image or
the macvlan parent is missing, and say so when they wait for another session's lock.

The session itself checks, at its end, that a container, a network and a volume created
without the label before the first live test are still there unchanged (conftest's
``_docker_session_guard``)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live import guard

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]


def _labels(denv, kind: str, name: str) -> dict[str, str]:
    fmt = "{{json .Config.Labels}}" if kind == "container" else "{{json .Labels}}"
    cp = denv.docker_cmd(kind, "inspect", "--format", fmt, name, timeout=30, direct=True)
    return json.loads(cp.stdout or "null") or {}


def test_cleanup_removes_only_what_carries_the_run_label(docker_env, unique_name):
    d = docker_env
    mine = {
        "container": unique_name("mine"),
        "network": unique_name("mine"),
        "volume": unique_name("mine"),
    }
    theirs = guard.Foreign(d, unique_name("theirs"))
    theirs.create()  # straight to the engine: no label
    try:
        d.docker_cmd("create", "--name", mine["container"], d.image, "true", check=True, timeout=60)
        d.docker_cmd("network", "create", mine["network"], check=True, timeout=30)
        d.docker_cmd("volume", "create", mine["volume"], check=True, timeout=30)
        for kind, name in mine.items():
            assert _labels(d, kind, name).get(guard.RUN_LABEL) == d.run_label.split("=", 1)[1], (
                kind,
                name,
            )
        removed = guard.remove_labelled(d)
        assert {k: set(v) for k, v in removed.items()} == {f"{k}s": {n} for k, n in mine.items()}
        assert not any(guard.labelled(d).values())
        assert theirs.changes() == []  # the unlabelled ones are exactly as they were
        # and the check that guards every session does see a change
        d.docker_cmd("volume", "rm", theirs.names["volume"], check=True, timeout=30, direct=True)
        assert [c.split(":")[0] for c in theirs.changes()] == [f"volume {theirs.names['volume']}"]
    finally:
        theirs.remove()


def test_compose_objects_carry_the_run_label(docker_env, unique_name, tmp_path):
    d = docker_env
    project = unique_name("lbl")
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  app:\n    image: {d.image}\n    command: [sleep, '60']\n    init: true\n"
        "    volumes: [data:/data]\n    networks: [net]\nnetworks:\n  net: {}\nvolumes:\n  data: {}\n"
    )
    base = ["-p", project, "-f", str(tmp_path / "compose.yaml")]
    try:
        assert d.compose_cmd(*base, "up", "-d", timeout=120).returncode == 0
        run_id = d.run_label.split("=", 1)[1]
        assert _labels(d, "container", f"{project}-app-1")[guard.RUN_LABEL] == run_id
        assert _labels(d, "network", f"{project}_net")[guard.RUN_LABEL] == run_id
        assert _labels(d, "volume", f"{project}_data")[guard.RUN_LABEL] == run_id
        # Compose still sees its own project as unchanged: a second up recreates nothing
        again = d.compose_cmd(*base, "up", "-d", timeout=120)
        assert again.returncode == 0 and "Recreate" not in again.stderr, again.stderr
    finally:
        d.compose_cmd(*base, "down", "-v", "-t", "1", timeout=120)


def test_a_lock_wait_says_who_holds_it_and_is_bounded(tmp_path):
    lock = tmp_path / "live.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import fcntl, time\n"
                f"f = open({str(lock)!r}, 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"  # writes no pid: /proc/locks tells
                "print('held', flush=True); time.sleep(30)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        notes: list[str] = []
        start = time.monotonic()
        with pytest.raises(pytest.fail.Exception) as failed:
            guard.acquire_lock(str(lock), timeout=1.5, note=notes.append, every=0.5)
        assert time.monotonic() - start < 5
        assert notes and notes[0].startswith(f"waiting for lock {lock} held by pid {holder.pid}")
        assert f"gave up after 2 s waiting for lock {lock} held by pid {holder.pid}" in str(
            failed.value
        )
    finally:
        holder.kill()
        holder.wait(timeout=10)
    f = guard.acquire_lock(str(lock), timeout=5, note=notes.append)  # free again: taken at once
    assert lock.read_text().strip() == str(os.getpid())
    f.close()


def test_without_engine_image_or_parent_tests_skip_or_fail_with_the_reason(docker_env, monkeypatch):
    from tests.live.conftest import _probe

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    denv, no_engine = _probe()
    assert denv is None and "Cannot connect to the Docker daemon" in no_engine
    no_image = guard.image_missing(dataclasses.replace(docker_env, image="tg-missing/busybox:none"))
    no_parent = guard.parent_missing(dataclasses.replace(docker_env, veth_parent="tgnope0"))
    assert no_image.startswith("image tg-missing/busybox:none missing on the engine")
    assert no_parent.startswith("macvlan parent tgnope0 not found on the engine's host")
    assert guard.image_missing(docker_env) == guard.parent_missing(docker_env) == ""
    for reason in (no_engine, no_image, no_parent):
        monkeypatch.setenv("TOPOGEN_REQUIRE_ENGINE", "")
        with pytest.raises(pytest.skip.Exception, match=re.escape(reason)):
            guard.unavailable(reason)
        monkeypatch.setenv("TOPOGEN_REQUIRE_ENGINE", "1")
        with pytest.raises(
            pytest.fail.Exception, match=re.escape(f"{reason} (TOPOGEN_REQUIRE_ENGINE=1)")
        ):
            guard.unavailable(reason)


def test_a_missing_macvlan_parent_skips_the_tests_that_need_it(docker_env, tmp_path):
    """End to end, as the issue saw it: a session without tgveth0 skips the macvlan tests (and
    fails them under TOPOGEN_REQUIRE_ENGINE=1) instead of failing at `up`."""
    runs = {}
    for require in ("", "1"):
        env = {
            **docker_env.direct_env,
            "TOPOGEN_TEST_VETH": "tgnope0",
            "TOPOGEN_REQUIRE_ENGINE": require,
            "TOPOGEN_LIVE_LOCK": str(tmp_path / f"live-{require}.lock"),
        }  # not this session's lock
        runs[require] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-rs",
                "-p",
                "no:cacheprovider",
                "tests/live/test_verify_zoo.py::test_zoo_observed_equals_predicted",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        for require, proc in runs.items():
            out, _ = proc.communicate(timeout=120)
            assert "macvlan parent tgnope0 not found on the engine's host" in out, out
            if require:
                assert (
                    proc.returncode == 1 and "1 error" in out and "TOPOGEN_REQUIRE_ENGINE=1" in out
                ), out
            else:
                assert proc.returncode == 0 and "1 skipped" in out, out
    finally:
        for proc in runs.values():
            if proc.poll() is None:
                proc.kill()
