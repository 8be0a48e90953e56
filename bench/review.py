"""The review rows of the benchmark (issue 12): ``topogen diff`` of two N-service topologies
against one ``topogen reach`` of the larger side, and ``topogen explain`` of one pair against
``topogen validate`` of the same file. Run by ``bench/run.py`` (``--review-only`` for just
these rows).

The second side is the generated topology with :data:`MOVED` services also joining the next
network (a new static address there; they stay on their own, where the service their URL names
is): the kind of change a pull request makes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import Sample, measure

#: Services that also join the next network in the NEW side.
MOVED = 5


def moved(text: str, n: int, count: int = MOVED) -> str:
    """``generate.py N`` with services 0..count-1, on network ``i % nets``, also on the next
    one, at host address 200 + i (unused: each network holds about N / nets services)."""
    import generate

    nets, _ = generate.counts(n)
    for i in range(min(count, n)):
        old, new = i % nets, (i + 1) % nets
        pattern = (
            rf"(  svc{i}:\n(?:    .*\n|      .*\n)*?      )(net{old}: \{{ipv4_address: [0-9.]+\}})"
        )
        address = f"{generate.subnet(new)}.{200 + i}"
        text, found = re.subn(
            pattern,
            rf"\g<1>\g<2>\n      net{new}: {{ipv4_address: {address}}}",
            text,
            count=1,
        )
        assert found == 1, f"svc{i} not found"
    return text


@dataclass
class Review:
    """One size: the two sides, and the four commands compared."""

    n: int
    dir: str
    diff: Sample = field(default_factory=Sample)
    reach: Sample = field(default_factory=Sample)
    explain: Sample = field(default_factory=Sample)
    validate: Sample = field(default_factory=Sample)

    @property
    def old(self) -> str:
        return os.path.join(self.dir, "old.yaml")

    @property
    def new(self) -> str:
        return os.path.join(self.dir, "new.yaml")

    def prepare(self) -> None:
        import generate

        os.makedirs(self.dir, exist_ok=True)
        text = generate.generate(self.n)
        for path, body in ((self.old, text), (self.new, moved(text, self.n))):
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(body)

    def commands(self, topogen: str) -> list[tuple[Sample, list[str]]]:
        pair = ["svc0", f"svc{min(self.n - 1, 1)}"]
        return [
            (self.diff, [topogen, "diff", self.old, self.new]),
            (self.reach, [topogen, "reach", self.new]),  # the sides have the same N
            (self.explain, [topogen, "explain", self.new, *pair]),
            (self.validate, [topogen, "validate", self.new]),
        ]


def check(review: Review, topogen: str) -> None:
    """The diff reports the moved services (it is not an empty run)."""
    out = subprocess.run(
        [topogen, "diff", review.old, review.new], capture_output=True, text=True, check=True
    ).stdout
    for i in range(min(MOVED, review.n)):
        assert f"svc{i} ->" in out, out[:2000]


def run(sizes: list[int], reps: int, workdir: str, topogen: str) -> list[Review]:
    reviews = [Review(n, os.path.join(workdir, f"review-{n}")) for n in sizes]
    for r in reviews:
        print(f"preparing review N={r.n} ...", file=sys.stderr, flush=True)
        r.prepare()
        check(r, topogen)
    for rep in range(reps):
        jobs = [job for r in reviews for job in r.commands(topogen)]
        shift = rep % len(jobs)
        for sample, argv in jobs[shift:] + jobs[:shift]:
            measure(argv, sample)
        print(f"review rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)
    return reviews


def report(reviews: list[Review]) -> list[str]:
    lines = [
        f"Review rows (issue 12): NEW is OLD with {MOVED} services also joining the next network.",
        "",
        "| N services | diff OLD NEW | reach NEW | diff / reach | explain svc0 svc1 | validate | explain / validate |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in reviews:
        lines.append(
            f"| {r.n} | {r.diff.median:.3f} s | {r.reach.median:.3f} s | {r.diff.median / r.reach.median:.2f}x "
            f"| {r.explain.median:.3f} s | {r.validate.median:.3f} s | {r.explain.median / r.validate.median:.2f}x |"
        )
    lines += ["", "| target (issue 12) | measured | met |", "|---|---:|---|"]
    for r in reviews:
        d, e = r.diff.median / r.reach.median, r.explain.median / r.validate.median
        lines.append(f"| N={r.n} diff <= 2x reach | {d:.2f}x | {'yes' if d <= 2 else '**NO**'} |")
        lines.append(
            f"| N={r.n} explain <= 1.5x validate | {e:.2f}x | {'yes' if e <= 1.5 else '**NO**'} |"
        )
    failures = [
        f for r in reviews for s in (r.diff, r.reach, r.explain, r.validate) for f in s.failures
    ]
    if failures:
        lines += ["", "Failed runs:", ""] + [f"- `{f.strip()}`" for f in failures[:10]]
    return lines
