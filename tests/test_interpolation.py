"""Compose's interpolation: every expectation here is what the real ``docker-compose config``
(compose-go v2.9.1) makes of a small file under a controlled environment.

The files are written as JSON (a YAML subset whose strings are always strings). ``config``
prints its model as a Compose file, so each ``$`` of a value comes out as ``$$``
(:func:`tools.unescape`).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tools import compose_binary, docker_cli

from topogen import interpolation
from topogen.interpolation import cast, check, interpolate, interpolate_tree, load_env, parse_dotenv
from topogen.substitution import for_stack

ENV = {"A": "a", "E": "", "N": "5"}
_WARNING = re.compile(r'The \\"([^"\\]+)\\" variable is not set')


def compose(
    folder: Path, doc: Any, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f compose.json [ARGS] config`` in ``folder`` with exactly ``env`` (and PATH)."""
    path = folder / "compose.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return subprocess.run(
        [compose_binary(), "-f", str(path), *args, "config", "--format", "json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=folder,
        env={"PATH": os.environ["PATH"], "PWD": str(folder), **env},
    )


def model(folder: Path, doc: Any, env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = compose(folder, doc, env, *args)
    assert proc.returncode == 0, proc.stderr
    return unescape(json.loads(proc.stdout))  # type: ignore[no-any-return]


def unescape(value: Any) -> Any:
    """``config`` prints each ``$`` of the model as ``$$``, in keys too."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [unescape(v) for v in value]
    if isinstance(value, dict):
        return {unescape(k): unescape(v) for k, v in value.items()}
    return value


def warned(stderr: str) -> set[str]:
    return set(_WARNING.findall(stderr))


def service(**keys: Any) -> dict[str, Any]:
    return {"services": {"s": {"image": "busybox", **keys}}}


# ---------------------------------------------------------------------- grammar

ACCEPTED = [
    "plain",
    "$(date +%F)",
    "x $ y",
    "$1",
    "$@",
    "end$",
    "$",
    "$$",
    "$$$",
    "$$A",
    "$$(date)",
    "${A}",
    "$A",
    "$Ab",
    "$A-b",
    "$A.b",
    "${A}${A}",
    "a ${A} and $(b)",
    "$A$B$$C",
    "${A:-x}",
    "${E:-x}",
    "${B:-x}",
    "${A-x}",
    "${E-x}",
    "${B-x}",
    "${B:-}",
    "${A:+alt}",
    "${E:+alt}",
    "${B:+alt}",
    "${A+alt}",
    "${E+alt}",
    "${B+alt}",
    "${A:?boom}",
    "${A?boom}",
    "${E?boom}",
    "${A:-${B:-x}}",
    "${B:-${E:-y}}",
    "${B:-${C-${N}}}",
    "${B:-{x}",
    "${B:-{}x}",
    "${A:-x}}",
    "${A:-x} ${B}",
    "${A-x:-y}",
    "${A-?x}",
    "${A:-$B}",
    "${A:+${B}}",
    "${B:-a $(b) c}",
    "${B:-$$}",
    "${B:-x}${A:-y}",
    "line1\n$A\n${B:-three}",
    "${A:-x}\n${B:-y}",
    "$ı",
    "${a}",
    "$ſx",
    "${\u212a}",
    "${B:-{}} tail}",
    "${A:-{}}}",
    "${B:-{{x}}}y}",
]


def test_accepted_values_interpolate_as_compose_does(tmp_path: Path) -> None:
    """One file, every value an environment entry; the unset variables are those warned of."""
    env = {f"V{i}": text for i, text in enumerate(ACCEPTED)}
    proc = compose(tmp_path, service(environment=env), ENV)
    assert proc.returncode == 0, proc.stderr
    got = unescape(json.loads(proc.stdout)["services"]["s"]["environment"])
    values = {key: interpolate(text, ENV) for key, text in env.items()}
    assert got == {key: value.text for key, value in values.items()}
    assert all(value.error is None for value in values.values())
    assert warned(proc.stderr) == {name for value in values.values() for name in value.unset}


@pytest.mark.parametrize(
    "text", ["$A$B$$C", "${A:-$B}", "${A:+${B}}", "${B:-x} $C", "${B+x}", "${B:-$B}"]
)
def test_unset_variables_are_those_compose_warns_about(tmp_path: Path, text: str) -> None:
    """Defaults are interpolated even when unused: ``${A:-$B}`` warns about B with A set."""
    proc = compose(tmp_path, service(environment={"V": text}), ENV)
    assert proc.returncode == 0, proc.stderr
    assert warned(proc.stderr) == set(interpolate(text, ENV).unset)


REFUSED = [
    "${1}",
    "${}",
    "${ A}",
    "${A!}",
    "${A:x}",
    "${A",
    "${A:-x\n}",
    "${A:-${B}",
    "${B:-${C}",
    "${\u0130}",
    "x ${A} ${-}",
    "${A:-${1x}}",
    "${A:+${1x}}",
    "${A:?${1x}}",
    "${B:?boom}",
    "${E:?boom}",
    "${B?}",
    "${B?why ${A}}",
    "${A:-${B:?deep}}",
    "${B:?m} $C",
]


@pytest.mark.parametrize("text", REFUSED)
def test_refused_values_are_errors(tmp_path: Path, text: str) -> None:
    proc = compose(tmp_path, service(environment={"V": text}), ENV)
    value = interpolate(text, ENV)
    assert proc.returncode != 0 and value.error is not None, (proc.stdout, value)
    if "required variable" in proc.stderr:
        assert value.error in proc.stderr
    else:
        assert "invalid interpolation format for services.s.environment.V" in proc.stderr
        assert value.error.startswith("invalid interpolation")


@pytest.mark.parametrize("text", [t for t in REFUSED + ACCEPTED])
def test_check_is_the_syntax_error_under_any_environment(tmp_path: Path, text: str) -> None:
    """``check`` finds what Compose refuses when every variable is set and not empty."""
    names = set(re.findall(r"[_A-Za-z\u017f\u212a][_A-Za-z0-9\u017f\u212a]*", text))
    proc = compose(tmp_path, service(environment={"V": text}), dict.fromkeys(names, "set"))
    assert (check(text) is None) == (proc.returncode == 0), proc.stderr


def test_check_messages_say_what_is_wrong() -> None:
    assert "a variable name starts with a letter or _" in (check("${1abc}") or "")
    assert "expected } or one of :- - :? ? :+ + after NAME" in (check("${NAME:x}") or "")
    assert "no closing }" in (check("${NAME") or "")
    assert "no closing }" in (check("${A:-${B}") or "")
    assert check("${A:?required}") is None and check("$(x) $$ $1") is None


def test_invalid_interpolation_is_located_by_validate(tmp_path: Path) -> None:
    from topogen.pipeline import check as pipeline_check

    path = tmp_path / "topology.yaml"
    path.write_text(
        "name: t\nservices:\n  s:\n    image: busybox\n    environment:\n      A: ${1x}\n"
    )
    result = pipeline_check(str(path))
    assert [(d.line, d.col, d.rule) for d in result.diagnostics] == [
        (6, 10, "invalid-interpolation")
    ]
    assert "$$" in result.diagnostics[0].hint


# ---------------------------------------------------------------------- what is interpolated


def test_values_everywhere_are_interpolated_keys_never(tmp_path: Path) -> None:
    doc = {
        "name": "${PROJECT:-Proj_One}",
        "x-top": {"list": ["${A}", "$$"]},
        "services": {
            "s": {
                "image": "busybox:${TAG-latest}",
                "x-mine": "${A:-x}",
                "environment": {"${A}": "${A}", "K": "$$A"},
                "labels": ["l=${N}"],
                "command": ["sh", "-c", "echo $HOSTNAME $$HOSTNAME $A"],  # the README's example
            }
        },
    }
    got = model(tmp_path, doc, ENV)
    tree = interpolate_tree(doc, ENV)
    assert got["name"] == interpolation.project_name(doc["name"], ENV, str(tmp_path)) == "proj_one"
    svc, want = got["services"]["s"], tree.data["services"]["s"]
    assert svc["environment"] == want["environment"] == {"${A}": "a", "K": "$A"}
    assert (svc["image"], svc["labels"], svc["command"]) == (
        want["image"],
        {"l": "5"},
        want["command"],
    )
    assert want["labels"] == ["l=5"] and want["command"][2] == "echo  $HOSTNAME a"
    assert tree.data["x-top"] == {"list": ["a", "$"]} and want["x-mine"] == "a"
    assert tree.unset == {("services", "s", "command", 2): ("HOSTNAME",)} and tree.errors == {}
    assert doc["services"]["s"]["x-mine"] == "${A:-x}"  # the input is left alone


@pytest.mark.parametrize("where", ["x-top", "x-service", "name"])
def test_extensions_are_interpolated_too(tmp_path: Path, where: str) -> None:
    """A missing required variable in an ``x-`` value fails the file, as anywhere else."""
    doc: dict[str, Any] = service()
    target = {"x-top": doc, "x-service": doc["services"]["s"], "name": doc}[where]
    target["name" if where == "name" else where] = "${MISSING:?needed}"
    proc = compose(tmp_path, doc, ENV)
    tree = interpolate_tree(doc, ENV)
    assert (
        proc.returncode != 0
        and "required variable MISSING is missing a value: needed" in proc.stderr
    )
    assert list(tree.errors.values()) == ["required variable MISSING is missing a value: needed"]


def test_tree_reports_paths(tmp_path: Path) -> None:
    doc = service(environment=["A=$A", "B=$B"], command=["${C:?no C}", "${D}"])
    tree = interpolate_tree(doc, ENV)
    assert tree.unset == {
        ("services", "s", "environment", 1): ("B",),
        ("services", "s", "command", 1): ("D",),
    }
    assert tree.errors == {
        ("services", "s", "command", 0): "required variable C is missing a value: no C"
    }
    assert tree.data["services"]["s"]["command"][0] == "${C:?no C}"  # kept as written


# ---------------------------------------------------------------------- casts


def cast_document(i: str, f: str, t: str) -> dict[str, Any]:
    """A string at every path of :data:`interpolation.CASTS` (``i``, ``f``, ``t`` for ints,
    floats and booleans), in a file Compose accepts and prints back."""
    return {
        "services": {
            "s": {
                "image": "busybox",
                "networks": ["n", "m"],
                "secrets": ["sec"],
                "configs": ["cfg"],
                **{
                    k: i
                    for k in (
                        "cpu_count",
                        "cpu_period",
                        "cpu_quota",
                        "cpu_rt_period",
                        "cpu_rt_runtime",
                        "cpu_shares",
                        "oom_score_adj",
                        "pids_limit",
                        "scale",
                    )
                },
                **{
                    k: t
                    for k in (
                        "init",
                        "oom_kill_disable",
                        "privileged",
                        "read_only",
                        "stdin_open",
                        "tty",
                    )
                },
                "cpu_percent": i,
                "cpus": f,  # a float percent must be whole for the schema
                "deploy": {
                    "replicas": i,
                    "restart_policy": {"max_attempts": i},
                    "update_config": {"parallelism": i, "max_failure_ratio": f},
                    "rollback_config": {"parallelism": i, "max_failure_ratio": f},
                    "placement": {"max_replicas_per_node": i},
                },
                "healthcheck": {"test": ["CMD", "true"], "retries": i, "disable": t},
                "ports": [{"target": i, "published": i}],
                "ulimits": {"nproc": i, "nofile": {"soft": i, "hard": i}},
                "volumes": [
                    {"type": "bind", "source": ".", "target": "/x", "read_only": t},
                    {"type": "volume", "source": "v", "target": "/y", "volume": {"nocopy": t}},
                ],
            }
        },
        "networks": {
            "n": {"external": t},
            "m": {k: t for k in ("internal", "attachable", "enable_ipv4", "enable_ipv6")},
        },
        "volumes": {"v": {"external": t}},
        "secrets": {"sec": {"external": t, "file": "compose.json"}},
        "configs": {"cfg": {"external": t, "file": "compose.json"}},
    }


def at(data: Any, pattern: tuple[str, ...]) -> list[Any]:
    """The values at a CASTS pattern (``*`` any key, ``[]`` any item)."""
    if not pattern:
        return [data]
    head, rest = pattern[0], pattern[1:]
    if isinstance(data, list) and head in ("[]", "*"):
        return [v for item in data for v in at(item, rest)]
    if isinstance(data, dict):
        keys = sorted(data) if head == "*" else [head] if head in data else []
        return [v for k in keys for v in at(data[k], rest)]
    return []


@pytest.mark.parametrize(
    ("i", "f", "t"),
    [
        ("${I}", "${F}", "${T}"),
        ("3", "2", "true"),
        ("+7", "1e1", "FALSE"),
        ("007", "0x1p-2", "yes"),
        ("${I:-4}", ".5", "Off"),
        ("${I}", "1_0.2_5", "${T:-y}"),
    ],
)
def test_casts_are_compose_casts(tmp_path: Path, i: str, f: str, t: str) -> None:
    env = {"I": "12", "F": "0.75", "T": "false"}
    doc = cast_document(i, f, t)
    got, tree = model(tmp_path, doc, env), interpolate_tree(doc, env)
    assert not tree.errors and not tree.cast_errors
    for pattern in interpolation.CASTS:
        want = at(tree.data, pattern)
        assert want and all(not isinstance(v, str) for v in want), pattern
        assert at(got, pattern) == want or (at(got, pattern) == [] and not any(want)), pattern
    published = doc["services"]["s"]["ports"][0]["published"]
    assert at(tree.data, ("services", "*", "ports", "[]", "published")) == [
        interpolate(published, env).text
    ]


@pytest.mark.parametrize(
    ("kind", "path", "text"),
    [
        ("int", ("deploy", "replicas"), " 5"),
        ("int", ("deploy", "replicas"), "5.0"),
        ("int", ("deploy", "replicas"), "0x10"),
        ("int", ("deploy", "replicas"), "1_0"),
        ("int", ("deploy", "replicas"), "99999999999999999999"),
        ("int", ("deploy", "replicas"), ""),
        ("bool", ("read_only",), "1"),
        ("bool", ("read_only",), "t"),
        ("bool", ("read_only",), " true"),
        ("bool", ("read_only",), ""),
        ("float32", ("cpus",), " 1"),
        ("float32", ("cpus",), "1e50"),
        ("float32", ("cpus",), "1__0"),
        ("float32", ("cpus",), "_1"),
        ("float32", ("cpus",), "1_"),
        ("float32", ("cpus",), "1_.5"),
        ("float32", ("cpus",), "0x1"),
        ("float32", ("cpus",), "+nan"),
    ],
)
def test_cast_failures_are_errors(
    tmp_path: Path, kind: str, path: tuple[str, ...], text: str
) -> None:
    svc: dict[str, Any] = {}
    node = svc
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = "${V}"
    proc = compose(tmp_path, service(**svc), {"V": text})
    assert proc.returncode != 0 and "failed to cast to expected type" in proc.stderr
    assert cast(kind, text)[0] is None
    tree = interpolate_tree(service(**svc), {"V": text})
    assert list(tree.cast_errors) == [("services", "s", *path)] and not tree.errors


@pytest.mark.parametrize(
    "text", ["1e1_0", "0x_1p0", "0_1", "1.5_0", "+.5e-1", "1.", "INF", "-Infinity", "nan"]
)
def test_floats_are_go_floats(tmp_path: Path, text: str) -> None:
    """cpus: Go's ParseFloat (underscores between digits, hex, inf and nan; the latter two
    are accepted, though ``--format json`` cannot print them)."""
    proc = compose(tmp_path, service(cpus="${V}"), {"V": text})
    number, problem = cast("float32", text)
    assert problem is None and number is not None
    if proc.returncode == 0:
        assert json.loads(proc.stdout)["services"]["s"]["cpus"] == pytest.approx(number)
    else:
        assert "unsupported value" in proc.stderr and not math.isfinite(number)


@pytest.mark.parametrize("text", ["yes", "Y", "on", "NO", "n", "off"])
def test_yaml_11_booleans_are_cast_with_a_warning(tmp_path: Path, text: str) -> None:
    proc = compose(tmp_path, service(tty="${V}"), {"V": text})
    tree = interpolate_tree(service(tty="${V}"), {"V": text})
    assert (
        json.loads(proc.stdout)["services"]["s"].get("tty", False)
        is tree.data["services"]["s"]["tty"]
    )
    assert "not supported by YAML 1.2" in proc.stderr and list(tree.warnings) == [
        ("services", "s", "tty")
    ]


class Plain(str):
    """Like ``source.Verbatim``: a plain scalar whose type parsers disagree on."""


def test_a_plain_number_kept_as_text_is_not_cast(tmp_path: Path) -> None:
    """``cpu_shares: 0400`` is octal 256 to Compose's YAML parser, not a string to cast."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  s:\n    image: busybox\n    cpu_shares: 0400\n"
    )
    proc = subprocess.run(
        [compose_binary(), "-f", "compose.yaml", "config", "--format", "json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
    )
    assert json.loads(proc.stdout)["services"]["s"]["cpu_shares"] == 256  # not cast("int", "0400")
    tree = interpolate_tree(service(cpu_shares=Plain("0400")), {})
    assert tree.data["services"]["s"]["cpu_shares"] == "0400" and not tree.cast_errors


def test_depends_on_required_is_not_cast_by_this_compose(tmp_path: Path) -> None:
    """compose-go casts ``depends_on.*.required`` only after v2.9.1; the binary refuses it."""
    doc = {
        "services": {
            "s": {
                "image": "busybox",
                "depends_on": {"d": {"condition": "service_started", "required": "${T}"}},
            },
            "d": {"image": "busybox"},
        }
    }
    proc = compose(tmp_path, doc, {"T": "true"})
    assert proc.returncode != 0 and "required must be a boolean" in proc.stderr
    assert (
        interpolate_tree(doc, {"T": "true"}).data["services"]["s"]["depends_on"]["d"]["required"]
        == "true"
    )


# ---------------------------------------------------------------------- environment

DOTENV = r"""# comment
PLAIN=value
SPACED = spaced value
COLON: yaml style
export EXPORTED=yes
  INDENTED=ok
INLINE=abc # a comment
HASH=abc#notcomment
SQ='single $PLAIN \n "x"'
DQ="double ${PLAIN} \n tab\t dollar\$PLAIN oct\0101 keep\0777 c\c bs\\ q\" "
ESCSQ='it\'s'
MULTI="line1
line2 ${PLAIN}"
MULTISQ='a
b'
REF=${PLAIN}-${SQ:-x}
REF2=$PLAIN$$X
DEF=${NOPE:-fallback}
INHERIT
PROCVAR=${FROMPROC}
OVERRIDDEN=from file
EMPTY=
QUOTED_TRAIL="v" # trailing
DOT.KEY=1
DASH-KEY=2
BRACKET[0]=3
1DIGIT=4
ÜNICODE=5
EQ=a=b
OVER=first
OVER=second ${OVER}
UNTRIMMED=  leading
NOTSET
"""


def environment_lines(values: dict[str, str]) -> str:
    """What ``config --environment`` prints: ``KEY=VALUE`` entries sorted as strings."""
    return "".join(sorted((f"{k}={v}\n" for k, v in values.items()), key=lambda e: e.encode()))


def compose_environment(
    folder: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``config --environment``, its output decoded without newline translation."""
    (folder / "compose.json").write_text(json.dumps(service()), encoding="utf-8")
    proc = subprocess.run(
        [compose_binary(), "-f", str(folder / "compose.json"), *args, "config", "--environment"],
        check=False,
        capture_output=True,
        timeout=60,
        cwd=folder,
        env={"PATH": os.environ["PATH"], "PWD": str(folder), **env},
    )
    out, err = proc.stdout.decode(), proc.stderr.decode()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_dotenv_format_is_compose_gos(tmp_path: Path) -> None:
    crlf = 'CRLF="x\r\ny"\r\nAFTER=1\r\n'  # Windows line ends: a quoted value keeps its \r
    (tmp_path / ".env").write_bytes((DOTENV + crlf).encode())
    process = {"INHERIT": "inherited", "FROMPROC": "proc", "OVERRIDDEN": "process wins"}
    proc = compose_environment(tmp_path, process)
    assert proc.returncode == 0, proc.stderr
    env = load_env(
        str(tmp_path), environ={"PATH": os.environ["PATH"], "PWD": str(tmp_path), **process}
    )
    assert env.problems == []
    values = {
        **env.values,
        "COMPOSE_PROJECT_NAME": interpolation.project_name(None, env.values, str(tmp_path)),
    }
    assert proc.stdout == environment_lines(values)
    assert (
        env.values["OVERRIDDEN"] == "process wins" and env.values["MULTI"] == "line1\nline2 value"
    )
    assert (env.values["CRLF"], env.values["AFTER"]) == ("x\r\ny", "1")


def test_parse_dotenv_alone() -> None:
    assert parse_dotenv('\ufeffA=1\nB="${A}2"\nC=${X:-d}\nD\n', {"X": "x", "D": "dee"}) == {
        "A": "1",
        "B": "12",
        "C": "x",
        "D": "dee",
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("A=1\nB C=2\n", 2),
        (
            'A="open\nB=2\n',
            3,
        ),  # Compose counts to the end of the file ("A=1\nB!=2\n", 2), ("A=x\n\n\n  # c\nB=\"x", 5),
        ("A=1\nB=${1x}\n", 2),
        ("A=${B:?needB}\n", 1),
    ],
)
def test_malformed_env_files_are_problems(tmp_path: Path, text: str, line: int) -> None:
    (tmp_path / ".env").write_text(text, encoding="utf-8")
    proc = compose_environment(tmp_path, {})
    env = load_env(str(tmp_path), environ={"PATH": "/bin"})
    assert proc.returncode != 0 and len(env.problems) == 1
    assert env.problems[0].startswith(f"{tmp_path / '.env'}:{line}: ")
    named = re.search(r"line (\d+):", proc.stderr)  # none for an interpolation error
    assert "failed to read" in proc.stderr and (named is None or int(named.group(1)) == line)


def test_env_files_replace_dotenv_later_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("FROM_DOTENV=1\n", encoding="utf-8")
    (tmp_path / "one.env").write_text("B=one\nD=one\n", encoding="utf-8")
    (tmp_path / "two.env").write_text("D=two:${B}:${A}\n", encoding="utf-8")
    process = {"A": "proc", "B": "proc-b"}
    proc = compose_environment(tmp_path, process, "--env-file", "one.env", "--env-file", "two.env")
    assert proc.returncode == 0, proc.stderr
    monkeypatch.chdir(tmp_path)  # --env-file is relative to the current directory, as in Compose
    env = load_env(str(tmp_path), ["one.env", "two.env"], {"PATH": os.environ["PATH"], **process})
    assert "FROM_DOTENV" not in env.values and env.values["D"] == "two:proc-b:proc"
    values = {
        **env.values,
        "COMPOSE_PROJECT_NAME": interpolation.project_name(None, env.values, str(tmp_path)),
    }
    assert proc.stdout == environment_lines(values)


def test_missing_env_file_is_a_problem(tmp_path: Path) -> None:
    proc = compose_environment(tmp_path, {}, "--env-file", str(tmp_path / "nope.env"))
    env = load_env(str(tmp_path), [str(tmp_path / "nope.env")], {})
    assert proc.returncode != 0 and env.problems == [f"{tmp_path / 'nope.env'}: env file not found"]


@pytest.mark.parametrize(
    ("flag", "read"), [("1", False), ("true", False), ("0", True), ("FALSE", True), ("yes", None)]
)
def test_compose_disable_env_file(tmp_path: Path, flag: str, read: bool | None) -> None:
    (tmp_path / ".env").write_text("FROM_DOTENV=1\n", encoding="utf-8")
    proc = compose_environment(tmp_path, {"COMPOSE_DISABLE_ENV_FILE": flag})
    env = load_env(str(tmp_path), environ={"COMPOSE_DISABLE_ENV_FILE": flag})
    if read is None:
        assert proc.returncode != 0 and env.problems
    else:
        assert proc.returncode == 0 and ("FROM_DOTENV=1\n" in proc.stdout) is read is (
            "FROM_DOTENV" in env.values
        )


def test_pwd_defaults_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "compose.json").write_text(
        json.dumps(service(environment={"W": "${PWD}"})), encoding="utf-8"
    )
    proc = subprocess.run(
        [compose_binary(), "-f", "compose.json", "config", "--format", "json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
    )
    monkeypatch.chdir(tmp_path)
    env = load_env(str(tmp_path), environ={})
    assert (
        json.loads(proc.stdout)["services"]["s"]["environment"]["W"]
        == env.values["PWD"]
        == str(tmp_path)
    )


def test_service_env_file_does_not_feed_interpolation(tmp_path: Path) -> None:
    (tmp_path / "svc.env").write_text("FOO=from-env-file\n", encoding="utf-8")
    doc = service(env_file=["svc.env"], environment={"X": "${FOO}"})
    proc = compose(tmp_path, doc, {})
    env = load_env(str(tmp_path), environ={"PATH": "/bin"})
    tree = interpolate_tree(doc, env.values)
    got = json.loads(proc.stdout)["services"]["s"]["environment"]
    assert (
        got == {"FOO": "from-env-file", "X": ""}
        and tree.data["services"]["s"]["environment"]["X"] == ""
    )
    assert warned(proc.stderr) == {"FOO"} and tree.unset == {
        ("services", "s", "environment", "X"): ("FOO",)
    }


@pytest.mark.parametrize(
    ("name", "process", "dotenv", "expected"),
    [
        (None, {}, "", "myproj"),
        ("Web_App-1", {}, "", "web_app-1"),
        ("${N:-__Named}", {}, "", "named"),
        ("file", {"COMPOSE_PROJECT_NAME": "fromenv"}, "", "fromenv"),
        ("file", {}, "COMPOSE_PROJECT_NAME=fromdotenv\n", "fromdotenv"),
        (None, {"COMPOSE_PROJECT_NAME": ""}, "", "myproj"),
    ],
)
def test_project_name_is_interpolated_as_compose_project_name(
    tmp_path: Path, name: str | None, process: dict[str, str], dotenv: str, expected: str
) -> None:
    folder = tmp_path / "MyProj"
    folder.mkdir()
    (folder / ".env").write_text(dotenv, encoding="utf-8")
    doc: dict[str, Any] = {
        **({"name": name} if name else {}),
        **service(environment={"P": "${COMPOSE_PROJECT_NAME}"}),
    }
    got = model(folder, doc, process)
    env = load_env(str(folder), environ={"PATH": "/bin", **process})
    assert got["name"] == got["services"]["s"]["environment"]["P"] == expected
    assert interpolation.project_name(name, env.values, str(folder)) == expected


# ---------------------------------------------------------------------- docker stack


def stack_config(folder: Path, doc: Any, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``docker stack config`` (docker/cli's older Compose loader) with exactly ``env``."""
    (folder / "stack.json").write_text(json.dumps({"version": "3.8", **doc}), encoding="utf-8")
    return subprocess.run(
        [docker_cli(), "stack", "config", "-c", "stack.json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=folder,
        env={"PATH": os.environ["PATH"], "HOME": str(folder), **env},
    )


def test_stack_reads_for_stack_as_compose_reads_the_original(tmp_path: Path) -> None:
    rewritable = [t for t in ACCEPTED if for_stack(t)[1] is None]
    assert len(rewritable) > 40
    env = {f"V{i}": for_stack(text)[0] for i, text in enumerate(rewritable)}
    proc = stack_config(tmp_path, service(environment=env), ENV)
    assert proc.returncode == 0, proc.stderr
    got = yaml.safe_load(proc.stdout)["services"]["s"]["environment"]
    assert got == {f"V{i}": interpolate(text, ENV).text for i, text in enumerate(rewritable)}


@pytest.mark.parametrize(
    "text", ["${A:+alt}", "${B+alt}", "${B:-${A}}", "${A:?a-b}", "${B-x:-y}", "${B:-{}} tail}"]
)
def test_what_the_stack_cannot_say_is_a_problem(tmp_path: Path, text: str) -> None:
    """Each of these means something else to docker stack, or is refused by it."""
    assert for_stack(text) == (text, for_stack(text)[1]) and for_stack(text)[1]
    proc = stack_config(tmp_path, service(environment={"V": text}), ENV)
    stack_value = (
        yaml.safe_load(proc.stdout)["services"]["s"]["environment"]["V"]
        if proc.returncode == 0
        else None
    )
    assert stack_value != interpolate(text, ENV).text


def test_swarm_build_keeps_compose_meaning(tmp_path: Path) -> None:
    from topogen import pipeline

    command = ["sh", "-c", "echo $(date) $$HOME ${A:-d} $A-b end$"]
    topology = {
        "name": "t",
        "targets": ["swarm"],
        "services": {"a": {"image": "busybox", "command": command}},
    }
    (tmp_path / "topology.yaml").write_text(json.dumps(topology), encoding="utf-8")
    out = pipeline.build(str(tmp_path / "topology.yaml"), targets=["swarm"])
    assert not out.result.failed(), [d.format() for d in out.result.diagnostics]
    pipeline.write(out.files)
    proc = subprocess.run(
        [docker_cli(), "stack", "config", "-c", "docker-stack.yml"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "A": "a"},
    )
    assert proc.returncode == 0, proc.stderr
    got = yaml.safe_load(proc.stdout)["services"]["a"]["command"]
    assert (
        got
        == [interpolate(c, {"A": "a"}).text for c in command]
        == ["sh", "-c", "echo $(date) $HOME a a-b end$"]
    )


@pytest.mark.parametrize("where", ["process", "dotenv"])
def test_compose_profiles_may_come_from_dotenv(tmp_path: Path, where: str) -> None:
    """``COMPOSE_*`` settings are read from the same environment as the variables."""
    (tmp_path / ".env").write_text(
        "COMPOSE_PROFILES=debug\n" if where == "dotenv" else "", encoding="utf-8"
    )
    process = {"COMPOSE_PROFILES": "debug"} if where == "process" else {}
    doc = {
        "services": {"s": {"image": "busybox"}, "d": {"image": "busybox", "profiles": ["debug"]}}
    }
    got = model(tmp_path, doc, process)
    env = load_env(str(tmp_path), environ=process)
    assert set(got["services"]) == {"s", "d"} and env.values["COMPOSE_PROFILES"] == "debug"
