"""What the live tests do to an engine, and what they never do.

- Everything they create carries ``org.topogen.test-run=<run id>`` (the label proxy in
  ``labelproxy.py`` adds it to every create request), and cleanup removes only what carries
  that label: another user's containers, networks and volumes are never touched
  (:class:`Foreign` proves it on every run).
- Objects that appeared without the label are reported, never removed.
- One live session per machine at a time (a lock file), because the examples use fixed
  subnets and the swarm fixture may join and leave a swarm; a wait for the lock says who
  holds it and is bounded.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable
from typing import IO, Any, NoReturn

import pytest

RUN_LABEL = "org.topogen.test-run"
BUILTIN_NETWORKS = {"bridge", "host", "none", "docker_gwbridge", "ingress"}
KINDS = ("services", "containers", "networks", "volumes", "secrets", "configs")


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason, or fail with it where TOPOGEN_REQUIRE_ENGINE=1 (as in .ci/run)."""
    if os.environ.get("TOPOGEN_REQUIRE_ENGINE") == "1":
        pytest.fail(f"{reason} (TOPOGEN_REQUIRE_ENGINE=1)", pytrace=False)
    pytest.skip(reason)


def image_missing(denv: Any) -> str:
    """Why the test image cannot be used, or ""."""
    if denv.docker_cmd("image", "inspect", denv.image, timeout=20).returncode == 0:
        return ""
    return (
        f"image {denv.image} missing on the engine (`bash .ci/engine.sh start` imports it; "
        "TOPOGEN_TEST_IMAGE names another busybox image)"
    )


def parent_missing(denv: Any) -> str:
    """Why the macvlan/ipvlan parent cannot be used (checked on the engine's host), or ""."""
    cp = denv.docker_cmd(
        "run",
        "--rm",
        "--network",
        "host",
        denv.image,
        "ip",
        "link",
        "show",
        denv.veth_parent,
        timeout=60,
    )
    if cp.returncode == 0:
        return ""
    return (
        f"macvlan parent {denv.veth_parent} not found on the engine's host "
        f"({(cp.stderr or cp.stdout).strip()[:120]}); `bash .ci/engine.sh start` creates the veth pair "
        "(TOPOGEN_TEST_VETH names another; never a real interface)"
    )


def _lines(denv: Any, *args: str, direct: bool = False) -> list[str]:
    cp = denv.docker_cmd(*args, timeout=30, direct=direct)
    return [ln.strip() for ln in cp.stdout.splitlines() if ln.strip()] if cp.returncode == 0 else []


def swarm_manager(denv: Any) -> bool:
    cp = denv.docker_cmd(
        "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}", timeout=20
    )
    return cp.stdout.split() == ["active", "true"]


def labelled(denv: Any) -> dict[str, list[str]]:
    """Names of the objects that carry this run's label, by kind."""
    f = ("--filter", f"label={denv.run_label}")
    found = {
        "containers": _lines(denv, "ps", "-a", *f, "--format", "{{.Names}}"),
        "networks": _lines(denv, "network", "ls", *f, "--format", "{{.Name}}"),
        "volumes": _lines(denv, "volume", "ls", *f, "--format", "{{.Name}}"),
        "services": [],
        "secrets": [],
        "configs": [],
    }
    if swarm_manager(denv):
        for kind in ("service", "secret", "config"):
            found[f"{kind}s"] = _lines(denv, kind, "ls", *f, "--format", "{{.Name}}")
    return found


def remove_labelled(denv: Any, deadline_s: float = 90) -> dict[str, list[str]]:
    """Remove every object that carries this run's label (bounded in time); returns what was found."""
    end = time.monotonic() + deadline_s
    left = lambda: max(5.0, end - time.monotonic())
    found = labelled(denv)
    if found["services"]:
        denv.docker_cmd("service", "rm", *found["services"], timeout=left())
    for kind in ("secret", "config"):
        if found[f"{kind}s"]:
            denv.docker_cmd(kind, "rm", *found[f"{kind}s"], timeout=left())
    # task containers go on their own once their service is gone; anything left is removed
    for _ in range(30 if found["services"] else 1):
        names = labelled(denv)["containers"]
        if not names or not found["services"]:
            break
        time.sleep(1)
    if names := labelled(denv)["containers"]:
        denv.docker_cmd("rm", "-f", "-v", *names, timeout=left())
    for _ in range(5):  # an overlay network can take a moment to drain
        nets = labelled(denv)["networks"]
        if not nets:
            break
        denv.docker_cmd("network", "rm", *nets, timeout=left())
        time.sleep(0.5)
    if vols := labelled(denv)["volumes"]:
        denv.docker_cmd("volume", "rm", "-f", *vols, timeout=left())
    return {k: v for k, v in found.items() if v}


def everything(denv: Any) -> dict[str, set[str]]:
    """Ids of all containers, networks and volumes on the engine (for the unlabelled report)."""
    return {
        "containers": set(_lines(denv, "ps", "-aq", "--no-trunc", direct=True)),
        "networks": set(_lines(denv, "network", "ls", "--format", "{{.Name}}", direct=True))
        - BUILTIN_NETWORKS,
        "volumes": set(_lines(denv, "volume", "ls", "-q", direct=True)),
    }


def unlabelled_newcomers(denv: Any, before: dict[str, set[str]]) -> dict[str, set[str]]:
    """Objects that appeared since ``before`` without this run's label: never removed, only
    reported (they may be another user's, or a gap in the labelling)."""
    now = everything(denv)
    ours = labelled(denv)
    new = {k: now[k] - before.get(k, set()) for k in now}
    ids = set(_lines(denv, "ps", "-aq", "--no-trunc", "--filter", f"label={denv.run_label}"))
    new["containers"] -= ids
    new["networks"] -= set(ours["networks"])
    new["volumes"] -= set(ours["volumes"])
    return {k: v for k, v in new.items() if v}


class Foreign:
    """A container (stopped), a network and a volume without the label, created before the
    live tests and checked after them: the tests must leave them exactly as they were."""

    def __init__(self, denv: Any, run_id: str) -> None:
        self.denv = denv
        base = f"tg-foreign-{run_id}"
        self.names = {"container": f"{base}-c", "network": f"{base}-n", "volume": f"{base}-v"}
        self.seen: dict[str, str] = {}

    def create(self) -> None:
        d, n = self.denv, self.names
        d.docker_cmd(
            "create", "--name", n["container"], d.image, "true", timeout=60, check=True, direct=True
        )
        d.docker_cmd("network", "create", n["network"], timeout=30, check=True, direct=True)
        d.docker_cmd("volume", "create", n["volume"], timeout=30, check=True, direct=True)
        self.seen = self.state()

    def state(self) -> dict[str, str]:
        fmt = {
            "container": "{{.Id}} {{.State.Status}} {{.Created}}",
            "network": "{{.Id}} {{.Created}}",
            "volume": "{{.Name}} {{.CreatedAt}}",
        }
        out = {}
        for kind, name in self.names.items():
            cp = self.denv.docker_cmd(
                kind, "inspect", "--format", fmt[kind], name, timeout=30, direct=True
            )
            out[kind] = cp.stdout.strip() if cp.returncode == 0 else f"missing: {cp.stderr.strip()}"
        return out

    def changes(self) -> list[str]:
        now = self.state()
        return [
            f"{kind} {self.names[kind]}: was {self.seen.get(kind)!r}, now {now[kind]!r}"
            for kind in self.names
            if now[kind] != self.seen.get(kind)
        ]

    def remove(self) -> None:
        d, n = self.denv, self.names
        d.docker_cmd("rm", "-f", n["container"], timeout=60, direct=True)
        d.docker_cmd("network", "rm", n["network"], timeout=30, direct=True)
        d.docker_cmd("volume", "rm", n["volume"], timeout=30, direct=True)


def say(text: str) -> None:
    """A line the user sees even while pytest captures output."""
    stream = sys.__stderr__ or sys.stderr
    stream.write(f"[topogen live tests] {text}\n")
    stream.flush()


def _flock_holder(path: str) -> str:
    """The pid holding a flock on ``path``, from /proc/locks (Linux), or ""."""
    try:
        st = os.stat(path)
        with open("/proc/locks") as fh:
            rows = fh.read().splitlines()
    except OSError:
        return ""
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for row in rows:
        parts = row.split()
        if len(parts) > 5 and parts[1] == "FLOCK" and parts[5] == dev and parts[4].isdigit():
            return parts[4]
    return ""


def _holder(f: IO[str]) -> str:
    f.seek(0)
    written = f.read().strip()
    pid = _flock_holder(f.name) or written
    if not pid.isdigit():
        return "another process"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmd = ""
    return f"pid {pid}" + (f" ({cmd[:120]})" if cmd else "")


def _try_flock(f: IO[str]) -> bool:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def acquire_lock(
    path: str, timeout: float, note: Callable[[str], None] = say, every: float = 30
) -> IO[str]:
    """An exclusive flock on ``path`` (released when the file is closed or the process ends).
    While waiting, says who holds it (every ``every`` s); fails after ``timeout`` s."""
    f = open(path, "a+")  # noqa: SIM115 (held open: closing it releases the lock)
    start = time.monotonic()
    next_note = start
    while not _try_flock(f):
        now = time.monotonic()
        if now - start >= timeout:
            holder = _holder(f)
            f.close()
            pytest.fail(
                f"gave up after {timeout:.0f} s waiting for lock {path} held by {holder}: another "
                "live-test session uses this machine's engine (TOPOGEN_LIVE_LOCK_TIMEOUT sets the wait)",
                pytrace=False,
            )
        if now >= next_note:
            note(
                f"waiting for lock {path} held by {_holder(f)} (at most {timeout - (now - start):.0f} s more)"
            )
            next_note = now + every
        time.sleep(0.5)
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f
