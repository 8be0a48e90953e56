"""Commands given no FILE read the project ``docker compose`` reads with no ``-f``.

Each test lays out a project, runs the real ``docker-compose config --format json`` with no
``-f`` and ``topogen`` with no FILE in the same folder and clean environment (PATH, HOME and the
variables under test), and compares what both read: the project name, the services, and the
published ports (which the override, the second ``COMPOSE_FILE`` file or a ``.env`` sets).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tools import compose_binary

from topogen.composefiles import BASE, NOT_FOUND, OVERRIDE

View = tuple[str, dict[str, list[int]]]  # project name, each service's published ports


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    clean = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    return {**clean, **(extra or {})}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def _compose(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [compose_binary(), "config", "--format", "json"],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _topogen(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topogen", *args],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def compose_view(cwd: Path, env: dict[str, str] | None = None) -> View:
    done = _compose(cwd, env)
    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    return model["name"], {
        name: sorted(int(p["published"]) for p in s.get("ports", ()))
        for name, s in model["services"].items()
    }


def topogen_view(cwd: Path, env: dict[str, str] | None = None) -> View:
    reach = _topogen(cwd, "reach", "--format", "json", env=env)
    assert reach.returncode == 0, reach.stderr
    pairs = json.loads(reach.stdout)["pairs"]
    graph = _topogen(cwd, "graph", env=env)
    assert graph.returncode == 0, graph.stderr
    name = re.search(r'from the topology "([^"]*)"', graph.stdout)
    assert name, graph.stdout
    return name.group(1), {
        p["to"]: sorted(p["published"])
        for p in pairs
        if p["from"] == "host" and p["to"] not in ("host", "external")
    }


def same_project(cwd: Path, env: dict[str, str] | None = None) -> View:
    """What both read from ``cwd``; fails when they differ."""
    expected = compose_view(cwd, env)
    assert topogen_view(cwd, env) == expected
    return expected


BASE_FILE = "services:\n  a:\n    image: busybox\n    ports: ['${A_PORT:-8001}:80']\n"
OVERRIDE_FILE = "services:\n  b:\n    image: busybox\n    ports: ['8002:80']\n"
EXTRA_FILE = "services:\n  c:\n    image: busybox\n    ports: ['8003:80']\n"


@pytest.mark.parametrize("where", [".", "sub", "sub/deeper"])
def test_default_files_and_override_from_the_folder_or_below(tmp_path: Path, where: str) -> None:
    root = tmp_path / "myproj"
    _write(root, {"compose.yaml": BASE_FILE, "compose.override.yaml": OVERRIDE_FILE})
    _write(root, {".env": "A_PORT=8101\n", "sub/deeper/.keep": ""})
    name, services = same_project(root / where)
    assert (name, services) == ("myproj", {"a": [8101], "b": [8002]})


@pytest.mark.parametrize("first,second", list(itertools.combinations(BASE, 2)))
def test_of_two_base_names_both_take_the_first_and_warn(
    tmp_path: Path, first: str, second: str
) -> None:
    _write(tmp_path, {first: BASE_FILE, second: EXTRA_FILE, "sub/.keep": ""})
    assert same_project(tmp_path / "sub")[1] == {"a": [8001]}
    warned = _topogen(tmp_path / "sub", "validate")
    assert warned.returncode == 0, warned.stderr
    expected = _compose_warnings(tmp_path / "sub")
    assert _warnings(warned.stderr) == expected
    assert expected == [f"multiple config files: {first}, {second}", f"using {first}"]


@pytest.mark.parametrize("first,second", list(itertools.combinations(OVERRIDE, 2)))
def test_of_two_override_names_both_take_the_first_and_warn(
    tmp_path: Path, first: str, second: str
) -> None:
    _write(tmp_path, {"compose.yaml": BASE_FILE, first: OVERRIDE_FILE, second: EXTRA_FILE})
    assert same_project(tmp_path)[1] == {"a": [8001], "b": [8002]}
    expected = _compose_warnings(tmp_path)
    assert _warnings(_topogen(tmp_path, "validate").stderr) == expected
    assert expected == [f"multiple override files: {first}, {second}", f"using {first}"]


def _compose_warnings(cwd: Path) -> list[str]:
    return _warnings(_compose(cwd).stderr)


def _warnings(stderr: str) -> list[str]:
    """Compose's "Found multiple ..." warnings with the files by name, as both print them."""
    found = []
    for line in stderr.splitlines():
        many = re.search(r"Found multiple (\w+) files with supported names: ([^\"]*)", line)
        using = re.search(r"Using ([^\"]*)", line)
        if many:
            names = ", ".join(os.path.basename(f) for f in many.group(2).split(", "))
            found.append(f"multiple {many.group(1)} files: {names}")
        elif using:
            found.append(f"using {os.path.basename(using.group(1))}")
    return found


LISTED = "COMPOSE_FILE=compose.yaml:extra.yaml\n"


@pytest.mark.parametrize(
    "process,dotenv,where,expected",
    [
        ({"COMPOSE_FILE": "compose.yaml:extra.yaml"}, "", ".", "ac"),  # process environment
        ({}, LISTED, ".", "ac"),  # the .env of the working folder
        ({"COMPOSE_FILE": "compose.yaml"}, LISTED, ".", "a"),  # the process wins
        ({}, LISTED, "sub", "ab"),  # the project's .env, seen from below: not read for this
        ({"COMPOSE_FILE": "../compose.yaml:../extra.yaml"}, "", "sub", "ac"),  # from here
        ({"COMPOSE_PATH_SEPARATOR": ",", "COMPOSE_FILE": "compose.yaml,extra.yaml"}, "", ".", "ac"),
        ({}, "COMPOSE_PATH_SEPARATOR=;\nCOMPOSE_FILE=compose.yaml;extra.yaml\n", ".", "ac"),
    ],
)
def test_compose_file(
    tmp_path: Path, process: dict[str, str], dotenv: str, where: str, expected: str
) -> None:
    _write(tmp_path, {"compose.yaml": BASE_FILE, "compose.override.yaml": OVERRIDE_FILE})
    _write(tmp_path, {"extra.yaml": EXTRA_FILE, ".env": dotenv, "sub/.keep": ""})
    assert sorted(same_project(tmp_path / where, process)[1]) == list(expected)


def test_compose_file_in_the_working_folders_env_file_seen_from_a_sub_folder(
    tmp_path: Path,
) -> None:
    """A sub-folder's own .env names the files (relative to it); its variables come before
    the project folder's .env, as Compose reads both."""
    _write(tmp_path, {"compose.yaml": BASE_FILE, "extra.yaml": EXTRA_FILE, ".env": "A_PORT=8201\n"})
    _write(tmp_path, {"sub/.env": "COMPOSE_FILE=../compose.yaml:../extra.yaml\nA_PORT=8301\n"})
    assert same_project(tmp_path / "sub")[1] == {"a": [8301], "c": [8003]}


def test_project_elsewhere_sees_both_env_files(tmp_path: Path) -> None:
    base = BASE_FILE + "  d:\n    image: busybox\n    ports: ['${D_PORT:-8004}:80']\n"
    _write(tmp_path, {"deploy/compose.yaml": base, "deploy/.env": "A_PORT=8401\nD_PORT=8404\n"})
    _write(tmp_path, {".env": "COMPOSE_FILE=deploy/compose.yaml\nA_PORT=8501\n"})
    assert same_project(tmp_path) == ("deploy", {"a": [8501], "d": [8404]})


PROFILED = BASE_FILE + (
    "  dbg:\n    image: busybox\n    profiles: [debug]\n    ports: ['8005:80']\n"
    "  gpu:\n    image: busybox\n    profiles: [gpu]\n    ports: ['8005:80']\n"
)


@pytest.mark.parametrize("where", [".", "sub"])
def test_compose_profiles_and_project_name_in_the_env_file(tmp_path: Path, where: str) -> None:
    dotenv = "COMPOSE_PROFILES=debug\nCOMPOSE_PROJECT_NAME=fromdotenv\n"
    _write(tmp_path, {"compose.yaml": PROFILED, ".env": dotenv, "sub/.keep": ""})
    view = same_project(tmp_path / where)
    assert view == ("fromdotenv", {"a": [8001], "dbg": [8005]})


def test_disable_env_file_in_the_env_file_keeps_only_its_compose_settings(tmp_path: Path) -> None:
    dotenv = "COMPOSE_DISABLE_ENV_FILE=true\nCOMPOSE_PROJECT_NAME=kept\nA_PORT=8601\n"
    _write(tmp_path, {"compose.yaml": BASE_FILE, ".env": dotenv})
    assert same_project(tmp_path) == ("kept", {"a": [8001]})
    # the same with the file named
    named = _topogen(tmp_path, "reach", "--format", "json", "compose.yaml", env={})
    pairs = {(p["from"], p["to"]): p for p in json.loads(named.stdout)["pairs"]}
    assert pairs["host", "a"]["published"] == [8001]


@pytest.mark.parametrize("where", ["process", "dotenv"])
def test_compose_env_files_only_from_the_process(tmp_path: Path, where: str) -> None:
    setting = "COMPOSE_ENV_FILES=other.env"
    process = dict([setting.split("=")]) if where == "process" else {}
    _write(tmp_path, {"compose.yaml": BASE_FILE, "other.env": "A_PORT=8701\n"})
    _write(tmp_path, {".env": f"A_PORT=8801\n{setting if where == 'dotenv' else ''}\n"})
    assert same_project(tmp_path, process)[1] == {"a": [8701 if where == "process" else 8801]}


def test_diagnostics_name_files_from_where_one_stands(tmp_path: Path) -> None:
    clash = "services:\n  b:\n    image: busybox\n    ports: ['8001:81']\n"
    _write(tmp_path, {"compose.yaml": BASE_FILE, "compose.override.yaml": clash, "sub/.keep": ""})
    done = _topogen(tmp_path / "sub", "validate")
    assert done.returncode == 1, done.stderr
    col = clash.splitlines()[3].index("'8001") + 1
    assert f"../compose.override.yaml:4:{col}: [error]" in done.stderr, done.stderr
    # the Typer path (an option plain validate leaves to Typer) reads the same project
    typer = _topogen(tmp_path / "sub", "validate", "--profile", "*")
    assert typer.returncode == 1 and f"../compose.override.yaml:4:{col}" in typer.stderr


COMMANDS = [
    ["validate"],
    ["validate", "--profile", "*"],
    ["build", "-o", "out"],
    ["reach"],
    ["graph", "-o", "out.mmd"],
    ["explain", "a", "b"],
    ["import", "-o", "topology.yaml"],
    ["suggest", "-o", "suggested.yaml"],
    ["verify", "--live"],
    ["diff", "--base", "HEAD"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_no_project_is_a_usage_error_as_in_compose(tmp_path: Path, args: list[str]) -> None:
    assert _compose(tmp_path).returncode != 0
    if NOT_FOUND not in _compose(tmp_path).stderr:
        pytest.skip("a parent folder of the temporary folder holds a Compose file")
    (tmp_path / "topology.yaml").write_text(BASE_FILE, encoding="utf-8")  # not a Compose name
    done = _topogen(tmp_path, *args, env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert done.returncode == 2, done.stderr
    assert f"error: {NOT_FOUND}" in done.stderr and "Traceback" not in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["topology.yaml"]  # nothing written


@pytest.mark.parametrize(
    "listed,message",
    [
        ("compose.yaml:missing.yaml", "missing.yaml: no such file"),
        ("", ".: is a directory"),  # set but empty: the folder itself, which Compose cannot read
    ],
)
def test_a_compose_file_entry_that_names_no_file(tmp_path: Path, listed: str, message: str) -> None:
    _write(tmp_path, {"compose.yaml": BASE_FILE})
    env = {"COMPOSE_FILE": listed}
    assert _compose(tmp_path, env).returncode != 0
    done = _topogen(tmp_path, "validate", env=env)
    assert done.returncode == 2 and f"error: {message}" in done.stderr, done.stderr


@pytest.mark.parametrize("args", [["verify", "--live"], ["suggest"]], ids=" ".join)
def test_commands_that_read_one_file_say_which_the_project_has(
    tmp_path: Path, args: list[str]
) -> None:
    _write(tmp_path, {"compose.yaml": BASE_FILE, "compose.override.yaml": OVERRIDE_FILE})
    done = _topogen(tmp_path, *args, env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert done.returncode == 2, done.stderr
    assert "compose.yaml and compose.override.yaml" in done.stderr


def test_override_option_needs_a_file(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": BASE_FILE, "extra.yaml": EXTRA_FILE})
    for args in (["validate"], ["reach"], ["import", "-o", "t.yaml"]):
        done = _topogen(tmp_path, *args, "--override", "extra.yaml")
        assert done.returncode == 2 and "--override" in done.stderr, done.stderr


def test_build_and_import_of_the_project_here(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": BASE_FILE, "compose.override.yaml": OVERRIDE_FILE})
    _write(tmp_path, {".env": "A_PORT=8901\n", "sub/.keep": ""})
    expected = _model(_compose(tmp_path))
    built = _topogen(tmp_path / "sub", "build", "-o", "out")
    assert built.returncode == 0, built.stderr
    imported = _topogen(tmp_path / "sub", "import", "-o", "topology.yaml")
    assert imported.returncode == 0, imported.stderr
    rebuilt = _topogen(tmp_path / "sub", "build", "topology.yaml", "-o", "out2")
    assert rebuilt.returncode == 0, rebuilt.stderr
    for out in ("out", "out2"):
        config = [compose_binary(), "-f", f"{out}/docker-compose.yml", "config", "--format", "json"]
        done = subprocess.run(
            config, cwd=tmp_path / "sub", env=_env({"A_PORT": "8901"}), capture_output=True,
            text=True, timeout=60, check=False,
        )  # fmt: skip
        assert _model(done) == expected, out


def _model(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    return {n: sorted(p["published"] for p in s.get("ports", ())) for n, s in services.items()}


def test_diff_base_reads_the_project_at_the_revision(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": BASE_FILE, "compose.override.yaml": OVERRIDE_FILE})
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "base"]):
        subprocess.run([*git, *cmd], cwd=tmp_path, check=True, capture_output=True)
    opened = OVERRIDE_FILE.replace("8002:80", "8002:80', '9002:81")
    _write(tmp_path, {"compose.override.yaml": opened, "sub/.keep": ""})
    done = _topogen(tmp_path / "sub", "diff", "--base", "HEAD", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert "9002" in done.stdout and "../compose.override.yaml" in done.stderr + done.stdout


def test_walks_up_the_folders_one_came_through(tmp_path: Path) -> None:
    """Through a symbolic link, Compose walks up ``$PWD`` (Go's ``os.Getwd``), not the
    physical folders; a file the relative name would miss is named by its absolute path."""
    _write(tmp_path, {"proj/compose.yaml": BASE_FILE, "real/sub/.keep": ""})
    (tmp_path / "proj" / "link").symlink_to(tmp_path / "real" / "sub")
    here = tmp_path / "proj" / "link"
    assert same_project(here, {"PWD": str(here)}) == ("proj", {"a": [8001]})
    _write(
        tmp_path, {"proj/compose.yaml": "services:\n  a:\n    image: x\n    ports: ['99999:80']\n"}
    )
    done = _topogen(here, "validate", env={"PWD": str(here)})
    assert f"{tmp_path / 'proj' / 'compose.yaml'}:" in done.stderr, done.stderr
