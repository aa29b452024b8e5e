"""Grade one submission: rebuild, run in a worker, judge, and decide its status.

Statuses, most serious first (one per submission, with a one-line reason):

``invalid``        not a notebook, bad JSON, wrong nbformat, none of the graded cells
``missing``        no notebook submitted
``integrity``      the submission replaced grading machinery (numpy/torch comparisons,
                   builtins, nnlab's checks, IPython's display and traceback hooks)
``tampered``       a test or locked cell was edited, deleted, moved or duplicated (graded with
                   the originals restored), or the submission wrote into the grader's channel
``policy``         a graded function called what its exercise forbids (torch in a numpy
                   exercise); that check failed
``crashed``        the process died (``os._exit``, segfault, killed)
``resource_limit`` memory, processes, output size, CPU time or file size cap reached
``timeout``        a cell or check ran past its budget (interrupted; the rest was graded)
``ok``             none of the above
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab.checks import codec

from autograder.course.settings import Settings
from autograder.grading.check_calls import CheckCall
from autograder.grading.events import RunReport, read_events
from autograder.grading.judging import CellVerdict, ProbeOutcome, judge_probe, verdict_outputs
from autograder.grading.template import (
    InvalidSubmission,
    Rebuilt,
    Template,
    nbgrader_of,
    read_notebook,
    rebuild,
)

STATUSES = ("invalid", "missing", "integrity", "tampered", "policy", "crashed", "resource_limit", "timeout",
            "ok")

#: exceptions raised in a cell that mean a resource cap was reached.
_MEMORY_ERRORS = {"MemoryError", "_ArrayMemoryError", "OutOfMemoryError"}
_LIMIT_SIGNALS = {"SIGXCPU": "CPU time", "SIGXFSZ": "file size"}


@dataclass
class Outcome:
    """The result of grading one submission."""

    student: str
    assignment: str
    status: str
    reason: str
    digest: str
    notebook: dict[str, Any] | None = None
    scores: dict[str, float] = field(default_factory=dict)  # test cell grade id -> points earned
    max_auto: float = 0.0
    max_manual: float = 0.0
    seconds: float = 0.0  # wall time of the whole submission (rebuild, run, judge)
    cell_seconds: float = 0.0  # time inside the notebook's own cells, test cells (probes) included: the floor

    @property
    def auto_score(self) -> float:
        return sum(self.scores.values())

    def to_plain(self) -> dict[str, Any]:
        """A plain-data copy (for sending between processes)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> Outcome:
        return cls(**data)


def submission_digest(folder: Path, template_digest: str) -> str:
    """A fingerprint of a submission folder's files and of the assignment version."""
    digest = hashlib.sha256(template_digest.encode())
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                digest.update(str(path.relative_to(folder)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def notebook_path(folder: Path, assignment: str) -> Path:
    return folder / f"{assignment}.ipynb"


def missing_reason(folder: Path, assignment: str) -> str:
    if not folder.is_dir():
        return f"no folder submitted/<student>/{assignment}/"
    others = sorted(p.name for p in folder.glob("*.ipynb"))
    found = f" (found: {', '.join(others)})" if others else ""
    return f"no {assignment}.ipynb in the submission{found}"


@dataclass
class Prepared:
    """A submission ready to run: its rebuilt cells and the job for the worker."""

    rebuilt: Rebuilt
    job: dict[str, Any]
    probes: list[tuple[str, CheckCall]]  # (grade id, call) per probe index


def prepare(template: Template, notebook: dict[str, Any], settings: Settings) -> Prepared:
    """Rebuild the notebook and describe the run: every code cell but the tests, then the probes.

    Test cells hold only ``check`` calls (the plan parser enforces it), so running them in
    the notebook would only repeat, untrusted, what the probes do: they are not run there.
    """
    rebuilt = rebuild(notebook, template)
    anchors = template.by_id
    cells = []
    for index, cell in enumerate(rebuilt.cells):
        grade_id = nbgrader_of(cell).get("grade_id")
        if cell["cell_type"] != "code" or grade_id in anchors and anchors[grade_id].kind == "test":
            continue
        cells.append({"index": index, "source": cell["source"]})
    probes = [(a.grade_id, call) for a in template.anchors if a.kind == "test" for call in a.plan]
    job = {
        "cells": cells,
        "probes": [{**call.as_job(), "params": codec.encode(call.params)} for _, call in probes],
        "limits": {
            "cell_timeout": settings.cell_timeout,
            "notebook_timeout": settings.notebook_timeout,
            "check_timeout": settings.check_timeout,
            "memory_mb": settings.memory_mb,
            "cpu_seconds": settings.cpu_seconds,
            "max_processes": settings.max_processes,
            "max_output_bytes": settings.max_output_bytes,
            "max_file_bytes": settings.max_file_bytes,
        },
    }
    return Prepared(rebuilt, job, probes)


def _cell_label(rebuilt: Rebuilt, unit: str) -> str:
    kind, _, number = unit.partition(":")
    if kind == "probe":
        return f"check #{int(number) + 1}"
    cell = rebuilt.cells[int(number)] if number.isdigit() and int(number) < len(rebuilt.cells) else {}
    grade_id = nbgrader_of(cell).get("grade_id")
    return f"cell {int(number) + 1}" + (f" ({grade_id})" if grade_id else "")


def decide_status(report: RunReport, rebuilt: Rebuilt, *,
                  policy: list[str] | None = None) -> tuple[str, str]:
    """The submission's status and its one-line reason (further findings appended).

    Args:
        report: what the sandbox observed.
        rebuilt: the notebook as graded (its tampering findings).
        policy: the checks that failed because the student's function called what the
            exercise forbids (e.g. torch in a numpy exercise), as messages.
    """
    findings: dict[str, list[str]] = {s: [] for s in STATUSES}
    if report.integrity:
        shown = ", ".join(report.integrity[:6]) + (" …" if len(report.integrity) > 6 else "")
        findings["integrity"].append(f"replaced grading machinery: {shown}")
    findings["tampered"] += rebuilt.tampering
    if report.violations:
        more = len(report.violations) - 3
        findings["tampered"].append("wrote into the grader's channel: " + "; ".join(report.violations[:3])
                                    + (f" (and {more} more)" if more > 0 else ""))
    findings["policy"] += policy or []
    _exit_findings(report, rebuilt, findings)
    _limit_findings(report, rebuilt, findings)
    for unit in dict.fromkeys(report.interrupted):
        findings["timeout"].append(f"{_cell_label(rebuilt, unit)} ran past its time budget (interrupted)")
    for status in STATUSES:
        if findings[status]:
            others = [f for s in STATUSES if s != status for f in findings[s]]
            reason = "; ".join(dict.fromkeys(findings[status]))
            if others:
                reason += " | also: " + "; ".join(dict.fromkeys(others))
            return status, reason
    return "ok", "; ".join(rebuilt.notes)


def _exit_findings(report: RunReport, rebuilt: Rebuilt, findings: dict[str, list[str]]) -> None:
    """How each attempt's process ended, as the zygote saw it."""
    for event in report.exits:
        where = f" in {_cell_label(rebuilt, event.unit)}" if event.unit else ""
        if event.killed == "output":
            findings["resource_limit"].append(f"output flood{where} (stopped)")
        elif event.killed == "timeout":
            findings["timeout"].append(f"{_cell_label(rebuilt, event.unit) if event.unit else 'notebook'} "
                                       "did not stop when interrupted (killed)")
        elif event.signal in _LIMIT_SIGNALS:
            findings["resource_limit"].append(f"{_LIMIT_SIGNALS[event.signal]} limit{where}")
        elif event.signal is not None:
            findings["crashed"].append(f"process killed by {event.signal}{where}")
        elif event.code not in (0, None) or not event.finished:
            findings["crashed"].append(f"process exited with code {event.code}{where}")
    if report.child_errors:
        findings["crashed"].append("the notebook's process failed outside any cell")
    if report.watchdog:
        findings["crashed"].append("the sandbox stopped responding (killed by the grader's watchdog)")


def _limit_findings(report: RunReport, rebuilt: Rebuilt, findings: dict[str, list[str]]) -> None:
    """Resource caps reached: reported by the zygote, or raised in a cell."""
    for what, unit in report.limits:
        label = _cell_label(rebuilt, unit) if unit else "the notebook"
        findings["resource_limit"].append(f"{what} limit reached in {label}")
    if report.output_over:
        findings["resource_limit"].append("output size limit reached (output truncated)")
    for index, outputs in report.outputs.items():
        for output in outputs:
            if output.get("output_type") != "error":
                continue
            name, value = str(output.get("ename")), str(output.get("evalue"))
            label = _cell_label(rebuilt, f"cell:{index}")
            if name in _MEMORY_ERRORS or "can't allocate memory" in value or "not enough memory" in value:
                findings["resource_limit"].append(f"memory limit in {label}")
            elif name == "BlockingIOError" or "can't start new thread" in value:
                findings["resource_limit"].append(f"process limit in {label}")
            elif name == "OutputLimitExceeded":
                findings["resource_limit"].append(f"output size limit in {label}")


def assemble(template: Template, prepared: Prepared, report: RunReport, *,
             language: str) -> tuple[dict[str, Any], list[CellVerdict]]:
    """The autograded notebook and the test-cell verdicts."""
    by_cell: dict[str, CellVerdict] = {
        a.grade_id: CellVerdict(a.grade_id, a.points) for a in template.anchors if a.kind == "test"}
    for k, (grade_id, call) in enumerate(prepared.probes):
        outcome = report.probes.get(k, ProbeOutcome())
        by_cell[grade_id].verdicts.append((call, judge_probe(call, outcome, language=language)))
    cells = copy.deepcopy(prepared.rebuilt.cells)
    seen_ids: set[str] = set()
    for index, cell in enumerate(cells):
        if not isinstance(cell.get("id"), str) or cell["id"] in seen_ids:
            cell["id"] = f"graded-{index}"  # deterministic: regrading gives the same file
        seen_ids.add(cell["id"])
        if cell["cell_type"] != "code":
            continue
        outputs = report.outputs.get(index)
        grade_id = nbgrader_of(cell).get("grade_id")
        if grade_id in by_cell:  # not run in the notebook: its checks ran as probes
            cell["outputs"] = verdict_outputs(by_cell[grade_id], language=language)
        elif outputs is None:
            cell["outputs"] = [_not_run_output(index, report, prepared.rebuilt)]
        else:
            cell["outputs"] = [o for o in outputs if o.get("output_type") in
                               ("stream", "display_data", "execute_result", "error")]
        for output in cell["outputs"]:
            _sanitize_output(output)
    notebook = {
        "cells": cells,
        "metadata": copy.deepcopy(template.metadata),
        "nbformat": 4,
        "nbformat_minor": max(template.nbformat_minor, 5),
    }
    return notebook, list(by_cell.values())


def _not_run_output(index: int, report: RunReport, rebuilt: Rebuilt) -> dict[str, Any]:
    unit = f"cell:{index}"
    killed = dict(report.killed)
    why = "it was stopped: " + killed[unit] if unit in killed else "the notebook ended before it"
    if any(e.unit == unit and (e.signal is not None or e.code) for e in report.exits):
        why = "it ended the notebook's process"
    return {"output_type": "stream", "name": "stderr",
            "text": f"[grader] {_cell_label(rebuilt, unit)} was skipped: {why}; "
                    "the rest of the notebook was graded without it.\n"}


_SAFE_MIME = ("text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg",
              "image/svg+xml", "application/json", "application/vnd.jupyter.widget-view+json")


def _sanitize_output(output: dict[str, Any]) -> None:
    """Keep only known output fields and display types (no scripts in the instructor's browser)."""
    if "data" in output and isinstance(output["data"], dict):
        output["data"] = {k: v for k, v in output["data"].items() if k in _SAFE_MIME}
        html = output["data"].get("text/html")
        if isinstance(html, str) and "<script" in html.lower():
            output["data"]["text/html"] = html.replace("<script", "&lt;script").replace(
                "<SCRIPT", "&lt;SCRIPT")
        if not isinstance(output.get("metadata"), dict):
            output["metadata"] = {}
    if output.get("output_type") == "stream":
        output["name"] = "stderr" if output.get("name") == "stderr" else "stdout"
        output["text"] = str(output.get("text", ""))
    if output.get("output_type") == "error":
        output["ename"], output["evalue"] = str(output.get("ename")), str(output.get("evalue"))
        output["traceback"] = [str(line) for line in output.get("traceback", [])]
    if output.get("output_type") == "execute_result":
        output["execution_count"] = None


def grade_notebook(template: Template, student: str, folder: Path, run: Any, settings: Settings,
                   template_digest: str) -> Outcome:
    """Grade one student's folder; ``run(job, folder) -> (events, watchdog)`` executes the job."""
    started = time.monotonic()
    assignment = template.assignment
    digest = submission_digest(folder, template_digest)
    base = dict(student=student, assignment=assignment, digest=digest,
                max_auto=template.max_auto, max_manual=template.max_manual)
    path = notebook_path(folder, assignment)
    if not path.is_file():
        return Outcome(status="missing", reason=missing_reason(folder, assignment), **base)
    try:
        submitted = read_notebook(path)
        template = template.edition_for(submitted)
        prepared = prepare(template, submitted, settings)
    except InvalidSubmission as error:
        return Outcome(status="invalid", reason=str(error), **base)
    events, watchdog = run(prepared.job, folder)
    report = read_events(events, watchdog=watchdog)
    language = template.language if template.language != "en" else settings.language
    notebook, cells = assemble(template, prepared, report, language=language)
    policy = [m for c in cells for m in c.policy_messages]
    status, reason = decide_status(report, prepared.rebuilt, policy=policy)
    internal = [m for c in cells for m in c.internal_errors]
    if internal:
        reason += " | checker error (not the student's fault): " + internal[0]
    if report.skipped_files:
        reason += f" | not copied (links or special files): {', '.join(report.skipped_files[:5])}"
    return Outcome(status=status, reason=reason, notebook=notebook,
                   scores={c.grade_id: c.score for c in cells}, seconds=time.monotonic() - started,
                   cell_seconds=sum(report.cell_seconds.values()) + sum(report.probe_seconds.values()),
                   **base)
