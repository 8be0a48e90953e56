"""Where each value of a merged Compose document came from: ``(file, path inside it)``.

Containers are known by identity, scalars by (container, key): merging moves values between
documents, and each keeps the origin it was read with, so a diagnostic on the merged data
points at the file and line that contributed the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .diagnostics import Path

Loc = tuple[str, Path]


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
