"""topogen: a declarative topology compiler for Docker.

The library API lives in :mod:`topogen.pipeline`; the CLI in :mod:`topogen.cli` is a thin
layer over it.
"""

__version__ = "0.1.0"
