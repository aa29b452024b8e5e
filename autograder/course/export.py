"""Grades back into the LMS: the gradebook in the CSV layout Canvas or Moodle imports.

Each student is written under the identity the LMS gave them in the download
``import`` read (:mod:`autograder.course.identities`), so the LMS matches every row to
its own student. The score is nbgrader's, after the late penalty. A submission
whose written answers are not graded yet in formgrader gets an *empty* grade,
never 0 (the LMS then leaves its grade alone); the count is returned so the
command can say how many.

Layouts (see ``tests/test_lms_export.py`` for where each is documented):

- ``canvas``: Canvas gradebook import, one row per student, columns ``Student``,
  ``ID`` (the Canvas user id from the download's file names), ``SIS User ID``,
  ``SIS Login ID``, ``Section``, then one column per assignment; a
  ``Points Possible`` row as in Canvas's own export.
- ``moodle``: Moodle's assignment grading worksheet (``assignfeedback_offline``),
  one file per assignment, columns ``Identifier`` (``Participant <n>`` with the
  participant number of the download's folder names), ``Full name``, ``Grade``,
  ``Maximum Grade``, ``Last modified (grade)``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.course.grade_rows import Row, export_csv, gradebook_rows
from autograder.course.identities import Identity, load_identities
from autograder.course.layout import Course, CourseError

FORMATS = ("csv", "canvas", "moodle")
CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)")
#: the prefix Moodle strips from ``Identifier`` (its string ``hiddenuser``).
MOODLE_PARTICIPANT = "Participant "


@dataclass
class ExportResult:
    """What an export wrote and what it left out.

    Attributes:
        paths: the files written.
        pending_manual: grades left empty because written answers are not graded yet.
        unmapped: students with grades but no identity in this LMS (not written).
    """

    paths: list[Path] = field(default_factory=list)
    pending_manual: list[tuple[str, str]] = field(default_factory=list)  # (student, assignment)
    unmapped: list[str] = field(default_factory=list)


def grade_cell(row: Row) -> str:
    """The grade an LMS should get: empty while written answers wait for a human."""
    if row.needs_manual_grade or row.status == "ungraded":
        return ""
    return f"{row.score:g}"


def export_grades(*, course_dir: str | Path | None = None, fmt: str = "csv",
                  output: str | Path | None = None,
                  assignments: list[str] | None = None) -> ExportResult:
    """Write the gradebook for ``fmt`` (``csv``, ``canvas`` or ``moodle``).

    Raises:
        CourseError: an unknown format, or one ``--output`` for several Moodle worksheets.
    """
    if fmt not in FORMATS:
        raise CourseError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    course = Course.at(course_dir)
    rows = gradebook_rows(course, assignments)
    result = ExportResult(pending_manual=[(r.student_id, r.assignment) for r in rows
                                          if r.needs_manual_grade])
    if fmt == "csv":
        result.paths.append(export_csv(course_dir=course.course_dir, output=output,
                                       assignments=assignments))
        return result
    identities = {student: identity for (student, lms), identity in load_identities(course).items()
                  if lms == fmt}
    result.unmapped = sorted({r.student_id for r in rows} - set(identities))
    if fmt == "canvas":
        path = Path(output) if output else course.course_dir / "grades-canvas.csv"
        _write(path, canvas_table(rows, identities))
        result.paths.append(path)
        return result
    names = sorted({r.assignment for r in rows})
    if output and len(names) > 1:
        raise CourseError("a Moodle grading worksheet holds one assignment: pass --assignment "
                          f"with --output (assignments here: {', '.join(names)})")
    for name in names:
        path = Path(output) if output else course.course_dir / f"grades-moodle-{name}.csv"
        _write(path, moodle_table([r for r in rows if r.assignment == name], identities))
        result.paths.append(path)
    return result


def canvas_table(rows: list[Row], identities: dict[str, Identity]) -> list[list[str]]:
    """Canvas's gradebook CSV: fixed columns, a Points Possible row, one row per mapped student."""
    names = sorted({r.assignment for r in rows})
    by_student: dict[str, dict[str, Row]] = {}
    for row in rows:
        by_student.setdefault(row.student_id, {})[row.assignment] = row
    maximum = {r.assignment: f"{r.max_score:g}" for r in rows}
    table = [[*CANVAS_FIXED, *names],
             ["    Points Possible", "", "", "", "", *(maximum[n] for n in names)]]
    for student in sorted(by_student):
        identity = identities.get(student)
        if identity is None:
            continue
        grades = by_student[student]
        table.append([identity.name, identity.lms_id, "", "", "",
                      *(grade_cell(grades[n]) if n in grades else "" for n in names)])
    return table


def moodle_table(rows: list[Row], identities: dict[str, Identity],
                 now: datetime | None = None) -> list[list[str]]:
    """Moodle's grading worksheet for one assignment; the time tells Moodle the grade is newer."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
    table = [list(MOODLE_COLUMNS)]
    for row in sorted(rows, key=lambda r: r.student_id):
        identity = identities.get(row.student_id)
        if identity is None:
            continue
        table.append([MOODLE_PARTICIPANT + identity.lms_id, identity.name, grade_cell(row),
                      f"{row.max_score:g}", stamp])
    return table


def _write(path: Path, table: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
