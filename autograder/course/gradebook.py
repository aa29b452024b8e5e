"""The course gradebook: nbgrader's database plus the grader's status of each submission.

Only the grading thread writes it (SQLite never sees two writers); an outcome is recorded as
``nbgrader autograde`` would record it (autograded files, grades, late penalties) and then its
status row, which is what makes a finished submission skip on the next run.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autograder.course.lateness import assign_late_penalties, record_timestamp_problem
from autograder.course.layout import Course
from autograder.course.nbgrader_bridge import generate_assignment
from autograder.course.nbgrader_config import course_environment, load_config
from autograder.course.safefs import copy_plain_files, remove_tree
from autograder.course.timestamps import read_timestamp
from autograder.grading.outcome import Outcome

# nbgrader 0.9 makes SQLAlchemy warn "Object of type <Submitted...> not in session" on every
# new submission; it is harmless and would bury real warnings.
warnings.filterwarnings("ignore", message=r"Object of type <Submitted")

STATUS_TABLE = """
CREATE TABLE IF NOT EXISTS autograder_status (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    digest TEXT NOT NULL,
    auto_score REAL,
    max_auto REAL,
    seconds REAL,
    cell_seconds REAL,
    graded_at TEXT NOT NULL,
    PRIMARY KEY (assignment, student)
)
"""


class Store:
    """The course gradebook: nbgrader's tables plus the grader's status table."""

    def __init__(self, course: Course) -> None:
        from nbgrader.api import Gradebook

        self.course = course
        course.course_dir.mkdir(parents=True, exist_ok=True)
        # the course id of the course's own config (NNLAB_COURSE_ID), as nbgrader's commands use it
        course_id = load_config(course).CourseDirectory.get("course_id", "nnlab")
        with course_environment(course):  # creating a gradebook runs nbgrader's `alembic`
            self.gradebook = Gradebook(course.db_url, course_id=course_id)
        with self._sql() as db:
            db.execute(STATUS_TABLE)

    @contextlib.contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.course.db_path, timeout=60)
        try:
            with db:
                yield db
        finally:
            db.close()

    def close(self) -> None:
        self.gradebook.close()

    def ensure_assignment(self, assignment: str, source_digest: str) -> None:
        """Put the assignment's cells in the gradebook (again, if its source changed)."""
        with self._sql() as db:
            db.execute("CREATE TABLE IF NOT EXISTS autograder_source "
                       "(assignment TEXT PRIMARY KEY, digest TEXT NOT NULL)")
            row = db.execute("SELECT digest FROM autograder_source WHERE assignment = ?",
                             (assignment,)).fetchone()
        if row and row[0] == source_digest:
            return
        with tempfile.TemporaryDirectory() as release:
            generate_assignment(self.course, assignment, release_dir=Path(release))
        self.gradebook.db.expire_all()
        with self._sql() as db:
            db.execute("INSERT OR REPLACE INTO autograder_source VALUES (?, ?)", (assignment, source_digest))

    def known_students(self) -> list[str]:
        return sorted(s.id for s in self.gradebook.students)

    def completed(self, assignment: str) -> dict[str, str]:
        """student -> digest of the submission last graded to completion."""
        with self._sql() as db:
            rows = db.execute("SELECT student, digest FROM autograder_status WHERE assignment = ?",
                              (assignment,)).fetchall()
        return dict(rows)

    def statuses(self) -> dict[tuple[str, str], dict[str, Any]]:
        with self._sql() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM autograder_status").fetchall()
        return {(r["assignment"], r["student"]): dict(r) for r in rows}

    def record(self, outcome: Outcome, submitted: Path) -> None:
        """Write one graded submission: autograded files, nbgrader grades, then its status."""
        from nbformat import from_dict, validate
        from nbgrader.preprocessors import SaveAutoGrades

        gb = self.gradebook
        assignment, student = outcome.assignment, outcome.student
        gb.update_or_create_student(student)
        stamp = read_timestamp(submitted)
        submission = gb.update_or_create_submission(assignment, student, **(
            {"timestamp": stamp.when} if stamp.when else {}))
        target = self.course.autograded_dir(student, assignment)
        remove_tree(target, self.course)  # refuses anything outside the course folder
        if outcome.notebook is not None:
            copy_plain_files(submitted, target, skip=f"{assignment}.ipynb")
            node = from_dict(outcome.notebook)
            validate(node)
            (target / f"{assignment}.ipynb").write_text(json.dumps(outcome.notebook, indent=1),
                                                       encoding="utf-8")
            resources = {"nbgrader": {"db_url": self.course.db_url, "assignment": assignment,
                                      "notebook": assignment, "student": student}}
            SaveAutoGrades().preprocess(node, resources)
            gb.db.expire_all()
        else:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
        for notebook in gb.find_submission(assignment, student).notebooks:
            notebook.flagged = outcome.status != "ok"
        gb.db.commit()
        if outcome.notebook is not None:  # as nbgrader autograde: penalties for graded notebooks
            assign_late_penalties(self.course, assignment, student, [assignment])
            gb.db.expire_all()
        with self._sql() as db:
            record_timestamp_problem(db, assignment, student, stamp)
            db.execute(
                "INSERT OR REPLACE INTO autograder_status VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (assignment, student, outcome.status, outcome.reason, outcome.digest,
                 outcome.auto_score, outcome.max_auto, round(outcome.seconds, 3),
                 round(outcome.cell_seconds, 3), datetime.now(UTC).isoformat(timespec="seconds")),
            )

