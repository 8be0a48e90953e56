"""The command line: parse arguments, call :mod:`topogen.pipeline`, print, set the exit code.

Exit codes: 0 clean (or warnings only), 1 problems found (or ``--check`` drift, or a file
that cannot be written), 2 usage (including a file argument that names no file), 130 on
SIGINT, 143 on SIGTERM. ``-`` as the file reads the topology from stdin.
"""

from __future__ import annotations

import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import __version__

if TYPE_CHECKING:
    from . import pipeline
    from .pipeline import Result

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="topogen: a declarative topology compiler for Docker.",
)


class Format(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class ReachFormat(str, Enum):
    table = "table"
    json = "json"


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"


class Target(str, Enum):
    compose = "compose"
    swarm = "swarm"


#: What a command reads when it is given no file: as `docker compose` with no -f.
HERE = (
    "default: the Compose project docker compose finds here: COMPOSE_FILE, else compose.yaml "
    "and its override in this folder or the nearest parent"
)
Files = Annotated[
    list[Path] | None,
    typer.Argument(metavar="FILE", help=f"Topology or Compose files; {HERE}.", show_default=False),
]
File = Annotated[
    Path | None,
    typer.Argument(
        metavar="FILE", help=f"The topology or Compose file; {HERE}.", show_default=False
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")]
OverrideOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--override",
        help="A Compose file merged over the first, as docker compose -f FILE -f OVERRIDE (repeatable).",
    ),
]
ProfileOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--profile",
        help="Only the services this Compose profile enables (repeatable; '*' for all; "
        "default: COMPOSE_PROFILES, else every service, comparing only those that can run together).",
    ),
]
EnvFileOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--env-file",
        help="Variables for interpolation instead of the .env beside the file (repeatable).",
    ),
]


class Project:
    """The options that make several files and an environment one project, as Compose's -f,
    --profile and --env-file do."""

    def __init__(
        self, overrides: list[Path] | None, profiles: list[str] | None, env_files: list[Path] | None
    ) -> None:
        self.overrides = _inputs(overrides or []) if overrides else []
        self.profiles = list(profiles) if profiles else None
        self.env_files = [str(f) for f in env_files] if env_files else None

    def files(self, files: list[Path] | None) -> list[str]:
        """The file arguments (exit 2 for one that names no file), or with none the first
        file of the project ``docker compose`` reads here, its other files becoming overrides."""
        if files:
            return _inputs(files)
        here = _here(self.env_files, self.overrides)
        self.overrides = here[1:]
        return here[:1]

    def single(self, files: list[str]) -> None:
        if self.overrides and len(files) > 1:
            raise typer.BadParameter("--override goes with a single file", param_hint="--override")

    def kwargs(self) -> dict[str, Any]:
        return {"overrides": self.overrides, "profiles": self.profiles, "env_files": self.env_files}


def _inputs(files: list[Path]) -> list[str]:
    """The file arguments as strings; exit 2 with one line each when one names no file."""
    from .startup import missing_inputs

    names = [str(f) for f in files]
    missing = missing_inputs(names)
    if missing:
        sys.stderr.write("".join(missing))
        raise typer.Exit(2)
    return names


def _here(env_files: list[str] | None = None, overrides: list[str] | None = None) -> list[str]:
    """With no FILE: the files ``docker compose`` reads here (exit 2 when there are none)."""
    from .composefiles import use

    if overrides:
        raise typer.BadParameter(
            "goes with a FILE, as docker compose -f FILE -f OVERRIDE", param_hint="--override"
        )
    files = use(env_files)
    if files is None:
        raise typer.Exit(2)
    return files


def _one(files: list[str], command: str) -> str:
    """The one file a command reads whole (``suggest``, ``verify --live``); exit 2 when the
    project here has several."""
    if len(files) > 1:
        typer.echo(
            f"error: {command} reads one file, and docker compose reads {' and '.join(files)} "
            "here: name the FILE",
            err=True,
        )
        raise typer.Exit(2)
    return files[0]


def _write(files: dict[str, str]) -> None:
    """Write all files or none; a failure is one line naming the path, exit 1."""
    from .pipeline import WriteError, write

    try:
        write(files)
    except WriteError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _emit(diags: list, fmt: Format = Format.text) -> None:  # type: ignore[type-arg]
    from .diagnostics import render, visible

    if visible(diags, fmt.value):
        stream = sys.stdout if fmt is not Format.text else sys.stderr
        stream.write(render(diags, fmt.value))


@app.command()
def validate(
    files: Files = None,
    fmt: FormatOpt = Format.text,
    strict: StrictOpt = False,
    engine: Annotated[
        bool,
        typer.Option(
            "--engine",
            help="Also compare with what the Docker engine has (subnets, bridge names, host ports, external networks and volumes).",
        ),
    ] = False,
    compose_project: Annotated[
        bool,
        typer.Option(
            "--compose-project",
            help="Check each Compose file with the files docker compose reads with it: compose.yaml with "
            "the compose.override.yaml beside it, an incomplete compose.<env>.yaml over the compose.yaml "
            "beside it (the pre-commit hook for Compose files).",
        ),
    ] = False,
    show_suppressed: Annotated[
        bool,
        typer.Option(
            "--show-suppressed",
            help="Also print the findings a '# topogen: ignore[...]' comment or the ignore: list accepts.",
        ),
    ] = False,
    override: OverrideOpt = None,
    profile: ProfileOpt = None,
    env_file: EnvFileOpt = None,
) -> None:
    """Check topologies and Compose files; print every problem as file:line:col: [level] message (rule)."""
    from .startup import validate as run

    project = Project(override, profile, env_file)
    names = [str(f) for f in files or ()]
    project.single(names)
    if compose_project and override:
        raise typer.BadParameter(
            "--compose-project finds the override files itself", param_hint="--override"
        )
    code = run(
        names, fmt.value, strict, engine, show_suppressed, compose_project, **project.kwargs()
    )
    raise typer.Exit(code)


class VerifyFormat(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"


@app.command()
def verify(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help=f"The topology or Compose file; {HERE} (with --attach: the files in the project's labels).",
            show_default=False,
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option("--live", help="Bring the topology up on the Docker engine and probe it."),
    ] = False,
    attach: Annotated[
        str | None,
        typer.Option(
            "--attach",
            metavar="PROJECT",
            help="Probe this running Compose project in place (sidecars only, nothing replaced or stopped).",
        ),
    ] = None,
    stub_image: Annotated[
        str | None,
        typer.Option(
            "--stub-image", help="Run every service as this busybox image, listening on its ports."
        ),
    ] = None,
    probe_image: Annotated[
        str | None,
        typer.Option(
            "--probe-image",
            help="Busybox image of the probe sidecars (default: the --stub-image, else busybox:latest).",
            show_default=False,
        ),
    ] = None,
    parent: Annotated[
        str | None,
        typer.Option(
            "--parent", help="Use this macvlan/ipvlan parent interface instead of the topology's."
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the project running (for debugging).")
    ] = False,
    create_external: Annotated[
        bool,
        typer.Option(
            "--create-external",
            help="Create missing external networks and volumes for the run (labelled) and remove them afterwards.",
        ),
    ] = False,
    fmt: Annotated[
        VerifyFormat, typer.Option("--format", "-f", help="Output format.")
    ] = VerifyFormat.text,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the project to come up.")
    ] = 120.0,
    override: OverrideOpt = None,
    profile: ProfileOpt = None,
    env_file: EnvFileOpt = None,
) -> None:
    """Prove the reachability analysis on a real engine: --live brings FILE up, probes every pair,
    compares and tears down; --attach PROJECT probes a project that already runs."""
    from . import live as lv

    _verify_usage(
        file, live, attach, stub_image, parent, keep, create_external, override, profile, env_file
    )
    opts = lv.Options(
        stub_image=stub_image,
        probe_image=probe_image,
        parent=parent,
        keep=keep,
        timeout=timeout,
        create_external=create_external,
        progress=lv.tty_progress,
    )
    project = Project(override, profile, env_file)
    name = _inputs([file])[0] if file else None if attach else _one(_here(), "verify --live")
    selection = lv.Selection(project.overrides, project.profiles, project.env_files)
    try:
        report = (
            lv.attach(attach, name, opts, None, selection) if attach else lv.verify(str(name), opts)
        )
    except lv.ProjectNotFound as exc:
        typer.echo(f"topogen verify: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt as exc:
        typer.echo("\ninterrupted: everything created was removed", err=True)
        raise typer.Exit(143 if isinstance(exc, lv.Terminated) else 130) from None
    sys.stdout.write(report.render(fmt.value))
    raise typer.Exit(report.exit_code)


def _verify_usage(file: Path | None, live: bool, attach: str | None, *rest: Any) -> None:
    """Exit 2 unless exactly one mode is chosen with the options it takes."""
    stub_image, parent, keep, create_external, *selection = rest
    if live == bool(attach):
        typer.echo(
            "verify: pass --live (bring FILE up) or --attach PROJECT (probe a running project)",
            err=True,
        )
        raise typer.Exit(2)
    if attach and (stub_image or parent or keep or create_external):
        raise typer.BadParameter(
            "--attach probes the project as it runs: no --stub-image, --parent, --keep or --create-external",
            param_hint="--attach",
        )
    if live and any(selection):
        raise typer.BadParameter(
            "--override, --profile and --env-file go with --attach", param_hint="--live"
        )
    if str(file) == "-":
        raise typer.BadParameter(
            "verify reads FILE from disk (--live brings it up); it does not read stdin",
            param_hint="FILE",
        )


@app.command()
def build(
    files: Files = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Output directory (default: beside the topology; one file only)."
        ),
    ] = None,
    target: Annotated[
        list[Target] | None, typer.Option("--target", "-t", help="Only this target (repeatable).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if a generated file is stale.")
    ] = False,
    strict: StrictOpt = False,
    override: OverrideOpt = None,
    profile: ProfileOpt = None,
    env_file: EnvFileOpt = None,
    engine: Annotated[
        bool,
        typer.Option("--engine", help="Synthesized subnets also avoid the engine's networks."),
    ] = False,
) -> None:
    """Validate topologies and write docker-compose.yml (and docker-stack.yml for swarm) beside each.

    Nothing is written unless every topology compiles cleanly. ``-`` reads the topology from
    stdin and then needs ``--output``.
    """
    from . import pipeline
    from .startup import STDIN, STDIN_NAME, read_stdin

    if output is not None and files and len(files) > 1:
        raise typer.BadParameter("--output takes a single topology file", param_hint="--output")
    project = Project(override, profile, env_file)
    names = project.files(files)
    project.single(names)
    if STDIN in names and output is None:
        raise typer.BadParameter(
            "a topology read from stdin (-) needs --output", param_hint="--output"
        )
    targets = [t.value for t in target or ()]
    builds = [
        pipeline.build(STDIN_NAME, str(output), targets, strict=strict, content=read_stdin())
        if f == STDIN
        else pipeline.build(
            f,
            str(output) if output else None,
            targets,
            strict=strict,
            avoid=_engine_subnets() if engine else (),
            **project.kwargs(),
        )
        for f in names
    ]
    _emit([d for b in builds for d in b.result.diagnostics])
    if any(b.result.failed(strict=strict) for b in builds):
        raise typer.Exit(1)
    if check:
        shown = names if files else [""]  # no FILE: the command names none either
        raise typer.Exit(_report_stale(shown, builds, output, targets, strict))
    _write({path: text for b in builds for path, text in b.files.items()})
    for b in builds:
        for path in b.files:
            typer.echo(f"wrote {path}", err=True)


@app.command("import")
def import_(
    output: Annotated[Path, typer.Option("--output", "-o", help="The topology file to write.")],
    compose: Annotated[
        Path | None,
        typer.Argument(metavar="COMPOSE", help=f"The Compose file; {HERE}.", show_default=False),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing output file.")
    ] = False,
    override: OverrideOpt = None,
) -> None:
    """Lift a Compose file into a topology: typed forms where they compile back exactly, the rest as written."""
    from .importer import import_file

    overrides = _inputs(override) if override else []
    [name, *overrides] = _here(None, overrides) if compose is None else [str(compose), *overrides]
    files, diags = import_file(name, str(output), force=force, overrides=overrides)
    _emit(diags)
    if not files:
        raise typer.Exit(1)
    _write(files)
    typer.echo(f"wrote {output}", err=True)


def _report_stale(
    names: list[str],
    builds: list[pipeline.Build],
    output: Path | None,
    targets: list[str],
    strict: bool,
) -> int:
    """``build --check``: one line per generated file that differs from (or is missing on) disk,
    with the command that brings it up to date; the exit code."""
    import os

    for name, b in zip(names, builds):
        command = [
            "topogen",
            "build",
            *([name] if name else []),
            *(["-o", str(output)] if output else []),
            *(arg for t in targets for arg in ("-t", t)),
            *(["--strict"] if strict else []),
        ]
        for path in b.stale:
            state = "stale" if os.path.exists(path) else "missing"
            typer.echo(f"{path}: {state}, run `{shlex.join(command)}`", err=True)
    return 1 if any(b.stale for b in builds) else 0


def _checked(file: Path | None, project: Project) -> Result:
    """Check a topology for a command that reads it; print its diagnostics; exit 1 when it
    could not be resolved."""
    from .pipeline import check
    from .startup import STDIN, STDIN_NAME, read_stdin

    [name] = project.files([file] if file else None)
    extra = project.kwargs()
    result = check(STDIN_NAME, read_stdin()) if name == STDIN else check(name, **extra)
    _emit(result.diagnostics)
    if result.topology is None:
        raise typer.Exit(1)
    return result


@app.command()
def reach(
    file: File = None,
    fmt: Annotated[
        ReachFormat, typer.Option("--format", "-f", help="table or json.")
    ] = ReachFormat.table,
    sources: Annotated[
        list[str] | None, typer.Option("--from", help="Only pairs from this endpoint (repeatable).")
    ] = None,
    targets: Annotated[
        list[str] | None, typer.Option("--to", help="Only pairs to this endpoint (repeatable).")
    ] = None,
    override: OverrideOpt = None,
    profile: ProfileOpt = None,
    env_file: EnvFileOpt = None,
) -> None:
    """Print which endpoint (service, host, external) reaches which, over what, by which names,
    and whether the configuration needs it (NEEDED; with --format json, the evidence)."""
    import json

    from .analysis import needs, table
    from .analysis import reach as analysis

    result = _checked(file, Project(override, profile, env_file))
    assert result.topology is not None
    matrix = analysis.analyze(result.topology, sources, targets)
    _known(matrix.endpoints, sorted({*(sources or ()), *(targets or ())}))
    found = needs.needed(result.topology)
    if fmt is ReachFormat.json:
        data = needs.annotate(
            matrix.to_json(), found, lambda path: result.where(path, at_key=False)
        )
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(table.render(matrix, needs.by_pair(found)))
    raise typer.Exit(1 if result.failed() else 0)


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def explain(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="[FILE] FROM TO",
            help=f"FILE: the topology or Compose file ({HERE}). FROM: a service, host or "
            "external. TO[:PORT[/PROTO]]: a service, host or external.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        ExplainFormat, typer.Option("--format", "-f", help="text or json.")
    ] = ExplainFormat.text,
    override: OverrideOpt = None,
    profile: ProfileOpt = None,
    env_file: EnvFileOpt = None,
) -> None:
    """Say whether FROM reaches TO and why: every fact behind the verdict at file:line:col, and
    for an unreachable pair the smallest change that would connect it."""
    import json

    from .analysis import explain as why

    if len(args) not in (2, 3):
        raise typer.BadParameter("give [FILE] FROM TO", param_hint="[FILE] FROM TO")
    *file, source, target = args
    try:
        name, port, proto = why.parse_target(target)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="TO") from None
    result = _checked(Path(file[0]) if file else None, Project(override, profile, env_file))
    assert result.topology is not None
    index = why.reach.Index(result.topology)
    _known(index.endpoints(), [source, name])
    found = why.locate(why.explain(index, source, name, port, proto), result.where)
    text = (
        json.dumps(found.to_json(), indent=2) + "\n"
        if fmt is ExplainFormat.json
        else found.render()
    )
    sys.stdout.write(text)
    raise typer.Exit(1 if result.failed() else 0)


def _known(endpoints: tuple[str, ...], names: list[str]) -> None:
    """Exit 2 with a "did you mean" for each name that is no endpoint."""
    from .analysis.explain import unknown

    problems = [p for p in (unknown(n, endpoints) for n in dict.fromkeys(names)) if p]
    for p in problems:
        typer.echo(f"topogen: {p}", err=True)
    if problems:
        raise typer.Exit(2)


class DiffFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


class FailOn(str, Enum):
    exposure = "exposure"
    policy = "policy"
    any = "any"


@app.command()
def diff(
    sides: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SIDES",
            help="OLD NEW, each a file or REV:PATH (as git show); with --base, only the file "
            f"({HERE}).",
            show_default=False,
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base", help="Compare the file as it was at this git revision with the working file."
        ),
    ] = None,
    fmt: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="text, markdown or json.")
    ] = DiffFormat.text,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on", help="Exit 1 when a change of this kind (exposure, policy, any) is found."
        ),
    ] = None,
    override: OverrideOpt = None,
    profile: ProfileOpt = None,
    env_file: EnvFileOpt = None,
) -> None:
    """What a change opens or closes: every pair whose reachability, path, ports or names changed, every
    change in exposure, every policy whose outcome changed, each at the file:line:col that caused it.

    Exit 1 when --fail-on is met, when a side cannot be analysed or NEW has errors; else 0.
    """
    from . import review, revision

    project = Project(override, profile, env_file)
    if base is not None and not sides:
        sides = project.files(None)
    try:
        sides = review.sides(sides or [], base)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="SIDES") from None
    for side in sides:
        if revision.split(side) is None:
            _inputs([Path(side)])
    try:
        found = review.diff(*sides, **project.kwargs())
    except revision.RevisionError as exc:
        typer.echo(f"topogen diff: {exc}", err=True)
        raise typer.Exit(2) from None
    _emit(found.diagnostics())
    if found.analysed:
        sys.stdout.write(review.RENDER[fmt.value](found))
    raise typer.Exit(found.exit_code(fail_on.value if fail_on else None))


@app.command()
def suggest(
    file: File = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the rewritten file here instead of a diff."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing output file.")
    ] = False,
    engine: Annotated[
        bool, typer.Option("--engine", help="Also avoid the subnets of the engine's networks.")
    ] = False,
) -> None:
    """Print the networks that keep every needed or allowed connection and remove the rest, as a unified diff."""
    from . import suggest as synthesis

    name = _inputs([file])[0] if file else _one(_here(), "suggest")
    if output is not None and output.resolve() == Path(name).resolve():
        raise typer.BadParameter("the output would replace FILE", param_hint="--output")
    if output is not None and output.exists() and not force:
        raise typer.BadParameter(f"{output} exists (--force replaces it)", param_hint="--output")
    found = synthesis.suggest(name, avoid=_engine_subnets() if engine else ())
    _emit(found.diagnostics)
    if not found.text:
        raise typer.Exit(1)
    if output is None:
        sys.stdout.write(found.diff())
    else:
        _write({str(output): found.text})
    typer.echo(found.summary(), err=True)


def _engine_subnets() -> list[str]:
    from .live.inuse import subnets_in_use

    return subnets_in_use()


@app.command()
def graph(
    file: File = None,
    fmt: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="mermaid, dot or svg (needs Graphviz).")
    ] = GraphFormat.mermaid,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    override: OverrideOpt = None,
    profile: ProfileOpt = None,
    env_file: EnvFileOpt = None,
) -> None:
    """Draw the topology: networks as groups, services, mounts and policies.

    Exits 1 when the topology has errors (like ``reach``); ``--output`` is then not written.
    """
    from .emit import graph as diagram

    result = _checked(file, Project(override, profile, env_file))
    assert result.topology is not None
    text = diagram.emit(result.topology, "mermaid" if fmt is GraphFormat.mermaid else "dot")
    try:
        text = diagram.svg(text) if fmt is GraphFormat.svg else text
    except RuntimeError as exc:
        typer.echo(f"topogen graph: {exc}", err=True)
        raise typer.Exit(1) from None
    if not output:
        sys.stdout.write(text)
    elif not result.failed():
        _write({str(output): text})
    raise typer.Exit(1 if result.failed() else 0)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the topology language."""
    from .schema import text

    sys.stdout.write(text())


def _version(value: bool) -> None:
    if value:
        typer.echo(f"topogen {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """topogen: a declarative topology compiler for Docker."""


def main() -> None:
    from .startup import prepare

    prepare()
    app()
