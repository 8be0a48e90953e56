"""Compose files as they are: the dev/prod example with its override file, and policies in
``x-topogen`` proven on the Compose file itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tools import EXAMPLES, compose_binary

from topogen import pipeline
from topogen.analysis import reach

ENVIRONMENTS = os.path.join(EXAMPLES, "compose-environments")
COMPOSE = os.path.join(ENVIRONMENTS, "compose.yaml")
PROD = os.path.join(ENVIRONMENTS, "compose.prod.yaml")


def test_the_environments_example_is_clean_in_both_environments() -> None:
    for overrides in ((), (PROD,)):
        result = pipeline.check(COMPOSE, overrides=overrides)
        assert result.ok and result.diagnostics == [], [d.format() for d in result.diagnostics]


def test_the_production_override_is_merged_as_compose_merges_it() -> None:
    prod = pipeline.check(COMPOSE, overrides=(PROD,)).topology
    assert prod is not None and prod.services["api"].replicas == 3
    ports = {(p.published.start if p.published else None) for p in prod.services["web"].ports}
    dev = pipeline.check(COMPOSE).topology
    assert dev is not None and ports != {
        (p.published.start if p.published else None) for p in dev.services["web"].ports
    }


def test_policies_in_x_topogen_are_proven_and_located(tmp_path: Path) -> None:
    work = tmp_path / "shop"
    shutil.copytree(ENVIRONMENTS, work)
    (work / "join.yaml").write_text("services:\n  web:\n    networks: [front, back]\n")
    result = pipeline.check(str(work / "compose.yaml"), overrides=(str(work / "join.yaml"),))
    found = [(os.path.basename(d.file), d.line, d.rule) for d in result.diagnostics if d.is_error]
    text = (work / "compose.yaml").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if "deny: {from: web, to: db}" in t)
    assert found == [("compose.yaml", line, "policy-violated")]


def test_profiles_select_services_and_reach_sees_only_those() -> None:
    dev = pipeline.check(COMPOSE, profiles=["dev"]).topology
    default = pipeline.check(COMPOSE, profiles=[]).topology
    assert dev is not None and default is not None
    assert "adminer" in dev.services and "adminer" not in default.services
    assert "adminer" in reach.analyze(dev).endpoints


def test_the_built_file_is_the_same_project_for_compose(tmp_path: Path) -> None:
    build = pipeline.build(COMPOSE, str(tmp_path), overrides=(PROD,))
    assert build.files and not build.result.failed()
    pipeline.write(build.files)
    out = str(tmp_path / "docker-compose.yml")
    env = {**os.environ, "POSTGRES_PASSWORD": "x"}
    models = []
    dotenv = ["--env-file", os.path.join(ENVIRONMENTS, ".env")]  # the .env stays beside the input
    for files, directory, extra in (
        ([COMPOSE, PROD], ENVIRONMENTS, []),
        ([out], str(tmp_path), dotenv),
    ):
        args = [*extra, *(a for f in files for a in ("-f", f))]
        proc = subprocess.run(
            [
                compose_binary(),
                "-p",
                "shop",
                "--project-directory",
                directory,
                *args,
                "--profile",
                "dev",
                "config",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        models.append(json.loads(proc.stdout))
    assert models[0]["services"].keys() == models[1]["services"].keys()
    assert models[0]["services"]["api"]["deploy"] == models[1]["services"]["api"]["deploy"]
    assert [v["source"] for v in models[0]["services"]["web"]["volumes"]] == [
        v["source"] for v in models[1]["services"]["web"]["volumes"]
    ]  # relative paths re-expressed
    assert "x-topogen" not in Path(out).read_text(encoding="utf-8")


def test_a_build_beside_a_compose_file_says_compose_reads_that_file(tmp_path: Path) -> None:
    """docker-compose.yml written beside compose.yaml is not what `docker compose` runs there:
    the real binary picks compose.yaml, and the build says so; elsewhere it is silent."""
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n")
    beside = pipeline.build(str(tmp_path / "compose.yaml"), None)
    shadow = [d for d in beside.result.diagnostics if d.rule == "output-shadowed"]
    assert [str(tmp_path / "docker-compose.yml")] == list(beside.files)
    assert len(shadow) == 1 and "compose.yaml" in shadow[0].message
    pipeline.write(beside.files)
    (tmp_path / "compose.yaml").write_text("services:\n  api:\n    image: nginx\n")
    done = subprocess.run(
        [compose_binary(), "config", "--services"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )
    assert done.stdout.split() == ["api"]  # compose.yaml, not the output (web)
    elsewhere = pipeline.build(str(tmp_path / "compose.yaml"), str(tmp_path / "out"))
    assert not [d for d in elsewhere.result.diagnostics if d.rule == "output-shadowed"]
