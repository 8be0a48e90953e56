"""The floor: what merely reading the topology and writing an equal output costs in Python.

    python bench/floor.py TOPOLOGY OUTPUT_DATA OUT_FILE

Loads TOPOLOGY with PyYAML's C loader, then dumps the data in OUTPUT_DATA (the structure of
the Compose file topogen wrote, prepared by ``run.py`` with :mod:`marshal`, which costs
milliseconds) to OUT_FILE with PyYAML's C dumper. No validation, no source map, no rules.
"""

import marshal
import sys

import yaml

with open(sys.argv[1], "rb") as fh:
    yaml.load(fh, Loader=yaml.CSafeLoader)
with open(sys.argv[2], "rb") as fh:
    output = marshal.load(fh)
with open(sys.argv[3], "w", encoding="utf-8") as fh:
    yaml.dump(output, fh, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False)
