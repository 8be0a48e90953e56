"""The CLI start-up path imports only what the command needs (issue 6: ``validate`` must not
load Jinja). Each check runs a fresh interpreter, since an import cannot be undone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tools import EXAMPLES

THREE_TIER = os.path.join(EXAMPLES, "three-tier", "topology.yaml")
#: The console script's own main (pyproject's ``topogen = "topogen.entry:main"``).
_PROBE = """
import sys
from topogen.entry import main
try:
    main()
except SystemExit as exc:
    print("EXIT", exc.code)
print("\\n".join(sys.modules))
"""
#: Needed only to write files, only by other commands, or never by the CLI.
EMIT_ONLY = {"jinja2", "markupsafe", "topogen.emit", "topogen.emit.compose", "topogen.emit.swarm"}
NEVER_ON_CHECK = {"rich", "topogen.live", "topogen.schema"}


def _modules(*argv: str) -> tuple[str, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = proc.stdout.splitlines()
    exits = [line for line in lines if line.startswith("EXIT ")]
    assert exits, proc.stderr
    return exits[-1], set(lines)


def test_validate_does_not_import_jinja_or_emitters() -> None:
    code, mods = _modules("validate", THREE_TIER)
    assert code == "EXIT 0"
    assert "topogen.rules" in mods  # it did validate
    assert mods & (EMIT_ONLY | NEVER_ON_CHECK) == set()


def test_version_imports_neither_pydantic_nor_yaml() -> None:
    code, mods = _modules("--version")
    assert code == "EXIT 0"
    assert mods & {"pydantic", "yaml", "topogen.spec", "topogen.pipeline", *EMIT_ONLY} == set()


def test_build_imports_jinja() -> None:
    """The control: the probe does see the emitter when a command needs it."""
    code, mods = _modules("build", "--check", THREE_TIER)
    assert code == "EXIT 0"
    assert {"jinja2", "topogen.emit.compose"} <= mods


def test_console_script_validate_importtime_has_no_jinja() -> None:
    """The installed ``topogen`` script itself, traced with ``-X importtime`` (via its env var)."""
    script = os.path.join(os.path.dirname(sys.executable), "topogen")
    if not os.access(script, os.X_OK):
        script = shutil.which("topogen") or "topogen"
    proc = subprocess.run(
        [script, "validate", THREE_TIER],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.rsplit("|", 1)[-1].strip() for line in lines}
    assert "topogen.pipeline" in imported
    assert {m for m in imported if m.split(".")[0] in {"jinja2", "markupsafe"}} == set()


def test_validate_of_a_clean_file_loads_no_json_and_no_asyncio() -> None:
    """json only serves ``--format json`` and one hint; asyncio came with typing_extensions < 4.16
    (its ``deprecated`` imported it when pydantic-core starts), which pyproject now excludes."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, "validate", THREE_TIER],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    mods = set(proc.stdout.splitlines())
    assert "EXIT 0" in mods and "topogen.rules" in mods, proc.stderr
    assert mods & {"json", "asyncio", "difflib", "typer", "click"} == set()


_TYPER = "import sys; sys.argv[0] = 'topogen'; from topogen.cli import app; app()"
_ENTRY = "import sys; sys.argv[0] = 'topogen'; from topogen.entry import main; main()"


def test_plain_validate_agrees_with_typer(tmp_path: object) -> None:
    """``topogen validate`` parses plain arguments without Typer (topogen/startup.py); whatever
    the arguments, the console script answers exactly as the Typer command does."""
    bad = os.path.join(str(tmp_path), "bad.yaml")
    with open(bad, "w", encoding="utf-8") as fh:
        fh.write("name: t\nservices:\n  a: {image: x, restrat: always}\n")
    warns = os.path.join(EXAMPLES, "host-network", "topology.yaml")
    for args in (
        [THREE_TIER],
        [bad, THREE_TIER],
        ["--format", "json", bad],
        ["-f", "github", warns],
        ["--format", "sarif", bad, warns],
        ["--show-suppressed", "--strict", warns],
        ["--format=json", warns],
        ["--strict", warns],
        ["--", warns],
        ["--compose-project", bad, warns],
        ["--format", "yaml", bad],
        ["--bogus", bad],
        [],
        ["--help"],
        ["--strict"],
        [os.path.join(str(tmp_path), "absent.yaml")],
    ):
        answers = [
            subprocess.run(
                [sys.executable, "-c", probe, "validate", *args],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            for probe in (_ENTRY, _TYPER)
        ]
        plain, typer = ((p.returncode, p.stdout, p.stderr) for p in answers)
        assert plain == typer, args


def test_validate_skips_pydantic_plugin_discovery() -> None:
    """With plugins off (topogen's default), the CLI never imports ``importlib.metadata``."""
    code, mods = _modules("validate", THREE_TIER)
    assert code == "EXIT 0" and "topogen.rules" in mods
    assert "importlib.metadata" not in mods


def test_plugin_loader_stand_in_matches_pydantic() -> None:
    """The stand-in replaces only ``get_plugins``: the real module has it, pydantic's validator
    factory imports nothing else from it, and with plugins disabled it returns no plugins."""
    import inspect

    from pydantic.plugin import _loader, _schema_validator

    source = inspect.getsource(_schema_validator)
    assert "from ._loader import get_plugins\n" in source
    assert source.count("_loader") == 1
    assert inspect.signature(_loader.get_plugins).parameters == {}
    probe = (
        "import os, sys; os.environ['PYDANTIC_DISABLE_PLUGINS'] = 'pkg_a'\n"
        "from topogen.startup import prepare; prepare()\n"
        "import pydantic.plugin._loader as l; print(l.__file__ is not None)"
    )
    # a user's own choice of plugins to disable is left to pydantic's real loader
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
