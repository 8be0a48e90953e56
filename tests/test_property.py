"""Property: every valid topology with awkward strings compiles to a file that the real
``docker-compose config`` accepts, and the model it reports equals the topology's values.

Bounded: 40 examples, one Compose call each, no shrinking. Compose 2.40 is lenient with a lone
`$` (it keeps `$(` literally), so what this catches is mostly YAML typing and escaping. The topology is written as JSON (a YAML subset
whose double-quoted strings are always strings), so what topogen reads is exactly what
hypothesis generated.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from tools import compose_config, unescape

from topogen import pipeline
from topogen.interpolation import interpolate

AWKWARD = [
    "no",
    "on",
    "off",
    "yes",
    "y",
    "n",
    "true",
    "null",
    "~",
    "",
    "0755",
    "0o17",
    "0x1F",
    "1e3",
    "1_000",
    ".inf",
    "12:30",
    "a: b",
    "#x",
    "x #y",
    "- x",
    "? x",
    "[a]",
    "{a: b}",
    "*ref",
    "&a",
    "!tag",
    "|",
    ">",
    "'q'",
    '"q"',
    "back\\slash",
    "tab\tx",
    "line\nbreak",
    " lead",
    "trail ",
    "caf\u00e9",
    "\u65e5\u672c",
    "\U0001f600",
    "$(date +%Y%m%d-%H%M%S)",
    "cost $5",
    "100%",
    "$",
    "a$",
    "$$",
    "=",
    "<<",
    "%x",
    "@x",
    "`x`",
    "\u00a0nbsp",
    "nel\u0085",
    "del\x7f",
]
_INTERPOLATION = re.compile(r"\$[{A-Za-z_]")  # ${VAR} and $VAR are not what this test is about

ALPHABET = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
AWKWARD_TEXT = (st.sampled_from(AWKWARD) | st.text(ALPHABET, max_size=12)).filter(
    lambda s: not _INTERPOLATION.search(s)
)
ENV_KEY = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
LABEL_KEY = st.from_regex(r"[a-z][a-z0-9]{0,5}(\.[a-z0-9-]{1,5}){0,2}", fullmatch=True)
NAME = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,10}", fullmatch=True)
PROJECT = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,10}", fullmatch=True)
HOSTNAME = st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
#: A path segment: any printable text but "/", "." and ".." (which Compose would clean away).
SEGMENT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="/"), min_size=1, max_size=8
).filter(lambda s: s not in (".", "..") and not _INTERPOLATION.search(s))
IMAGE = st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8})?(:[a-z0-9][a-z0-9.-]{0,6})?", fullmatch=True)


@st.composite
def topologies(draw: st.DrawFn) -> dict[str, Any]:
    net_names = draw(st.lists(NAME, max_size=3, unique_by=str.lower))
    networks = {
        n: {
            "subnet": f"10.{i + 1}.0.0/24",
            "internal": draw(st.booleans()),
            "labels": draw(st.dictionaries(LABEL_KEY, AWKWARD_TEXT, max_size=2)),
        }
        for i, n in enumerate(net_names)
    }
    vol_names = draw(st.lists(NAME, max_size=2, unique_by=str.lower))
    volumes = {
        v: draw(
            st.just({})
            | st.builds(
                lambda o: {"driver": "someplugin", "driver_opts": o},
                st.dictionaries(LABEL_KEY, AWKWARD_TEXT, min_size=1, max_size=2),
            )
        )
        for v in vol_names
    }
    services: dict[str, Any] = {}
    host_ports = iter(range(20000, 20100))
    for j, sname in enumerate(draw(st.lists(NAME, min_size=1, max_size=3, unique_by=str.lower))):
        svc: dict[str, Any] = {
            "image": draw(IMAGE),
            "environment": draw(st.dictionaries(ENV_KEY, AWKWARD_TEXT, max_size=4)),
            "labels": draw(st.dictionaries(LABEL_KEY, AWKWARD_TEXT, max_size=3)),
            "command": draw(st.lists(AWKWARD_TEXT, min_size=1, max_size=4)),
            "hostname": draw(HOSTNAME),
        }
        joined = draw(st.lists(st.sampled_from(net_names), unique=True)) if net_names else []
        if joined:
            svc["networks"] = {
                n: {"ipv4_address": f"10.{net_names.index(n) + 1}.0.{10 + j}"} for n in joined
            }
        if draw(st.booleans()) and not (joined and all(networks[n]["internal"] for n in joined)):
            svc["ports"] = [f"{next(host_ports)}:{draw(st.integers(1, 65535))}"]
        mounts = [
            {"source": v, "target": f"/v{i}/{draw(SEGMENT)}"}
            for i, v in enumerate(vol_names)
            if j == 0 or draw(st.booleans())
        ]  # the first service mounts every volume
        if draw(st.booleans()):
            mounts.append(
                {"type": "bind", "source": f"./{draw(SEGMENT)}", "target": f"/b/{draw(SEGMENT)}"}
            )
        if mounts:
            svc["mounts"] = mounts
        services[sname] = svc
    used = {n for s in services.values() for n in s.get("networks", {})}
    return {
        "name": draw(PROJECT),
        "networks": {k: v for k, v in networks.items() if k in used},
        "volumes": volumes,
        "services": services,
    }


_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def as_yaml(data: dict[str, Any]) -> str:
    """JSON is YAML; characters a YAML reader would refuse or fold raw are escaped."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def model_value(text: str) -> str:
    """What a topology string means in Compose's model (Compose's own `$` rules)."""
    return interpolate(text, {}).text


def compile_and_load(topo: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "topology.yaml")
        for svc in topo["services"].values():
            for m in svc.get("mounts", ()):
                if m.get("type") == "bind":
                    os.makedirs(os.path.join(tmp, m["source"]), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(as_yaml(topo))
        out = pipeline.build(path)
        assert not out.result.failed(), [str(d) for d in out.result.diagnostics]
        pipeline.write(out.files)
        proc = compose_config(os.path.join(tmp, "docker-compose.yml"), "--format", "json")
        assert proc.returncode == 0, proc.stderr
        got: dict[str, Any] = json.loads(proc.stdout)
        got["x-dir"] = tmp
        return got


# No shrink phase: each example costs a Compose call, and shrinking one can take minutes.
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(topologies())
def test_awkward_topologies_reach_compose_exactly(topo: dict[str, Any]) -> None:
    got = compile_and_load(topo)
    assert got["name"] == topo["name"]
    assert set(got["services"]) == set(topo["services"])
    for sname, svc in topo["services"].items():
        actual = got["services"][sname]
        assert actual["image"] == svc["image"]
        assert actual["hostname"] == svc["hostname"]
        assert unescape(actual.get("environment", {})) == {
            k: model_value(v) for k, v in svc["environment"].items()
        }
        assert unescape(actual.get("labels", {})) == {
            k: model_value(v) for k, v in svc["labels"].items()
        }
        assert unescape(actual["command"]) == [model_value(c) for c in svc["command"]]
        networks = svc.get("networks", {"default": {}})
        assert set(actual["networks"]) == set(networks)
        for n, attach in networks.items():
            assert (actual["networks"][n] or {}).get("ipv4_address") == attach.get("ipv4_address")
        want_ports = [(p.split(":")[0], int(p.split(":")[1])) for p in svc.get("ports", [])]
        assert [(p["published"], p["target"]) for p in actual.get("ports", [])] == want_ports
        want_mounts = [
            (m.get("type", "volume"), m["source"], model_value(m["target"]))
            for m in svc.get("mounts", [])
        ]
        have = [(m["type"], m["source"], m["target"]) for m in unescape(actual.get("volumes", []))]
        assert [h[::2] for h in have] == [w[::2] for w in want_mounts]
        for (kind, source, _), (_, got_source, _) in zip(want_mounts, have):
            want_source = (
                os.path.normpath(os.path.join(got["x-dir"], source)) if kind == "bind" else source
            )
            assert got_source == model_value(want_source)
    for key, vol in topo["volumes"].items():
        actual = got["volumes"][key]
        assert actual["name"] == f"{topo['name']}_{key}"
        assert actual.get("driver") == vol.get("driver")
        want_opts = {k: model_value(v) for k, v in vol.get("driver_opts", {}).items()}
        assert unescape(actual.get("driver_opts", {})) == want_opts
    for key, net in topo["networks"].items():
        actual = got["networks"][key]
        assert actual["name"] == f"{topo['name']}_{key}"
        assert actual["ipam"]["config"][0]["subnet"] == net["subnet"]
        assert bool(actual.get("internal")) == net["internal"]
        assert unescape(actual.get("labels", {})) == {
            k: model_value(v) for k, v in net["labels"].items()
        }
