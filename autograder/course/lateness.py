"""Late submissions exactly as nbgrader handles them: its due dates, its timestamps, its penalty plugin.

The due date is the gradebook's (``nbgrader db assignment add NAME --duedate=...``,
or formgrader; per-student extensions included); the submission time is the
one :mod:`autograder.course.timestamps` read; the penalty comes from nbgrader's own
``AssignLatePenalties`` preprocessor configured by the course's
``nbgrader_config.py`` (``LateSubmissionPlugin.penalty_method`` ``none`` or
``zero``, or ``AssignLatePenalties.plugin_class`` for your own plugin), run on
every graded notebook just as ``nbgrader autograde`` runs it after saving the
grades. Timestamps that could not be used are kept in ``autograder_timestamp``
with the reason, for ``grade``, ``export`` and the report to show.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from autograder.course.layout import Course
from autograder.course.timestamps import Stamp

log = logging.getLogger("autograder.late")

TABLE = """
CREATE TABLE IF NOT EXISTS autograder_timestamp (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    problem TEXT NOT NULL,
    PRIMARY KEY (assignment, student)
)
"""


@dataclass(frozen=True)
class Lateness:
    """How late one submission was and what it cost, as the gradebook records it.

    Attributes:
        seconds_late: nbgrader's ``total_seconds_late`` (0 when on time or without a time).
        penalty: nbgrader's ``late_submission_penalty`` (points taken off, 0 when none).
        timestamp_problem: why the submission's ``timestamp.txt`` was not used ("" if it was).
    """

    seconds_late: float = 0.0
    penalty: float = 0.0
    timestamp_problem: str = ""


def assign_late_penalties(course: Course, assignment: str, student: str,
                          notebooks: list[str]) -> None:
    """Run nbgrader's ``AssignLatePenalties`` on each graded notebook of one submission.

    Call after the notebook's grades are committed: the preprocessor opens the
    gradebook itself, reads the submission's ``total_seconds_late`` and the
    notebook's score, asks the configured plugin, clamps to ``[0, score]`` and
    commits, exactly as in ``nbgrader autograde``.
    """
    from nbformat.v4 import new_notebook
    from nbgrader.preprocessors import AssignLatePenalties

    from autograder.course.nbgrader_config import load_config

    config = load_config(course)
    for notebook in notebooks:
        resources = {"nbgrader": {"db_url": course.db_url, "assignment": assignment,
                                  "notebook": notebook, "student": student}}
        AssignLatePenalties(config=config, log=log).preprocess(new_notebook(), resources)


def record_timestamp_problem(db: sqlite3.Connection, assignment: str, student: str,
                             stamp: Stamp) -> None:
    """Keep (or clear) the reason a submission's ``timestamp.txt`` was not used."""
    db.execute(TABLE)
    if stamp.problem:
        db.execute("INSERT OR REPLACE INTO autograder_timestamp VALUES (?, ?, ?)",
                   (assignment, student, stamp.problem))
    else:
        db.execute("DELETE FROM autograder_timestamp WHERE assignment = ? AND student = ?",
                   (assignment, student))


def timestamp_problems(db_path: Path, assignment: str | None = None) -> dict[tuple[str, str], str]:
    """``(assignment, student) -> reason`` for every timestamp that was not used."""
    if not db_path.is_file():
        return {}
    db = sqlite3.connect(db_path, timeout=60)
    try:
        db.execute(TABLE)
        rows = db.execute("SELECT assignment, student, problem FROM autograder_timestamp").fetchall()
    finally:
        db.close()
    return {(a, s): p for a, s, p in rows if assignment is None or a == assignment}


def lateness_of(submission: object, problem: str = "") -> Lateness:
    """The lateness of an nbgrader ``SubmittedAssignment`` (as ``nbgrader export`` reads it)."""
    return Lateness(float(getattr(submission, "total_seconds_late", 0) or 0),
                    float(getattr(submission, "late_submission_penalty", 0) or 0), problem)


def describe_late(seconds: float) -> str:
    """``seconds`` late in words an instructor reads at a glance (``2 d 3 h``, ``5 min``)."""
    if seconds <= 0:
        return "on time"
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes and not days else "",
             f"{secs} s" if not (days or hours or minutes) else ""]
    return " ".join(p for p in parts if p)
