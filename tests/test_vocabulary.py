"""Every property of the Compose Specification's JSON Schema is a key of the topology language
at the same place (the schema check-jsonschema ships as ``vendor.compose-spec``), so a Compose
file never meets an "unknown key" in topogen."""

from __future__ import annotations

import importlib.resources
import json
from typing import Any

import pytest

from topogen import spec

SCHEMA: dict[str, Any] = json.loads(
    importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    .joinpath("compose-spec.json")
    .read_text()
)
DEFS: dict[str, Any] = SCHEMA["$defs"]


def props(node: dict[str, Any]) -> dict[str, Any]:
    """The properties of a schema object, through $ref, allOf and oneOf/anyOf object branches."""
    if "$ref" in node:
        return props(DEFS[node["$ref"].rsplit("/", 1)[-1]])
    out = dict(node.get("properties") or {})
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(key, ()):
            out.update(props(sub))
    return out


def fields(model: type[spec.Model]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def at(*path: str) -> dict[str, Any]:
    """The schema object at a path of property names (and ``[]`` for array items)."""
    node: dict[str, Any] = {"properties": SCHEMA["properties"]}
    for part in path:
        node = _items(node) if part == "[]" else _object(props(node)[part])
    return node


def _object(node: dict[str, Any]) -> dict[str, Any]:
    """The object schemas a value may be (its own properties, its oneOf/anyOf branches, or the
    values of a map of user-chosen names), as one allOf."""
    if "$ref" in node:
        return _object(DEFS[node["$ref"].rsplit("/", 1)[-1]])
    found = [node] if node.get("properties") else []
    for key in ("oneOf", "anyOf", "allOf"):
        found += [_object(s) for s in node.get(key, ())]
    if not node.get("properties"):
        found += [
            _object(v)
            for k, v in (node.get("patternProperties") or {}).items()
            if not k.startswith("^x-") and isinstance(v, dict)
        ]
    return {
        "allOf": found,
        "items": node.get("items")
        or next((s.get("items") for s in node.get("oneOf", ()) if s.get("items")), None),
    }


def _items(node: dict[str, Any]) -> dict[str, Any]:
    items = node.get("items") or next(
        (s.get("items") for s in node.get("allOf", ()) if s.get("items")), None
    )
    return _object(items or {})


PLACES = [
    ((), spec.Topology),
    (("services",), spec.Service),
    (("services", "build"), spec.Build),
    (("services", "build", "secrets", "[]"), spec.FileRef),
    (("services", "deploy"), spec.Deploy),
    (("services", "deploy", "resources"), spec.Limits),
    (("services", "deploy", "resources", "limits"), spec.Resources),
    (("services", "deploy", "resources", "reservations"), spec.Resources),
    (("services", "deploy", "placement"), spec.Placement),
    (("services", "deploy", "restart_policy"), spec.RestartPolicy),
    (("services", "deploy", "update_config"), spec.UpdateConfig),
    (("services", "deploy", "rollback_config"), spec.UpdateConfig),
    (("services", "healthcheck"), spec.Healthcheck),
    (("services", "logging"), spec.Logging),
    (("services", "ports", "[]"), spec.Port),
    (("services", "volumes", "[]"), spec.Mount),
    (("services", "volumes", "[]", "bind"), spec.BindOptions),
    (("services", "volumes", "[]", "volume"), spec.VolumeOptions),
    (("services", "volumes", "[]", "tmpfs"), spec.TmpfsOptions),
    (("services", "volumes", "[]", "image"), spec.ImageOptions),
    (("services", "networks"), spec.ServiceNetwork),
    (("services", "depends_on"), spec.DependsOn),
    (("services", "secrets", "[]"), spec.FileRef),
    (("services", "env_file", "[]"), spec.EnvFile),
    (("networks",), spec.Network),
    (("networks", "ipam"), spec.Ipam),
    (("networks", "ipam", "config", "[]"), spec.IpamConfig),
    (("volumes",), spec.Volume),
    (("secrets",), spec.Secret),
    (("configs",), spec.Config),
]


@pytest.mark.parametrize(("path", "model"), PLACES, ids=["/".join(p) or "top" for p, _ in PLACES])
def test_every_compose_property_is_a_key(path: tuple[str, ...], model: type[spec.Model]) -> None:
    wanted = set(props(at(*path)))
    assert wanted, f"the schema has no properties at {path}: the walk is wrong"
    assert wanted - fields(model) == set()


def test_the_walk_finds_the_places_it_claims() -> None:
    """The control: a property that is not in the model is reported."""
    assert "gpus" in props(at("services")) and "subnet" in props(
        at("networks", "ipam", "config", "[]")
    )
    assert "propagation" in props(at("services", "volumes", "[]", "bind"))
