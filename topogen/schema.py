"""The JSON Schema of the topology language, generated from :mod:`topogen.spec`."""

from __future__ import annotations

import json
from typing import Any

SCHEMA_ID = "https://topogen.dev/schemas/topology.schema.json"


def generate() -> dict[str, Any]:
    from .spec import Topology

    schema = Topology.model_json_schema(by_alias=True)
    schema["properties"]["x-*"] = {}  # documented below; patternProperties carries the rule
    del schema["properties"]["x-*"]
    schema["patternProperties"] = {
        "^x-": {"description": "Extension fields, e.g. YAML anchors; ignored."}
    }
    return {"$schema": "http://json-schema.org/draft-07/schema#", "$id": SCHEMA_ID, **schema}


def text() -> str:
    return json.dumps(generate(), indent=2, sort_keys=False) + "\n"
