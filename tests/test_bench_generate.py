"""bench/generate.py: deterministic, and its topologies are clean and compile to a Compose
file the real ``docker-compose config`` accepts with the shape the generator promises."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys

import pytest
import yaml
from tools import ROOT, compose_config

from topogen import pipeline

GENERATOR = os.path.join(ROOT, "bench", "generate.py")
sys.path.insert(0, os.path.dirname(GENERATOR))
import generate


def _cli(n: int) -> str:
    return subprocess.run(
        [sys.executable, GENERATOR, str(n)], capture_output=True, text=True, check=True
    ).stdout


def test_deterministic() -> None:
    assert _cli(30) == _cli(30) == generate.generate(30)
    assert generate.generate(30) != generate.generate(31)


@pytest.mark.parametrize("bad", ["0", "-3", "x", ""])
def test_usage_error(bad: str) -> None:
    proc = subprocess.run(
        [sys.executable, GENERATOR, bad], check=False, capture_output=True, text=True
    )
    assert proc.returncode == 2 and "usage" in proc.stderr and not proc.stdout


@pytest.mark.parametrize("n", [1, 9, 40])
def test_validates_with_no_diagnostics(n: int) -> None:
    result = pipeline.check("topology.yaml", generate.generate(n))
    assert [d.format() for d in result.diagnostics] == []
    assert result.ok


def test_shape_as_compose_reads_it(tmp_path: os.PathLike[str]) -> None:
    n = 40
    result = pipeline.check(os.path.join(tmp_path, "topology.yaml"), generate.generate(n))
    assert result.topology is not None
    files = pipeline.compile(result.topology, str(tmp_path))
    out = os.path.join(tmp_path, "docker-compose.yml")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(files["docker-compose.yml"])
    proc = compose_config(out, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    model = json.loads(proc.stdout)
    assert len(model["services"]) == n
    assert len(model["networks"]) == n // 10
    assert len(model["volumes"]) == n // 4
    subnets = [
        ipaddress.ip_network(net["ipam"]["config"][0]["subnet"])
        for net in model["networks"].values()
    ]
    assert all(not a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])
    published = []
    for svc in model["services"].values():
        ((net, attachment),) = svc["networks"].items()
        subnet = ipaddress.ip_network(model["networks"][net]["ipam"]["config"][0]["subnet"])
        assert ipaddress.ip_address(attachment["ipv4_address"]) in subnet
        assert sorted(v["type"] for v in svc["volumes"]) == ["tmpfs", "volume"]
        assert svc["tmpfs"] and svc["environment"] and svc["labels"]
        published += [p["published"] for p in svc.get("ports", [])]
    assert len(published) == n // 5 == len(set(published))


def test_generator_text_is_plain_yaml() -> None:
    """The topology parses with plain PyYAML too, to the counts the docstring promises."""
    data = yaml.safe_load(generate.generate(200))
    assert (len(data["services"]), len(data["networks"]), len(data["volumes"])) == (200, 20, 50)
