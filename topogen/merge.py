"""Compose's merge rules over plain YAML data, each value keeping the file it came from.

This is compose-go's ``override/merge.go`` (how two definitions of one key combine) and
``override/uncity.go`` (which sequence entries replace each other), as the Compose v2.40
binary runs them, applied to the data as written (no interpolation, no canonical forms):
the merged document, given to ``docker compose``, means what the files meant together.

Every container and scalar knows its origin ``(file, path inside that file)`` through an
:class:`Origins` table, so a diagnostic on the merged data points at the line that
contributed the value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .diagnostics import Path

Loc = tuple[str, Path]
Key = tuple[str, ...]


class MergeError(Exception):
    """Two definitions that Compose refuses to merge (a mapping over a list, ...)."""

    def __init__(self, message: str, loc: Loc | None) -> None:
        super().__init__(message)
        self.loc = loc


class Origins:
    """Where each value came from: containers by identity, scalars by (container, key).

    The table holds a reference to every container it knows, so identities stay unique.
    """

    def __init__(self) -> None:
        self.nodes: dict[int, tuple[Any, Loc]] = {}
        self.leaves: dict[int, dict[Any, Loc]] = {}

    def register(self, value: Any, loc: Loc) -> None:
        """Record ``value`` (read from ``loc``) and everything under it."""
        if not isinstance(value, (dict, list)):
            return
        self.nodes[id(value)] = (value, loc)
        file, path = loc
        for key, child in _items(value):
            if isinstance(child, (dict, list)):
                self.register(child, (file, (*path, key)))
            else:
                self.leaves.setdefault(id(value), {})[key] = (file, (*path, key))

    def of(self, container: Any, key: Any) -> Loc | None:
        child = container[key]
        if isinstance(child, (dict, list)):
            return self.loc(child)
        return self.leaves.get(id(container), {}).get(key)

    def loc(self, value: Any) -> Loc | None:
        found = self.nodes.get(id(value))
        return found[1] if found is not None else None

    def put(self, container: Any, key: Any, value: Any, loc: Loc | None) -> None:
        """``container[key] = value``, remembering that a scalar value came from ``loc``."""
        container[key] = value
        if not isinstance(value, (dict, list)) and loc is not None:
            self.leaves.setdefault(id(container), {})[key] = loc

    def move(self, value: Any, loc: Loc | None) -> None:
        """The container ``value`` now stands for the one at ``loc`` (a service after ``extends``)."""
        if loc is not None:
            self.nodes[id(value)] = (value, loc)

    def adopt(self, value: Any, loc: Loc | None) -> None:
        """A container made by the merge itself (e.g. a mapping rewritten as a list)."""
        if loc is not None and id(value) not in self.nodes:
            self.nodes[id(value)] = (value, loc)

    def pairs(self, value: list[Any]) -> list[tuple[Any, Loc | None]]:
        return [(item, self.of(value, i)) for i, item in enumerate(value)]

    def new_list(self, pairs: list[tuple[Any, Loc | None]], loc: Loc | None) -> list[Any]:
        out: list[Any] = []
        self.adopt(out, loc)
        for item, item_loc in pairs:
            out.append(None)
            self.put(out, len(out) - 1, item, item_loc)
        return out

    def clone(self, value: Any) -> Any:
        """A deep copy that keeps the origins (``extends`` copies its base)."""
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
        elif isinstance(value, list):
            out = [None] * len(value)  # type: ignore[assignment]
        else:
            return value
        self.adopt(out, self.loc(value))
        for key, child in _items(value):
            self.put(out, key, self.clone(child), self.of(value, key))
        return out

    def table(self, data: Any) -> dict[Path, Loc]:
        """The origin of every path of ``data`` that came from a file."""
        out: dict[Path, Loc] = {}
        stack: list[tuple[Any, Path]] = [(data, ())]
        while stack:
            value, path = stack.pop()
            for key, child in _items(value):
                sub = (*path, key)
                loc = self.of(value, key)
                if loc is not None:
                    out[sub] = loc
                if isinstance(child, (dict, list)):
                    stack.append((child, sub))
        return out


def _items(value: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(value, dict):
        yield from value.items()
    elif isinstance(value, list):
        yield from enumerate(value)


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


def unique(data: Any, org: Origins) -> None:
    """compose-go ``EnforceUnicity``: a later sequence entry with the same key replaces the
    earlier one in place (same published port, same mount target, same variable...)."""
    stack: list[tuple[Any, Key]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if not isinstance(value, dict):
            continue
        for key, child in value.items():
            sub = (*path, str(key))
            if isinstance(child, dict):
                stack.append((child, sub))
            elif isinstance(child, list):
                indexer = next((ix for pattern, ix in UNIQUE if matches(sub, pattern)), None)
                if indexer is not None:
                    org.put(value, key, _deduplicated(child, indexer, org), None)


def _deduplicated(seq: list[Any], indexer: Callable[[Any], str], org: Origins) -> list[Any]:
    kept: list[tuple[Any, Loc | None]] = []
    where: dict[str, int] = {}
    for item, loc in org.pairs(seq):
        key = indexer(item)
        if key in where:
            kept[where[key]] = (item, loc)
        else:
            where[key] = len(kept)
            kept.append((item, loc))
    if len(kept) == len(seq):
        return seq
    return org.new_list(kept, org.loc(seq))


def split_outside_braces(text: str, sep: str = ":") -> list[str]:
    """``text.split(sep)``, except inside ``${...}`` (``${DATA:-./data}:/data`` is two parts)."""
    parts, depth, start = [], 0, 0
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}" and depth:
            depth -= 1
        elif text[i] == sep and not depth:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    return [*parts, text[start:]]


def _key_value(item: Any) -> str:
    return str(item).split("=", 1)[0] if isinstance(item, str) else repr(item)


def _volume(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target"))
    if isinstance(item, str):
        parts = volume_parts(item)
        return parts[1] if len(parts) > 1 else parts[0]
    return repr(item)


def volume_parts(text: str) -> list[str]:
    """A short-syntax mount split at its colons, as compose-go's ``ParseVolume`` reads it:
    ``c:/data`` (a letter, a colon, a slash) is a Windows path, not a volume named ``c``."""
    parts = split_outside_braces(text)
    joined: list[str] = []
    for part in parts:
        drive = joined and len(joined[-1]) == 1 and joined[-1].isalpha() and part[:1] in ("/", "\\")
        if drive:
            joined[-1] += ":" + part
        else:
            joined.append(part)
    return joined


def _device(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target"))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _expose(item: Any) -> str:
    return str(item)


def _mount(default: str) -> Callable[[Any], str]:
    def index(item: Any) -> str:
        if isinstance(item, dict):
            return str(item["target"]) if "target" in item else f"{default}/{item.get('source')}"
        return f"{default}/{item}"

    return index


def _port(item: Any) -> str:
    """The key compose-go gives a port once in canonical form: ``"8080:80"`` and
    ``{target: 80, published: "8080"}`` are one port. Ranges and variables key as written."""
    if isinstance(item, dict):  # Go's %s and %d of the values as written: 81 and "81" differ
        host, published, target = (
            item.get("host_ip", "0.0.0.0"),
            item.get("published"),
            item.get("target"),
        )
        published = published if isinstance(published, str) else f"%!s({_go_type(published)})"
        target = target if isinstance(target, int) else f"%!d({_go_type(target)})"
        return f"{host}:{published}:{target}/{item.get('protocol', 'tcp')}"
    if isinstance(item, int):
        return f"0.0.0.0:%!s(<nil>):{item}/tcp"
    text = str(item)
    if "$" in text or "-" in text:
        return text
    address, _, protocol = text.partition("/")
    host = "0.0.0.0"
    if address.startswith("["):  # [::1]:8080:80
        end = address.find("]")
        host, address = address[1:end], address[end + 2 :]
    parts = address.split(":")
    if len(parts) == 3 and host == "0.0.0.0":
        host = parts[0]
    published = parts[-2] if len(parts) > 1 else "%!s(<nil>)"
    return f"{host}:{published}:{parts[-1]}/{protocol or 'tcp'}"


def _go_type(value: Any) -> str:
    return (
        "<nil>" if value is None else f"{type(value).__name__}={value}".replace("str=", "string=")
    )


def _env_file(item: Any) -> str:
    return str(item.get("path")) if isinstance(item, dict) else str(item)


UNIQUE: tuple[tuple[Key, Callable[[Any], str]], ...] = tuple(
    (tuple(pattern.split(".")), indexer)
    for pattern, indexer in (
        ("networks.*.labels", _key_value),
        ("networks.*.ipam.options", _key_value),
        ("services.*.annotations", _key_value),
        ("services.*.build.args", _key_value),
        ("services.*.build.additional_contexts", _key_value),
        ("services.*.build.platform", _key_value),
        ("services.*.build.tags", _key_value),
        ("services.*.build.labels", _key_value),
        ("services.*.cap_add", _key_value),
        ("services.*.cap_drop", _key_value),
        ("services.*.configs", _mount("")),
        ("services.*.deploy.labels", _key_value),
        ("services.*.dns", _key_value),
        ("services.*.dns_opt", _key_value),
        ("services.*.dns_search", _key_value),
        ("services.*.environment", _key_value),
        ("services.*.env_file", _env_file),
        ("services.*.expose", _expose),
        ("services.*.labels", _key_value),
        ("services.*.links", _key_value),
        ("services.*.networks.*.aliases", _key_value),
        ("services.*.networks.*.link_local_ips", _key_value),
        ("services.*.ports", _port),
        ("services.*.profiles", _key_value),
        ("services.*.secrets", _mount("/run/secrets")),
        ("services.*.sysctls", _key_value),
        ("services.*.tmpfs", _key_value),
        ("services.*.volumes", _volume),
        ("services.*.devices", _device),
    )
)
