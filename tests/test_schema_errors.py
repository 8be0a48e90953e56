"""Schema errors (the spec stage): unknown keys with a did-you-mean from the keys allowed
*there*, wrong types at the value, missing keys at the mapping that lacks them."""

from __future__ import annotations

import textwrap

import pytest

from topogen import pipeline


def diags(text: str) -> list[tuple[int, int, str, str, str]]:
    result = pipeline.check("t.yaml", textwrap.dedent(text))
    return [(d.line, d.col, d.rule, d.message, d.hint) for d in result.diagnostics]


UNKNOWN = [
    ("name: t\nservice: {}\n", 2, 1, "service", "did you mean 'services'?"),
    (
        "name: t\nservices:\n  web:\n    image: x\n    netwrks: [a]\n",
        5,
        5,
        "netwrks",
        "did you mean 'networks'?",
    ),
    (
        "name: t\nnetworks:\n  a: {subnett: 10.0.0.0/24}\n",
        3,
        7,
        "subnett",
        "did you mean 'subnet'?",
    ),
    (
        "name: t\nservices:\n  w: {image: x, ports: [{target: 80, publshed: 1}]}\n",
        3,
        38,
        "publshed",
        "did you mean 'published'?",
    ),
    (
        "name: t\nservices:\n  w: {image: x, networks: {a: {ipv4_adress: 10.0.0.2}}}\nnetworks: {a: {}}\n",
        3,
        32,
        "ipv4_adress",
        "did you mean 'ipv4_address'?",
    ),
    (
        "name: t\nvolumes:\n  v: {nfs: {server: a, path: /x, optons: [rw]}}\n",
        3,
        34,
        "optons",
        "did you mean 'options'?",
    ),
    (
        "name: t\nservices:\n  w: {image: x, x_compose: {}}\n",
        3,
        17,
        "x_compose",
        "did you mean 'x-compose'?",
    ),
    # A key of another model is not suggested where it is not allowed, nor the key itself.
    ("name: t\nservices:\n  w: {image: x, driver: bridge}\n", 3, 17, "driver", ""),
    ("name: t\nservices:\n  w: {image: x, subnett: x}\n", 3, 17, "subnett", ""),
    ("name: t\nnetworks:\n  a: {imagee: x}\n", 3, 7, "imagee", ""),
]


@pytest.mark.parametrize(
    "text,line,col,key,hint", UNKNOWN, ids=[u[3] + (u[4] and "-hint") for u in UNKNOWN]
)
def test_unknown_key_at_the_key(text: str, line: int, col: int, key: str, hint: str) -> None:
    assert diags(text) == [(line, col, "unknown-key", f"unknown key {key!r}", hint)]


WRONG = [
    ("name: t\nservices:\n  w:\n    image: x\n    ports: 80\n", 5, 12, "list"),
    ("name: t\nnetworks:\n  a: {internal: maybe}\n", 3, 17, "boolean"),
    ("name: t\nnetworks:\n  a: {mtu: big}\n", 3, 12, "integer"),
    ("name: t\nservices: [web]\n", 2, 11, "mapping"),
    ("name: t\nservices:\n  w: nginx\n", 3, 6, "mapping"),
    (
        "name: t\nservices:\n  w: {image: x, mounts: [{type: volum, source: d, target: /d}]}\n",
        3,
        33,
        "'volume'",
    ),
    (
        "name: t\nservices:\n  w: {image: x, depends_on: {d: {condition: service_healty}}}\n  d: {image: y}\n",
        3,
        45,
        "'service_healthy'",
    ),
    ("name: [t]\nservices: {}\n", 1, 7, "string"),
    ("name: t\ntargets: [compose, kubernetes]\n", 2, 20, "'swarm'"),
]


@pytest.mark.parametrize(
    "text,line,col,word", WRONG, ids=[w[3] + str(i) for i, w in enumerate(WRONG)]
)
def test_wrong_type_at_the_value(text: str, line: int, col: int, word: str) -> None:
    [(got_line, got_col, rule, message, _hint)] = diags(text)
    assert (got_line, got_col, rule) == (line, col, "invalid-value")
    assert word in message and "instance of" not in message and "Input should" not in message


def test_missing_keys_at_the_mapping_that_lacks_them() -> None:
    assert (
        diags("services:\n  w: {image: x}\n") == []
    )  # the project name is derived, as Compose derives it
    assert diags(
        "name: t\nservices:\n  w: {image: x, mounts: [{source: d}]}\nvolumes: {d: {}}\n"
    ) == [(3, 26, "missing-key", "missing required key 'target'", "")]
    assert diags("name: t\nvolumes:\n  v: {nfs: {server: a}}\n") == [
        (3, 7, "missing-key", "missing required key 'path'", "")
    ]


def test_every_schema_problem_is_reported_at_once() -> None:
    text = """\
        name: t
        networks:
          a: {internal: maybe, subnett: 10.0.0.0/24}
        services:
          w: {image: x, netwrks: [a]}
        """
    assert [(d[0], d[1], d[2]) for d in diags(text)] == [
        (3, 17, "invalid-value"),
        (3, 24, "unknown-key"),
        (5, 17, "unknown-key"),
    ]


def test_schema_errors_exit_1_and_print_located_lines(tmp_path: object) -> None:
    from typer.testing import CliRunner

    from topogen.cli import app

    path = f"{tmp_path}/t.yaml"
    with open(path, "w") as fh:
        fh.write("name: t\nservice: {}\n")
    result = CliRunner().invoke(app, ["validate", path])
    assert result.exit_code == 1
    assert (
        result.stderr.splitlines()[0] == f"{path}:2:1: [error] unknown key 'service' (unknown-key)"
    )
    assert "did you mean 'services'?" in result.stderr
