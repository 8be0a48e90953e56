"""compose-go's ``override/uncity.go``: which sequence entries replace each other.

After a merge, a later entry with the same key (published port, mount target, variable
name...) replaces the earlier one in place, as Compose does when it loads the files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .merge import Key, matches
from .origins import Loc, Origins


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
