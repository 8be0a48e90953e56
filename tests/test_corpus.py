"""The negative corpus: every ``tests/cases/invalid/*.yaml`` yields exactly the diagnostics its
leading ``# expect: LINE:COL rule-id`` comments list (warnings included, duplicates counted),
and ``topogen validate`` exits 1 exactly for the files that have an error."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import pytest

from topogen import pipeline

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = sorted(glob.glob(os.path.join(HERE, "cases", "invalid", "*.yaml")))
EXPECT = re.compile(r"^# expect: (\d+:\d+ [a-z0-9-]+)\s*$")


def expected(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return sorted(m.group(1) for line in fh if (m := EXPECT.match(line)))


def ids(path: str) -> str:
    return os.path.basename(path)[: -len(".yaml")]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 45
    assert all(expected(c) for c in CASES), [ids(c) for c in CASES if not expected(c)]


@pytest.mark.parametrize("path", CASES, ids=ids)
def test_expected_diagnostics(path: str) -> None:
    result = pipeline.check(path)
    got = sorted(f"{d.line}:{d.col} {d.rule}" for d in result.diagnostics)
    assert got == expected(path), "\n".join(d.format() for d in result.diagnostics)
    assert all(d.file == path for d in result.diagnostics)


def _validate(*args: str) -> tuple[int, str]:
    """``topogen validate ARGS`` in-process (the real Typer app, its real exit code and stderr)."""
    from typer.testing import CliRunner

    from topogen.cli import app

    result = CliRunner().invoke(app, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


@pytest.mark.parametrize("path", CASES, ids=ids)
def test_cli_exit_code(path: str) -> None:
    """Exit 1 when the file has an error, 0 when it has warnings only; one line per diagnostic."""
    result = pipeline.check(path)
    code, stderr = _validate(path)
    assert code == (1 if any(d.is_error for d in result.diagnostics) else 0), stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("    hint:")]
    assert lines == [d.format().splitlines()[0] for d in result.diagnostics]


def test_cli_strict_fails_on_warning_only_files() -> None:
    warning_only = [c for c in CASES if not any(d.is_error for d in pipeline.check(c).diagnostics)]
    assert warning_only, "the corpus should hold warning-only cases"
    assert _validate(*warning_only)[0] == 0
    assert _validate("--strict", *warning_only)[0] == 1


def test_one_process_as_a_user_runs_it() -> None:
    """The installed entry point, once, on the whole corpus: exit 1, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "topogen", "validate", *CASES],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("(duplicate-published-port)") == sum(
        e.endswith(" duplicate-published-port") for c in CASES for e in expected(c))
