"""The result of ``topogen verify --live``: predicted beside observed, as text or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic
from .compare import PolicyResult, Row
from .storage import StorageResult


@dataclass
class Report:
    file: str
    project: str = ""
    rows: list[Row] = field(default_factory=list)
    policies: list[PolicyResult] = field(default_factory=list)
    storage: list[StorageResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the run itself failed (up, timeout, ...)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0
    addresses: list[str] = field(
        default_factory=list
    )  # every address a probe connected or pinged to
    kept: str = ""  # with --keep: the command that removes the project
    attached: bool = False  # verify --attach: a running project, probed in place
    notes: list[str] = field(default_factory=list)  # what the run assumed (where FILE came from)
    absent: list[str] = field(default_factory=list)  # --attach: services of FILE not running
    unknown: list[str] = field(default_factory=list)  # --attach: running, not in FILE

    @property
    def mismatches(self) -> list[Row]:
        return [r for r in self.rows if r.status == "mismatch"]

    @property
    def ok(self) -> bool:
        return not (
            self.errors
            or self.unknown
            or self.mismatches
            or any(d.is_error for d in self.diagnostics)
            or any(p.status == "violated" for p in self.policies)
            or any(s.status == "failed" for s in self.storage)
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "project": self.project,
            "mode": "attach" if self.attached else "live",
            "ok": self.ok,
            "notes": self.notes,
            "services": {"absent": self.absent, "unknown": self.unknown},
            "seconds": round(self.seconds, 2),
            "errors": self.errors,
            "diagnostics": [d.as_dict() for d in self.diagnostics],
            "pairs": [_row_json(r) for r in self.rows],
            "policies": [
                {
                    "kind": p.policy.kind,
                    "path": [str(x) for x in p.policy.path],
                    "status": p.status,
                    "detail": p.detail,
                    "description": p.policy.description,
                }
                for p in self.policies
            ],
            "storage": [vars(s) for s in self.storage],
            "summary": self.summary(),
            "probed_addresses": self.addresses,
            "kept": self.kept,
        }

    def summary(self) -> dict[str, int]:
        probed = [r for r in self.rows if r.observed is not None]
        return {
            "pairs": len(self.rows),
            "probed": len(probed),
            "agree": sum(1 for r in probed if not r.problems),
            "mismatches": len(self.mismatches),
            "policies_violated": sum(1 for p in self.policies if p.status == "violated"),
            "storage_failed": sum(1 for s in self.storage if s.status == "failed"),
            "services_absent": len(self.absent),
            "services_unknown": len(self.unknown),
        }

    def render(self, fmt: str = "text") -> str:
        if fmt == "json":
            return json.dumps(self.to_json(), indent=2) + "\n"
        if fmt == "junit":
            from .junit import render

            return render(self)
        return render_text(self)


def _row_json(r: Row) -> dict[str, Any]:
    obs = r.observed
    return {
        "from": r.source,
        "to": r.target,
        "status": r.status,
        "predicted": r.predicted.to_json() if hasattr(r.predicted, "to_json") else {},
        "observed": None
        if obs is None
        else {
            "reachable": obs.reachable,
            "ports": sorted(obs.ports),
            "closed_ports": sorted(obs.closed),
            "udp": {
                "probed": sorted(obs.udp_probed),
                "closed": sorted(obs.udp_closed),
                "listening": sorted(obs.udp_listening),
            },
            "names": sorted(obs.names),
            "evidence": obs.evidence[:6],
        },
        "problems": list(r.problems),
    }


def _cell(reachable: bool | None, names: Any = (), via: Any = ()) -> str:
    if reachable is None:
        return "(not probed)"
    text = "reach" if reachable else "-"
    text += f" via {','.join(via)}" if via and reachable else ""
    names = [n for n in names if n != "localhost"]
    return text + (f" [{','.join(sorted(names))}]" if names and reachable else "")


def _status(r: Row) -> str:
    if not r.problems:
        return r.status
    seen = (
        f" (seen: {', '.join(r.observed.evidence[:3])})"
        if r.observed and r.observed.evidence
        else ""
    )
    return "MISMATCH: " + "; ".join(r.problems) + seen


def render_text(rep: Report) -> str:
    lines = [f"{d.format()}" for d in rep.diagnostics]
    lines += [f"error: {e}" for e in rep.errors]
    lines += [f"note: {n}" for n in rep.notes]
    lines += [f"not running: {s} (its pairs are not probed)" for s in rep.absent]
    lines += [
        f"error: {s} runs in project {rep.project} but {rep.file} does not declare it"
        for s in rep.unknown
    ]
    table = [("FROM", "TO", "PREDICTED", "OBSERVED", "STATUS")]
    for r in rep.rows:
        obs = r.observed
        table.append(
            (
                r.source,
                r.target,
                _cell(r.predicted.reachable, r.predicted.names, r.predicted.via),
                _cell(None if obs is None else obs.reachable, () if obs is None else obs.names),
                _status(r),
            )
        )
    if rep.rows:
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[4] for row in table
        ]
    for p in rep.policies:
        what = p.policy.description or p.policy.kind
        lines.append(f"policy {p.policy.kind} ({what}): {p.status.upper()} - {p.detail}")
    for s in rep.storage:
        lines.append(f"storage {s.check} {s.service}:{s.target}: {s.status.upper()} - {s.detail}")
    if rep.kept:
        lines.append(f"kept running; remove with: {rep.kept}")
    sm = rep.summary()
    lines.append(
        f"{rep.file}: {sm['agree']}/{sm['probed']} probed pairs agree with the analysis, "
        f"{sm['mismatches']} mismatches, {sm['policies_violated']} policies violated, "
        f"{sm['storage_failed']} storage checks failed ({rep.seconds:.1f} s)"
        + ("" if rep.ok else " - FAILED")
    )
    return "\n".join(lines) + "\n"
