"""The negative corpus: every ``tests/cases/invalid/*.yaml`` yields exactly the diagnostics its
leading ``# expect: LINE:COL rule-id`` comments list (warnings included, duplicates counted),
and ``topogen validate`` exits 1 exactly for the files that have an error."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import pytest

from topogen import pipeline

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = sorted(glob.glob(os.path.join(HERE, "cases", "invalid", "*.yaml")))
EXPECT = re.compile(r"^# expect: (\d+:\d+ [a-z0-9-]+)\s*$")


def expected(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return sorted(m.group(1) for line in fh if (m := EXPECT.match(line)))


def ids(path: str) -> str:
    return os.path.basename(path)[: -len(".yaml")]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 45
    assert all(expected(c) for c in CASES), [ids(c) for c in CASES if not expected(c)]


@pytest.mark.parametrize("path", CASES, ids=ids)
def test_expected_diagnostics(path: str) -> None:
    result = pipeline.check(path)
    got = sorted(f"{d.line}:{d.col} {d.rule}" for d in result.diagnostics)
    assert got == expected(path), "\n".join(d.format() for d in result.diagnostics)
    assert all(d.file == path for d in result.diagnostics)


def _validate(*args: str) -> tuple[int, str]:
    """``topogen validate ARGS`` in-process (the real Typer app, its real exit code and stderr)."""
    from typer.testing import CliRunner

    from topogen.cli import app

    result = CliRunner().invoke(app, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


@pytest.mark.parametrize("path", CASES, ids=ids)
def test_cli_exit_code(path: str) -> None:
    """Exit 1 when the file has an error, 0 when it has warnings only; one line per diagnostic."""
    result = pipeline.check(path)
    code, stderr = _validate(path)
    assert code == (1 if any(d.is_error for d in result.diagnostics) else 0), stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("    hint:")]
    shown = [d for d in result.diagnostics if d.suppressed is None]  # text hides the accepted
    assert lines == [d.format().splitlines()[0] for d in shown]


def test_cli_strict_fails_on_warning_only_files() -> None:
    warning_only = [c for c in CASES if not any(d.is_error for d in pipeline.check(c).diagnostics)]
    assert warning_only, "the corpus should hold warning-only cases"
    assert _validate(*warning_only)[0] == 0
    assert _validate("--strict", *warning_only)[0] == 1


def test_one_process_as_a_user_runs_it() -> None:
    """The installed entry point, once, on the whole corpus: exit 1, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "topogen", "validate", *CASES],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("(duplicate-published-port)") == sum(
        e.endswith(" duplicate-published-port") for c in CASES for e in expected(c)
    )


# ------------------------------------------------------------------ the real Compose as ground truth


def _compiled(path: str, tmp: str) -> str:
    """The Compose file topogen would write for a corpus case, rules bypassed."""
    result = pipeline.check(path)
    assert result.topology is not None
    out = os.path.join(tmp, "docker-compose.yml")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(pipeline.compile(result.topology, tmp, ["compose"])["docker-compose.yml"])
    return out


#: Corpus cases whose compiled output the real ``docker-compose config`` rejects, and what it says.
COMPOSE_REJECTS = {  # several problems in one file: Compose names one of them, in no fixed order
    "undefined-network": "refers to undefined network fronted",
    "undefined-volume": "refers to undefined volume",
    "undefined-secret-config": "refers to undefined",
    "undefined-dependency": "depends on undefined service",
    "undefined-service-mode": 'undefined service "mian-app"',
    "dependency-cycle": "dependency cycle detected",
    "unique-with-replicas": "container name must be unique",
    "invalid-host-ip": "invalid ip address: localhost",
    "invalid-tmpfs-size": "invalid size: 'big'",
    "invalid-name": "not allowed",
    "duplicate-container-name": "does not match pattern",
    "missing-image": 'service "worker" has neither an image nor a build context specified',
    "invalid-healthcheck": 'healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"',
    "empty-key": "additional properties '' not allowed",
    "env-file-missing": "missing.env not found",
    "invalid-command": "'services[web].command' invalid command line string",
    "invalid-secret-source": "file|environment",
    "newer-compose-key": "not allowed",
}
#: Cases the real Compose accepts although the engine (or the kernel) refuses them at `up`:
#: only topogen reports these before deployment.
COMPOSE_ACCEPTS = [
    "bridge-name-too-long",
    "duplicate-bridge-name",
    "shared-parent-ipvlan",
    "mtu-out-of-range",
    "seed-loop-encryption",
    "unknown-volume-option",
    "static-ip-reserved",
    "duplicate-static-ip",
    "subnet-overlap",
    "gateway-outside-subnet",
    "network-mode-conflict",
    "host-network-driver",
    "ports-duplicate",
    "invalid-mount-target",
    "overlay-not-attachable",
    "aux-address-is-gateway",
    "invalid-restart",
    "invalid-image",
    "invalid-expose",
]


@pytest.mark.parametrize("name", sorted(COMPOSE_REJECTS))
def test_compose_rejects_what_we_report_first(name: str, tmp_path: object) -> None:
    from tools import compose_config

    path = os.path.join(HERE, "cases", "invalid", f"{name}.yaml")
    proc = compose_config(_compiled(path, str(tmp_path)), "-q")
    assert proc.returncode != 0 and COMPOSE_REJECTS[name] in proc.stderr, proc.stderr
    assert any(d.is_error for d in pipeline.check(path).diagnostics)


@pytest.mark.parametrize("name", COMPOSE_ACCEPTS)
def test_compose_accepts_what_only_we_catch(name: str, tmp_path: object) -> None:
    from tools import compose_config

    path = os.path.join(HERE, "cases", "invalid", f"{name}.yaml")
    proc = compose_config(_compiled(path, str(tmp_path)), "-q")
    assert proc.returncode == 0, proc.stderr
    assert any(d.is_error for d in pipeline.check(path).diagnostics)


HAND_WRITTEN = {
    # The emitter never writes these (it drops what an external volume cannot have, and so on),
    # so the real Compose is shown the equivalent file directly.
    "network-mode-with-networks": (
        (
            "services:\n  web:\n    image: nginx\n    network_mode: host\n"
            "    networks: [front]\nnetworks:\n  front: {}\n"
        ),
        "mutually exclusive `network_mode` and `networks`",
    ),
    "duplicate-mount-target": (
        (
            'services:\n  app:\n    image: alpine\n    volumes: ["data:/data"]\n'
            '    tmpfs: ["/data"]\nvolumes:\n  data: {}\n'
        ),
        "target /data already mounted",
    ),
    "external-volume-options": (
        (
            'services:\n  a: {image: x, volumes: ["v:/v"]}\nvolumes:\n'
            "  v: {external: true, driver_opts: {type: nfs}}\n"
        ),
        'conflicting parameters "external" and "driver_opts"',
    ),
    "duplicate-container-name": (
        "services:\n  a: {image: x, container_name: db}\n  b: {image: x, container_name: db}\n",
        'container name "db" is already in use',
    ),
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_compose_rejects_the_hand_written_equivalent(name: str, tmp_path: object) -> None:
    from tools import compose_config

    text, message = HAND_WRITTEN[name]
    out = os.path.join(str(tmp_path), "docker-compose.yml")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("name: t\n" + text)
    proc = compose_config(out, "-q")
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    case = os.path.join(HERE, "cases", "invalid", f"{name}.yaml")
    assert any(e.endswith(" " + name) for e in expected(case))


def test_compose_renames_an_invalid_project_name(tmp_path: object) -> None:
    """Compose does not refuse ``name: Three-Tier``: it silently renames the project, which is why
    invalid-project-name is an error here and its message names the new name."""
    from tools import compose_config

    out = os.path.join(str(tmp_path), "docker-compose.yml")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("name: Three-Tier\nservices:\n  a: {image: x}\n")
    proc = compose_config(out, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    import json

    assert json.loads(proc.stdout)["name"] == "three-tier"
    [d] = pipeline.check(
        os.path.join(HERE, "cases", "invalid", "invalid-project-name.yaml")
    ).diagnostics
    assert '"three-tier"' in d.message


#: The same text is a topology and a Compose file: the real Compose rejects it with this message, and
#: topogen reports this rule (each side checked on the very same bytes).
SAME_TEXT = {
    "config-without-source": (
        "services:\n  a: {image: x, configs: [c]}\nconfigs:\n  c: {}\n",
        "configs.c: one of file|environment|content must be set",
        "invalid-config-source",
    ),
    "config-two-sources": (
        "services:\n  a: {image: x}\nconfigs:\n  c: {environment: HOME, content: hi}\n",
        "configs.c: file|environment|content attributes are mutually exclusive",
        "invalid-config-source",
    ),
    "secret-without-source": (
        "services:\n  a: {image: x}\nsecrets:\n  s: {name: s}\n",
        "secrets.s: one of file|environment must be set",
        "invalid-secret-source",
    ),
    "environment-empty-name": (
        'services:\n  a: {image: x, environment: {"": x}}\n',
        "services.a.environment additional properties '' not allowed",
        "empty-key",
    ),
    "sysctl-empty-name": (
        'services:\n  a: {image: x, sysctls: {"": 1}}\n',
        "services.a.sysctls additional properties '' not allowed",
        "empty-key",
    ),
    "healthcheck-lowercase-cmd": (
        'services:\n  a: {image: x, healthcheck: {test: ["cmd", "true"]}}\n',
        'healthcheck.test must start either by "CMD"',
        "invalid-healthcheck",
    ),
    "entrypoint-open-quote": (
        'services:\n  a: {image: x, entrypoint: "sh -c \\"echo hi"}\n',
        "'services[a].entrypoint' invalid command line string",
        "invalid-command",
    ),
    "command-trailing-backslash": (
        'services:\n  a: {image: x, command: "echo hi\\\\"}\n',
        "'services[a].command' invalid command line string",
        "invalid-command",
    ),
    "env-file-absent": (
        "services:\n  a: {image: x, env_file: absent.env}\n",
        "absent.env not found",
        "env-file-missing",
    ),
    "no-image-no-build": (
        "services:\n  a: {command: [run]}\n",
        "has neither an image nor a build context",
        "missing-image",
    ),
    "shm-size-suffix": (
        "services:\n  a: {image: x, shm_size: 64x}\n",
        "'services[a].shm_size' invalid suffix: 'x'",
        "invalid-size",
    ),
    "memory-not-a-size": (
        "services:\n  a: {image: x, deploy: {resources: {limits: {memory: lots}}}}\n",
        "'services[a].deploy.resources.limits.memory' invalid size: 'lots'",
        "invalid-size",
    ),
    "mem-limit-suffix": (
        "services:\n  a: {image: x, mem_limit: 1x}\n",
        "'services[a].mem_limit' invalid suffix: 'x'",
        "invalid-size",
    ),
    "pids-limit-conflict": (
        "services:\n  a: {image: x, pids_limit: 10, deploy: {resources: {limits: {pids: 20}}}}\n",
        "can't set distinct values on 'pids_limit' and 'deploy.resources.limits.pids'",
        "resource-conflict",
    ),
    "mem-limit-conflict": (
        'services:\n  a: {image: x, mem_limit: 1g, deploy: {resources: {limits: {cpus: "1"}}}}\n',
        "can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory'",
        "resource-conflict",
    ),
    # Counts Compose decodes as uint64 ("-1 overflows uint"):
    "negative-retries": (
        'services:\n  a: {image: x, healthcheck: {test: "true", retries: -1}}\n',
        "'services[a].healthcheck.retries' cannot parse value as 'uint64'",
        "invalid-value",
    ),
    "negative-max-attempts": (
        "services:\n  a: {image: x, deploy: {restart_policy: {max_attempts: -1}}}\n",
        "'services[a].deploy.restart_policy.max_attempts' cannot parse value as 'uint64'",
        "invalid-value",
    ),
    "negative-parallelism": (
        "services:\n  a: {image: x, deploy: {update_config: {parallelism: -1}}}\n",
        "'services[a].deploy.update_config.parallelism' cannot parse value as 'uint64'",
        "invalid-value",
    ),
    "negative-max-replicas": (
        "services:\n  a: {image: x, deploy: {placement: {max_replicas_per_node: -1}}}\n",
        "'services[a].deploy.placement.max_replicas_per_node' cannot parse value as 'uint64'",
        "invalid-value",
    ),
}


@pytest.mark.parametrize("name", sorted(SAME_TEXT))
def test_compose_and_topogen_reject_the_same_text(name: str, tmp_path: object) -> None:
    from tools import compose_config

    text, message, rule = SAME_TEXT[name]
    out = os.path.join(str(tmp_path), "topology.yaml")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("name: t\n" + text)
    proc = compose_config(out, "-q")
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    got = [(d.rule, d.is_error) for d in pipeline.check(out).diagnostics]
    assert got == [(rule, True)], got


def test_compose_runs_only_the_words_before_a_shell_operator(tmp_path: object) -> None:
    """Compose splits a string command with shell-words and stops at an unquoted ``;``: the reason for
    command-shell-operator; a quoted one is kept, and topogen says nothing about it."""
    import json

    from tools import compose_config

    out = os.path.join(str(tmp_path), "topology.yaml")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(
            'name: t\nservices:\n  a: {image: x, command: "echo start; sleep 10"}\n'
            "  b: {image: x, command: \"sh -c 'a; b'\"}\n"
        )
    proc = compose_config(out, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    services = json.loads(proc.stdout)["services"]
    assert services["a"]["command"] == ["echo", "start"]
    assert services["b"]["command"] == ["sh", "-c", "a; b"]
    assert [(d.rule, d.path) for d in pipeline.check(out).diagnostics] == [
        ("command-shell-operator", ("services", "a", "command"))
    ]


def test_compose_accepts_bind_consistency_suffixes(tmp_path: object) -> None:
    """``:cached``, ``:delegated`` and ``:consistent`` (Docker Desktop for Mac) are accepted and dropped by
    Compose; topogen accepts them too, and the file it writes is accepted."""
    from tools import compose_config

    os.mkdir(os.path.join(str(tmp_path), "src"))
    top = os.path.join(str(tmp_path), "topology.yaml")
    with open(top, "w", encoding="utf-8") as fh:
        fh.write(
            "name: t\nvolumes: {data: {}}\nservices:\n  a:\n    image: x\n    volumes: "
            '["./src:/src:cached", "./src:/ro:ro,delegated", "data:/data:nocopy,consistent"]\n'
        )
    assert compose_config(top, "-q").returncode == 0  # the same text, as a Compose file
    assert pipeline.check(top).diagnostics == []
    proc = compose_config(_compiled(top, str(tmp_path)), "-q")
    assert proc.returncode == 0, proc.stderr


#: A string command as the real Compose splits it (None: "invalid command line string"), and what
#: topogen reports about it: both columns written by hand, both checked.
COMMANDS = [
    ("echo a; echo b", ["echo", "a"], "command-shell-operator"),
    ("a && b", ["a"], "command-shell-operator"),
    ("a>f", ["a"], "command-shell-operator"),
    ("echo a; 'b", ["echo", "a"], "command-shell-operator"),  # Compose stops reading at the ';'
    ('echo "a;b" c', ["echo", "a;b", "c"], None),
    ("a\\;b c", ["a;b", "c"], None),
    ("sh -c 'a | b'", ["sh", "-c", "a | b"], None),
    ("echo `a;b`", ["echo", "`a;b`"], None),
    ("a\\(b", ["a(b"], None),
    ("x # y", ["x", "#", "y"], None),
    ("it's", None, "invalid-command"),
    ('a "b\\"', None, "invalid-command"),
    ("echo hi\\", None, "invalid-command"),
    ("echo `x", None, "invalid-command"),
    ("echo $(x", None, "invalid-command"),
    ("echo $((1+2))", None, "invalid-command"),
    ("(cd /app)", None, "invalid-command"),
    ("a)b", None, "invalid-command"),
]


@pytest.mark.parametrize("text,words,rule", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_command_splitting_matches_compose(
    text: str, words: list[str] | None, rule: str | None, tmp_path: object
) -> None:
    import json

    from tools import compose_config

    out = os.path.join(str(tmp_path), "topology.yaml")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(f"name: t\nservices:\n  a:\n    image: x\n    command: {json.dumps(text)}\n")
    proc = compose_config(out, "--format", "json")
    if words is None:
        assert proc.returncode != 0 and "invalid command line string" in proc.stderr, proc.stdout
    else:
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["services"]["a"]["command"] == words
    assert [d.rule for d in pipeline.check(out).diagnostics] == ([rule] if rule else [])
