"""A synthesized layout on the real engine: ``verify --live`` observes exactly what ``reach``
predicts (0 mismatches), and the prediction is the intent: intended pairs reachable both
ways, the published port seen from the egress network, nothing else."""

from __future__ import annotations

import pytest
import yaml

from tests.live.test_verify import assert_agrees, run_verify

pytestmark = pytest.mark.live

FLOWS = [("web", "api"), ("api", "db"), ("api", "cache"), ("worker", "db"), ("worker", "queue")]
SERVICES = ["api", "cache", "db", "queue", "web", "worker", "lonely"]


def test_synthesized_layout_verifies_with_no_mismatch(docker_env, tmp_path):
    doc = {
        "name": "synthlive",
        "synthesize": {"egress": ["worker"], "pool": "10.213.0.0/16"},
        "services": {s: {"image": "busybox", "expose": ["80"]} for s in SERVICES},
        "policies": [{"allow": {"from": a, "to": b}} for a, b in FLOWS],
    }
    doc["services"]["web"]["ports"] = ["47614:80"]
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    rep = run_verify(docker_env, str(path))
    assert_agrees(rep, set(SERVICES))
    observed = {
        (r.source, r.target)
        for r in rep.rows
        if r.source in SERVICES and r.target in SERVICES and r.observed and r.observed.reachable
    }
    both = {f for a, b in FLOWS for f in ((a, b), (b, a))}
    # web publishes a port: worker (egress bridge) reaches it through the host
    assert observed == both | {("worker", "web")}
    egress = {
        r.source for r in rep.rows if r.target == "external" and r.observed and r.observed.reachable
    }
    assert egress & set(SERVICES) == {"web", "worker"}
