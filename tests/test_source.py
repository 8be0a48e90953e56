"""The source stage: positions of keys and values, duplicate keys, YAML 1.2 scalar typing,
and bad input turned into located diagnostics (never exceptions)."""

from __future__ import annotations

import pytest

from topogen import pipeline, source

DOC = """\
name: demo
services:
  web:
    image: nginx
    ports: ["8080:80", {target: 443}]
    networks:
      front:
        ipv4_address: 10.0.0.5
"""


@pytest.mark.parametrize(
    "path,at_key,expected",
    [
        (("name",), False, (1, 7)),
        (("name",), True, (1, 1)),
        (("services", "web"), True, (3, 3)),
        (("services", "web", "image"), False, (4, 12)),
        (("services", "web", "ports", 0), False, (5, 13)),
        (("services", "web", "ports", 1), False, (5, 24)),
        (("services", "web", "ports", 1, "target"), True, (5, 25)),
        (("services", "web", "ports", 1, "target"), False, (5, 33)),
        (("services", "web", "networks", "front", "ipv4_address"), True, (8, 9)),
        (("services", "web", "networks", "front", "ipv4_address"), False, (8, 23)),
        # Paths that do not exist fall back to their longest existing prefix.
        (("services", "web", "networks", "front", "aliases", 3), False, (8, 9)),
        (("services", "web", "nothing", "here"), True, (3, 3)),
        ((), False, (1, 1)),
    ],
)
def test_positions(path: tuple, at_key: bool, expected: tuple[int, int]) -> None:
    src = source.load_text(DOC, "t.yaml")
    assert not src.diagnostics
    assert src.locate(path, at_key=at_key) == expected


def test_duplicate_key_names_both_lines() -> None:
    src = source.load_text(
        "name: a\nservices:\n  web: {image: x}\n  db: {image: y}\n  web: {image: z}\n", "t.yaml"
    )
    [d] = src.diagnostics
    assert (d.rule, d.line, d.col, d.file) == ("duplicate-key", 5, 3, "t.yaml")
    assert "web" in d.message and "line 3" in d.message


def test_nested_and_flow_duplicates() -> None:
    src = source.load_text("a:\n  b: {c: 1, c: 2}\n  d: 1\n  d: 2\n", "t.yaml")
    assert sorted((d.rule, d.line, d.col) for d in src.diagnostics) == [
        ("duplicate-key", 2, 13),
        ("duplicate-key", 4, 3),
    ]


def test_duplicate_key_stops_the_pipeline_with_one_located_error() -> None:
    result = pipeline.check("t.yaml", "name: a\nname: b\nservices: {}\n")
    assert [(d.rule, d.line, d.col) for d in result.diagnostics] == [("duplicate-key", 2, 1)]
    assert result.failed()


SCALARS = {
    # YAML 1.1 booleans are strings in YAML 1.2 (Compose's parser): no "Norway problem".
    "no": "no",
    "on": "on",
    "yes": "yes",
    "off": "off",
    "y": "y",
    "NO": "NO",
    # Sexagesimal numbers and timestamps are YAML 1.1 only.
    "8080:80": "8080:80",
    "1:30": "1:30",
    "2001-12-14": "2001-12-14",
    # Leading zeros: octal in 1.1, decimal in 1.2; topogen keeps what was written (a mode stays "0755").
    "0755": "0755",
    "012": "012",
    # YAML 1.2 core types.
    "true": True,
    "False": False,
    "null": None,
    "~": None,
    "": None,
    "42": 42,
    "-7": -7,
    "0x1F": 31,
    "1.5": 1.5,
    ".5": 0.5,
    # 1_000 is an int only in YAML 1.1.
    "1_000": "1_000",
}


@pytest.mark.parametrize("text,value", SCALARS.items(), ids=[repr(k) for k in SCALARS])
def test_plain_scalars_follow_yaml_1_2(text: str, value: object) -> None:
    src = source.load_text(f"k: {text}\n", "t.yaml")
    assert not src.diagnostics
    got = src.data["k"]
    # A leading-zero number stays its text, marked so that writers put it back unquoted.
    assert got == value and (type(got) is type(value) or isinstance(got, source.Verbatim))


@pytest.mark.parametrize("text", ['"no"', "'0755'", '"true"', "!!str 42", '"8080:80"', "'~'"])
def test_quoted_and_tagged_scalars_stay_strings(text: str) -> None:
    src = source.load_text(f"k: {text}\n", "t.yaml")
    assert isinstance(src.data["k"], str)


def test_infinity_and_exponent_survive() -> None:
    data = source.load_text("a: .inf\nb: -.inf\nc: 1e3\n", "t.yaml").data
    assert data["a"] == float("inf") and data["b"] == float("-inf")
    assert str(data["c"]) in ("1e3", "1000.0")  # never an int, never 1000


def test_keys_are_strings() -> None:
    data = source.load_text("80: a\ntrue: b\nno: c\n", "t.yaml").data
    assert set(data) == {"80", "true", "no"}


def test_merge_keys_explicit_wins() -> None:
    src = source.load_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", "t.yaml")
    assert not src.diagnostics
    assert src.data["other"] == {"x": 1, "y": 3}


@pytest.mark.parametrize(
    "raw,rule,line,col",
    [
        (b"name: a\nservices:\n  w\xff: 1\n", "invalid-utf8", 3, 4),
        (b"name: a\nservices:\n\tweb: {}\n", "yaml-syntax", 3, 1),
        (b"name: [a\n", "yaml-syntax", None, None),
        (b"", "empty-file", 1, 1),
        (b"# only a comment\n", "empty-file", 1, 1),
        (b"a: 1\n---\nb: 2\n", "yaml-syntax", None, None),
    ],
)
def test_bad_input_is_a_located_diagnostic(
    raw: bytes, rule: str, line: int | None, col: int | None
) -> None:
    src = source.load_bytes(raw, "t.yaml")
    [d] = src.diagnostics
    assert d.rule == rule and d.file == "t.yaml" and d.line >= 1 and d.col >= 1
    if line is not None:
        assert (d.line, d.col) == (line, col)


def test_tab_message_says_to_use_spaces() -> None:
    [d] = source.load_bytes(b"name: a\nservices:\n\tweb: {}\n", "t.yaml").diagnostics
    assert "tab" in d.message


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    src = source.load_text("\n".join(lines) + "\n", "t.yaml")  # 10**10 nodes if expanded
    assert [d.rule for d in src.diagnostics] == ["yaml-alias-bomb"]


def test_a_few_aliases_are_fine() -> None:
    src = source.load_text("x: &v {image: nginx}\nservices:\n  a: *v\n  b: *v\n", "t.yaml")
    assert not src.diagnostics and src.data["services"]["b"] == {"image": "nginx"}


def test_oversized_file_is_refused_before_parsing() -> None:
    raw = b"a: " + b"x" * (source.MAX_BYTES + 1) + b"\n"
    [d] = source.load_bytes(raw, "t.yaml").diagnostics
    assert d.rule == "file-too-large"


def test_top_level_list_is_a_diagnostic_not_a_crash() -> None:
    result = pipeline.check("t.yaml", "- a\n- b\n")
    assert [d.rule for d in result.diagnostics] == ["not-a-mapping"] and result.topology is None


def _nested(levels: int, anchor: str = "") -> str:
    """A document whose collections nest ``levels`` deep (the root mapping is level 1)."""
    inner = "[" * (levels - 1) + "]" * (levels - 1)
    return f"name: d\nx: {anchor}{inner}\n"


@pytest.mark.parametrize("anchor", ["", "&a "], ids=["events", "nodes"])
def test_depth_limit_is_exact_on_both_walkers(anchor: str) -> None:
    ok = source.load_text(_nested(source.MAX_DEPTH, anchor), "t.yaml")
    assert not ok.diagnostics and ok.data is not None
    deep = source.load_text(_nested(source.MAX_DEPTH + 1, anchor), "t.yaml")
    [d] = deep.diagnostics
    assert (d.rule, d.line) == ("yaml-too-deep", 2)
    assert str(source.MAX_DEPTH) in d.message
    assert deep.data is None


@pytest.mark.parametrize(
    "text,line",
    [
        ("name: r\nx-r: &r [*r]\n", 2),
        ("name: r\nx:\n  a: &a\n    b: [1, {c: *a}]\n", 3),
        ("name: r\nx-a: &a {b: 1, <<: *a}\n", 2),
        ("name: r\nx-a: &a {b: 1, <<: [{c: 2}, *a]}\n", 2),
    ],
)
def test_recursive_alias_is_a_located_error(text: str, line: int) -> None:
    src = source.load_text(text, "t.yaml")
    assert [(d.rule, d.line) for d in src.diagnostics] == [("yaml-recursive-alias", line)]
    assert src.data is None


def test_an_alias_used_twice_is_not_recursive() -> None:
    src = source.load_text("name: r\nx-a: &a [1]\nx-b: [*a, *a, {c: *a}]\n", "t.yaml")
    assert not src.diagnostics
    assert src.data["x-b"] == [[1], [1], {"c": [1]}]
