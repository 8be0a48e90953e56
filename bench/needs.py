"""Time needed-connection inference on one topology, in-process (for bench/run.py).

    python bench/needs.py topology.yaml REPS

Checks the file once (the inference reads the resolved topology), then runs
:func:`topogen.analysis.needs.needed` REPS times and prints the median seconds and the number
of needs found, as JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from topogen import pipeline
from topogen.analysis import needs


def main(argv: list[str]) -> int:
    result = pipeline.check(argv[1])
    if result.topology is None:
        sys.stderr.write("".join(d.format() + "\n" for d in result.diagnostics))
        return 1
    times, found = [], 0
    for _ in range(int(argv[2])):
        start = time.perf_counter()
        found = len(needs.needed(result.topology))
        times.append(time.perf_counter() - start)
    sys.stdout.write(json.dumps({"seconds": statistics.median(times), "needs": found}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
