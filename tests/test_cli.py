"""The CLI as a user runs it: exit codes, output formats, files written or left alone."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tools import compose_config

GOOD = """\
name: demo
networks:
  app: {subnet: 10.30.0.0/24}
volumes:
  data: {}
services:
  web:
    image: nginx:alpine
    ports: ["8080:80"]
    networks: {app: {ipv4_address: 10.30.0.10}}
    mounts:
      - {type: bind, source: ./site, target: /usr/share/nginx/html, read_only: true}
      - {source: data, target: /data}
"""
BAD = GOOD.replace("10.30.0.10", "10.31.0.10")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topogen", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def write(tmp: Path, text: str) -> Path:
    (tmp / "site").mkdir(exist_ok=True)
    path = tmp / "topology.yaml"
    path.write_text(text)
    return path


def test_validate_clean_exits_0(tmp_path: Path) -> None:
    proc = run("validate", str(write(tmp_path, GOOD)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_validate_error_exits_1_with_located_message(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    proc = run("validate", str(path))
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (
        f"{path}:10:36: [error] static IP 10.31.0.10 is outside subnet 10.30.0.0/24 of network app (static-ip-outside-subnet)"
    )


def test_validate_usage_error_exits_2() -> None:
    assert run("validate").returncode == 2
    assert run("validate", "--format", "xml", "x.yaml").returncode == 2


@pytest.mark.parametrize(
    "command",
    [
        ("validate",),
        ("validate", "--strict"),
        ("build",),
        ("build", "--check"),
        ("reach",),
        ("graph",),
        ("verify", "--live"),
    ],
)
def test_a_missing_input_file_is_a_usage_error(command: tuple[str, ...], tmp_path: Path) -> None:
    proc = run(*command, str(tmp_path / "nope.yaml"))
    assert (proc.returncode, proc.stderr) == (2, f"error: {tmp_path / 'nope.yaml'}: no such file\n")
    proc = run(*command, str(tmp_path))
    assert (proc.returncode, proc.stderr) == (2, f"error: {tmp_path}: is a directory\n")
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_file_is_a_located_error(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    path.chmod(0)
    if os.access(path, os.R_OK):
        pytest.skip("running as root: every file is readable")
    proc = run("validate", str(path))
    assert proc.returncode == 1
    assert f"{path}:1:1: [error] cannot read file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_json_and_github_formats(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    proc = run("validate", "--format", "json", str(path))
    assert proc.returncode == 1
    [diag] = json.loads(proc.stdout)
    assert (diag["line"], diag["col"], diag["rule"], diag["level"]) == (
        10,
        36,
        "static-ip-outside-subnet",
        "error",
    )
    gh = run("validate", "--format", "github", str(path))
    assert gh.stdout.startswith(
        f"::error file={path},line=10,col=36,title=static-ip-outside-subnet::"
    )


def test_json_paths_keep_list_indices_as_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('ports: ["8080:80"]', 'ports: ["8080:80", "80800:80"]'))
    proc = run("validate", "--format", "json", str(path))
    [diag] = json.loads(proc.stdout)
    assert diag["path"][:4] == ["services", "web", "ports", 1], diag


def test_github_format_escapes_properties_and_keeps_the_hint(tmp_path: Path) -> None:
    """As GitHub's runner reads workflow commands (actions/toolkit command.ts): in the data
    % CR LF are escaped, in properties also : and ,; an unescaped , would end file= early."""
    odd = tmp_path / "a,b:c%d"
    odd.mkdir()
    path = write(odd, GOOD.replace("ports:", "privileged: true\n    ports:"))
    proc = run("validate", "--strict", "--format", "github", str(path))
    [line] = proc.stdout.splitlines()
    escaped = str(path).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert line.startswith(f"::warning file={escaped},line=")
    head, _, data = line[2:].partition("::")
    props = head.partition(" ")[2]
    assert dict(p.split("=", 1) for p in props.split(","))["file"] == escaped
    assert "%0Ahint: " in data and "\n" not in data
    text = run("validate", str(path)).stderr
    hint = text.split("hint: ", 1)[1].strip()
    assert data.endswith("hint: " + hint.replace("%", "%25").replace("\r", "%0D"))


def test_strict_fails_on_warnings(tmp_path: Path) -> None:
    # a static IP inside ip_range is a warning: the engine may hand it out first
    path = write(
        tmp_path,
        GOOD.replace("{subnet: 10.30.0.0/24}", "{subnet: 10.30.0.0/24, ip_range: 10.30.0.0/25}"),
    )
    proc = run("validate", str(path))
    assert proc.returncode == 0 and "[warning]" in proc.stderr, proc.stderr
    assert run("validate", "--strict", str(path)).returncode == 1


def test_build_writes_compose_file_beside_the_topology(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    proc = run("build", str(path))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "docker-compose.yml"
    assert out.read_text().startswith("# Generated by topogen from topology.yaml.")
    assert compose_config(str(out), "-q").returncode == 0
    assert run("build", "--check", str(path)).returncode == 0
    out.write_text(out.read_text() + "# edited\n")
    stale = run("build", "--check", str(path))
    assert stale.returncode == 1 and "stale" in stale.stderr


def test_build_check_says_missing_and_suggests_the_same_options(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    proc = run("build", "--check", str(path), "-o", str(tmp_path / "out dir"), "-t", "compose")
    out = tmp_path / "out dir" / "docker-compose.yml"
    assert proc.returncode == 1
    assert (
        proc.stderr
        == f"{out}: missing, run `topogen build {path} -o '{tmp_path}/out dir' -t compose`\n"
    )
    assert not out.parent.exists()
    suggested = proc.stderr.split("run `topogen ", 1)[1].rstrip("`\n")
    assert run(*shlex.split(suggested)).returncode == 0
    assert (
        run(
            "build", "--check", str(path), "-o", str(tmp_path / "out dir"), "-t", "compose"
        ).returncode
        == 0
    )


def test_failed_build_writes_nothing_and_keeps_existing_output(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert run("build", str(path)).returncode == 0
    out = tmp_path / "docker-compose.yml"
    before = (out.read_bytes(), out.stat().st_mtime_ns)
    path.write_text(BAD)
    assert run("build", str(path)).returncode == 1
    assert (out.read_bytes(), out.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "docker-compose.yml",
        "site",
        "topology.yaml",
    ]


def test_output_dir_keeps_relative_bind_sources_pointing_at_the_same_place(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    out_dir = tmp_path / "deploy" / "generated"
    assert run("build", "-o", str(out_dir), str(path)).returncode == 0
    proc = compose_config(str(out_dir / "docker-compose.yml"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    volumes = json.loads(proc.stdout)["services"]["web"]["volumes"]
    bind = next(v for v in volumes if v["type"] == "bind")
    assert bind["source"] == os.path.join(str(tmp_path), "site")
    assert bind["read_only"] is True


def test_build_refuses_a_target_the_topology_does_not_declare(tmp_path: Path) -> None:
    """Swarm rules run only for topologies that target swarm, so `--target swarm` alone would
    silently drop what the stack cannot do (static IPs here)."""
    path = write(tmp_path, GOOD)
    proc = run("build", "--target", "swarm", str(path))
    assert proc.returncode == 1
    assert (
        "[error] the topology does not target swarm" in proc.stderr
        and "(undeclared-target)" in proc.stderr
    )
    assert not (tmp_path / "docker-stack.yml").exists()
    declared = write(
        tmp_path, GOOD.replace("name: demo\n", "name: demo\ntargets: [compose, swarm]\n")
    )
    proc = run("validate", str(declared))
    assert proc.returncode == 1 and "(swarm-static-ip)" in proc.stderr, proc.stderr


# ---------------------------------------------------------------------- write errors, stdin, signals

SWARM = """\
name: demo
targets: [compose, swarm]
networks:
  app: {subnet: 10.30.0.0/24}
services:
  web: {image: nginx:alpine, networks: [app]}
"""


def _one_line_error(proc: subprocess.CompletedProcess[str], path: Path, code: int = 1) -> str:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"error: cannot write {path}: "), line
    return line


def test_build_into_an_existing_file_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    (tmp_path / "afile").write_text("keep")
    line = _one_line_error(
        run("build", str(path), "-o", str(tmp_path / "afile")),
        tmp_path / "afile" / "docker-compose.yml",
    )
    assert line.endswith("is not a directory")
    assert (tmp_path / "afile").read_text() == "keep"


def test_build_into_proc_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    _one_line_error(run("build", str(path), "-o", "/proc"), Path("/proc/docker-compose.yml"))


def test_build_in_a_read_only_folder_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    tmp_path.chmod(0o555)
    try:
        if os.access(tmp_path, os.W_OK):
            pytest.skip("running as root: a read-only mode does not stop writes")
        _one_line_error(run("build", str(path)), tmp_path / "docker-compose.yml")
        proc = run("graph", str(path), "-o", str(tmp_path / "graph.md"))
        assert _one_line_error(proc, tmp_path / "graph.md").endswith("Permission denied")
    finally:
        tmp_path.chmod(0o755)


def test_graph_output_that_is_a_directory_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    (tmp_path / "g").mkdir()
    _one_line_error(run("graph", str(path), "-o", str(tmp_path / "g")), tmp_path / "g")
    assert list((tmp_path / "g").iterdir()) == []


def test_a_multi_file_build_writes_all_or_nothing(tmp_path: Path) -> None:
    """docker-stack.yml cannot be written (a folder is in the way): docker-compose.yml, which
    could, is not written either, and no temp file is left."""
    path = write(tmp_path, SWARM)
    (tmp_path / "docker-stack.yml").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    _one_line_error(run("build", str(path)), tmp_path / "docker-stack.yml")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    (tmp_path / "docker-stack.yml").rmdir()
    assert run("build", str(path)).returncode == 0
    assert {"docker-compose.yml", "docker-stack.yml"} <= {p.name for p in tmp_path.iterdir()}


def test_graph_exits_1_on_errors_like_reach(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    assert run("reach", str(path)).returncode == 1
    proc = run("graph", str(path))
    assert proc.returncode == 1 and "(static-ip-outside-subnet)" in proc.stderr
    assert run("graph", str(path), "-o", str(tmp_path / "g.md")).returncode == 1
    assert not (tmp_path / "g.md").exists(), "nothing is written for a topology with errors"
    good = write(tmp_path, GOOD)
    assert run("graph", str(good)).returncode == 0


def _stdin(*args: str, text: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topogen", *args],
        check=False,
        input=text,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_validate_reads_stdin(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    assert _stdin("validate", "-", text=GOOD, cwd=tmp_path).returncode == 0
    proc = _stdin("validate", "-", text=BAD, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("<stdin>:10:36: [error] ")
    proc = _stdin("validate", "--format", "json", "-", text=BAD, cwd=tmp_path)
    assert json.loads(proc.stdout)[0]["file"] == "<stdin>"
    reach = _stdin("reach", "--format", "json", "-", text=GOOD, cwd=tmp_path)
    assert reach.returncode == 0 and "web" in json.loads(reach.stdout)["endpoints"], reach.stderr
    assert _stdin("graph", "-", text=BAD, cwd=tmp_path).returncode == 1
    assert _stdin("verify", "--live", "-", text=GOOD, cwd=tmp_path).returncode == 2


def test_build_from_stdin_needs_output(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    proc = _stdin("build", "-", text=GOOD, cwd=tmp_path)
    assert proc.returncode == 2 and "needs --output" in proc.stderr
    assert not (tmp_path / "docker-compose.yml").exists()
    proc = _stdin("build", "-", "-o", "out", text=GOOD, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert compose_config(str(tmp_path / "out" / "docker-compose.yml"), "-q").returncode == 0
    assert _stdin("build", "-", "-o", "bad", text=BAD, cwd=tmp_path).returncode == 1
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    "command", [("validate", "-"), ("build", "-", "-o", "out")], ids=["plain", "typer"]
)
@pytest.mark.parametrize(
    "sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"]
)
def test_signals_exit_130_and_143_without_a_traceback(
    command: tuple[str, ...], sig: int, code: int, tmp_path: Path
) -> None:
    """The command waits on stdin (never closed) until the signal comes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "topogen", *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    time.sleep(1.5)  # past the imports, waiting on stdin
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_docker_socket_hint_does_not_ask_for_read_only_when_it_is() -> None:
    """Issue 11: the hint said "mount it read-only" to a mount that already was."""
    case = Path(__file__).parent / "cases" / "invalid" / "docker-socket.yaml"
    proc = run("validate", "--format", "json", str(case))
    hints = {d["line"]: d["hint"] for d in json.loads(proc.stdout)}
    assert set(hints) == {8, 9}
    assert "read-only mount does not" in hints[9] and "mount it read-only" not in hints[9]
    assert "mount it read-only" not in hints[8]


def test_swarm_empty_environment_is_what_the_real_tools_do(tmp_path: Path) -> None:
    """The ground for swarm-empty-environment: with the shell's A set, ``docker stack config``
    turns the emitted A: "" into the shell's value, while Compose keeps it empty."""
    from tools import docker_cli

    (tmp_path / "topology.yaml").write_text(
        "name: emptyenv\ntargets: [compose, swarm]\nservices:\n  web: {image: nginx, environment: {A: '', B: x}}\n"
    )
    proc = run("build", "topology.yaml", cwd=tmp_path)
    assert proc.returncode == 0 and "(swarm-empty-environment)" in proc.stderr, proc.stderr
    env = {**os.environ, "A": "from-shell"}
    stack = subprocess.run(
        [docker_cli(), "stack", "config", "-c", "docker-stack.yml"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert stack.returncode == 0, stack.stderr
    assert "A: from-shell" in stack.stdout
    compose = compose_config(str(tmp_path / "docker-compose.yml"), "--format", "json", env=env)
    assert json.loads(compose.stdout)["services"]["web"]["environment"]["A"] == ""
