"""Several Compose files as one: each merge is checked against the real ``docker compose``.

``docker-compose -f A -f B config --format json`` on the files must equal the same command on
the one document :func:`topogen.project.load` merges them into (written beside them, so that
relative paths mean the same).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from typing import Any

import pytest
import yaml
from tools import compose_binary

from topogen import composefiles, project

ENV = {"COMPOSE_PROJECT_NAME": "t", "PATH": os.environ.get("PATH", "")}


def write(tmp_path: Any, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def config(cwd: Any, files: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        compose_binary(),
        *(a for f in files for a in ("-f", f)),
        *args,
        "config",
        "--format",
        "json",
    ]
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=60, env=ENV, check=False
    )


def model(cwd: Any, files: list[str], *args: str) -> dict[str, Any]:
    done = config(cwd, files, *args)
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def merged(tmp_path: Any, files: list[str]) -> project.Project:
    proj = project.load([str(tmp_path / f) for f in files])
    assert [d.format() for d in proj.diagnostics if d.is_error] == []
    (tmp_path / "merged.yaml").write_text(yaml.safe_dump(proj.data, sort_keys=False))
    return proj


def assert_same_as_compose(tmp_path: Any, files: list[str], *args: str) -> project.Project:
    proj = merged(tmp_path, files)
    assert model(tmp_path, ["merged.yaml"], *args) == model(tmp_path, files, *args)
    return proj


BASE = """\
    services:
      web:
        image: nginx:1.27
        command: ["nginx", "-g", "daemon off;"]
        ports: ["8080:80", "${METRICS_PORT:-9113}:9113"]
        expose: ["80"]
        environment: {LOG_LEVEL: info, MODE: dev, KEEP: "1"}
        labels: [tier=front, team=web]
        volumes: ["./html:/usr/share/nginx/html:ro", "cache:/var/cache/nginx"]
        networks: [front]
        depends_on: [api]
        dns: 1.1.1.1
        extra_hosts: ["db.local:10.0.0.2"]
        healthcheck: {test: ["CMD", "true"], interval: 10s}
        logging: {driver: json-file, options: {max-size: 10m}}
        ulimits: {nofile: {soft: 1024, hard: 2048}}
        secrets: [token]
        build: ./web
      api:
        image: api:dev
        networks: {front: {aliases: [api.local]}, back: {}}
        deploy: {replicas: 1, resources: {limits: {cpus: "0.5"}}}
    networks:
      front: {}
      back:
        ipam: {config: [{subnet: 10.20.0.0/24}]}
    volumes:
      cache: {}
    secrets:
      token: {file: ./token.txt}
"""

OVERRIDE = """\
    services:
      web:
        command: nginx-debug -g 'daemon off;'
        ports: ["8080:80", "8443:443"]
        expose: ["80", "443"]
        environment: [LOG_LEVEL=warn, EXTRA=yes, KEEP]
        labels: {team: ops, env: prod}
        volumes: ["./other-html:/usr/share/nginx/html", "/srv/logs:/var/log/nginx"]
        networks: {back: {}}
        depends_on: {api: {condition: service_healthy}}
        dns: [8.8.8.8]
        extra_hosts: {"db.local": 10.0.0.3}
        healthcheck: {test: ["CMD", "curl", "-f", "http://localhost"]}
        logging: {driver: syslog}
        ulimits: {nofile: 4096}
        secrets: [{source: token, target: /run/secrets/token, mode: 0400}]
        build: {dockerfile: Dockerfile.prod}
      api:
        image: api:1.4
        networks: [back]
        deploy: {replicas: 3}
    networks:
      back:
        ipam: {config: [{subnet: 10.20.0.0/24, gateway: 10.20.0.1}]}
"""


def test_override_file_merges_as_compose_does(tmp_path: Any) -> None:
    write(tmp_path, {"compose.yaml": BASE, "compose.prod.yaml": OVERRIDE, "token.txt": "x"})
    proj = assert_same_as_compose(tmp_path, ["compose.yaml", "compose.prod.yaml"])
    web = proj.data["services"]["web"]
    assert web["command"] == "nginx-debug -g 'daemon off;'"
    assert web["ports"] == [
        "8080:80",
        "${METRICS_PORT:-9113}:9113",
        "8443:443",
    ]  # kept un-interpolated
    assert web["volumes"][0] == "./other-html:/usr/share/nginx/html"  # replaced by target, in place


def test_override_in_the_other_order(tmp_path: Any) -> None:
    write(
        tmp_path,
        {
            "a.yaml": OVERRIDE.replace("build: {dockerfile: Dockerfile.prod}", "build: ./web"),
            "b.yaml": BASE,
            "token.txt": "x",
        },
    )
    assert_same_as_compose(tmp_path, ["a.yaml", "b.yaml"])


def test_reset_and_override_tags(tmp_path: Any) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": BASE,
            "token.txt": "x",
            "compose.reset.yaml": """\
            services:
              web:
                ports: !reset []
                secrets: !reset []
                environment: !override {ONLY: this}
                labels: !reset null
                volumes:
                  - !reset ./ignored:/ignored
                  - ./new:/new
              api: {networks: !override [front]}
        """,
        },
    )
    proj = assert_same_as_compose(tmp_path, ["compose.yaml", "compose.reset.yaml"])
    web = proj.data["services"]["web"]
    assert "ports" not in web and "labels" not in web and web["environment"] == {"ONLY": "this"}
    assert web["volumes"][-1] == "./new:/new"


def test_default_files_are_the_main_file_and_its_override(tmp_path: Any, monkeypatch: Any) -> None:
    write(
        tmp_path,
        {
            "docker-compose.yml": "services: {a: {image: x}}\n",
            "compose.override.yaml": "services: {a: {image: y}}\n",
        },
    )
    (tmp_path / "sub").mkdir()
    expected = [str(tmp_path / "docker-compose.yml"), str(tmp_path / "compose.override.yaml")]
    monkeypatch.chdir(tmp_path / "sub")
    found = composefiles.find(environ={})
    assert found.files == ("../docker-compose.yml", "../compose.override.yaml")
    proj = project.load(expected)
    done = subprocess.run(
        [compose_binary(), "config", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
        check=False,
    )
    assert (
        json.loads(done.stdout)["services"]["a"]["image"]
        == proj.data["services"]["a"]["image"]
        == "y"
    )


INCLUDED = {
    "compose.yaml": """\
        include:
          - db/compose.yaml
          - path: [cache/compose.yaml, cache/compose.extra.yaml]
            project_directory: cache
        services:
          web:
            image: nginx
            depends_on: [db, cache]
            volumes: ["./site:/site"]
    """,
    "db/compose.yaml": """\
        services:
          db:
            image: postgres
            build: .
            env_file: [./db.env]
            volumes: ["./data:/var/lib/postgresql/data", "../shared:/shared", "dbdata:/backup"]
            secrets: [pw]
        volumes:
          dbdata: {}
        secrets:
          pw: {file: ./pw.txt}
    """,
    "db/db.env": "POSTGRES_DB=app\n",
    "db/pw.txt": "pw",
    "cache/compose.yaml": """\
        include: [nested/compose.yaml]
        services:
          cache:
            image: redis
            volumes: [{type: bind, source: ./conf, target: /conf}]
    """,
    "cache/compose.extra.yaml": "services: {cache: {command: redis-server --save ''}}\n",
    "cache/nested/compose.yaml": "services: {helper: {image: busybox, volumes: ['.:/here']}}\n",
}


def test_include_rebases_relative_paths(tmp_path: Any) -> None:
    write(tmp_path, INCLUDED)
    proj = assert_same_as_compose(tmp_path, ["compose.yaml"])
    db = proj.data["services"]["db"]
    assert db["build"] == "./db" and db["env_file"] == ["./db/db.env"]
    assert db["volumes"] == [
        "./db/data:/var/lib/postgresql/data",
        "./shared:/shared",
        "dbdata:/backup",
    ]
    assert proj.data["services"]["helper"]["volumes"] == ["./cache/nested:/here"]
    assert proj.data["secrets"]["pw"]["file"] == "./db/pw.txt"
    assert len(proj.files) == 5 and proj.files[0] == str(tmp_path / "compose.yaml")


def test_every_value_knows_its_file_and_line(tmp_path: Any) -> None:
    write(tmp_path, {**INCLUDED, "compose.prod.yaml": "services:\n  web:\n    image: nginx:prod\n"})
    proj = project.load([str(tmp_path / "compose.yaml"), str(tmp_path / "compose.prod.yaml")])
    assert proj.locate(("services", "web", "image")) == (str(tmp_path / "compose.prod.yaml"), 3, 12)
    main_line = (tmp_path / "compose.yaml").read_text().splitlines()[8]
    assert proj.locate(("services", "web", "volumes", 0)) == (
        str(tmp_path / "compose.yaml"),
        9,
        main_line.index('"./site') + 1,
    )
    db_file = str(tmp_path / "db/compose.yaml")
    db_line = (tmp_path / "db/compose.yaml").read_text().splitlines()[5]
    assert proj.locate(("services", "db", "volumes", 1)) == (
        db_file,
        6,
        db_line.index('"../shared') + 1,
    )
    assert proj.locate(("services", "db", "no", "such", "key")) == (db_file, 3, 5)
    assert proj.locate(("services", "db"), at_key=True) == (db_file, 2, 3)
    assert proj.origin[("services", "cache", "command")] == (
        str(tmp_path / "cache/compose.extra.yaml"),
        ("services", "cache", "command"),
    )


EXTENDS = {
    "compose.yaml": """\
        services:
          base:
            image: app
            environment: {A: "1"}
            ports: ["80"]
          web:
            extends: base
            environment: {B: "2"}
          worker:
            extends: {service: web}
            command: work
            ports: !reset []
          remote:
            extends: {file: common/base.yaml, service: svc}
            environment: [C=3]
    """,
    "common/base.yaml": """\
        services:
          root: {image: root, volumes: ["./data:/data"], env_file: ./base.env}
          svc:
            extends: {file: ../more/root.yaml, service: deeper}
            build: {context: ., dockerfile: Dockerfile}
            labels: [from=svc]
    """,
    "common/base.env": "X=1\n",
    "more/root.yaml": "services: {deeper: {image: deep, volumes: ['./cfg:/cfg']}}\n",
}


def test_extends_in_the_same_file_and_from_another(tmp_path: Any) -> None:
    write(tmp_path, EXTENDS)
    proj = assert_same_as_compose(tmp_path, ["compose.yaml"])
    services = proj.data["services"]
    assert (
        services["worker"]["environment"] == {"A": "1", "B": "2"}
        and "ports" not in services["worker"]
    )
    assert services["remote"]["build"]["context"] == "./common"
    assert services["remote"]["volumes"] == ["./more/cfg:/cfg"]
    assert proj.origin[("services", "remote", "image")][0] == str(tmp_path / "more/root.yaml")


def test_extends_a_long_chain_without_recursion(tmp_path: Any) -> None:
    lines = ["services:", "  s0: {image: base, environment: {S0: '0'}}"]
    lines += [f"  s{i}: {{extends: s{i - 1}, command: run{i}}}" for i in range(1, 1500)]
    write(tmp_path, {"compose.yaml": "\n".join(lines) + "\n"})
    proj = project.load([str(tmp_path / "compose.yaml")])
    assert proj.diagnostics == []
    last = proj.data["services"]["s1499"]
    assert last == {"image": "base", "environment": {"S0": "0"}, "command": "run1499"}


def located(proj: project.Project, root: Any) -> list[str]:
    return [f"{os.path.relpath(d.file, root)}:{d.line}:{d.col} {d.rule}" for d in proj.diagnostics]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "compose.yaml": "include: [a.yaml]\nservices: {x: {image: x}}\n",
                "a.yaml": "include: [b/b.yaml]\n",
                "b/b.yaml": "include: [../a.yaml]\nservices: {y: {image: y}}\n",
            },
            ["b/b.yaml:1:11 include-cycle"],
            id="include-cycle",
        ),
        pytest.param(
            {"compose.yaml": "services: {x: {image: x}}\ninclude:\n  - path: missing.yaml\n"},
            ["compose.yaml:3:5 missing-file"],
            id="missing-include",
        ),
        pytest.param(
            {
                "compose.yaml": "include: [a.yaml]\nservices: {x: {image: x}}\n",
                "a.yaml": "services: {x: {image: other}}\n",
            },
            ["compose.yaml:1:11 include-conflict"],
            id="include-conflict",
        ),
        pytest.param(
            {
                "compose.yaml": "services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n"
            },
            ["compose.yaml:2:26 extends-loop"],
            id="extends-loop",
        ),
        pytest.param(
            {"compose.yaml": "services:\n  a: {image: x, extends: nope}\n"},
            ["compose.yaml:2:26 extends-unknown-service"],
            id="extends-unknown-service",
        ),
        pytest.param(
            {"compose.yaml": "services:\n  a:\n    extends: {file: nope.yaml, service: b}\n"},
            ["compose.yaml:3:14 missing-file"],
            id="extends-unknown-file",
        ),
        pytest.param(
            {
                "compose.yaml": "services:\n  a:\n    extends: {file: b.yaml, service: c}\n",
                "b.yaml": "services: {b: {image: x}}\n",
            },
            ["compose.yaml:3:14 extends-unknown-service"],
            id="extends-unknown-service-in-file",
        ),
    ],
)
def test_errors_are_located_at_the_entry_responsible(
    tmp_path: Any, files: dict[str, str], expected: list[str]
) -> None:
    write(tmp_path, files)
    assert config(tmp_path, ["compose.yaml"]).returncode != 0  # compose refuses each one too
    proj = project.load([str(tmp_path / "compose.yaml")])
    assert located(proj, tmp_path) == expected


def test_a_1000_file_include_chain_is_a_located_limit(tmp_path: Any) -> None:
    for i in range(1000):
        body = f"include: [f{i + 1}.yaml]\n" if i < 999 else ""
        (tmp_path / f"f{i}.yaml").write_text(body + f"services: {{s{i}: {{image: x}}}}\n")
    proj = project.load([str(tmp_path / "f0.yaml")])
    depth = project.MAX_INCLUDE_DEPTH
    assert located(proj, tmp_path) == [f"f{depth - 1}.yaml:1:11 include-too-deep"]
    assert len(proj.files) == depth


def test_a_chain_within_the_limit_loads(tmp_path: Any) -> None:
    n = project.MAX_INCLUDE_DEPTH
    for i in range(n):
        body = f"include: [f{i + 1}.yaml]\n" if i < n - 1 else ""
        (tmp_path / f"f{i}.yaml").write_text(body + f"services: {{s{i}: {{image: x}}}}\n")
    proj = assert_same_as_compose(tmp_path, ["f0.yaml"])
    assert len(proj.data["services"]) == n


PROFILES = """\
    services:
      web: {image: nginx}
      debug: {image: busybox, profiles: [dev]}
      gpu: {image: cuda, profiles: [gpu, ml]}
"""


@pytest.mark.parametrize("profiles", [[], ["dev"], ["ml"], ["*"], ["dev", "gpu"], ["other"]])
def test_active_services_are_those_compose_runs(tmp_path: Any, profiles: list[str]) -> None:
    write(tmp_path, {"compose.yaml": PROFILES})
    args = [a for p in profiles for a in ("--profile", p)]
    expected = set(model(tmp_path, ["compose.yaml"], *args)["services"])
    assert (
        project.active_services(yaml.safe_load(PROFILES.replace("    ", "", 1)), profiles)
        == expected
    )


def test_depends_on_an_inactive_service_is_refused_as_compose_does(tmp_path: Any) -> None:
    text = "services:\n  web:\n    image: x\n    depends_on: [debug]\n  debug: {image: y, profiles: [dev]}\n"
    write(tmp_path, {"compose.yaml": text})
    assert "depends on undefined service" in config(tmp_path, ["compose.yaml"]).stderr
    assert config(tmp_path, ["compose.yaml"], "--profile", "dev").returncode == 0
    proj = project.load([str(tmp_path / "compose.yaml")])
    found = list(project.inactive_dependencies(proj.data, project.active_services(proj.data, [])))
    assert [(d.rule, proj.locate(d.path)[1:]) for d in found] == [("inactive-dependency", (4, 18))]
    optional = yaml.safe_load(
        text.replace("[debug]", "{debug: {condition: service_started, required: false}}")
    )
    assert (
        list(project.inactive_dependencies(optional, project.active_services(optional, []))) == []
    )


@pytest.mark.parametrize(
    ("cli", "environ", "expected"),
    [
        ([], {"COMPOSE_PROFILES": " dev , ,gpu"}, ["dev", "gpu"]),
        (["x"], {"COMPOSE_PROFILES": "dev"}, ["x"]),
        ([], {}, []),
    ],
)
def test_profiles_from_cli_or_environment(
    tmp_path: Any, cli: list[str], environ: dict[str, str], expected: list[str]
) -> None:
    assert project.profiles_from(cli, environ) == expected
    write(tmp_path, {"compose.yaml": PROFILES + "      x: {image: x, profiles: [x]}\n"})
    args = [a for p in cli for a in ("--profile", p)]
    cmd = [compose_binary(), *args, "config", "--services"]
    done = subprocess.run(
        cmd,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**ENV, **environ},
        check=False,
    )
    data = yaml.safe_load((tmp_path / "compose.yaml").read_text())
    assert set(done.stdout.split()) == project.active_services(data, expected)


EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "compose-environments"
)


@pytest.mark.parametrize("files", [["compose.yaml"], ["compose.yaml", "compose.prod.yaml"]])
@pytest.mark.parametrize("profile", ["dev", "*"])
def test_environments_example(tmp_path: Any, files: list[str], profile: str) -> None:
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    proj = assert_same_as_compose(tmp_path, files, "--profile", profile)
    assert proj.diagnostics == []
    if len(files) == 2:
        api = proj.data["services"]["api"]
        assert "ports" not in api and "volumes" not in api and api["deploy"]["replicas"] == 3
        assert proj.locate(("services", "api", "deploy", "replicas"))[0].endswith(
            "compose.prod.yaml"
        )


def test_an_included_project_with_its_own_env_file_is_flagged(tmp_path: Any) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": "include:\n  - lib/compose.yaml\nservices: {web: {image: nginx}}\n",
            "lib/compose.yaml": "services: {job: {image: 'busybox:${TAG:-latest}'}}\n",
            "lib/.env": "TAG=1.36\n",
        },
    )
    assert model(tmp_path, ["compose.yaml"])["services"]["job"]["image"] == "busybox:1.36"
    proj = merged(tmp_path, ["compose.yaml"])
    assert model(tmp_path, ["merged.yaml"])["services"]["job"]["image"] == "busybox:latest"
    assert [(d.rule, d.level.value) for d in proj.diagnostics] == [("include-env-file", "warning")]
    assert located(proj, tmp_path) == ["compose.yaml:2:5 include-env-file"]


def test_a_diamond_of_includes_is_bounded(tmp_path: Any) -> None:
    """Each file includes the next level twice: 2**40 loads in Compose; one located error here."""
    for i in range(40):
        body = f"include: [l{i + 1}a.yaml, l{i + 1}b.yaml]\n" if i < 39 else ""
        for side in "ab":
            (tmp_path / f"l{i}{side}.yaml").write_text(body + f"services: {{s{i}: {{image: x}}}}\n")
    proj = project.load([str(tmp_path / "l0a.yaml")])
    assert [d.rule for d in proj.diagnostics] == ["include-too-many"]


PAIRS = {
    "build-forms": (
        "services: {s: {image: x, build: ./a}}\n",
        "services: {s: {build: {dockerfile: D, args: [X=1]}}}\n",
    ),
    "build-strings": ("services: {s: {image: x, build: ./a}}\n", "services: {s: {build: ./b}}\n"),
    "lists-of-names": (
        (
            "services: {s: {image: x, networks: [a], depends_on: [t]}, t: {image: y}}\n"
            "networks: {a: {}, b: {}}\n"
        ),
        "services: {s: {networks: [b, a], depends_on: [t]}}\n",
    ),
    "logging-other-driver": (
        "services: {s: {image: x, logging: {driver: json-file, options: {max-size: 1m}}}}\n",
        "services: {s: {logging: {driver: syslog, options: {tag: x}}}}\n",
    ),
    "environment-null": (
        "services: {s: {image: x, environment: {A: '1', B: '2'}}}\n",
        "services: {s: {environment: {A: null}}}\n",
    ),
    "mounts-by-target": (
        (
            "services: {s: {image: x, volumes: [{type: bind, source: ./a, target: /d}, 'v:/e']}}\n"
            "volumes: {v: {}, w: {}}\n"
        ),
        "services: {s: {volumes: ['w:/d', {type: volume, source: v, target: /f}]}}\n",
    ),
    "healthcheck": (
        "services: {s: {image: x, healthcheck: {test: [CMD, a], retries: 3}}}\n",
        "services: {s: {healthcheck: {test: [CMD, b, c]}}}\n",
    ),
    "ipam-by-subnet": (
        (
            "services: {s: {image: x}}\n"
            "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/24}, {subnet: 10.0.1.0/24}]}}}\n"
        ),
        "networks: {n: {ipam: {config: [{subnet: 10.0.1.0/24, gateway: 10.0.1.1}]}}}\n",
    ),
    "extends-then-override": (
        "services:\n  b: {image: x, ports: ['80'], environment: [A=1]}\n  s: {extends: b}\n",
        "services: {s: {environment: [A=2]}}\n",
    ),
}


@pytest.mark.parametrize("case", sorted(PAIRS))
def test_merge_rules_as_compose(tmp_path: Any, case: str) -> None:
    write(tmp_path, {"a.yaml": PAIRS[case][0], "b.yaml": PAIRS[case][1]})
    assert_same_as_compose(tmp_path, ["a.yaml", "b.yaml"])
    assert_same_as_compose(tmp_path, ["b.yaml", "a.yaml"]) if case == "build-forms" else None


def test_a_variable_in_an_include_path_is_a_located_error_not_a_guess(tmp_path: Any) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": "include: ['${LIB:-lib}/compose.yaml']\nservices: {a: {image: x}}\n",
            "lib/compose.yaml": "services: {b: {image: y}}\n",
        },
    )
    assert set(model(tmp_path, ["compose.yaml"])["services"]) == {"a", "b"}  # Compose follows it
    proj = project.load([str(tmp_path / "compose.yaml")])
    assert located(proj, tmp_path) == ["compose.yaml:1:11 variable-file-path"]


def test_resets_in_one_list_and_an_extends_merge_error(tmp_path: Any) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": """\
                services:
                  a:
                    image: x
                    volumes:
                      - !reset ./a:/a
                      - ./b:/b
                      - !reset ./c:/c
                      - ./d:/d
                """,
            "bad.yaml": "services:\n  b: {image: x, ports: ['80']}\n  a: {extends: b, ports: {x: 1}}\n",
        },
    )
    proj = assert_same_as_compose(tmp_path, ["compose.yaml"])
    assert proj.data["services"]["a"]["volumes"] == ["./b:/b", "./d:/d"]
    assert proj.locate(("services", "a", "volumes", 1))[1] == 8
    assert config(tmp_path, ["bad.yaml"]).returncode != 0
    bad = project.load([str(tmp_path / "bad.yaml")])
    assert [d.message for d in bad.diagnostics] == ["cannot override services.a.ports"]
    assert located(bad, tmp_path) == ["bad.yaml:3:26 compose-merge"]
