"""The GitHub Action: action.yml runs action/run.sh, which the suite runs as a script against a
real git repository with two commits (topogen already installed: ``TOPOGEN_PYTHON``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml
from tools import ROOT

SCRIPT = os.path.join(ROOT, "action", "run.sh")
BEFORE = """\
services:
  web: {image: x, ports: ["8080:80"], networks: [front]}
  api: {image: x, expose: ["3000"], networks: [front, back]}
  db: {image: x, expose: ["5432"], networks: [back]}
networks:
  front: {}
  back: {internal: true}
x-topogen:
  policies:
    - allow: {from: api, to: db, port: 5432}
"""
#: the pull request: web joins the back network, so it reaches db
AFTER = BEFORE.replace("networks: [front]}", "networks: [front, back]}")

ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def _git(repo: Any, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **ENV}
    )


@pytest.fixture
def repo(tmp_path: Any) -> Any:
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q")
    (path / "compose.yaml").write_text(BEFORE)
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "base")
    (path / "compose.yaml").write_text(AFTER)
    (path / "other.yaml").write_text(BEFORE)  # a file the base does not have
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "pull request")
    return path


def _run(repo: Any, tmp_path: Any, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    summary = tmp_path / "summary.md"
    summary.write_text("")
    done = subprocess.run(
        ["bash", SCRIPT],
        check=False,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "TOPOGEN_PYTHON": sys.executable,
            "GITHUB_STEP_SUMMARY": str(summary),
            "TOPOGEN_FILES": "compose.yaml\nother.yaml",
            "TOPOGEN_BASE": "HEAD~1",
            **env,
        },
    )
    return done, summary.read_text()


def test_green_and_the_summary_names_the_changed_pair(repo: Any, tmp_path: Any) -> None:
    done, summary = _run(repo, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(
        r"^\| reachability \| web \| db \| no \| yes via back", summary, re.MULTILINE
    ), summary
    assert "`HEAD~1:./compose.yaml` → `compose.yaml`" in summary
    assert "New file: not at HEAD~1" in summary
    assert "::error" not in done.stdout


def test_fail_on_and_validation_errors_fail(repo: Any, tmp_path: Any) -> None:
    done, _ = _run(repo, tmp_path, TOPOGEN_FAIL_ON="any")
    assert done.returncode == 1
    (repo / "compose.yaml").write_text(AFTER.replace("x-topogen:", "x-topogen:\n  targets: [nope]"))
    done, _ = _run(repo, tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("::error file=compose.yaml"), done.stdout
    assert _run(repo, tmp_path, TOPOGEN_FILES=" ")[0].returncode == 2


def test_sarif_branch_is_guarded(repo: Any, tmp_path: Any) -> None:
    done, _ = _run(repo, tmp_path, TOPOGEN_SARIF="true")
    assert done.returncode == 0, done.stdout + done.stderr
    helps = subprocess.run(
        [sys.executable, "-m", "topogen", "validate", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "sarif" in helps:
        assert json.loads((repo / "topogen.sarif").read_text())["version"] == "2.1.0"
    else:
        assert "cannot write SARIF" in done.stdout
        assert not (repo / "topogen.sarif").exists()


def test_action_runs_the_script_with_its_inputs() -> None:
    with open(os.path.join(ROOT, "action.yml"), encoding="utf-8") as fh:
        action = yaml.safe_load(fh)
    assert action["runs"]["using"] == "composite"
    [step] = [s for s in action["runs"]["steps"] if "run" in s]
    assert step["run"] == 'bash "$GITHUB_ACTION_PATH/action/run.sh"'
    with open(SCRIPT, encoding="utf-8") as fh:
        script = fh.read()
    read = set(re.findall(r"\$\{(TOPOGEN_[A-Z_]+)", script)) - {"TOPOGEN_PYTHON"}
    assert set(step["env"]) == read
    for name, value in step["env"].items():
        match = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", value)
        assert match and match.group(1) in action["inputs"], name
