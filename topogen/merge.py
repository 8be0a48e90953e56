"""Compose's merge rules over plain YAML data, each value keeping the file it came from.

This is compose-go's ``override/merge.go`` (how two definitions of one key combine), as the
Compose v2.40 binary runs it, applied to the data as written (no interpolation, no canonical
forms): the merged document, given to ``docker compose``, means what the files meant
together. :mod:`topogen.unicity` then removes the entries a later one replaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .origins import Loc, Origins

Key = tuple[str, ...]


class MergeError(Exception):
    """Two definitions that Compose refuses to merge (a mapping over a list, ...)."""

    def __init__(self, message: str, loc: Loc | None) -> None:
        super().__init__(message)
        self.loc = loc


def matches(path: Key, pattern: Key) -> bool:
    return len(path) == len(pattern) and all(p in ("*", k) for k, p in zip(path, pattern))


class Side:
    """One of the two values being merged, with where it came from (scalars have no identity)."""

    __slots__ = ("loc", "value")

    def __init__(self, value: Any, loc: Loc | None) -> None:
        self.value = value
        self.loc = loc


Merger = Callable[[Side, Side, Key, Origins], Any]


def merge(base: Side, over: Side, path: Key, org: Origins) -> Any:
    """compose-go ``MergeYaml``: ``over`` (a later file) merged onto ``base``."""
    for pattern, special in SPECIALS:
        if matches(path, pattern):
            return special(base, over, path, org)
    b, o = base.value, over.value
    if o is None:
        return b
    if isinstance(b, dict):
        if not isinstance(o, dict):
            raise MergeError(f"cannot override {'.'.join(path)}", over.loc)
        return merge_mappings(b, o, path, org)
    if isinstance(b, list):
        if not isinstance(o, list):
            raise MergeError(f"cannot override {'.'.join(path)}", over.loc)
        return org.new_list(org.pairs(b) + org.pairs(o), base.loc)
    return o


def merge_mappings(
    base: dict[str, Any], over: dict[str, Any], path: Key, org: Origins
) -> dict[str, Any]:
    for key, value in over.items():
        loc = org.of(over, key)
        if key not in base:
            org.put(base, key, value, loc)
            continue
        old = Side(base[key], org.of(base, key))
        merged = merge(old, Side(value, loc), (*path, key), org)
        org.put(base, key, merged, old.loc if merged is old.value else loc)
    return base


def _override(base: Side, over: Side, path: Key, org: Origins) -> Any:
    return over.value


def _logging(base: Side, over: Side, path: Key, org: Origins) -> Any:
    b, o = base.value, over.value
    if not isinstance(b, dict) or not isinstance(o, dict):
        return merge(base, over, (*path, ""), org)  # compose-go panics here; the schema refuses it
    if "driver" not in o or "driver" not in b or o["driver"] == b["driver"]:
        return merge_mappings(b, o, path, org)
    return o


def _build(base: Side, over: Side, path: Key, org: Origins) -> Any:
    if isinstance(base.value, str) and isinstance(over.value, str):
        return over.value
    return merge_mappings(_as_context(base, org), _as_context(over, org), path, org)


def _as_context(side: Side, org: Origins) -> dict[str, Any]:
    if isinstance(side.value, dict):
        return side.value
    out: dict[str, Any] = {}
    org.adopt(out, side.loc)
    org.put(out, "context", side.value, side.loc)
    return out


def _to_mapping(default: dict[str, Any] | None) -> Merger:
    """Lists of names become mappings (``depends_on``, service ``networks``, ``models``)."""

    def merger(base: Side, over: Side, path: Key, org: Origins) -> Any:
        b, o = base.value, over.value
        if isinstance(b, list) and isinstance(o, list):
            seen = set(b)
            return org.new_list(
                org.pairs(b) + [p for p in org.pairs(o) if p[0] not in seen], base.loc
            )
        return merge_mappings(
            _as_mapping(base, default, org), _as_mapping(over, default, org), path, org
        )

    return merger


def _as_mapping(side: Side, default: dict[str, Any] | None, org: Origins) -> dict[str, Any]:
    value = side.value
    if isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    org.adopt(out, side.loc)
    for i, name in enumerate(value if isinstance(value, list) else []):
        org.put(out, name, dict(default) if default is not None else None, org.of(value, i))
    return out


def _to_sequence(base: Side, over: Side, path: Key, org: Origins) -> Any:
    """Key=value lists and mappings (``environment``, ``labels``...): later keys win."""
    b, o = base.value, over.value
    if isinstance(b, dict) and isinstance(o, dict):
        for key in o:  # a null value replaces too: ``KEY`` alone, taken from the environment
            org.put(b, key, o[key], org.of(o, key))
        return b
    return org.new_list(_sequence(base, org) + _sequence(over, org), base.loc)


def _extra_hosts(base: Side, over: Side, path: Key, org: Origins) -> Any:
    right = _sequence(base, org)
    seen = [value for value, _ in right]
    return org.new_list(right + [p for p in _sequence(over, org) if p[0] not in seen], base.loc)


def _sequence(side: Side, org: Origins) -> list[tuple[Any, Loc | None]]:
    """compose-go ``convertIntoSequence``: a mapping becomes sorted ``key=value`` strings."""
    value = side.value
    if isinstance(value, list):
        return org.pairs(value)
    if isinstance(value, str):
        return [(value, side.loc)]
    if not isinstance(value, dict):
        return []
    out: list[tuple[Any, Loc | None]] = []
    for key, item in value.items():
        loc = org.of(value, key)
        if item is None:
            out.append((key, loc))
        elif isinstance(item, list):
            out.extend((f"{key}={go_string(v)}", loc) for v in item)
        else:
            out.append((f"{key}={go_string(item)}", loc))
    return sorted(out, key=lambda p: str(p[0]))


def go_string(value: Any) -> str:
    """``fmt.Sprintf("%v", value)`` for YAML scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _ipam_config(base: Side, over: Side, path: Key, org: Origins) -> Any:
    """compose-go ``mergeIPAMConfig``, including its quirks (configs match by subnet)."""
    if not isinstance(base.value, list) or not isinstance(over.value, list):
        raise MergeError(f"{'.'.join(path)}: unexpected type", over.loc)
    result: list[Any] = []
    for right in base.value:
        for left in over.value:
            if not isinstance(left, dict) or not isinstance(right, dict):
                continue
            subnet = left.get("subnet")
            if subnet != right.get("subnet") and not any(c.get("subnet") == subnet for c in result):
                result.append(left)
                continue
            merged = merge_mappings(right, left, path, org)
            same = [i for i, c in enumerate(result) if c.get("subnet") == merged.get("subnet")]
            if same:
                result[same[0]] = merged
            else:
                result.append(merged)
    out: list[Any] = []
    org.adopt(out, base.loc)
    out.extend(result)
    return out


SPECIALS: tuple[tuple[Key, Merger], ...] = tuple(
    (tuple(pattern.split(".")), merger)
    for pattern, merger in (
        ("networks.*.ipam.config", _ipam_config),
        ("networks.*.labels", _to_sequence),
        ("volumes.*.labels", _to_sequence),
        ("services.*.annotations", _to_sequence),
        ("services.*.build", _build),
        ("services.*.build.args", _to_sequence),
        ("services.*.build.additional_contexts", _to_sequence),
        ("services.*.build.extra_hosts", _extra_hosts),
        ("services.*.build.labels", _to_sequence),
        ("services.*.command", _override),
        ("services.*.depends_on", _to_mapping({"condition": "service_started", "required": True})),
        ("services.*.deploy.labels", _to_sequence),
        ("services.*.dns", _to_sequence),
        ("services.*.dns_opt", _to_sequence),
        ("services.*.dns_search", _to_sequence),
        ("services.*.entrypoint", _override),
        ("services.*.env_file", _to_sequence),
        ("services.*.label_file", _to_sequence),
        ("services.*.environment", _to_sequence),
        ("services.*.extra_hosts", _extra_hosts),
        ("services.*.healthcheck.test", _override),
        ("services.*.labels", _to_sequence),
        ("services.*.logging", _logging),
        ("services.*.models", _to_mapping(None)),
        ("services.*.networks", _to_mapping(None)),
        ("services.*.sysctls", _to_sequence),
        ("services.*.tmpfs", _to_sequence),
        ("services.*.ulimits.*", _override),
    )
)
