"""Real Compose files: topogen's validate against the real Compose parser (issue 10).

    python bench/corpus.py ROOT... [--reps 3] [--out bench/RESULTS-corpus.md]

A ROOT is a corpus of real Compose projects laid out as ``tests/compose_corpus.py`` reads them
(one folder per case; the corpus itself is not in the repository: its files belong to their
authors). Two rows, each the median of interleaved repetitions of child processes, as
``bench/run.py`` measures them:

- the pre-commit path on existing Compose files: ONE ``topogen validate`` call over every
  case, against ``docker-compose -f FILE config -q`` run once per case (what a hook calling
  Compose would do), summed (target <= 0.25x);
- the largest file of the corpus: ``topogen validate FILE`` against ``docker-compose -f FILE
  config -q`` (target <= 2x). Beside it, the floor of any Python program built as topogen
  is (the interpreter, Pydantic and PyYAML started, a one-field model validated, one line of
  YAML loaded): what no change to topogen's own code can go below.

Both sides run with the environment the corpus was accepted with (PATH and HOME), in the
case's folder. Cases of several files (overrides) are left out of both sides.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, ROOT]

from run import Sample, compile_topogen, compose_binary, measure, tool

from tests.compose_corpus import Case, clean_env, discover


@dataclass
class Corpus:
    cases: list[Case]
    largest: Case
    with_errors: int = 0
    validate: Sample = field(default_factory=Sample)
    compose: Sample = field(default_factory=Sample)
    large_validate: Sample = field(default_factory=Sample)
    large_compose: Sample = field(default_factory=Sample)
    floor: Sample = field(default_factory=Sample)


#: The floor: the interpreter with topogen's two libraries, each used once.
FLOOR = (
    "import yaml\n"
    "from pydantic import BaseModel\n"
    "class One(BaseModel):\n"
    "    name: str\n"
    "One.model_validate(yaml.load('name: x', Loader=yaml.CSafeLoader))\n"
)


def cases(roots: list[str]) -> list[Case]:
    """The single-file cases (``docker-compose -f FILE``)."""
    return [c for c in discover(roots) if len(c.files) == 1]


def compose_argv(compose: str, case: Case) -> list[str]:
    files = [arg for f in case.files for arg in ("-f", f)]
    return [compose, *files, "--project-directory", case.project_dir, "config", "-q"]


def compose_all(compose: str, chosen: list[Case], sample: Sample, env: dict[str, str]) -> None:
    """``docker-compose config -q`` once per case: one sample, the sum of the runs."""
    each = Sample()
    for case in chosen:
        measure(compose_argv(compose, case), each, env)
    sample.seconds.append(sum(each.seconds))
    sample.cpu.append(sum(each.cpu))
    sample.peak_kib.append(max(each.peak_kib))
    sample.failures += each.failures


def run(roots: list[str], reps: int, small_reps: int) -> Corpus:
    compile_topogen()
    topogen, compose = tool("topogen"), compose_binary()
    env = clean_env()
    chosen = cases(roots)
    if not chosen:
        sys.exit("bench: no cases under " + ", ".join(roots))
    largest = max(chosen, key=lambda c: os.path.getsize(c.files[0]))
    result = Corpus(chosen, largest)
    firsts = [c.files[0] for c in chosen]
    validate = [topogen, "validate", *firsts]
    check = subprocess.run(validate, env=env, capture_output=True, text=True, check=False)
    if check.returncode not in (0, 1):
        sys.exit(f"bench: topogen validate exited {check.returncode}: {check.stderr[-500:]}")
    result.with_errors = len(
        {line.split(":", 1)[0] for line in check.stderr.splitlines() if "[error]" in line}
    )
    large = largest.files[0]
    jobs = [
        (lambda: measure(validate, result.validate, env)),
        (lambda: compose_all(compose, chosen, result.compose, env)),
    ]
    jobs += [
        (lambda: measure([topogen, "validate", large], result.large_validate, env)),
        (lambda: measure(compose_argv(compose, largest), result.large_compose, env)),
        (lambda: measure([sys.executable, "-c", FLOOR], result.floor, env)),
    ] * small_reps
    for rep in range(reps):
        shift = rep % len(jobs)
        for job in jobs[shift:] + jobs[:shift]:
            job()
        print(f"rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)
    # files with errors of their own (true errors, e.g. a port published twice) exit 1
    result.validate.failures = [f for f in result.validate.failures if ": exit 1:" not in f]
    return result


def _row(label: str, s: Sample) -> str:
    return f"| {label} | {s.median:.3f} s | {s.cpu_median:.3f} s | {s.peak_mib:.0f} MiB |"


def report(c: Corpus, reps: int, small_reps: int) -> str:
    many = c.validate.median / c.compose.median
    large = c.large_validate.median / c.large_compose.median
    floor = c.floor.median / c.large_compose.median
    size = os.path.getsize(c.largest.files[0])
    with open(c.largest.files[0], "rb") as fh:
        lines_in_largest = len(fh.read().splitlines())
    lines = [
        "# topogen on real Compose files",
        "",
        (
            f"Measured by `python bench/corpus.py` on {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} "
            f"UTC: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
            f"median of {reps} interleaved repetitions ({reps * small_reps} of the largest-file rows)."
        ),
        "",
        f"| {len(c.cases)} real Compose projects | time | CPU time | peak |",
        "|---|---:|---:|---:|",
        _row("one `topogen validate` call", c.validate),
        _row("`docker-compose config -q`, once per project, summed", c.compose),
        "",
        f"| largest file: {c.largest.id} ({size} bytes, {lines_in_largest} lines) | time | CPU time | peak |",
        "|---|---:|---:|---:|",
        _row("`topogen validate FILE`", c.large_validate),
        _row("`docker-compose -f FILE config -q`", c.large_compose),
        _row(
            f"floor: Python, Pydantic and PyYAML started, one model validated ({floor:.2f}x Compose)",
            c.floor,
        ),
        "",
        "| target (issue 10) | measured | met |",
        "|---|---:|---|",
        f"| one validate over the corpus <= 0.25x Compose once per file | {many:.2f}x | {'yes' if many <= 0.25 else '**NO**'} |",
        f"| largest file <= 2x Compose | {large:.2f}x | {'yes' if large <= 2 else '**NO**'} |",
        "",
        f"{c.with_errors} files have errors of their own (validate exits 1 on them, as it should).",
    ]
    failures = [
        f for s in (c.validate, c.compose, c.large_validate, c.large_compose) for f in s.failures
    ]
    if failures:
        lines += ["", "Failed runs:", ""] + [f"- `{f.strip()[:300]}`" for f in failures[:10]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", help="corpus roots (one folder per case)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--small-reps", type=int, default=5, help="largest-file runs per rep")
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS-corpus.md"))
    args = parser.parse_args()
    result = run(args.roots, args.reps, args.small_reps)
    text = report(result, args.reps, args.small_reps)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
