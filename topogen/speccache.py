"""The validator of :class:`spec.Topology`, kept on disk between runs like a ``.pyc``.

Building pydantic's validator is most of what a small ``topogen validate`` costs once the
modules are imported: pydantic generates the core schema in Python (~20 ms for our models)
and its plugin loader imports ``importlib.metadata`` (~10 ms) even when plugins are
disabled. The core schema itself is plain data except for references to topogen.spec's
classes and validator functions, so the first run stores it and later runs hand it straight
to pydantic-core (~2 ms). The result is the very validator pydantic would have built.

- An entry is keyed on spec.py's path and a checksum of its text (the models and their
  validators live there and nowhere else: ``tests/test_speccache.py`` keeps it so) and on the
  topogen, Python, pydantic and pydantic-core versions; a stale, unreadable or foreign entry
  is ignored and rewritten.
- Nothing from the cache is executed: it is ``marshal`` data (no code objects are used), and
  a reference can only name an attribute of :mod:`topogen.spec` or the builtins dict and list.
- Pydantic's JSON-schema hooks (the ``metadata`` of each schema node) are not stored; the
  validator never reads them, and ``topogen schema`` builds the models the usual way.
- Where: ``$TOPOGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/topogen``, else ``~/.cache/topogen``;
  ``TOPOGEN_NO_CACHE=1`` turns it off. A cache that cannot be written is skipped silently.
- Pydantic plugins are not applied to a loaded validator (the CLI turns them off in any case:
  the models are internal).
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib
from typing import Any, Protocol

import pydantic
import pydantic_core

from . import __version__, spec

#: Bumped when the stored layout changes.
FORMAT = 1
#: The key of a one-key mapping that stands for a class or function.
REF = "\x00topogen-ref"
_BUILTINS: dict[str, Any] = {"builtins.dict": dict, "builtins.list": list}


class Validator(Protocol):
    def validate_python(self, input: Any) -> Any: ...


class Unstorable(Exception):
    """A schema value that the cache does not store (or a stored reference it refuses)."""


_validator: Validator | None = None


def validate(data: Any) -> spec.Topology:
    """``spec.Topology.model_validate(data)``, with the validator from the cache when it can."""
    global _validator
    if _validator is None:
        _validator = validator()
    model: spec.Topology = _validator.validate_python(data)
    return model


def validator(directory: str | None = None) -> Validator:
    """The Topology validator: loaded from the cache, else built by pydantic and stored."""
    directory = cache_dir() if directory is None else directory
    try:
        key: tuple[Any, ...] = _key()
    except OSError:  # spec.py is not a readable file (zipapp, frozen): nothing to key on
        key, directory = (), ""
    path = os.path.join(directory, _file_name(key)) if directory else ""
    loaded = _load(path, key) if path else None
    if loaded is not None:
        return loaded
    spec.Topology.model_rebuild()
    built: Validator = spec.Topology.__pydantic_validator__
    if path:
        _store(path, key, spec.Topology.__pydantic_core_schema__)
    return built


def cache_dir() -> str:
    """Where entries go; "" when caching is off."""
    if os.environ.get("TOPOGEN_NO_CACHE", "") not in ("", "0"):
        return ""
    if os.environ.get("TOPOGEN_CACHE_DIR"):
        return os.environ["TOPOGEN_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "topogen")


def _key() -> tuple[Any, ...]:
    with open(spec.__file__, "rb") as f:
        text = f.read()
    versions = (__version__, sys.version, pydantic.VERSION, pydantic_core.__version__)
    return (FORMAT, spec.__file__, len(text), zlib.crc32(text), *versions)


def _file_name(key: tuple[Any, ...]) -> str:
    # One file per installation and versions: editing spec.py replaces its entry.
    (fmt, where, _size, _checksum, *versions) = key
    return f"spec-{zlib.crc32(repr((fmt, where, versions)).encode()):08x}.marshal"


def _load(path: str, key: tuple[Any, ...]) -> Validator | None:
    try:
        with open(path, "rb") as f:
            stored_key, schema, config = marshal.load(f)
        if stored_key != key:
            return None
        return pydantic_core.SchemaValidator(decode(schema), decode(config))
    except (OSError, EOFError, ValueError, TypeError, Unstorable, pydantic_core.SchemaError):
        return None


def _store(path: str, key: tuple[Any, ...], schema: Any) -> None:
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        data = marshal.dumps((key, encode(schema), encode(topology_config(schema))))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, path)  # readers see the old entry or the new one, never half of one
    except (OSError, ValueError, Unstorable):
        try:
            os.unlink(temp)
        except OSError:
            pass


def topology_config(schema: Any) -> Any:
    """The core config pydantic gives the Topology validator (its model schema's own)."""
    node = schema
    while isinstance(node, dict):
        if node.get("type") == "model" and node.get("cls") is spec.Topology:
            return node.get("config")
        node = node.get("schema")
    raise Unstorable("no Topology model schema")


def encode(value: Any) -> Any:
    """A core schema as marshal-able data: classes and functions become named references."""
    if isinstance(value, dict):
        node = isinstance(value.get("type"), str)  # a schema node, not a mapping of field names
        return {k: encode(v) for k, v in value.items() if not (node and k == "metadata")}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(encode(v) for v in value)
    if value is None or isinstance(value, (str, int, float, bytes)):
        return value
    return {REF: _name(value)}


def _name(value: Any) -> str:
    for builtin, known in _BUILTINS.items():
        if value is known:
            return builtin
    name = str(getattr(value, "__qualname__", ""))
    if getattr(value, "__module__", None) == spec.__name__ and getattr(spec, name, None) is value:
        return name
    raise Unstorable(f"{value!r} is not a class or function of topogen.spec")


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`; refuses any reference outside topogen.spec."""
    if isinstance(value, dict):
        if len(value) == 1 and REF in value:
            return _resolve(value[REF])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(decode(v) for v in value)
    if value is None or isinstance(value, (str, int, float, bytes)):
        return value
    raise Unstorable(f"unexpected {type(value).__name__} in a cached schema")


def _resolve(name: Any) -> Any:
    if name in _BUILTINS:
        return _BUILTINS[name]
    found = getattr(spec, name, None) if isinstance(name, str) and name.isidentifier() else None
    if not callable(found) or getattr(found, "__module__", None) != spec.__name__:
        raise Unstorable(f"cached schema names {name!r}, not a class or function of topogen.spec")
    return found
