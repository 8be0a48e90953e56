"""${VAR} passes through to Compose; every other $ reaches the container literally."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import compose_config
from topogen import interpolation
from topogen.emit import quote

LITERAL = [
    "pg_dump > /backups/backup-$(date +%Y%m%d-%H%M%S).sql",
    "cost: $5",
    "ends with $",
    "$ alone",
    "$$ stays a literal dollar",
    "price $1.50 and $(echo x)",
]


@pytest.mark.parametrize("text", LITERAL)
def test_literal_dollars_survive_compose_interpolation(tmp_path: Path, text: str) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(f"services:\n  s:\n    image: busybox\n    environment:\n      V: {quote(text)}\n")
    proc = compose_config(str(compose), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    # `config` prints a Compose file, so it shows each literal $ escaped again as $$; the
    # container receives one $ (checked live: `V: "x $$(y)"` echoes `x $(y)`).
    expected = text.replace("$$", "$")
    reported = json.loads(proc.stdout)["services"]["s"]["environment"]["V"]
    assert reported.replace("$$", "$") == expected


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${NAME}", {"NAME": "x"}, "x"),
        ("$NAME-suffix", {"NAME": "x"}, "x-suffix"),
        ("${MISSING:-fallback}", {}, "fallback"),
        ("${MISSING:-$(date)}", {}, "$(date)"),
        ("a ${NAME} and $(b)", {"NAME": "x"}, "a x and $(b)"),
    ],
)
def test_interpolations_are_left_to_compose(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(f"services:\n  s:\n    image: busybox\n    environment:\n      V: {quote(text)}\n")
    proc = compose_config(str(compose), "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["services"]["s"]["environment"]["V"].replace("$$", "$") == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("${1abc}", "a variable name starts with a letter or _"),
        ("${NAME", "unterminated interpolation"),
        ("${NAME:x}", "expected } or one of"),
        ("${}", "a variable name starts with a letter or _"),
        ("${A:-${B}", "unterminated interpolation"),
    ],
)
def test_invalid_interpolations_are_reported(text: str, problem: str) -> None:
    message = interpolation.check(text)
    assert message is not None and problem in message


@pytest.mark.parametrize("text", ["${A}", "${A:-x}", "${A-x}", "${A:?need A}", "${A?x}", "${A:+y}", "${A+y}",
                                  "${A:-${B:-c}}", "$$", "$(x)", "plain"])
def test_valid_texts_have_no_problem(text: str) -> None:
    assert interpolation.check(text) is None


def test_invalid_interpolation_is_located_by_validate(tmp_path: Path) -> None:
    from topogen.pipeline import check

    path = tmp_path / "topology.yaml"
    path.write_text("name: t\nservices:\n  s:\n    image: busybox\n    environment:\n      A: ${1x}\n")
    result = check(str(path))
    assert [(d.line, d.col, d.rule) for d in result.diagnostics] == [(6, 10, "invalid-interpolation")]
    assert "$$" in result.diagnostics[0].hint
