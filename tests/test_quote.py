"""The one quoting filter: awkward scalars survive PyYAML (YAML 1.1) and the real Compose.

``quote`` doubles a lone ``$`` in values so that Compose's interpolation turns it back into
one; mapping keys are not interpolated and keep theirs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tools import compose_config

from topogen.emit import block, quote

AWKWARD = [
    "no",
    "No",
    "NO",
    "yes",
    "on",
    "off",
    "y",
    "n",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "",
    "0755",
    "0o17",
    "0x1F",
    "1e3",
    "1_000",
    "+1",
    "-1",
    ".5",
    "1.",
    ".inf",
    "-.Inf",
    ".nan",
    "NaN",
    "12:30:00",
    "2001-12-14",
    "8080:80",
    "a: b",
    "a:b",
    "#x",
    "x #y",
    "- x",
    "-",
    "?",
    "? x",
    "[a]",
    "{a: b}",
    "*ref",
    "&anchor",
    "!tag",
    "|",
    ">",
    "@at",
    "`tick",
    "%percent",
    "'single'",
    '"double"',
    "back\\slash",
    "tab\there",
    "new\nline",
    "trailing\n",
    " lead",
    "trail ",
    "  ",
    "caf\u00e9",
    "\u65e5\u672c",
    "emoji \U0001f600",
    "nel\u0085x",
    "bom\ufeffx",
    "ls\u2028x",
    "del\x7fx",
    "bell\x07x",
    "nul\x00x",
    "$(date +%Y%m%d-%H%M%S)",
    "cost $5",
    "$$",
    "a$",
    "$",
    "${VAR}",
    "${VAR:-default}",
    "$VAR",
    "pre ${A:-x $(y)} post",
    "=",
    "<<",
    "a,b",
    "@",
    "%",
]
ALWAYS_STRINGS = [s for s in AWKWARD if "$" not in s]


def load(text: str) -> Any:
    return yaml.safe_load(text)["k"]


@pytest.mark.parametrize("value", AWKWARD)
def test_string_round_trips_through_pyyaml(value: str) -> None:
    assert load(f"k: {quote(value)}\n") == value


@pytest.mark.parametrize("value", ALWAYS_STRINGS)
def test_key_round_trips_through_pyyaml(value: str) -> None:
    assert yaml.safe_load(f"{quote(value, interpolated=False)}: 1\n") == {value: 1}


def test_keys_keep_their_dollars() -> None:
    assert yaml.safe_load(block({"a$b": "c $$(d)"})) == {"a$b": "c $$(d)"}


@pytest.mark.parametrize("value", [0, 1, -7, 10**20, 0.5, -1e-300, 1e300, True, False, None])
def test_non_strings_keep_their_type(value: Any) -> None:
    loaded = load(f"k: {quote(value)}\n")
    assert loaded == value and type(loaded) is type(value)


def test_special_floats() -> None:
    assert load(f"k: {quote(math.inf)}\n") == math.inf
    assert load(f"k: {quote(-math.inf)}\n") == -math.inf
    assert math.isnan(load(f"k: {quote(math.nan)}\n"))


# Every character except surrogates (not encodable) and the YAML-forbidden ones PyYAML would
# reject in input; quote must escape whatever it has to.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_any_text_round_trips_through_pyyaml(value: str) -> None:
    assert load(f"k: {quote(value)}\n") == value
    assert yaml.safe_load(f"{quote(value, interpolated=False)}: 1\n") == {value: 1}


def test_awkward_values_reach_compose_exactly(tmp_path: Path) -> None:
    """One Compose file carries every awkward value as environment, label and command word."""
    # A $ is Compose's (interpolation, $$ for a literal one): covered by the interpolation tests.
    values = [v for v in AWKWARD if "$" not in v and "\x00" not in v]
    env = {f"V{i}": v for i, v in enumerate(values)}
    service = {"image": "busybox", "environment": env, "labels": env, "command": values}
    text = "name: quoting\nservices:\n  probe:\n" + block(service, 4) + "\n"
    path = tmp_path / "compose.yml"
    path.write_text(text, encoding="utf-8")
    proc = compose_config(str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)["services"]["probe"]
    unescape = lambda s: s.replace("$$", "$")
    want = dict(env)
    assert {k: unescape(v) for k, v in got["environment"].items()} == want
    assert {k: unescape(v) for k, v in got["labels"].items()} == want
    assert [unescape(v) for v in got["command"]] == list(want.values())
    assert want["V0"] == "no"


def test_interpolations_pass_through_to_compose(tmp_path: Path) -> None:
    service = {
        "image": "busybox",
        "environment": {
            "A": "${VAR}",
            "B": "${VAR:-default}",
            "C": "$VAR",
            "D": "${UNSET:-x $$(y)}",
            "E": "a $$ b",
        },
    }
    path = tmp_path / "compose.yml"
    path.write_text(
        "name: interp\nservices:\n  probe:\n" + block(service, 4) + "\n", encoding="utf-8"
    )
    proc = compose_config(str(path), "--format", "json", env={"VAR": "val"})
    assert proc.returncode == 0, proc.stderr
    env = json.loads(proc.stdout)["services"]["probe"]["environment"]
    assert {k: v.replace("$$", "$") for k, v in env.items()} == {
        "A": "val",
        "B": "val",
        "C": "val",
        "D": "x $(y)",
        "E": "a $ b",
    }
