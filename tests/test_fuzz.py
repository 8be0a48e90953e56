"""Fuzzing the whole CLI: no input makes topogen crash, exit oddly, or write after a failure.

Mutants of ``examples/*/topology.yaml`` and ``tests/cases/**/*.yaml`` (deterministic seed):
line edits (delete, duplicate, swap, re-indent), byte edits, type swaps (scalar, list, map),
deep nesting, aliases (recursive ones too), tags (``!!python/object``, ``!!binary``, unknown
ones), huge numbers, unicode (combining marks, RTL, NUL, surrogates as bytes) and huge strings.

Each mutant is built with ``topogen build FILE -o OUT`` (every fourth also goes through
``reach``, ``graph`` and ``validate --format github``) in-process (``topogen.entry.main`` with
its argv, SystemExit caught): no exception may escape, the exit code is 0, 1 or 2, nothing
may be written when it is not 0, and ``Traceback`` never appears. A sample runs in a fresh
interpreter as well (a crash of the interpreter or of libyaml would not show in-process), and
the output of a sample of clean builds must be accepted by the real ``docker-compose config``.

``TOPOGEN_FUZZ_N`` sets the number of mutants (default sized for about a minute in CI);
``TOPOGEN_FUZZ_SEED`` another seed. A failure names the mutant and how to rebuild it.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tools import EXAMPLES, ROOT, compose_config

N = int(os.environ.get("TOPOGEN_FUZZ_N", "1000"))
SEED = int(os.environ.get("TOPOGEN_FUZZ_SEED", "11"))
#: How many mutants also run in a subprocess, and how many clean outputs go to docker-compose.
SUBPROCESS_SAMPLE = max(8, N // 50)
COMPOSE_SAMPLE = max(10, N // 20)
EXIT_CODES = {0, 1, 2}
REQUIRED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?")
#: Every this many mutants, reach, graph and validate --format github run too.
OTHER_COMMANDS_EVERY = 4

SEEDS = sorted(
    glob.glob(os.path.join(EXAMPLES, "*", "topology.yaml"))
    + glob.glob(os.path.join(ROOT, "tests", "cases", "**", "*.yaml"), recursive=True)
)

Mutator = Callable[[random.Random, list[bytes]], list[bytes]]


# ---------------------------------------------------------------------- mutators (over lines)


def _pick(rng: random.Random, lines: list[bytes]) -> int:
    return rng.randrange(len(lines)) if lines else 0


def delete_line(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    i = _pick(rng, lines)
    return lines[:i] + lines[i + 1 :]


def duplicate_line(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    i = _pick(rng, lines)
    return lines[: i + 1] + lines[i:]


def swap_lines(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    if len(out) > 1:
        i, j = rng.randrange(len(out)), rng.randrange(len(out))
        out[i], out[j] = out[j], out[i]
    return out


def reindent(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    if out:
        i = _pick(rng, out)
        body = out[i].lstrip(b" ")
        indent = max(0, len(out[i]) - len(body) + rng.choice([-4, -2, -1, 1, 2, 3, 8]))
        out[i] = (
            rng.choice([b" ", b"\t", b" \t"]) * indent + body
            if rng.random() < 0.2
            else b" " * indent + body
        )
    return out


def byte_edit(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    data = bytearray(b"\n".join(lines))
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(data) + 1)
        op = rng.random()
        if op < 0.3 and pos < len(data):
            del data[pos]
        elif op < 0.6 and pos < len(data):
            data[pos] = rng.randrange(256)
        else:
            data[pos:pos] = bytes([rng.choice(b":-[]{},&*!|>'\"#%@`?\n\t ")])
    return bytes(data).split(b"\n")


VALUES: list[bytes] = [
    b"[a, b]",
    b"{x: 1}",
    b"x",
    b"~",
    b"[]",
    b"{}",
    b"0",
    b"-1",
    b"true",
    b"no",
    b"''",
    b"[[]]",
    b"{a: {b: [c]}}",
    b"1e999",
    b"99999999999999999999999999999999999999",
    b"-0x7fffffffffffffffffffffff",
    b".nan",
    b"-.inf",
    b"0o7777777777777777777",
    b"1_000",
    b"0b101",
    b"2001-12-14t21:59:43.10-05:00",
    b"65536",
    b"4294967296",
    b"'${X:?}'",
    b"$$",
    b"'${'",
    b"a: b",
    b"- x",
    b"|\n  block\n  text",
    b">-\n  folded",
]
TAGS: list[bytes] = [
    b"!!python/object:os.system",
    b"!!python/object/apply:os.system ['true']",
    b"!!python/name:os.system",
    b"!!binary aGVsbG8=",
    b"!unknown x",
    b"!!str 5",
    b"!!int 12",
    b"!!int x",
    b"!!float 1",
    b"!!bool yes",
    b"!!map {a: 1}",
    b"!!set {a, b}",
    b"!!omap [a: 1]",
    b"!!timestamp 2001-01-01",
    b"!!null ''",
    b"!<tag:x> y",
    b"!!seq [1]",
    b"!!merge x",
]
UNICODE: list[bytes] = [
    "e\u0301\u0301\u0301".encode(),
    "\u202eevil\u202c".encode(),
    b"a\x00b",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    "\ufeff".encode(),
    "\u2028".encode(),
    b"\xc2\x85",
    "\U0001f600".encode(),
    "\u200d\u200b".encode(),
    "\u0645\u0631\u062d\u0628\u0627".encode(),
    b"\xff\xfe",
    b"\x1b[31m",
    b"\x7f",
    "\uffff".encode(),
]


def _value_line(rng: random.Random, lines: list[bytes]) -> int | None:
    candidates = [
        i for i, line in enumerate(lines) if b":" in line and not line.lstrip().startswith(b"#")
    ]
    return rng.choice(candidates) if candidates else None


def _set_value(line: bytes, value: bytes) -> bytes:
    key, sep, _old = line.partition(b": ")
    if not sep:
        key, sep = line.rstrip(b":"), b": "
    return key + sep + value


def type_swap(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    i = _value_line(rng, out)
    if i is not None:
        out[i] = _set_value(out[i], rng.choice(VALUES))
    return out


def deep_nesting(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    i = _value_line(rng, out)
    n = rng.choice([50, 98, 99, 100, 101, 200, 490, 600, 1100])
    value = rng.choice(
        [
            b"[" * n + b"]" * n,
            b"{a: " * n + b"1" + b"}" * n,
            b"[{a: " * (n // 2) + b"x" + b"}]" * (n // 2),
        ]
    )
    if i is not None:
        out[i] = _set_value(out[i], value)
    else:
        out.append(b"x-deep: " + value)
    return out


def aliases(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    kind = rng.randrange(5)
    if kind == 0:
        return [b"x-r: &r [*r]", *out]
    if kind == 1:
        return [b"x-m: &m {a: 1, <<: *m}", *out]
    i = _value_line(rng, out)
    if i is None:
        return out
    if kind == 2:  # anchor a value, alias it elsewhere
        j = _value_line(rng, out)
        key, sep, value = out[i].partition(b": ")
        if sep and value:
            out[i] = key + b": &a " + value
            if j is not None and j != i:
                out[j] = _set_value(out[j], b"*a")
        return out
    if kind == 3:
        out[i] = _set_value(out[i], b"*undefined")
        return out
    out[i] = _set_value(
        out[i], rng.choice([b"{<<: *b}", b"&b {<<: *b}", b"&c [x, *c]", b"&d {k: *d}"])
    )
    return out


def tag(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    i = _value_line(rng, out)
    if i is not None:
        out[i] = _set_value(out[i], rng.choice(TAGS))
    return out


def unicode(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    if out:
        i = _pick(rng, out)
        pos = rng.randrange(len(out[i]) + 1)
        out[i] = out[i][:pos] + rng.choice(UNICODE) + out[i][pos:]
    return out


def huge(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    i = _value_line(rng, out)
    size = rng.choice([10_000, 100_000, 1_000_000])
    # Long collections cost parse time per item (a 1 MB flow list of 500,000 items takes seconds
    # to check), so the list stays at 20,000 items: the point is size, not a benchmark.
    value = rng.choice(
        [
            b"x" * size,
            b'"' + b"\\u00e9" * (size // 6) + b'"',
            b"[" + b"1," * min(size, 20_000) + b"1]",
            b"9" * min(size, 5000),
        ]
    )
    if i is not None:
        out[i] = _set_value(out[i], value)
    return out


MUTATORS: list[Mutator] = [
    delete_line,
    duplicate_line,
    swap_lines,
    reindent,
    byte_edit,
    type_swap,
    type_swap,
    deep_nesting,
    aliases,
    aliases,
    tag,
    unicode,
    huge,
]


@dataclass
class Mutant:
    index: int
    origin: str
    steps: list[str]
    content: bytes

    def describe(self) -> str:
        origin = os.path.relpath(self.origin, ROOT)
        return f"mutant {self.index} of {origin} ({', '.join(self.steps)}), seed {SEED}: {self.content[:300]!r}"


def mutants(n: int = N, seed: int = SEED) -> Iterator[Mutant]:
    rng = random.Random(seed)
    texts = {path: Path(path).read_bytes() for path in SEEDS}
    for index in range(n):
        origin = rng.choice(SEEDS)
        lines = texts[origin].split(b"\n")
        steps = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            mutate = rng.choice(MUTATORS)
            lines = mutate(rng, lines)
            steps.append(mutate.__name__)
        yield Mutant(index, origin, steps, b"\n".join(lines))


# ---------------------------------------------------------------------- running topogen


@dataclass
class Outcome:
    code: object
    stdout: str
    stderr: str
    error: BaseException | None = None


def run_in_process(*argv: str) -> Outcome:
    """``topogen ARGV`` through the console script's own entry point, in this interpreter."""
    from topogen import entry

    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["topogen", *argv]
    code: object = 0
    caught: BaseException | None = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            entry.main()
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
    except BaseException as exc:  # noqa: BLE001 - exactly what the test looks for
        caught, code = exc, None
    finally:
        sys.argv = saved
    return Outcome(code, out.getvalue(), err.getvalue(), caught)


def run_subprocess(*argv: str, cwd: Path) -> Outcome:
    proc = subprocess.run(
        [sys.executable, "-m", "topogen", *argv],
        check=False,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        cwd=cwd,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def problems(outcome: Outcome, out_dir: Path) -> list[str]:
    """What is wrong with one run of ``build -o out_dir``."""
    found = []
    if outcome.error is not None:
        found.append(f"raised {type(outcome.error).__name__}: {str(outcome.error)[:200]}")
    if outcome.code not in EXIT_CODES:
        found.append(f"exit code {outcome.code!r}")
    if "Traceback" in outcome.stderr + outcome.stdout:
        found.append("printed a traceback: " + outcome.stderr[-500:])
    if outcome.code != 0 and out_dir.exists():
        found.append(f"exit {outcome.code} but wrote {sorted(p.name for p in out_dir.iterdir())}")
    return found


def _required_variables(path: Path) -> dict[str, str]:
    """A value for each ``${NAME:?message}`` the file requires (segmentation's database password):
    Compose refuses the file without them, as it should, whatever topogen wrote."""
    return {name: "set-by-fuzz" for name in REQUIRED.findall(path.read_text(encoding="utf-8"))}


def test_seeds_exist() -> None:
    """The corpus the mutants come from: every example and every test case."""
    assert len(SEEDS) >= 100
    assert all(os.path.getsize(p) > 0 for p in SEEDS)


def test_mutants_are_deterministic() -> None:
    first = [m.content for m in mutants(50)]
    assert first == [m.content for m in mutants(50)]
    assert len(set(first)) > 40


def test_fuzz(tmp_path: Path) -> None:
    failures: list[str] = []
    clean: list[tuple[Mutant, Path]] = []
    subprocess_every = max(1, N // SUBPROCESS_SAMPLE)
    codes: dict[object, int] = {}
    for m in mutants():
        work = tmp_path / f"m{m.index}"
        work.mkdir()
        topo = work / "topology.yaml"
        topo.write_bytes(m.content)
        outcome = run_in_process("build", str(topo), "-o", str(work / "out"))
        codes[outcome.code] = codes.get(outcome.code, 0) + 1
        failures += [f"{m.describe()}: {p}" for p in problems(outcome, work / "out")]
        if (
            m.index % OTHER_COMMANDS_EVERY == 0
        ):  # the analyses read what rules let through, errors included
            for argv in (
                ("reach", "--format", "json"),
                ("graph", "--format", "dot"),
                ("validate", "--format", "github"),
            ):
                other = run_in_process(*argv, str(topo))
                failures += [
                    f"{m.describe()} ({argv[0]}): {p}" for p in problems(other, work / "none")
                ]
        if m.index % subprocess_every == 0:
            shutil.rmtree(work / "out", ignore_errors=True)
            sub = run_subprocess("build", "topology.yaml", "-o", "out", cwd=work)
            failures += [f"{m.describe()} (subprocess): {p}" for p in problems(sub, work / "out")]
            if sub.code != outcome.code:
                failures.append(
                    f"{m.describe()}: exit {sub.code} in a subprocess, {outcome.code} in-process"
                )
        # A build that skipped checks for unset variables says so: Compose, given the same
        # environment, refuses the input as it refuses the output; only fully checked builds count.
        checked = (
            "(unset-variable)" not in outcome.stderr and "(required-variable)" not in outcome.stderr
        )
        if (
            outcome.code == 0
            and checked
            and (work / "out" / "docker-compose.yml").exists()
            and len(clean) < COMPOSE_SAMPLE
        ):
            clean.append((m, work / "out" / "docker-compose.yml"))
        elif outcome.code != 0 or len(clean) >= COMPOSE_SAMPLE:
            shutil.rmtree(work, ignore_errors=True)
    for m, path in clean:
        proc = compose_config(str(path), "-q", env=_required_variables(path))
        if proc.returncode != 0:
            failures.append(
                f"{m.describe()}: docker-compose config refused the output: {proc.stderr.strip()[:300]}"
            )
    print(
        f"\nfuzz: {N} mutants, seed {SEED}, exit codes {codes}, {len(clean)} clean outputs checked by Compose"
    )
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:20])
    assert codes.get(1, 0) > 0 and codes.get(0, 0) > 0, codes  # the mutants reach both outcomes


@pytest.mark.parametrize(
    "name,content",
    [
        ("recursive-alias", b"name: r\nx-r: &r [*r]\n"),
        ("too-deep", b"name: r\nx: " + b"[" * 600 + b"]" * 600 + b"\n"),
        (
            "python-tag",
            b"name: r\nservices:\n  web: !!python/object/apply:os.system ['touch pwned']\n",
        ),
        ("nul", b"name: r\x00\nservices: {}\n"),
        ("surrogate", b'name: r\nservices:\n  web: {image: "\xed\xa0\x80"}\n'),
    ],
)
def test_known_crashers_stay_fixed(name: str, content: bytes, tmp_path: Path) -> None:
    """Inputs that once crashed topogen (issue 11), through a fresh interpreter."""
    (tmp_path / "topology.yaml").write_bytes(content)
    outcome = run_subprocess("build", "topology.yaml", "-o", "out", cwd=tmp_path)
    assert problems(outcome, tmp_path / "out") == []
    assert outcome.code == 1
    assert not (tmp_path / "pwned").exists()
