"""Read grades back out: the export CSV (with a status column) and the printed gradebook."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from autograder.course.gradebook import Store
from autograder.course.lateness import Lateness, lateness_of, timestamp_problems
from autograder.course.layout import Course

#: the export's columns; the first five are a contract other tools rely on.
#: ``score`` is after the late penalty, as in ``nbgrader export``; ``late_by`` is in seconds.
COLUMNS = ("student_id", "assignment", "score", "max_score", "status", "reason",
           "auto_score", "max_auto_score", "needs_manual_grade", "late_by", "penalty",
           "timestamp_problem")


@dataclass(frozen=True)
class Row:
    """One student's grade for one assignment, as the gradebook and the grader recorded it."""

    student_id: str
    assignment: str
    score: float  # nbgrader's score minus the late penalty, never below 0
    max_score: float
    status: str
    reason: str
    auto_score: float
    max_auto_score: float
    needs_manual_grade: bool
    late: Lateness = Lateness()


def gradebook_rows(course: Course, assignments: list[str] | None = None) -> list[Row]:
    """One row per student and assignment of the gradebook (missing ones included)."""
    store = Store(course)
    try:
        gb = store.gradebook
        statuses = store.statuses()
        problems = timestamp_problems(course.db_path)
        names = assignments or sorted(a.name for a in gb.assignments)
        rows = []
        for assignment in names:
            max_score = gb.find_assignment(assignment).max_score
            max_auto = gb.find_assignment(assignment).max_code_score
            for student in sorted(s.id for s in gb.students):
                status = statuses.get((assignment, student))
                try:
                    submission = gb.find_submission(assignment, student)
                except Exception:  # nbgrader raises MissingEntry
                    rows.append(Row(student, assignment, 0.0, max_score, "missing",
                                    "no submission", 0.0, max_auto, False))
                    continue
                late = lateness_of(submission, problems.get((assignment, student), ""))
                rows.append(Row(
                    student, assignment, max(0.0, float(submission.score) - late.penalty),
                    float(submission.max_score),
                    status["status"] if status else "ungraded",
                    status["reason"] if status else "not graded by python -m autograder",
                    float(submission.code_score), float(submission.max_code_score),
                    bool(submission.needs_manual_grade), late,
                ))
        return rows
    finally:
        store.close()


def export_csv(*, course_dir: str | Path | None = None, output: str | Path | None = None,
               assignments: list[str] | None = None) -> Path:
    """Write the grades CSV (default ``grades.csv`` in the course directory); return its path."""
    course = Course.at(course_dir)
    path = Path(output) if output else course.course_dir / "grades.csv"
    rows = gradebook_rows(course, assignments)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in rows:
        score = "" if row.needs_manual_grade else f"{row.score:g}"  # pending is not zero
        writer.writerow([row.student_id, row.assignment, score, f"{row.max_score:g}",
                         row.status, row.reason, f"{row.auto_score:g}", f"{row.max_auto_score:g}",
                         str(row.needs_manual_grade).lower(), f"{row.late.seconds_late:g}",
                         f"{row.late.penalty:g}", row.late.timestamp_problem])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def format_table(rows: list[Row]) -> str:
    """The gradebook as a text table: automatic score, pending written answers, status."""
    header = ("student", "assignment", "auto score", "written", "status", "reason")
    lines = [header]
    for row in rows:
        manual = row.max_score - row.max_auto_score
        written = (f"pending ({manual:g} pts)" if row.needs_manual_grade
                   else f"{row.score - row.auto_score:g}/{manual:g}") if manual else "-"
        reason = row.reason if len(row.reason) <= 70 else row.reason[:67] + "..."
        lines.append((row.student_id, row.assignment, f"{row.auto_score:g}/{row.max_auto_score:g}",
                      written, row.status, reason if row.status != "ok" else ""))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)
