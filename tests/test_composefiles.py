"""``validate --compose-project``: each Compose file checked with the files ``docker compose``
reads with it. The default pairing is decided by the real Compose binary run with no ``-f``
in the folder; the ``compose.<env>.yaml`` pairing by Compose refusing the file alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tools import compose_binary

from topogen import pipeline
from topogen.composefiles import BASE, OVERRIDE, project_of, projects


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _compose_services(folder: Path, *files: str) -> set[str]:
    args = [a for f in files for a in ("-f", f)]
    proc = subprocess.run(
        [compose_binary(), *args, "config", "--services"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in ("COMPOSE_FILE", "COMPOSE_PROFILES")},
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def _topogen_services(file: str, overrides: tuple[str, ...]) -> set[str]:
    result = pipeline.check(file, overrides=overrides)
    assert result.topology is not None, result.diagnostics
    return set(result.topology.services)


@pytest.mark.parametrize("base", BASE)
@pytest.mark.parametrize("override", [None, *OVERRIDE])
def test_default_files_as_compose_reads_them(tmp_path: Path, base: str, override: str) -> None:
    files = {base: "services:\n  a: {image: a}\n"}
    if override:
        files[override] = "services:\n  b: {image: b}\n  a: {environment: [X=1]}\n"
    _write(tmp_path, files)
    expected = _compose_services(tmp_path)
    for name in files:
        first, extra = project_of(str(tmp_path / name))
        assert _topogen_services(first, extra) == expected, name


def test_first_base_and_first_override_win_as_in_compose(tmp_path: Path) -> None:
    _write(tmp_path, {name: f"services:\n  s{i}: {{image: x}}\n" for i, name in enumerate(BASE)})
    _write(tmp_path, {n: f"services:\n  o{i}: {{image: x}}\n" for i, n in enumerate(OVERRIDE)})
    first, extra = project_of(str(tmp_path / BASE[0]))
    assert _topogen_services(first, extra) == _compose_services(tmp_path)


def test_an_incomplete_env_file_is_read_over_the_base(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": "services:\n  web: {image: nginx}\n",
            "compose.prod.yaml": "services:\n  web:\n    environment: [MODE=prod]\n",
            "docker-compose-dev.yml": "services:\n  tool: {image: busybox}\n",
        },
    )
    prod = str(tmp_path / "compose.prod.yaml")
    alone = subprocess.run(
        [compose_binary(), "-f", prod, "config", "-q"], check=False, capture_output=True, timeout=60
    )
    assert alone.returncode != 0, "Compose refuses the override file alone"
    assert project_of(prod) == (str(tmp_path / "compose.yaml"), (prod,))
    # a complete file beside the base is a standalone project (`docker compose -f` it alone)
    dev = str(tmp_path / "docker-compose-dev.yml")
    assert project_of(dev) == (dev, ())
    # and a topology is always alone
    (tmp_path / "topology.yaml").write_text("services: {}\n", encoding="utf-8")
    assert project_of(str(tmp_path / "topology.yaml")) == (str(tmp_path / "topology.yaml"), ())


def test_each_project_is_checked_once(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": "services:\n  web: {image: nginx}\n",
            "compose.override.yaml": "services:\n  web: {ports: ['80:80']}\n",
        },
    )
    files = [str(tmp_path / "compose.override.yaml"), str(tmp_path / "compose.yaml")]
    assert projects(files) == [
        (str(tmp_path / "compose.yaml"), (str(tmp_path / "compose.override.yaml"),))
    ]


def test_cli_locates_the_mistake_in_the_override(tmp_path: Path) -> None:
    base = "services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n"
    override = "services:\n  api:\n    image: api\n    ports: ['8080:81']\n"
    _write(tmp_path, {"compose.yaml": base, "compose.override.yaml": override})
    proc = subprocess.run(
        [sys.executable, "-m", "topogen", "validate", "--compose-project", "compose.override.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    col = override.splitlines()[3].index("'8080") + 1  # the scalar, from its quote
    assert f"compose.override.yaml:4:{col}: [error]" in proc.stderr, proc.stderr
    assert "duplicate-published-port" in proc.stderr
    # alone, this override is a complete project of its own, and clean: the clash is in the pair
    proc = subprocess.run(
        [sys.executable, "-m", "topogen", "validate", "compose.override.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr  # api has an image: a complete project alone


def test_override_option_conflicts(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  web: {image: nginx}\n"})
    proc = subprocess.run(
        [sys.executable, "-m", "topogen", "validate", "--compose-project"]
        + ["--override", "compose.yaml", "compose.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "--override" in proc.stderr
