"""Grade one submission: read, prepare, run in a worker, judge, assemble, decide.

The stages, each in the module named after it: :mod:`~autograder.grading.notebook_file`
(read), :mod:`~autograder.grading.prepare` (rebuild and job), the worker's run
(:mod:`~autograder.grading.worker`, folded by :mod:`~autograder.grading.events`),
:mod:`~autograder.grading.assemble` (judge the probes, write the graded notebook) and
:mod:`~autograder.grading.status`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder.course.settings import Settings
from autograder.grading.assemble import assemble
from autograder.grading.events import read_events
from autograder.grading.notebook_file import InvalidSubmission, read_notebook
from autograder.grading.outcome import Outcome
from autograder.grading.prepare import prepare
from autograder.grading.status import decide_status
from autograder.grading.template import Template
from autograder.sandbox import protocol

#: runs one job in a sandbox: ``(job, submission folder) -> (events, watchdog fired)``.
RunJob = Callable[[dict[str, Any], Path], tuple[list[protocol.Message], bool]]


def notebook_path(folder: Path, assignment: str) -> Path:
    return folder / f"{assignment}.ipynb"


def missing_reason(folder: Path, assignment: str) -> str:
    if not folder.is_dir():
        return f"no folder submitted/<student>/{assignment}/"
    others = sorted(p.name for p in folder.glob("*.ipynb"))
    found = f" (found: {', '.join(others)})" if others else ""
    return f"no {assignment}.ipynb in the submission{found}"


def grade_submission(template: Template, student: str, folder: Path, run: RunJob, settings: Settings,
                     *, digest: str) -> Outcome:
    """Grade one student's folder; ``run`` executes the job in a sandbox.

    Args:
        digest: the submission's fingerprint (:func:`autograder.grading.fingerprint.submission_digest`),
            computed once by the caller, which decided from it that this submission needs grading.
    """
    started = time.monotonic()
    assignment = template.assignment
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
