"""Bad input through the real CLI: exit 1, one located diagnostic, no traceback, nothing written.

Every case runs ``python -m topogen`` in a subprocess with a timeout (a hang or a runaway
parse fails the test instead of the suite), in a scratch directory whose listing is compared
before and after.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

TIMEOUT = 30  # seconds; "within a few seconds" on an idle machine, with room for a loaded CI
SIZE_20MB = 20 * 2**20
GOOD = "name: demo\nservices:\n  web:\n    image: nginx:alpine\n"
_LOCATED = re.compile(
    r"^(?P<file>[^\n:]+):(?P<line>\d+):(?P<col>\d+): \[error\] .+ \((?P<rule>[a-z0-9-]+)\)$",
    re.MULTILINE,
)


def _alias_bomb() -> bytes:
    """Billion laughs: nine levels of nine aliases, 9**9 strings once expanded."""
    lines = ["name: bomb", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def _big_scalar() -> bytes:
    """A 20 MB file that is valid YAML: one long string."""
    head = b'name: big\ndescription: "'
    return head + b"x" * (SIZE_20MB - len(head) - 2) + b'"\n'


def _big_mapping() -> bytes:
    """A 20 MB file of many small services: what makes a YAML parser slow and hungry."""
    line = "  s{i}: {{image: nginx, networks: [n{i}]}}\n"
    parts, size, i = ["name: big\nservices:\n"], 0, 0
    while size < SIZE_20MB:
        parts.append(line.format(i=i))
        size += len(parts[-1])
        i += 1
    return "".join(parts).encode()


def _deep_block() -> bytes:
    """600 levels of block mappings, each indented two more spaces."""
    return ("name: r\nx:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(600))).encode()


#: name -> (content, expected line, expected column, expected rule id)
CASES: dict[str, tuple[Callable[[], bytes], int, int, str]] = {
    "not-yaml": (
        lambda: b"name: [unclosed\nservices: {\n",
        2,
        9,
        "yaml-syntax",
    ),  # the : of services
    "empty": (lambda: b"", 1, 1, "empty-file"),
    "only-comments": (lambda: b"# nothing here\n", 1, 1, "empty-file"),
    "top-level-list": (lambda: b"- name: demo\n- services: {}\n", 1, 1, "not-a-mapping"),
    "top-level-scalar": (lambda: b"just a string\n", 1, 1, "not-a-mapping"),
    "tabs": (lambda: b"name: demo\nservices:\n\tweb: {image: nginx}\n", 3, 1, "yaml-syntax"),
    "duplicate-keys": (lambda: b"name: demo\nservices: {}\nname: other\n", 3, 1, "duplicate-key"),
    "invalid-utf8": (lambda: b'name: demo\ndescription: "caf\xe9"\n', 2, 18, "invalid-utf8"),
    "alias-bomb": (_alias_bomb, 4, 5, "yaml-alias-bomb"),  # the anchor expanded once too often
    # Issue 11: these two made the walkers recurse until RecursionError.
    "recursive-alias": (lambda: b"name: r\nx-r: &r [*r]\n", 2, 6, "yaml-recursive-alias"),
    "recursive-merge": (lambda: b"name: r\nx-a: &a {b: 1, <<: *a}\n", 2, 6, "yaml-recursive-alias"),
    "too-deep-flow": (
        lambda: b"name: r\nx: " + b"[" * 600 + b"]" * 600 + b"\n",
        2,
        103,
        "yaml-too-deep",
    ),
    "too-deep-block": (_deep_block, 102, 201, "yaml-too-deep"),
}
BIG: dict[str, Callable[[], bytes]] = {"20mb-scalar": _big_scalar, "20mb-mapping": _big_mapping}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        check=False,
        args=[sys.executable, "-m", "topogen", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
    )


def listing(directory: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in directory.iterdir()}


def assert_clean_failure(proc: subprocess.CompletedProcess[str], file: str) -> re.Match[str]:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    match = _LOCATED.search(proc.stderr)
    assert match, f"no located diagnostic in {proc.stderr!r}"
    assert match.group("file") == file
    return match


@pytest.mark.parametrize("command", [("validate",), ("build",), ("build", "--check")])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_a_located_error(case: str, command: tuple[str, ...], tmp_path: Path) -> None:
    content, line, col, rule = CASES[case]
    (tmp_path / "topology.yaml").write_bytes(content())
    before = listing(tmp_path)
    proc = run(*command, "topology.yaml", cwd=tmp_path)
    match = assert_clean_failure(proc, "topology.yaml")
    assert (int(match.group("line")), int(match.group("col")), match.group("rule")) == (
        line,
        col,
        rule,
    )
    assert listing(tmp_path) == before, "nothing is written"


@pytest.mark.parametrize("case", sorted(BIG))
def test_20mb_file_is_refused_quickly(case: str, tmp_path: Path) -> None:
    (tmp_path / "topology.yaml").write_bytes(BIG[case]())
    before = listing(tmp_path)
    try:
        proc = run("build", "topology.yaml", cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"a 20 MB topology took more than {TIMEOUT}s")
    assert_clean_failure(proc, "topology.yaml")
    assert listing(tmp_path) == before, "nothing is written"


@pytest.mark.parametrize("case", ["not-yaml", "duplicate-keys", "invalid-utf8", "alias-bomb"])
def test_failed_build_leaves_existing_output_untouched(case: str, tmp_path: Path) -> None:
    topo = tmp_path / "topology.yaml"
    topo.write_text(GOOD, encoding="utf-8")
    assert run("build", "topology.yaml", cwd=tmp_path).returncode == 0
    output = tmp_path / "docker-compose.yml"
    good_bytes = output.read_bytes()
    os.utime(output, ns=(1_000_000_000, 1_000_000_000))  # an mtime no rewrite could keep
    topo.write_bytes(CASES[case][0]())
    before = listing(tmp_path)
    assert_clean_failure(run("build", "topology.yaml", cwd=tmp_path), "topology.yaml")
    assert output.read_bytes() == good_bytes
    assert output.stat().st_mtime_ns == 1_000_000_000
    assert listing(tmp_path) == before


def test_missing_file_is_a_located_error(tmp_path: Path) -> None:
    proc = run("build", "nowhere.yaml", cwd=tmp_path)
    assert proc.returncode in (1, 2)
    assert "Traceback" not in proc.stderr
    assert "nowhere.yaml" in proc.stderr
    assert list(tmp_path.iterdir()) == []
