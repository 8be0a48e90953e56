"""source.py's fast path (libyaml events straight to data + source map) agrees exactly with
its node walker, which handles everything the fast path bails out on."""

from __future__ import annotations

import glob
import math
import os
import random
from typing import Any

import pytest
import yaml
from tools import EXAMPLES, ROOT

from topogen import source


def _walk(text: str) -> source.Source:
    """The node walker alone (the path every document took before the fast path)."""
    saved = source._Events.load
    source._Events.load = classmethod(lambda cls, text, file: None)  # type: ignore[method-assign,assignment]
    try:
        return source.load_text(text, "t.yaml")
    finally:
        source._Events.load = saved  # type: ignore[method-assign]


def _norm(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return ("nan",)
    if isinstance(x, dict):
        return [(k, _norm(v)) for k, v in x.items()]
    if isinstance(x, list):
        return [_norm(v) for v in x]
    return (type(x).__name__, x)


def _same(text: str) -> bool:
    fast, slow = source.load_text(text, "t.yaml"), _walk(text)
    assert _norm(fast.data) == _norm(slow.data)
    assert fast.positions == slow.positions
    assert fast.diagnostics == slow.diagnostics
    return source._Events.load(text, "t.yaml") is not None


SCALARS = [
    "1",
    "-1",
    "0",
    "0755",
    "0o17",
    "0x1F",
    "1_000",
    "1:30",
    "1.5",
    ".5",
    "1e3",
    "-.inf",
    ".NaN",
    "inf",
    "true",
    "True",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "null",
    "~",
    "",
    "2001-12-14",
    "=",
    "'q'",
    '"1"',
    "'true'",
    "a b",
    "8080:80",
    "10.0.0.0/24",
    "${X:-1}",
    "[1, 2]",
    "{a: 1}",
    "{}",
    "[]",
]
EDGE = [
    "a: 1\na: 2\n",
    "a: &x {b: 1}\nc: *x\n",
    "base: &b {x: 1}\ns:\n  <<: *b\n  y: 2\n",
    "a: !!str 1\n",
    "a: [1, 2\n",
    "a: *nope\n",
    "1: x\ntrue: y\nnull: z\n",
    "x\n",
    "[1, 2]\n",
    "",
    "# c\n",
    "a: 1\n---\nb: 2\n",
    "{a: 1, a: 2}\n",
    "a:\n\t- b\n",
    "a: |\n  multi\n  line\n",
    "? complex\n: v\n",
]


@pytest.mark.parametrize("value", SCALARS)
def test_scalars(value: str) -> None:
    assert _same(f"a: {value}\nb:\n  - {value}\n  - [x, {{k: v}}]\n")


@pytest.mark.parametrize("text", EDGE)
def test_edge_cases_fall_back_identically(text: str) -> None:
    _same(text)


def test_examples_and_corpus_take_the_fast_path_identically() -> None:
    files = glob.glob(os.path.join(EXAMPLES, "*", "topology.yaml"))
    files += glob.glob(os.path.join(ROOT, "tests", "cases", "**", "*.yaml"), recursive=True)
    assert files
    fast = 0
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            fast += _same(fh.read())
    assert fast >= len(glob.glob(os.path.join(EXAMPLES, "*", "topology.yaml")))


def test_random_documents() -> None:
    rnd = random.Random(6)
    atoms: list[Any] = [
        1,
        -2,
        0,
        3.5,
        True,
        None,
        "no",
        "on",
        "0755",
        "1e3",
        "a: b",
        "#x",
        "${V}",
        "",
        " x",
        "8080:80",
        "2020-01-01",
        "~",
        "Yes",
        "0x10",
        ".inf",
        "-",
        "multi\nline",
        "ü",
        "'",
        '"',
    ]

    def gen(depth: int) -> Any:
        r = rnd.random()
        if depth > 3 or r < 0.4:
            return rnd.choice(atoms)
        if r < 0.7:
            return {str(rnd.choice(atoms)): gen(depth + 1) for _ in range(rnd.randrange(5))}
        return [gen(depth + 1) for _ in range(rnd.randrange(4))]

    for _ in range(300):
        doc = {f"k{j}": gen(0) for j in range(rnd.randrange(1, 5))}
        assert _same(
            yaml.safe_dump(
                doc, default_flow_style=rnd.choice([False, True, None]), allow_unicode=True
            )
        )
