"""The synthesis benchmark (issue 13): designing the networks against building the topology.

    python bench/synth.py [--n 2000] [--flows 10000] [--reps 5] [--out bench/RESULTS-synth.md]

Three rows, on ``intent.py N FLOWS``: the synthesis alone (intent, clique cover, names,
subnets and writing the layout into the document; timed inside one process, after the
topology is read and resolved once, as the pipeline has it), ``topogen build`` of the intent
topology (which synthesizes, then checks and writes the layout), and ``topogen build`` of the
same layout written by hand (the emitted docker-compose.yml given back as input). The target:
the synthesis takes no longer than the build of the same topology.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import Sample, measure, tool

_INNER = """
import sys, time, yaml
from topogen import pipeline, synth, document
from topogen.spec import Synthesize
path, reps = sys.argv[1], int(sys.argv[2])
with open(path, encoding="utf-8") as fh:
    data = yaml.safe_load(fh)
options = Synthesize.model_validate(data["synthesize"])
plain = {k: v for k, v in data.items() if k != "synthesize"}
topo = pipeline.check(path, yaml.safe_dump(plain, sort_keys=False)).topology
view = document.prepare(data).data
times, cpu = [], []
for _ in range(reps):
    start, start_cpu = time.perf_counter(), time.process_time()
    layout = synth.plan(view, topo, options)
    synth.apply(view, layout)
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
print(" ".join(map(str, times)), " ".join(map(str, cpu)), len(layout.networks))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--flows", type=int, default=10000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS-synth.md"))
    parser.add_argument("--workdir", default=os.path.join(HERE, "results", "synth"))
    args = parser.parse_args()
    os.makedirs(os.path.join(args.workdir, "out"), exist_ok=True)
    intent = os.path.join(args.workdir, "intent.yaml")
    with open(intent, "w", encoding="utf-8") as fh:
        cmd = [sys.executable, os.path.join(HERE, "intent.py"), str(args.n), str(args.flows)]
        subprocess.run(cmd, check=True, stdout=fh)
    topogen = tool("topogen")
    out, again = os.path.join(args.workdir, "out"), os.path.join(args.workdir, "again")
    subprocess.run([topogen, "build", intent, "-o", out], check=True, capture_output=True)
    emitted = os.path.join(out, "docker-compose.yml")
    inner = subprocess.run(
        [sys.executable, "-c", _INNER, intent, str(args.reps)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    synthesis = [float(t) for t in inner[: args.reps]]
    synthesis_cpu = [float(t) for t in inner[args.reps : 2 * args.reps]]
    networks = int(inner[-1])
    build, by_hand = Sample(), Sample()
    for _ in range(args.reps):
        measure([topogen, "build", intent, "-o", out], build)
        measure([topogen, "build", emitted, "-o", again], by_hand)
    text = report(
        args,
        statistics.median(synthesis),
        statistics.median(synthesis_cpu),
        networks,
        build,
        by_hand,
    )
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    sys.stdout.write(text)
    return 1 if build.failures or by_hand.failures else 0


def report(
    args: argparse.Namespace,
    synthesis: float,
    synthesis_cpu: float,
    networks: int,
    build: Sample,
    by_hand: Sample,
) -> str:
    ok = "yes" if synthesis <= build.median else "**NO**"
    ok_cpu = "yes" if synthesis_cpu <= build.cpu_median else "**NO**"
    return "\n".join(
        [
            "# synthesis benchmark",
            "",
            (
                f"Measured by `python bench/synth.py` on {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC: "
                f"N = {args.n} services, {args.flows} flows (`bench/intent.py`), {networks} generated "
                f"networks; median of {args.reps} runs."
            ),
            "",
            "| case | wall time | CPU time | peak |",
            "|---|---:|---:|---:|",
            f"| synthesis alone (in process) | {synthesis:.3f} s | {synthesis_cpu:.3f} s | |",
            f"| `topogen build` of the intent topology | {build.median:.3f} s | {build.cpu_median:.3f} s | {build.peak_mib:.0f} MiB |",
            f"| `topogen build` of the same layout written by hand | {by_hand.median:.3f} s | {by_hand.cpu_median:.3f} s | {by_hand.peak_mib:.0f} MiB |",
            "",
            "| target (issue 13) | measured | met |",
            "|---|---:|---|",
            f"| synthesis <= build of the same topology | {synthesis / build.median:.2f}x | {ok} |",
            f"| the same, CPU time | {synthesis_cpu / build.cpu_median:.2f}x | {ok_cpu} |",
            *(f"- failed: `{f.strip()}`" for f in build.failures + by_hand.failures),
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
