"""The checked-in JSON Schema is exactly what `topogen schema` prints, and documents every field."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tools import ROOT

SCHEMA = os.path.join(ROOT, "schemas", "topology.schema.json")


def _printed() -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "topogen", "schema"], capture_output=True, text=True, check=True
    )
    return proc.stdout


def test_checked_in_schema_matches_generated() -> None:
    with open(SCHEMA, encoding="utf-8") as fh:
        assert fh.read() == _printed(), (
            "schemas/topology.schema.json is stale: run `topogen schema > schemas/topology.schema.json`"
        )


def _properties(schema: dict) -> list[tuple[str, str, dict]]:
    found = [("(root)", k, v) for k, v in schema.get("properties", {}).items()]
    for name, definition in schema.get("$defs", {}).items():
        found += [(name, k, v) for k, v in definition.get("properties", {}).items()]
    return found


def test_every_field_has_a_description() -> None:
    schema = json.loads(_printed())
    missing = [
        f"{owner}.{key}" for owner, key, prop in _properties(schema) if not prop.get("description")
    ]
    assert missing == []
    assert len(_properties(schema)) > 150  # the whole language, not a fragment


def test_schema_rejects_unknown_keys_like_the_validator(tmp_path) -> None:
    bad = tmp_path / "topology.yaml"
    bad.write_text("name: x\nservices:\n  web: {image: nginx, portz: ['80']}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", SCHEMA, str(bad)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stdout
    assert "portz" in proc.stdout
