"""``topogen suggest`` on a flat one-network stack: the needed pairs stay reachable, the rest
go (both judged by ``reach`` on the rewritten file), Compose accepts the build, and only the
``networks:`` blocks change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tools import compose_config

from topogen import pipeline
from topogen.analysis import reach
from topogen.suggest import suggest

FLAT = """\
# shop: every service on one flat network
name: shop
services:
  web:
    image: nginx
    ports: ["8080:80"]   # the only way in
    networks: [app]
  api:
    image: api:1   # keep this comment
    networks:
      - app
  db:
    image: postgres
    networks:
      app:
        aliases: [database]
  cache:
    image: redis
    networks: [app]
  mailer:
    image: mailer
    networks: [app]
  metrics:
    image: prom
    networks: [app]
networks:
  app:
    driver: bridge   # one flat network
x-topogen:
  synthesize:
    egress: [mailer]
"""
APPENDED = "  policies:\n    - allow: {from: web, to: api}\n"
SERVICES = ["api", "cache", "db", "mailer", "metrics", "web"]
NEEDED = [("web", "api"), ("api", "db"), ("api", "cache"), ("api", "mailer"), ("metrics", "api")]


def reachable(file: str, text: str | None = None) -> set[tuple[str, str]]:
    result = pipeline.check(file, text)
    assert result.topology is not None
    matrix = reach.analyze(result.topology, SERVICES, SERVICES)
    return {(p.source, p.target) for p in matrix.pairs if p.reachable}


@pytest.fixture
def flat(tmp_path: Any) -> str:
    path = tmp_path / "compose.yaml"
    path.write_text(FLAT)
    return str(path)


def test_keeps_every_needed_pair_and_removes_the_rest(flat: str, tmp_path: Any) -> None:
    before = reachable(flat)
    assert len(before) == 30  # one flat network: every ordered pair
    found = suggest(flat, NEEDED)
    after = reachable(flat, found.text)
    assert set(NEEDED) <= after
    # what remains beyond the needs: their reverse (a network is symmetric) and the published
    # port of web seen from the egress network's members (mailer)
    allowed = {*NEEDED, *((b, a) for a, b in NEEDED), ("mailer", "web")}
    assert after == allowed
    assert found.before == frozenset(before) and found.after == frozenset(after)
    assert found.summary().startswith(f"{len(before - after)} reachable service pairs removed, ")
    out = tmp_path / "out"
    written = tmp_path / "suggested.yaml"
    written.write_text(found.text)
    b = pipeline.build(str(written), str(out))
    assert b.result.ok, b.result.diagnostics
    pipeline.write(b.files)
    done = compose_config(str(out / "docker-compose.yml"), "-q")
    assert done.returncode == 0, done.stderr


def test_only_the_networks_blocks_change(flat: str) -> None:
    found = suggest(flat, NEEDED)
    removed = [
        ln[1:]
        for ln in found.diff().splitlines()
        if ln.startswith("-") and not ln.startswith("---")
    ]
    assert removed == [
        "    networks: [app]",
        "      - app",
        "      app:",
        "        aliases: [database]",
        "    networks: [app]",
        "    networks: [app]",
        "    networks: [app]",
        "  app:",
        "    driver: bridge   # one flat network",
    ]
    for line in FLAT.splitlines():
        if "#" in line and "flat network" not in line:
            assert line in found.text.splitlines()
    # db keeps its alias on its new network, so api's DATABASE_URL still resolves
    result = pipeline.check(flat, found.text)
    assert result.topology is not None
    assert reach.analyze(result.topology, ["api"], ["db"]).pairs[0].names == ("database", "db")


def run(*args: str, cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topogen", "suggest", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_cli_prints_a_diff_and_writes_only_where_asked(flat: str, tmp_path: Any) -> None:
    with open(flat, "a", encoding="utf-8") as fh:
        fh.write(APPENDED)
    done = run(flat, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"--- {flat}\n+++ {flat} (suggested)\n")
    assert "reachable service pairs removed" in done.stderr
    out = tmp_path / "new.yaml"
    assert run(flat, "-o", str(out), cwd=str(tmp_path)).returncode == 0
    assert reachable(str(out)) == {("web", "api"), ("api", "web"), ("mailer", "web")}
    again = run(flat, "-o", str(out), cwd=str(tmp_path))
    assert again.returncode == 2 and "--force" in again.stderr
    assert run(flat, "-o", str(out), "--force", cwd=str(tmp_path)).returncode == 0
    itself = run(flat, "-o", flat, "--force", cwd=str(tmp_path))
    assert itself.returncode == 2 and Path(flat).read_text() == FLAT + APPENDED


def test_bad_input_is_a_located_error_and_nothing_is_written(tmp_path: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("services:\n  web:\n    image: busybox\n    netwrks: [a]\n")
    out = tmp_path / "out.yaml"
    done = run(str(bad), "-o", str(out), cwd=str(tmp_path))
    assert done.returncode == 1
    assert (
        f"{bad}:4:5: [error] unknown key 'netwrks'" in done.stderr
        and "Traceback" not in done.stderr
    )
    assert not os.path.exists(out)


PINNED = """\
name: pinned
services:
  web:
    image: nginx
    networks:
      edge:
        ipv4_address: 10.77.0.10
        aliases: [www]
      app:
        ipv4_address: 172.28.5.10
  api:
    image: api:1
    networks:
      app:
        ipv4_address: 172.28.5.20
networks:
  edge:
    external: true
  app:
    ipam:
      config:
        - subnet: 172.28.5.0/24
"""


def test_external_attachments_are_kept_and_dropped_addresses_are_warned(tmp_path: Any) -> None:
    """An external network stays as the service was attached to it (address and aliases); an
    address pinned on a replaced network cannot follow it, and says so where it was written."""
    path = tmp_path / "compose.yaml"
    path.write_text(PINNED)
    found = suggest(str(path), [("web", "api")])
    after = pipeline.check(str(path), found.text)
    assert after.topology is not None and after.ok, after.diagnostics
    web = after.src.data["services"]["web"]["networks"]
    assert web["edge"] == {"ipv4_address": "10.77.0.10", "aliases": ["www"]}
    assert "app" not in web and "app" not in after.src.data["networks"]
    dropped = [d for d in found.diagnostics if d.rule == "synth-address-dropped"]
    lines = PINNED.splitlines()
    want = sorted(
        (i + 1, ln.index("ipv4_address") + 1)
        for i, ln in enumerate(lines)
        if "172.28.5." in ln and "ipv4_address" in ln
    )
    assert sorted((d.line, d.col) for d in dropped) == want
    assert all(d.file == str(path) for d in dropped)
