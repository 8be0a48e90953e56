"""The engine as ground truth for rules that Compose cannot check: what topogen reports as an
error, a real Docker Engine refuses (and the near-miss it accepts). Only networks the test
creates, ipvlan only on the test veth; every network is removed in teardown."""

from __future__ import annotations

import os
import textwrap

import pytest

from topogen import pipeline

pytestmark = pytest.mark.live

CASES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cases", "invalid"
)


def rules_of(case: str) -> set[str]:
    return {d.rule for d in pipeline.check(os.path.join(CASES, case)).diagnostics if d.is_error}


def create(denv, cleanup, name: str, *args: str):  # type: ignore[no-untyped-def]
    cleanup.network(name)
    return denv.docker_cmd("network", "create", *args, name, timeout=30)


def test_bridge_name_longer_than_15_is_refused(docker_env, cleanup, unique_name) -> None:
    assert "bridge-name-too-long" in rules_of("bridge-name-too-long.yaml")
    bad = create(
        docker_env,
        cleanup,
        unique_name("br16"),
        "-o",
        "com.docker.network.bridge.name=br-topogen-frontend",
    )
    assert bad.returncode != 0 and "numerical result out of range" in bad.stderr
    suffix = unique_name("x")[-8:]
    ok = create(
        docker_env,
        cleanup,
        unique_name("br15"),
        "-o",
        f"com.docker.network.bridge.name=br-tg{suffix}01",
    )
    assert ok.returncode == 0, ok.stderr  # exactly 15 characters


def test_duplicate_bridge_name_is_refused(docker_env, cleanup, unique_name) -> None:
    assert "duplicate-bridge-name" in rules_of("duplicate-bridge-name.yaml")
    bridge = "br-tg" + unique_name("x")[-8:]
    first = create(
        docker_env, cleanup, unique_name("dupa"), "-o", f"com.docker.network.bridge.name={bridge}"
    )
    assert first.returncode == 0, first.stderr
    second = create(
        docker_env, cleanup, unique_name("dupb"), "-o", f"com.docker.network.bridge.name={bridge}"
    )
    assert second.returncode != 0 and "same bridge name" in second.stderr


def test_second_ipvlan_network_on_a_parent_is_refused(
    docker_env, macvlan_parent, cleanup, unique_name
) -> None:
    assert "shared-parent" in rules_of("shared-parent-ipvlan.yaml")
    parent = macvlan_parent
    first = create(
        docker_env,
        cleanup,
        unique_name("ipv1"),
        "-d",
        "ipvlan",
        "-o",
        f"parent={parent}",
        "--subnet",
        "10.231.1.0/24",
    )
    assert first.returncode == 0, first.stderr
    second = create(
        docker_env,
        cleanup,
        unique_name("ipv2"),
        "-d",
        "ipvlan",
        "-o",
        f"parent={parent}",
        "--subnet",
        "10.231.2.0/24",
    )
    assert second.returncode != 0 and "already using parent interface" in second.stderr


def test_overlapping_subnets_are_refused(docker_env, cleanup, unique_name) -> None:
    assert "subnet-overlap" in rules_of("subnet-overlap.yaml")
    wide = create(docker_env, cleanup, unique_name("wide"), "--subnet", "10.232.0.0/16")
    assert wide.returncode == 0, wide.stderr
    inner = create(docker_env, cleanup, unique_name("inner"), "--subnet", "10.232.1.0/24")
    assert inner.returncode != 0 and "Pool overlaps" in inner.stderr


def test_static_ip_equal_to_the_gateway_is_refused(docker_env, cleanup, unique_name) -> None:
    text = textwrap.dedent("""\
        name: t
        networks:
          lan: {subnet: 10.233.0.0/24}
        services:
          a: {image: x, networks: {lan: {ipv4_address: 10.233.0.1}}}
        """)
    assert [d.rule for d in pipeline.check("t.yaml", text).diagnostics] == ["static-ip-reserved"]
    net = unique_name("gw")
    assert create(docker_env, cleanup, net, "--subnet", "10.233.0.0/24").returncode == 0
    name = cleanup.container(unique_name("c"))
    run = docker_env.docker_cmd(
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        net,
        "--ip",
        "10.233.0.1",
        docker_env.image,
        "true",
        timeout=60,
    )
    assert run.returncode != 0 and "already in use" in run.stderr.lower()


def test_wildcard_host_port_includes_a_specific_address(docker_env, cleanup, unique_name) -> None:
    """0.0.0.0:P then 127.0.0.1:P is refused; the same number over udp is not."""
    text = textwrap.dedent("""\
        name: t
        services:
          a: {image: x, ports: ["0.0.0.0:28081:80"]}
          b: {image: x, ports: ["127.0.0.1:28081:80"]}
          c: {image: x, ports: ["28081:80/udp"]}
        """)
    assert [(d.line, d.rule) for d in pipeline.check("t.yaml", text).diagnostics] == [
        (4, "duplicate-published-port")
    ]

    def run(publish: str):  # type: ignore[no-untyped-def]
        name = cleanup.container(unique_name("p"))
        return docker_env.docker_cmd(
            "run", "-d", "--name", name, "-p", publish, docker_env.image, "sleep", "60", timeout=60
        )

    assert run("0.0.0.0:28081:80").returncode == 0
    refused = run("127.0.0.1:28081:80")
    assert refused.returncode != 0 and "already in use" in refused.stderr
    assert run("28081:80/udp").returncode == 0


def test_container_network_mode_refuses_hostname_but_not_domainname(
    docker_env, cleanup, unique_name
) -> None:
    text = 'name: t\nservices:\n  a: {image: x}\n  b: {image: x, network_mode: "service:a", hostname: h, domainname: d.org}\n'
    assert [(d.col, d.rule) for d in pipeline.check("t.yaml", text).diagnostics] == [
        (44, "network-mode-conflict")
    ]
    main = cleanup.container(unique_name("main"))
    assert (
        docker_env.docker_cmd(
            "run", "-d", "--name", main, docker_env.image, "sleep", "60", timeout=60
        ).returncode
        == 0
    )
    refused = docker_env.docker_cmd(
        "run",
        "--rm",
        "--network",
        f"container:{main}",
        "--hostname",
        "h",
        docker_env.image,
        "true",
        timeout=60,
    )
    assert (
        refused.returncode != 0
        and "conflicting options: hostname and the network mode" in refused.stderr
    )
    accepted = docker_env.docker_cmd(
        "run",
        "--rm",
        "--network",
        f"container:{main}",
        "--domainname",
        "d.org",
        docker_env.image,
        "true",
        timeout=60,
    )
    assert accepted.returncode == 0, accepted.stderr


def test_hostname_longer_than_64_fails_to_start(docker_env, cleanup, unique_name) -> None:
    ok64 = "h" * 31 + "." + "h" * 32
    text = f"name: t\nservices:\n  a: {{image: x, hostname: {'h' * 65}}}\n  b: {{image: x, hostname: {ok64}}}\n"
    assert [
        (d.line, d.rule, d.level.value) for d in pipeline.check("t.yaml", text).diagnostics
    ] == [(3, "invalid-hostname", "error")]
    name = cleanup.container(unique_name("h"))
    long = docker_env.docker_cmd(
        "run", "--rm", "--name", name, "--hostname", "h" * 65, docker_env.image, "true", timeout=60
    )
    assert long.returncode != 0 and "sethostname" in long.stderr
    ok = docker_env.docker_cmd(
        "run", "--rm", "--hostname", ok64, docker_env.image, "hostname", timeout=60
    )
    assert ok.returncode == 0 and ok.stdout.strip() == ok64


def test_loop_is_not_a_kernel_mount_option(docker_env, cleanup, unique_name) -> None:
    """The seed's o=loop reaches mount(2) as fs data and the first mount fails; noatime (a flag) works."""
    text = (
        'name: t\nvolumes:\n  bad: {driver_opts: {type: tmpfs, device: tmpfs, o: "size=10m,loop"}}\n'
        '  good: {driver_opts: {type: tmpfs, device: tmpfs, o: "size=10m,noatime"}}\n'
        'services:\n  a: {image: x, volumes: ["bad:/b", "good:/g"]}\n'
    )
    assert [(d.line, d.rule) for d in pipeline.check("t.yaml", text).diagnostics] == [
        (3, "not-a-kernel-mount-option")
    ]
    results = {}
    for opts in ("size=10m,loop", "size=10m,noatime"):
        volume = cleanup.volume(unique_name("vol"))
        assert (
            docker_env.docker_cmd(
                "volume",
                "create",
                "--opt",
                "type=tmpfs",
                "--opt",
                "device=tmpfs",
                "--opt",
                f"o={opts}",
                volume,
                timeout=30,
            ).returncode
            == 0
        )
        results[opts] = docker_env.docker_cmd(
            "run", "--rm", "-v", f"{volume}:/data", docker_env.image, "true", timeout=60
        )
    assert (
        results["size=10m,loop"].returncode != 0
        and "invalid argument" in results["size=10m,loop"].stderr
    )
    assert results["size=10m,noatime"].returncode == 0, results["size=10m,noatime"].stderr


def test_mtu_below_68_fails_at_the_first_container(docker_env, cleanup, unique_name) -> None:
    """The engine creates the network; the kernel refuses the veth MTU when a container joins."""
    assert "mtu-out-of-range" in rules_of("mtu-out-of-range.yaml")
    results = {}
    for mtu in ("20", "68"):
        net = unique_name(f"mtu{mtu}")
        assert (
            create(
                docker_env, cleanup, net, "-o", f"com.docker.network.driver.mtu={mtu}"
            ).returncode
            == 0
        )
        results[mtu] = docker_env.docker_cmd(
            "run",
            "--rm",
            "--network",
            net,
            docker_env.image,
            "cat",
            "/sys/class/net/eth0/mtu",
            timeout=60,
        )
    assert results["20"].returncode != 0 and "failed to set MTU" in results["20"].stderr
    assert results["68"].returncode == 0 and results["68"].stdout.strip() == "68"


def test_tmpfs_options_and_duplicate_targets(docker_env) -> None:
    """What invalid-tmpfs-option and duplicate-mount-target report, the engine refuses; good options pass."""
    assert "invalid-tmpfs-option" in rules_of("invalid-tmpfs-option.yaml")
    assert "duplicate-mount-target" in rules_of("duplicate-mount-target.yaml")
    image = docker_env.image
    bad = docker_env.docker_cmd(
        "run", "--rm", "--tmpfs", "/run:huge=always", image, "true", timeout=60
    )
    assert bad.returncode != 0 and "invalid tmpfs option" in bad.stderr
    dup = docker_env.docker_cmd(
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,target=/cache",
        "--mount",
        "type=tmpfs,target=/cache",
        image,
        "true",
        timeout=60,
    )
    assert dup.returncode != 0 and "Duplicate mount point" in dup.stderr
    good = docker_env.docker_cmd(
        "run",
        "--rm",
        "--tmpfs",
        "/run:rw,noexec,nosuid,size=50%,nr_inodes=1k,uid=1000",
        image,
        "true",
        timeout=60,
    )
    assert good.returncode == 0, good.stderr


def _one_container(
    docker_env,
    cleanup,
    unique_name,
    tmp_path,
    key: str,
    *action: str,  # type: ignore[no-untyped-def]
    image: str = "",
):
    """``docker-compose ACTION`` on one short-lived container (no network, nothing pulled) with the
    service key ``key``; returns (result, container name)."""
    project, name = unique_name("one"), cleanup.container(unique_name("c"))
    path = tmp_path / f"{project}.yml"
    path.write_text(
        f'services:\n  a:\n    image: "{image or docker_env.image}"\n    container_name: {name}\n'
        f'    network_mode: none\n    pull_policy: never\n    command: ["true"]\n    {key}\n'
    )
    return docker_env.compose_cmd("-p", project, "-f", str(path), *action, timeout=90), name


@pytest.mark.parametrize(
    ("restart", "refusal"),
    [("sometimes", "invalid restart policy"), ("always:3", "maximum retry count cannot be used")],
)
def test_restart_policies_the_rule_reports_are_refused(
    docker_env, cleanup, unique_name, tmp_path, restart: str, refusal: str
) -> None:
    text = f'name: t\nservices:\n  a: {{image: x, restart: "{restart}"}}\n'
    assert [d.rule for d in pipeline.check("t.yaml", text).diagnostics] == ["invalid-restart"]
    created, _ = _one_container(
        docker_env, cleanup, unique_name, tmp_path, f'restart: "{restart}"', "create"
    )
    assert created.returncode != 0 and refusal in created.stderr, created.stderr


def test_restart_count_compose_cannot_read_becomes_no_limit(
    docker_env, cleanup, unique_name, tmp_path
) -> None:
    """``on-failure:3x`` passes Compose and the engine as on-failure with no retry limit (0): silently
    not what was written, so the rule reports it; ``on-failure:3`` keeps its count."""
    assert [
        d.rule
        for d in pipeline.check(
            "t.yaml", 'name: t\nservices:\n  a: {image: x, restart: "on-failure:3x"}\n'
        ).diagnostics
    ] == ["invalid-restart"]
    assert (
        pipeline.check(
            "t.yaml", 'name: t\nservices:\n  a: {image: x, restart: "on-failure:3"}\n'
        ).diagnostics
        == []
    )
    for restart, count in (("on-failure:3x", "0"), ("on-failure:3", "3")):
        created, name = _one_container(
            docker_env, cleanup, unique_name, tmp_path, f'restart: "{restart}"', "create"
        )
        assert created.returncode == 0, created.stderr
        policy = docker_env.docker_cmd(
            "inspect",
            "-f",
            "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}",
            name,
            timeout=30,
        )
        assert policy.stdout.split() == ["on-failure", count]


@pytest.mark.parametrize("image", ["My-App:latest", "nginx:"])
def test_image_references_the_rule_reports_are_refused(
    docker_env, cleanup, unique_name, tmp_path, image: str
) -> None:
    """Compose passes the string on; the engine cannot parse it (no registry is contacted: the
    reference fails before any pull). The local image under a valid name is the near miss."""
    assert [
        d.rule
        for d in pipeline.check(
            "t.yaml", f'name: t\nservices:\n  a: {{image: "{image}"}}\n'
        ).diagnostics
    ] == ["invalid-image"]
    for candidate, ok in ((image, False), (docker_env.image, True)):
        created, _ = _one_container(
            docker_env, cleanup, unique_name, tmp_path, "", "create", image=candidate
        )
        assert (created.returncode == 0) is ok, created.stderr
        if not ok:
            assert "invalid reference format" in created.stderr, created.stderr


def test_expose_entries_the_rule_reports_are_stored_as_written(
    docker_env, cleanup, unique_name, tmp_path
) -> None:
    """Neither Compose nor the engine refuses a malformed expose entry: the container's
    ExposedPorts holds the string itself, a port that exposes nothing (hence an error here)."""
    bad = ["http", "90-80", "70000"]
    text = f"name: t\nservices:\n  a: {{image: x, expose: {bad + ['8000-8001', '53/udp']}}}\n"
    assert [d.rule for d in pipeline.check("t.yaml", text).diagnostics] == ["invalid-expose"] * len(
        bad
    )
    created, name = _one_container(
        docker_env, cleanup, unique_name, tmp_path, f"expose: {bad + ['53/udp']}", "create"
    )
    assert created.returncode == 0, created.stderr
    exposed = docker_env.docker_cmd(
        "inspect", "-f", "{{json .Config.ExposedPorts}}", name, timeout=30
    )
    import json

    assert set(json.loads(exposed.stdout)) == {*bad, "53/udp"}


#: A service key the rule reports, and what the engine says when Compose creates and starts it.
REFUSED_AT_UP = {
    "invalid-healthcheck-duration": (
        'healthcheck: {test: ["CMD", "true"], timeout: 10us}',
        "Timeout in Healthcheck cannot be less than 1ms",
    ),
    "invalid-stop-signal": ("stop_signal: SIGFOO", "Invalid signal: SIGFOO"),
    "invalid-ulimit": ("ulimits: {nofil: 10}", "wrong rlimit value"),
}
#: The near misses: the same keys with values the rules accept, which start.
ACCEPTED_AT_UP = [
    'healthcheck: {test: ["CMD", "true"], interval: 0s, timeout: 1ms}',
    "stop_signal: quit",
    "ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 1000}",
]


@pytest.mark.parametrize("rule", sorted(REFUSED_AT_UP))
def test_service_values_the_rules_report_fail_at_up(
    docker_env, cleanup, unique_name, tmp_path, rule: str
) -> None:
    key, refusal = REFUSED_AT_UP[rule]
    assert [
        d.rule
        for d in pipeline.check(
            "t.yaml", f"name: t\nservices:\n  a:\n    image: x\n    {key}\n"
        ).diagnostics
    ] == [rule]
    up, _ = _one_container(
        docker_env, cleanup, unique_name, tmp_path, key, "up", "--abort-on-container-exit"
    )
    assert up.returncode != 0 and refusal in up.stderr, up.stderr


@pytest.mark.parametrize("key", ACCEPTED_AT_UP)
def test_service_values_the_rules_accept_run(
    docker_env, cleanup, unique_name, tmp_path, key: str
) -> None:
    assert (
        pipeline.check("t.yaml", f"name: t\nservices:\n  a:\n    image: x\n    {key}\n").diagnostics
        == []
    )
    up, _ = _one_container(
        docker_env, cleanup, unique_name, tmp_path, key, "up", "--abort-on-container-exit"
    )
    assert up.returncode == 0, up.stderr


@pytest.mark.parametrize(
    ("healthcheck", "level"), [("", "warning"), ("    healthcheck: {disable: true}\n", "error")]
)
def test_waiting_for_health_without_a_healthcheck_stops_up(
    docker_env, cleanup, unique_name, tmp_path, healthcheck: str, level: str
) -> None:
    """The busybox image has no HEALTHCHECK, so both forms stop ``up``; with one declared it starts."""

    def text(image: str, check: str) -> str:
        return (
            f"services:\n  a:\n    image: {image}\n    depends_on: {{b: {{condition: service_healthy}}}}\n"
            f'    command: [sleep, "60"]\n    network_mode: none\n  b:\n    image: {image}\n'
            f'    command: [sleep, "60"]\n    network_mode: none\n{check}'
        )

    found = pipeline.check("t.yaml", "name: t\n" + text("x", healthcheck)).diagnostics
    assert [(d.rule, d.level.value) for d in found] == [("dependency-without-healthcheck", level)]
    healthy = '    healthcheck: {test: ["CMD", "true"], interval: 1s, start_period: 1s}\n'
    assert pipeline.check("t.yaml", "name: t\n" + text("x", healthy)).diagnostics == []
    for check, ok in ((healthcheck, False), (healthy, True)):
        project = unique_name("hc")
        path = tmp_path / f"{project}.yml"
        path.write_text(
            text(docker_env.image, check).replace(
                "    network_mode", "    pull_policy: never\n    network_mode"
            )
        )
        try:
            up = docker_env.compose_cmd(
                "-p", project, "-f", str(path), "up", "-d", "--wait", timeout=120
            )
            assert (up.returncode == 0) is ok, up.stderr
            if not ok:
                assert "has no healthcheck configured" in up.stderr, up.stderr
        finally:
            docker_env.compose_cmd("-p", project, "-f", str(path), "down", "-t", "0", timeout=60)


def test_builds_the_rule_reports_fail_and_the_near_miss_builds(
    docker_env, cleanup, unique_name, tmp_path
) -> None:
    """``docker-compose build`` on the engine: a missing context and a missing dockerfile fail as the
    rule says; the context that exists (FROM the local busybox image: nothing is pulled) builds."""
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text(f'FROM {docker_env.image}\nCMD ["true"]\n')
    cases = [
        ("./nope", "unable to prepare context"),
        ("{context: ./ctx, dockerfile: Nope.Dockerfile}", "failed to read dockerfile"),
        ("./ctx", None),
    ]
    for build, refusal in cases:
        topology = tmp_path / "topology.yaml"
        topology.write_text(f"name: t\nservices:\n  a: {{build: {build}}}\n")
        assert [d.rule for d in pipeline.check(str(topology)).diagnostics] == (
            ["build-context-missing"] if refusal else []
        )
        tag = unique_name("img") + ":1"
        cleanup.add("rmi", "-f", tag)
        compose = tmp_path / "c.yml"
        compose.write_text(
            f"services:\n  a:\n    build: {build}\n    image: {tag}\n    pull_policy: build\n"
        )
        built = docker_env.compose_cmd(
            "-p", unique_name("b"), "-f", str(compose), "build", timeout=180
        )
        if refusal:
            assert built.returncode != 0 and refusal in built.stderr, built.stderr
        else:
            assert built.returncode == 0, built.stderr


def test_service_resource_keys_reach_the_container(
    docker_env, cleanup, unique_name, tmp_path
) -> None:
    """topogen's Compose output for cpus, mem_limit, mem_reservation, pids_limit and cpu_shares is
    what the engine applies (HostConfig), not only what Compose parses."""
    from topogen import pipeline as pl

    name = unique_name("res")
    (tmp_path / "topology.yaml").write_text(
        f"name: {unique_name('rp')}\nservices:\n  a:\n    image: {docker_env.image}\n    container_name: {name}\n"
        '    network_mode: none\n    command: ["true"]\n    cpus: 0.5\n    mem_limit: 64m\n'
        "    mem_reservation: 32m\n    pids_limit: 50\n    cpu_shares: 512\n"
    )
    built = pl.build(str(tmp_path / "topology.yaml"))
    assert not built.result.failed(), [d.format() for d in built.result.diagnostics]
    pl.write(built.files)
    cleanup.container(name)
    created = docker_env.compose_cmd(
        "-f", str(tmp_path / "docker-compose.yml"), "create", timeout=60
    )
    assert created.returncode == 0, created.stderr
    fmt = (
        "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.MemoryReservation}} "
        "{{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}}"
    )
    got = docker_env.docker_cmd("inspect", "-f", fmt, name, timeout=30)
    assert got.stdout.split() == [str(500_000_000), str(64 << 20), str(32 << 20), "50", "512"], (
        got.stderr
    )
