"""Who each student is in the LMS, as its download named them: kept to send grades back.

``import`` learns, for every student it places, the LMS's own name and id from
the file name (Canvas: the login-like name and the Canvas user id; Moodle: the
full name and the assignment's participant number; Blackboard: the username).
``export --format canvas|moodle`` needs exactly those to map a row back to
the LMS's student. They live in ``lms-identities.csv`` in the course folder
(one row per student and LMS; a later import updates its students' rows).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from autograder.course.layout import Course

FILENAME = "lms-identities.csv"
COLUMNS = ("student_id", "lms", "lms_name", "lms_id")


@dataclass(frozen=True)
class Identity:
    """A student as one LMS knows them.

    Attributes:
        lms: the download's layout (``canvas``, ``moodle``, ``blackboard``, ``folders``).
        name: the LMS's name for the student in the file name.
        lms_id: the LMS's number for the student ("" when the layout has none).
    """

    lms: str
    name: str
    lms_id: str = ""


def load_identities(course: Course) -> dict[tuple[str, str], Identity]:
    """``(student_id, lms) -> Identity`` from the course folder (empty when none recorded)."""
    path = course.course_dir / FILENAME
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {(row["student_id"], row["lms"]): Identity(row["lms"], row["lms_name"], row["lms_id"])
                for row in csv.DictReader(handle)
                if row.get("student_id") and row.get("lms")}


def record_identities(course: Course, found: dict[str, Identity]) -> Path | None:
    """Add or update ``student -> Identity`` rows; return the file written (None if nothing new)."""
    if not found:
        return None
    known = load_identities(course)
    known.update({(student, identity.lms): identity for student, identity in found.items()})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for (student, lms), identity in sorted(known.items()):
        writer.writerow([student, lms, identity.name, identity.lms_id])
    path = course.course_dir / FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    temporary.replace(path)
    return path
