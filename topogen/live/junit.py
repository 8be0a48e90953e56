"""``topogen verify --format junit``: the report as JUnit XML, for CI test reporters.

One ``<testsuite>`` per kind of check, one ``<testcase>`` per check: ``pairs`` (every ordered
pair; a mismatch is a ``<failure>`` with predicted and observed, an unprobed pair is
``<skipped>``), ``policies`` (violated: failure; unverified: skipped), ``storage`` (failed:
failure; unverified: skipped), ``services`` with ``--attach`` (a running service FILE does
not declare: failure; a service of FILE that is not running: skipped) and ``run`` (each
error of the run itself, and each diagnostic of FILE, as an ``<error>``). Counts on every
suite and on ``<testsuites>``, as the JUnit schema of Ant and Jenkins has them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .compare import Row
from .report import Report

_PREFIX = "topogen.verify"


@dataclass
class Case:
    name: str
    outcome: str = "passed"  # passed | failure | skipped | error
    message: str = ""
    text: str = ""


@dataclass
class Suite:
    name: str
    cases: list[Case] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)


def _reach(reachable: bool | None) -> str:
    return "not probed" if reachable is None else "reachable" if reachable else "unreachable"


def _pair(r: Row) -> Case:
    name = f"{r.source} -> {r.target}"
    if r.observed is None:
        return Case(name, "skipped", "not probed (see docs/verify.md: what is not probed)")
    if not r.problems:
        return Case(name)
    o = r.observed
    text = "\n".join(
        [
            f"predicted: {_reach(r.predicted.reachable)}"
            + (f" via {', '.join(r.predicted.via)}" if r.predicted.via else "")
            + (
                f", names {sorted(set(r.predicted.names) - {'localhost'})}"
                if r.predicted.names
                else ""
            ),
            f"observed: {_reach(o.reachable)}" + (f", names {sorted(o.names)}" if o.names else ""),
            *(f"problem: {p}" for p in r.problems),
            *(f"seen: {e}" for e in o.evidence[:6]),
        ]
    )
    return Case(name, "failure", "; ".join(r.problems), text)


def suites(rep: Report) -> list[Suite]:
    """The report's checks, grouped as JUnit suites (every suite, empty ones too)."""
    pairs = Suite("pairs", [_pair(r) for r in rep.rows])
    policies = Suite(
        "policies",
        [
            Case(
                f"{p.policy.kind} {p.policy.description or ' '.join(str(x) for x in p.policy.path)}",
                {"ok": "passed", "violated": "failure"}.get(p.status, "skipped"),
                p.detail,
                p.detail,
            )
            for p in rep.policies
        ],
    )
    storage = Suite(
        "storage",
        [
            Case(
                f"{s.check} {s.service}:{s.target}",
                {"ok": "passed", "failed": "failure"}.get(s.status, "skipped"),
                s.detail,
                s.detail,
            )
            for s in rep.storage
        ],
    )
    run = Suite(
        "run",
        [Case("run", "error", e, e) for e in rep.errors]
        + [
            Case(f"{d.file}:{d.line}:{d.col}", "error", d.message, d.format())
            for d in rep.diagnostics
        ]
        or [Case("run")],
    )
    found = [run, pairs, policies, storage]
    if rep.attached:
        services = Suite("services")
        named = {r.source for r in rep.rows} | {r.target for r in rep.rows}
        for s in sorted(named - {"host", "external"} | set(rep.absent)):
            why = "not running: its pairs are not probed"
            services.cases.append(Case(s, "skipped", why) if s in rep.absent else Case(s))
        for s in rep.unknown:
            why = f"runs in project {rep.project} but {rep.file} does not declare it"
            services.cases.append(Case(s, "failure", why, why))
        found.append(services)
    return found


def render(rep: Report) -> str:
    """The JUnit XML document (UTF-8, with its declaration and a trailing newline)."""
    all_suites = suites(rep)
    root = ET.Element("testsuites", name=f"topogen verify {rep.file}")
    _counts(root, all_suites, rep.seconds)
    for s in all_suites:
        el = ET.SubElement(root, "testsuite", name=f"{_PREFIX}.{s.name}")
        _counts(el, [s], rep.seconds if s.name == "pairs" else 0.0)
        props = ET.SubElement(el, "properties")
        for key, value in (
            ("file", rep.file),
            ("project", rep.project),
            ("mode", "attach" if rep.attached else "live"),
            *(("note", n) for n in rep.notes),
        ):
            ET.SubElement(props, "property", name=key, value=value)
        for c in s.cases:
            case = ET.SubElement(
                el, "testcase", classname=f"{_PREFIX}.{s.name}", name=c.name, time="0"
            )
            if c.outcome != "passed":
                child = ET.SubElement(case, c.outcome, message=c.message)
                if c.outcome != "skipped":
                    child.set("type", c.outcome if s.name != "pairs" else "mismatch")
                    child.text = c.text
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=False).join(
        ('<?xml version="1.0" encoding="UTF-8"?>\n', "\n")
    )


def _counts(el: ET.Element, group: list[Suite], seconds: float) -> None:
    el.set("tests", str(sum(len(s.cases) for s in group)))
    for outcome, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        el.set(attr, str(sum(s.count(outcome) for s in group)))
    el.set("time", f"{seconds:.3f}")
