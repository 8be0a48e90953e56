"""Session-wide set-up: the spec validator cache goes to a private folder, not ~/.cache.

Set in ``os.environ`` at import so that the CLI subprocesses the tests start inherit it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

CACHE = tempfile.mkdtemp(prefix="topogen-test-cache-")
os.environ["TOPOGEN_CACHE_DIR"] = CACHE
os.environ.pop("TOPOGEN_NO_CACHE", None)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    shutil.rmtree(CACHE, ignore_errors=True)
