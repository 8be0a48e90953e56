"""Needed connections: evidence found in real configurations, located where it is written, and
the rules that compare it with the reachability analysis."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tools import EXAMPLES

from topogen import pipeline
from topogen.analysis import mentions, needs, reach

IDS = ("needed-connection-unreachable", "dependency-unreachable", "needed-port-undeclared")


def check(
    tmp: Path, text: str, files: dict[str, str] | None = None, environ: dict[str, str] | None = None
) -> tuple[pipeline.Result, str]:
    """The topology (dedented, "name: t" first) written to tmp with its side files, checked."""
    text = "name: t\n" + textwrap.dedent(text)
    for name, body in (files or {}).items():
        (tmp / name).write_text(textwrap.dedent(body))
    path = tmp / "topology.yaml"
    path.write_text(text)
    result = pipeline.check(str(path), environ=environ or {})
    assert result.topology is not None, [d.format() for d in result.diagnostics]
    return result, text


def at(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based (line, col) of the nth occurrence of ``needle`` in ``text``."""
    offset = -1
    for _ in range(nth):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def at_word(text: str, needle: str, word: str) -> tuple[int, int]:
    """(line, col) of the last ``word`` inside the first ``needle`` (a host in its URL)."""
    line, col = at(text, needle)
    return line, col + needle.rindex(word)


def found(result: pipeline.Result) -> list[tuple[str, str, int | None, str, str, int, int]]:
    """(source, target, port, kind, text, line, col) of every need."""
    assert result.topology is not None
    out = []
    for n in needs.needed(result.topology):
        _file, line, col = n.location or result.where(n.evidence, at_key=False)
        out.append((n.source, n.target, n.port, n.kind, n.text, line, col))
    return out


def reported(result: pipeline.Result) -> list[str]:
    return [
        f"{d.line}:{d.col} {d.level.value} {d.rule}" for d in result.diagnostics if d.rule in IDS
    ]


# ------------------------------------------------------------------ evidence and its place


def test_url_with_credentials_in_map_environment(tmp_path: Path) -> None:
    result, text = check(
        tmp_path,
        """
        services:
          web:
            image: app
            environment:
              DATABASE_URL: postgres://app:s3cret@db:5432/app?sslmode=disable
              CACHE: "redis://:hunter2@cache/0"
              QUEUE: amqp://guest:guest@rabbit
          db: {image: postgres}
          cache: {image: redis}
          rabbit: {image: rabbitmq}
        """,
    )
    assert found(result) == [
        ("web", "db", 5432, "url", "postgres://app:***@db:5432/app?sslmode=disable",
         *at(text, "postgres://")),
        ("web", "cache", 6379, "url", "redis://:***@cache/0", *at(text, '"redis://')),
        ("web", "rabbit", 5672, "url", "amqp://guest:***@rabbit", *at(text, "amqp://")),
    ]  # fmt: skip


def test_list_environment_host_port_list_and_sibling_port(tmp_path: Path) -> None:
    result, text = check(
        tmp_path,
        """
        services:
          worker:
            image: app
            environment:
              - KAFKA_BOOTSTRAP_SERVERS=kafka1:9092,kafka2:9093
              - PGHOST=db
              - PGPORT=6432
              - SMTP_HOST=mail
          kafka1: {image: kafka}
          kafka2: {image: kafka}
          db: {image: postgres}
          mail: {image: mailpit}
        """,
    )
    servers = at(text, "KAFKA_BOOTSTRAP_SERVERS=")
    assert found(result) == [
        ("worker", "kafka1", 9092, "host-port", "kafka1:9092", *servers),
        ("worker", "kafka2", 9093, "host-port", "kafka2:9093", *servers),
        ("worker", "db", 6432, "host-var", "PGHOST=db (PGPORT=6432)", *at(text, "PGHOST=")),
        ("worker", "mail", None, "host-var", "SMTP_HOST=mail", *at(text, "SMTP_HOST=")),
    ]


def test_variables_with_defaults_are_read_interpolated(tmp_path: Path) -> None:
    topology = """
        services:
          api:
            image: app
            environment:
              DB_HOST: ${DB_HOST:-db}
              DB_PORT: "${DB_PORT:-5432}"
              REDIS_URL: redis://${REDIS:-cache}:${REDIS_PORT:-6379}
          db: {image: postgres}
          replica: {image: postgres}
          cache: {image: redis}
        """
    result, text = check(tmp_path, topology)
    assert found(result) == [
        ("api", "db", 5432, "host-var", "DB_HOST=db (DB_PORT=5432)", *at(text, "${DB_HOST")),
        ("api", "cache", 6379, "url", "redis://cache:6379", *at(text, "redis://")),
    ]
    result, text = check(tmp_path, topology, environ={"DB_HOST": "replica", "DB_PORT": "5433"})
    assert found(result)[0] == (
        "api", "replica", 5433, "host-var", "DB_HOST=replica (DB_PORT=5433)", *at(text, "${DB_HOST")
    )  # fmt: skip


def test_commands_string_and_list(tmp_path: Path) -> None:
    result, text = check(
        tmp_path,
        """
        services:
          web:
            image: app
            entrypoint: ["/wait-for", "db:5432", "--"]
            command: gunicorn --statsd-host=metrics:8125 app:wsgi
          db: {image: postgres}
          metrics: {image: statsd}
          app: {image: x}
        """,
    )
    assert found(result) == [
        ("web", "db", 5432, "host-port", "db:5432", *at(text, '"db:5432"')),
        ("web", "metrics", 8125, "host-port", "metrics:8125", *at(text, "gunicorn")),
    ]  # "app:wsgi" names service app, but wsgi is no port


def test_config_file_is_read_and_located_in_that_file(tmp_path: Path) -> None:
    conf = """\
        upstream backend {
            # server old:8080;
            server api:3000;
        }
        location / { proxy_pass http://web:8000/; }
        """
    result, _text = check(
        tmp_path,
        """
        configs:
          nginx: {file: ./nginx.conf}
          inline: {content: "upstream=http://api:3000"}
        services:
          proxy:
            image: nginx
            configs: [{source: nginx, target: /etc/nginx/conf.d/default.conf}, inline]
          api: {image: app}
          web: {image: app}
          old: {image: app}
        """,
        files={"nginx.conf": conf},
    )
    written = textwrap.dedent(conf)
    assert result.topology is not None
    got = needs.needed(result.topology)
    assert [(n.target, n.port, n.kind, n.text, n.location) for n in got] == [
        ("api", 3000, "host-port", "api:3000", (str(tmp_path / "nginx.conf"), *at(written, "api:3000"))),
        ("web", 8000, "url", "http://web:8000/", (str(tmp_path / "nginx.conf"), *at_word(written, "http://web", "web"))),
        ("api", 3000, "url", "http://api:3000", None),
    ]  # fmt: skip
    assert got[-1].evidence == ("configs", "inline", "content")


def test_env_file_values_are_located_in_the_env_file(tmp_path: Path) -> None:
    env = "# the app's settings\nREDIS_URL=redis://cache:6380\nexport MONGO_URL='mongodb://m1:27017,m2:27018/app'\nDATABASE_URL=overridden\n"
    result, _text = check(
        tmp_path,
        """
        services:
          app:
            image: app
            env_file: [app.env]
            environment: {DATABASE_URL: "mysql://db/app"}
          cache: {image: redis}
          m1: {image: mongo}
          m2: {image: mongo}
          db: {image: mysql}
        """,
        files={"app.env": env},
    )
    where = str(tmp_path / "app.env")
    assert result.topology is not None
    got = [(n.target, n.port, n.location) for n in needs.needed(result.topology)]
    assert got == [
        ("cache", 6380, (where, *at_word(env, "redis://cache", "cache"))),
        ("m1", 27017, (where, *at_word(env, "mongodb://m1", "m1"))),
        ("m2", 27018, (where, *at_word(env, "mongodb://m1:27017,m2", "m2"))),
        ("db", 3306, None),  # the environment wins over the file (Compose)
    ]


def test_a_shared_env_file_is_a_warning_where_another_reader_reaches(tmp_path: Path) -> None:
    """One env file for several services: the target it names is needed by one of them, not
    proven for each. Read by one service only, or reached by none, it stays an error."""
    env = "DATABASE_URL=postgres://db:5432/app\n"
    text = """
        networks: {back: {}, front: {}}
        services:
          api: {image: api, env_file: [shared.env], networks: [API_NET]}
          proxy: {image: proxy, env_file: [shared.env], networks: [front]}
          worker: {image: worker, env_file: [own.env], networks: [front]}
          db: {image: postgres, networks: [back]}
        """
    files = {"shared.env": env, "own.env": env}

    def levels(api_net: str) -> list[tuple[str, str]]:
        result, _ = check(tmp_path, text.replace("API_NET", api_net), files=files)
        return sorted(
            (os.path.basename(d.file or ""), d.level.value)
            for d in result.diagnostics
            if d.rule == "needed-connection-unreachable"
        )

    assert levels("back") == [("own.env", "error"), ("shared.env", "warning")]
    assert levels("front") == [
        ("own.env", "error"),
        ("shared.env", "error"),
        ("shared.env", "error"),
    ]


def test_links_alias_is_a_name_of_the_linked_service(tmp_path: Path) -> None:
    result, text = check(
        tmp_path,
        """
        services:
          web:
            image: app
            links: ["db:database"]
            environment: {DB: "mysql://database/app"}
          db: {image: mysql}
        """,
    )
    assert found(result) == [
        ("web", "db", None, "links", "links: db:database", *at(text, '"db:database"')),
        ("web", "db", 3306, "url", "mysql://database/app", *at(text, '"mysql://')),
    ]


def test_names_container_name_aliases_not_hostname(tmp_path: Path) -> None:
    result, _text = check(
        tmp_path,
        """
        networks:
          n: {}
        services:
          web:
            image: app
            networks: [n]
            environment:
              A: http://pg-main:5432
              B: http://search:9200
              C: http://box:80
              D: http://shared:80
          db: {image: postgres, container_name: pg-main, networks: [n]}
          es: {image: elastic, networks: {n: {aliases: [search, shared]}}}
          other: {image: x, hostname: box, networks: {n: {aliases: [shared]}}}
        """,
    )
    assert [(s, t, p) for s, t, p, *_ in found(result)] == [
        ("web", "db", 5432),
        ("web", "es", 9200),
    ]


def test_no_false_evidence(tmp_path: Path) -> None:
    result, _text = check(
        tmp_path,
        """
        configs:
          conf: {content: "# url: http://db:5432\\nlisten: web:8080"}
        services:
          web:
            image: app
            hostname: web
            configs: [conf]
            extra_hosts: ["legacy:10.0.0.5"]
            healthcheck: {test: ["CMD", "nc", "-z", "db", "5432"]}
            environment:
              POSTGRES_USER: postgres
              DB_NAME: db
              GREETING: say hello to db and cache
              SELF: http://web:8080
              LOCAL: http://localhost:5432
              ALLOWED_HOSTS: cache,db
              VIRTUAL_HOST: db
              HOST: cache
              DB_IMAGE: postgres:16
              OLD: http://legacy:80
              PLAIN: db.example.com:5432
              TIME: "12:30"
          postgres: {image: postgres, healthcheck: {test: "pg_isready -h postgres"}}
          db: {image: postgres}
          cache: {image: redis}
          legacy: {image: x}
        """,
    )
    assert found(result) == []


# ------------------------------------------------------------------ rules


def test_broken_database_url_is_an_error_at_its_line(tmp_path: Path) -> None:
    topology = """
        networks:
          front: {}
          back: {}
        services:
          web:
            image: app
            networks: [front]
            depends_on: [db]
            environment:
              DATABASE_URL: postgres://app:secret@db:5432/app
          db: {image: postgres, networks: [back]}
        """
    result, text = check(tmp_path, topology)
    line, col = at_word(text, "postgres://app:secret@db", "db")  # at the host, in the URL
    assert reported(result) == [f"{line}:{col} error needed-connection-unreachable"]
    [d] = [d for d in result.diagnostics if d.rule in IDS]
    assert d.message == "web refers to db:5432 but shares no network with it"
    proc = subprocess.run(
        [sys.executable, "-m", "topogen", "validate", str(tmp_path / "topology.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert f"topology.yaml:{line}:{col}: [error] web refers to db:5432" in proc.stderr
    fixed, _ = check(tmp_path, topology.replace("[back]", "[back, front]"))
    assert reported(fixed) == []


def test_depends_on_alone_is_a_warning(tmp_path: Path) -> None:
    result, text = check(
        tmp_path,
        """
        networks: {a: {}, b: {}}
        services:
          job: {image: x, networks: [a], depends_on: {db: {condition: service_started}}}
          db: {image: postgres, networks: [b]}
        """,
    )
    line, col = at(text, "{condition")
    assert reported(result) == [f"{line}:{col} warning dependency-unreachable"]


def test_depends_on_a_networkless_service_is_startup_order(tmp_path: Path) -> None:
    """``network_mode: none`` on either side states that they do not talk: no warning."""
    for job, db in (
        ("network_mode: none", "networks: [b]"),
        ("networks: [a]", "network_mode: none"),
    ):
        result, _ = check(
            tmp_path,
            f"""
            networks: {{a: {{}}, b: {{}}}}
            services:
              job: {{image: x, {job}, depends_on: [db]}}
              db: {{image: postgres, {db}}}
            """,
        )
        assert reported(result) == [], (job, db)


def test_icc_off_and_host_network_say_why(tmp_path: Path) -> None:
    result, _text = check(
        tmp_path,
        """
        networks: {quiet: {icc: false}}
        services:
          web: {image: x, networks: [quiet], environment: {U: "http://api:80"}}
          api: {image: x, networks: [quiet]}
          agent: {image: x, network_mode: host, command: "ship --to api:80"}
        """,
    )
    messages = sorted(d.message for d in result.diagnostics if d.rule in IDS)
    assert messages == [
        "agent refers to api:80 but cannot resolve its name (network_mode host)",
        (
            "web refers to api:80 but cannot reach it: they share only network quiet, where containers"
            " cannot talk to each other (icc disabled or macvlan private mode)"
        ),
    ]


def test_services_that_never_run_together_are_not_compared(tmp_path: Path) -> None:
    result, _text = check(
        tmp_path,
        """
        networks: {a: {}, b: {}}
        services:
          web: {image: x, profiles: [one], networks: [a], environment: {U: "http://db:5432"}}
          db: {image: x, profiles: [two], networks: [b]}
        """,
    )
    assert reported(result) == []


@pytest.mark.parametrize(
    ("target", "warned"),
    [
        ('{image: x, expose: ["3000"]}', True),
        ('{image: x, expose: ["3000", "8080"]}', False),
        ('{image: x, ports: ["9000:8080"]}', False),
        ("{image: x}", False),  # declares nothing: unknown, no warning
        (
            '{image: x, expose: ["3000"], healthcheck: {test: "curl -f http://localhost:8080/"}}',
            False,
        ),
        ('{image: x, expose: ["3000"], command: "serve --port 8080"}', False),
    ],
)
def test_needed_port_undeclared(tmp_path: Path, target: str, warned: bool) -> None:
    result, text = check(
        tmp_path,
        f"""
        services:
          web: {{image: x, environment: {{API: "http://api:8080/v1"}}}}
          api: {target}
        """,
    )
    line, col = at_word(text, '"http://api', "api")
    assert reported(result) == ([f"{line}:{col} warning needed-port-undeclared"] if warned else [])


# ------------------------------------------------------------------ reach


def test_reach_table_and_json_carry_the_evidence(tmp_path: Path) -> None:
    _result, text = check(
        tmp_path,
        """
        services:
          web: {image: x, environment: {API_URL: "http://api:3000"}, depends_on: [api]}
          api: {image: x}
        """,
    )
    run = [
        sys.executable,
        "-m",
        "topogen",
        "reach",
        str(tmp_path / "topology.yaml"),
        "--from",
        "web",
    ]
    table = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in table.splitlines()]
    assert rows[0][:4] == ["FROM", "TO", "REACH", "NEEDED"]
    assert {r[1]: r[3] for r in rows[1:]} == {"api": "needed", "host": "-", "external": "-"}
    out = subprocess.run([*run, "-f", "json"], capture_output=True, text=True, check=True).stdout
    pairs = {p["to"]: p for p in json.loads(out)["pairs"]}
    file = str(tmp_path / "topology.yaml")
    assert pairs["api"]["needed"] == [
        {"kind": "depends_on", "text": "depends_on: api", "port": None, "protocol": "tcp",
         "file": file, "line": at(text, "[api]")[0], "col": at(text, "[api]")[1] + 1},
        {"kind": "url", "text": "http://api:3000", "port": 3000, "protocol": "tcp",
         "file": file, "line": at(text, '"http://')[0], "col": at(text, '"http://')[1]},
    ]  # fmt: skip
    assert pairs["external"]["needed"] == []


# ------------------------------------------------------------------ examples, determinism


@pytest.mark.parametrize(
    "path",
    sorted(
        glob.glob(os.path.join(EXAMPLES, "*", "topology.yaml"))
        + glob.glob(os.path.join(EXAMPLES, "*", "compose.yaml"))
    ),
)
def test_examples_have_no_findings_and_needs_are_reachable(path: str) -> None:
    result = pipeline.check(path)
    assert result.topology is not None
    assert reported(result) == []
    index = reach.Index(result.topology)
    for n in needs.needed(result.topology):
        assert index.pair(n.source, n.target).reachable, n


def test_three_tier_needs() -> None:
    result = pipeline.check(os.path.join(EXAMPLES, "three-tier", "topology.yaml"))
    assert result.topology is not None
    got = [(n.source, n.target, n.port, n.kind) for n in needs.needed(result.topology)]
    assert got == [
        ("api-server", "postgres-db", 5432, "url"),
        ("web-server", "api-server", 3000, "url"),
    ]


def test_deterministic(tmp_path: Path) -> None:
    result, _ = check(
        tmp_path,
        """
        services:
          b: {image: x, environment: {U: "http://a:1,http://c:2"}, depends_on: [c, a]}
          a: {image: x, command: ["c:3", "c:3"]}
          c: {image: x}
        """,
    )
    assert result.topology is not None
    first = needs.needed(result.topology)
    assert first == needs.needed(result.topology)
    assert [(n.source, n.target, n.port) for n in first] == [
        ("a", "c", 3),  # each item of the command is evidence of its own
        ("a", "c", 3),
        ("b", "c", None),
        ("b", "a", None),
        ("b", "a", 1),
        ("b", "c", 2),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("udp://logs:514", [("logs", 514, "udp")]),
        ("syslog+udp://logs:5514", [("logs", 5514, "udp")]),
        ("jdbc:postgresql://pg/app", [("pg", 5432, "tcp")]),
        ("mongodb+srv://user:pw@cluster/x", [("cluster", None, "tcp")]),
        ("file://db/x unix:///run/db.sock", []),
        ("[::1]:80 10:30 a:b 1.2.3.4:80", [("10", 30, "tcp"), ("1.2.3.4", 80, "tcp")]),
        ("db:99999", []),
    ],
)
def test_mentions(text: str, expected: list[tuple[str, int | None, str]]) -> None:
    assert [(m.host, m.port, m.protocol) for m in mentions.find(text)] == expected


def test_a_link_to_an_unknown_service_is_no_need(tmp_path: Path) -> None:
    text = "name: t\nservices:\n  web: {image: x, links: ['ghost:db'], environment: {U: 'http://db:80'}}\n"
    (tmp_path / "topology.yaml").write_text(text)
    result = pipeline.check(str(tmp_path / "topology.yaml"), environ={})
    assert result.topology is not None
    assert needs.needed(result.topology) == []
    assert not [d for d in result.diagnostics if d.rule in IDS]


def test_a_shared_namespace_reaches_through_its_owner(tmp_path: Path) -> None:
    topology = """
        networks: {a: {}, b: {}}
        services:
          vpn: {image: x, networks: [%s]}
          web: {image: x, network_mode: "service:vpn", environment: {U: "http://db:5432"}}
          db: {image: x, networks: [b]}
        """
    result, text = check(tmp_path, topology % "b")
    assert reported(result) == []
    result, text = check(tmp_path, topology % "a")
    line, col = at_word(text, '"http://db', "db")
    assert reported(result) == [f"{line}:{col} error needed-connection-unreachable"]


def test_the_column_is_on_the_host_where_the_file_spells_it(tmp_path: Path) -> None:
    """A list item ``KEY=URL`` points at the host too; a value whose host comes from a variable
    is not spelled as read, so the finding stays at the start of the value."""
    result, text = check(
        tmp_path,
        """
        services:
          web:
            image: x
            networks: [a]
            environment:
              - DATABASE_URL=postgres://u:p@db:5432/app
          api:
            image: x
            networks: [a]
            environment: {CACHE: "redis://${CACHE_HOST:-cache}:6379"}
          db: {image: x, networks: [b]}
          cache: {image: x, networks: [b]}
        networks: {a: {}, b: {}}
        """,
    )
    db = at_word(text, "postgres://u:p@db", "db")
    cache = at(text, '"redis://${CACHE_HOST')
    assert sorted(reported(result)) == sorted(
        f"{line}:{col} error needed-connection-unreachable" for line, col in (db, cache)
    )
