"""The on-disk spec validator (topogen/speccache.py): the validator it loads behaves exactly
like pydantic's own, and a stale, corrupt, foreign or unwritable cache never breaks a run."""

from __future__ import annotations

import glob
import marshal
import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError
from tools import EXAMPLES, ROOT

from topogen import source, spec, speccache

CASES = os.path.join(ROOT, "tests", "cases")
INPUTS = sorted(glob.glob(os.path.join(EXAMPLES, "*", "topology.yaml"))
                + glob.glob(os.path.join(CASES, "*", "*.yaml")))
#: Inputs written here to reach every validator function and default factory of the spec.
EXTRA: list[Any] = [
    {"name": "t", "services": {"a": {"image": "x", "healthcheck": {"test": "true", "interval": "1m3"}}}},
    {"name": "t", "services": {"a": {"image": "x", "healthcheck": {"test": "true", "interval": "1m30s"}}}},
    {"name": "t", "services": {"a": {"image": "x", "deploy": {"resources": {"limits": {"cpus": "-1"}}}}}},
    {"name": "t", "services": {"a": {"image": "x", "deploy": {"resources": {"limits": {"cpus": 0.5}}}}}},
    {"services": {"a": {"image": "x", "unknown": 1}}, "volumes": {"v": {"nfs": {"server": 1}}}},
    {"networks": {"n": {"subnets": [{"subnet": 3}], "mtu": "big"}}},
    [],
    "text",
]


def _data(path: str) -> Any:
    data = source.load_path(path).data
    if isinstance(data, dict):  # as pipeline._analyse hands it over
        data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    return data


def _outcome(validator: Any, data: Any) -> Any:
    try:
        return ("ok", validator.validate_python(data))
    except ValidationError as exc:
        # ctx holds the validator's exception object: compare its text
        return ("errors", repr(exc.errors(include_url=False)), exc.title)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = str(tmp_path_factory.mktemp("cache"))
    speccache.validator(directory)  # builds with pydantic and stores the entry
    second = speccache.validator(directory)
    assert second is not spec.Topology.__pydantic_validator__, "the second call did not load the entry"
    return second


def test_inputs_are_found() -> None:
    assert len(INPUTS) > 100


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: os.path.relpath(p, ROOT))
def test_loaded_validator_agrees_with_pydantic_on_corpus(loaded: Any, path: str) -> None:
    data = _data(path)
    assert _outcome(loaded, data) == _outcome(spec.Topology.__pydantic_validator__, data)


@pytest.mark.parametrize("data", EXTRA, ids=range(len(EXTRA)))
def test_loaded_validator_agrees_with_pydantic_on_validators(loaded: Any, data: Any) -> None:
    ours, theirs = _outcome(loaded, data), _outcome(spec.Topology.__pydantic_validator__, data)
    assert ours == theirs


def test_extra_inputs_reach_errors_and_successes(loaded: Any) -> None:
    kinds = [_outcome(loaded, d)[0] for d in EXTRA]
    assert kinds.count("ok") == 2 and kinds.count("errors") == len(EXTRA) - 2


def test_loaded_models_are_real_spec_models(loaded: Any) -> None:
    model = loaded.validate_python(_data(os.path.join(EXAMPLES, "three-tier", "topology.yaml")))
    assert type(model) is spec.Topology
    assert type(model.networks["frontend"]) is spec.Network
    with pytest.raises(ValidationError):  # frozen, as the class says
        model.name = "other"


def _entry(directory: str) -> str:
    (path,) = glob.glob(os.path.join(directory, "spec-*.marshal"))
    return path


def test_stale_entry_is_rebuilt(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    speccache.validator(str(tmp_path))
    path = _entry(str(tmp_path))
    real = speccache._key()
    monkeypatch.setattr(speccache, "_key", lambda: (*real[:3], real[3] + 1, *real[4:]))
    assert speccache.validator(str(tmp_path)) is spec.Topology.__pydantic_validator__
    with open(path, "rb") as f:
        assert marshal.load(f)[0][3] == real[3] + 1  # rewritten under the new key


@pytest.mark.parametrize("content", [b"", b"garbage", marshal.dumps((1, 2)), marshal.dumps([1, 2, 3])])
def test_corrupt_entry_is_ignored_and_replaced(tmp_path: Any, content: bytes) -> None:
    speccache.validator(str(tmp_path))
    path = _entry(str(tmp_path))
    with open(path, "wb") as f:
        f.write(content)
    assert speccache.validator(str(tmp_path)) is spec.Topology.__pydantic_validator__
    assert speccache.validator(str(tmp_path)) is not spec.Topology.__pydantic_validator__


@pytest.mark.parametrize("name", ["Field", "re", "os.system", "__builtins__", "Model.__init__", 3])
def test_foreign_reference_is_refused(tmp_path: Any, name: Any) -> None:
    speccache.validator(str(tmp_path))
    path = _entry(str(tmp_path))
    with open(path, "rb") as f:
        key, schema, config = marshal.load(f)
    schema["schema"] = {speccache.REF: name} if "schema" in schema else schema
    with open(path, "wb") as f:
        marshal.dump((key, schema, config), f)
    with pytest.raises(speccache.Unstorable):
        speccache.decode({speccache.REF: name})
    assert speccache.validator(str(tmp_path)) is spec.Topology.__pydantic_validator__


def test_decode_refuses_values_encode_never_writes() -> None:
    with pytest.raises(speccache.Unstorable):
        speccache.decode({"a": [1, {2, 3}]})
    with pytest.raises(speccache.Unstorable):
        speccache.encode({"type": "x", "f": object()})


def test_round_trip_keeps_references_and_drops_only_schema_metadata() -> None:
    value = {"type": "model-fields", "metadata": {"x": 1},
             "fields": {"metadata": {"type": "str"}, "type": {"type": "int"}},
             "cls": spec.Topology, "f": [dict, list, (spec.Network,)]}
    back = speccache.decode(marshal.loads(marshal.dumps(speccache.encode(value))))
    assert back == {k: v for k, v in value.items() if k != "metadata"}


def test_unwritable_cache_dir_is_skipped(tmp_path: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert speccache.validator(str(blocker / "cache")) is spec.Topology.__pydantic_validator__
    assert os.listdir(tmp_path) == ["file"]


def test_cache_dir_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPOGEN_CACHE_DIR", "/x/y")
    assert speccache.cache_dir() == "/x/y"
    monkeypatch.setenv("TOPOGEN_NO_CACHE", "1")
    assert speccache.cache_dir() == ""
    monkeypatch.setenv("TOPOGEN_NO_CACHE", "0")
    monkeypatch.delenv("TOPOGEN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/c")
    assert speccache.cache_dir() == "/c/topogen"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "/home/u")
    assert speccache.cache_dir() == "/home/u/.cache/topogen"


_PROBE = """
import sys
from topogen.entry import main
try:
    main()
except SystemExit as exc:
    print("EXIT", exc.code)
print("LOADER", "pydantic.plugin._loader" in sys.modules)
"""


def _run_validate(env: dict[str, str], path: str) -> tuple[str, str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, "validate", path], check=False,
                          capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})
    return proc.stdout, proc.stderr


def test_cli_second_run_uses_the_cache(tmp_path: Any) -> None:
    """The first run stores the entry; the second gives the same answer without pydantic's build
    (whose plugin loader is the part that imports importlib.metadata)."""
    env = {"TOPOGEN_CACHE_DIR": str(tmp_path / "c")}
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nservices:\n  a: {image: x, restrat: always}\n")
    first = _run_validate(env, str(bad))
    assert "LOADER True" in first[0] and "EXIT 1" in first[0]
    assert len(os.listdir(tmp_path / "c")) == 1
    second = _run_validate(env, str(bad))
    assert "LOADER False" in second[0]
    assert second[0].replace("LOADER False", "LOADER True") == first[0]
    assert second[1] == first[1] and "bad.yaml:3:" in second[1]


def test_cli_with_cache_off_writes_nothing(tmp_path: Any) -> None:
    env = {"TOPOGEN_CACHE_DIR": str(tmp_path / "c"), "TOPOGEN_NO_CACHE": "1"}
    out, _ = _run_validate(env, os.path.join(EXAMPLES, "three-tier", "topology.yaml"))
    assert "EXIT 0" in out and "LOADER True" in out
    assert not (tmp_path / "c").exists()


def test_spec_imports_no_other_topogen_module() -> None:
    """The cache key covers spec.py only, so the models and validators must all live there."""
    import ast

    with open(spec.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert not relative and not {m for m in imported if m.split(".")[0] == "topogen"}


def test_editing_spec_changes_the_key(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "spec.py"
    with open(spec.__file__, "rb") as f:
        copy.write_bytes(f.read())
    monkeypatch.setattr(spec, "__file__", str(copy))
    before = speccache._key()
    copy.write_bytes(copy.read_bytes().replace(b"description=", b"description =", 1))
    after = speccache._key()
    assert before != after and before[1] == after[1]
    assert speccache._file_name(before) == speccache._file_name(after)  # the entry is replaced, not added


def test_unreadable_spec_source_means_no_cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec, "__file__", str(tmp_path / "absent" / "spec.py"))
    assert speccache.validator(str(tmp_path / "c")) is spec.Topology.__pydantic_validator__
    assert not (tmp_path / "c").exists()
