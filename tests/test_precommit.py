"""The hooks of ``.pre-commit-hooks.yaml`` as pre-commit runs them.

The real ``pre-commit try-repo`` installs this repository (at its HEAD commit, so commit the
hooks file before running this) into its own virtualenv with pip, then runs a hook on a
scratch git repository. try-repo installs into a fresh temporary store on every call
(~20 s), so the tests make three calls, each running both hooks. Skipped, with the reason, when pre-commit cannot build the environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tools import ROOT

INSTALL_TIMEOUT = 600  # one pip install of topogen and its dependencies from PyPI
RUN_TIMEOUT = 120
GOOD = """\
name: hooked
networks:
  app: {subnet: 10.40.0.0/24}
services:
  web:
    image: nginx:alpine
    networks: {app: {ipv4_address: 10.40.0.10}}
"""
BAD = GOOD.replace("10.40.0.10", "10.41.0.10")  # outside the subnet
_LOCATED = re.compile(r"net/topology\.yaml:\d+:\d+: \[error\] ")
# An existing Compose project: the override file alone has no image (Compose refuses it
# alone), so the hook must read it over compose.yaml, as `docker compose` does.
COMPOSE = """\
services:
  api:
    image: nginx:alpine
    networks: {back: {ipv4_address: 10.50.0.10}}
networks:
  back:
    ipam: {config: [{subnet: 10.50.0.0/24}]}
x-topogen:
  policies:
    - allow: {from: api, to: db}
"""
OVERRIDE = """\
services:
  db:
    image: postgres:16
    networks: {back: {ipv4_address: 10.50.0.20}}
"""
OVERRIDE_BAD = OVERRIDE.replace("10.50.0.20", "10.51.0.20")


def git(*args: str, cwd: Path | str = ROOT) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(
        args=["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    ).stdout.strip()


@pytest.fixture(scope="module")
def head() -> str:
    """The commit pre-commit installs; its hooks file must be the one in the working tree."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    try:
        committed = git("show", "HEAD:.pre-commit-hooks.yaml")
    except subprocess.CalledProcessError:
        pytest.skip(".pre-commit-hooks.yaml is not committed; try-repo installs HEAD")
    with open(os.path.join(ROOT, ".pre-commit-hooks.yaml"), encoding="utf-8") as fh:
        assert fh.read().strip() == committed, "commit .pre-commit-hooks.yaml: try-repo uses HEAD"
    return git("rev-parse", "HEAD")


def try_repo(files: list[str], cwd: Path, sha: str) -> subprocess.CompletedProcess[str]:
    """Every hook of this repository on ``files``: try-repo installs into a fresh temporary
    store on each call (~20 s), so each call checks one state for both hooks."""
    return subprocess.run(
        check=False,
        args=[
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            ROOT,
            "--ref",
            sha,
            "--files",
            *files,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        env={**os.environ, "PRE_COMMIT_COLOR": "never"},
    )


def outcome(proc: subprocess.CompletedProcess[str], hook_name: str) -> str:
    match = re.search(
        rf"^{re.escape(hook_name)}\.+(Passed|Failed|\(no files to check\)Skipped)$",
        proc.stdout,
        re.MULTILINE,
    )
    if match is None:
        if "Passed" not in proc.stdout and "Failed" not in proc.stdout:
            pytest.skip(
                f"pre-commit could not create the hook environment: {proc.stdout[-800:]}"
                f"{proc.stderr[-800:]}"
            )
        raise AssertionError(f"no result for {hook_name!r} in {proc.stdout}")
    return match.group(1)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A scratch git repository with a topology in a sub-folder and an unrelated YAML file."""
    pytest.importorskip("pre_commit")
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "topology.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "other.yaml").write_text("- not a topology\n", encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "compose.yaml").write_text(COMPOSE, encoding="utf-8")
    (tmp_path / "app" / "compose.override.yaml").write_text(OVERRIDE, encoding="utf-8")
    git("add", ".", cwd=tmp_path)
    git("commit", "-q", "-m", "init", cwd=tmp_path)
    return tmp_path


def build(topo: Path) -> None:
    proc = subprocess.run(
        check=False,
        args=[sys.executable, "-m", "topogen", "build", str(topo)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr


def test_hooks_file_declares_the_hooks() -> None:
    with open(os.path.join(ROOT, ".pre-commit-hooks.yaml"), encoding="utf-8") as fh:
        hooks = {h["id"]: h for h in yaml.safe_load(fh)}
    assert hooks["topogen-validate"]["entry"] == "topogen validate"
    assert hooks["topogen-build-check"]["entry"] == "topogen build --check"
    assert hooks["topogen-compose"]["entry"] == "topogen validate --compose-project"
    for hook in (hooks["topogen-validate"], hooks["topogen-build-check"]):
        pattern = re.compile(hook["files"])
        assert pattern.search("topology.yaml") and pattern.search("a/b/topology.yml")
        assert not pattern.search("docker-compose.yml") and not pattern.search("my-topology.yaml")
    compose = re.compile(hooks["topogen-compose"]["files"])
    for name in (
        "compose.yaml",
        "compose.yml",
        "a/compose.prod.yaml",
        "compose.override.yml",
        "docker-compose.yml",
        "b/docker-compose.override.yaml",
        "docker-compose-dev.yml",
    ):
        assert compose.search(name), name
    for name in ("topology.yaml", "mycompose.yaml", "compose.json", "compose/app.yaml"):
        assert not compose.search(name), name


def test_both_pass_on_a_good_topology_with_fresh_output(scratch: Path, head: str) -> None:
    build(scratch / "net" / "topology.yaml")
    files = ["net/topology.yaml", "other.yaml", "app/compose.yaml", "app/compose.override.yaml"]
    proc = try_repo(files, scratch, head)
    assert outcome(proc, "topogen validate") == "Passed", proc.stdout
    assert outcome(proc, "topogen build --check") == "Passed", proc.stdout
    assert outcome(proc, "topogen validate (Compose files)") == "Passed", proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_validate_fails_on_a_bad_topology(scratch: Path, head: str) -> None:
    build(scratch / "net" / "topology.yaml")
    (scratch / "net" / "topology.yaml").write_text(BAD, encoding="utf-8")
    (scratch / "app" / "compose.override.yaml").write_text(OVERRIDE_BAD, encoding="utf-8")
    proc = try_repo(["net/topology.yaml", "app/compose.override.yaml"], scratch, head)
    assert outcome(proc, "topogen validate") == "Failed", proc.stdout
    assert outcome(proc, "topogen build --check") == "Failed", proc.stdout
    assert outcome(proc, "topogen validate (Compose files)") == "Failed", proc.stdout
    assert _LOCATED.search(proc.stdout), proc.stdout
    # the mistake is located in the override file, at the address it wrote
    line = OVERRIDE_BAD.splitlines().index("    networks: {back: {ipv4_address: 10.51.0.20}}") + 1
    col = OVERRIDE_BAD.splitlines()[line - 1].index("10.51.0.20") + 1
    assert f"app/compose.override.yaml:{line}:{col}: [error] " in proc.stdout, proc.stdout
    assert proc.returncode == 1


def test_build_check_fails_when_the_output_is_stale(scratch: Path, head: str) -> None:
    """net/ has a hand-edited output; net2/ none at all. Validate is happy with both."""
    output = scratch / "net" / "docker-compose.yml"
    build(scratch / "net" / "topology.yaml")
    output.write_text(output.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    edited = output.read_bytes()
    (scratch / "net2").mkdir()
    (scratch / "net2" / "topology.yaml").write_text(
        GOOD.replace("hooked", "other"), encoding="utf-8"
    )
    proc = try_repo(["net/topology.yaml", "net2/topology.yaml"], scratch, head)
    assert outcome(proc, "topogen validate") == "Passed", proc.stdout
    assert outcome(proc, "topogen build --check") == "Failed", proc.stdout
    assert "net/docker-compose.yml: stale" in proc.stdout
    assert "net2/docker-compose.yml: missing" in proc.stdout
    assert output.read_bytes() == edited, "the hook only checks; it writes nothing"
    assert not (scratch / "net2" / "docker-compose.yml").exists()
    assert proc.returncode == 1
