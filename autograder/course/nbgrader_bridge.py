"""Everything that talks to nbgrader: its configuration, release, gradebook and feedback.

The course's ``nbgrader_config.py`` is the one configuration; the grader
loads it with the course directory it was given, so ``nbgrader`` commands
and ``python -m autograder`` agree on every path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autograder.course.lateness import assign_late_penalties, record_timestamp_problem
from autograder.course.layout import Course, CourseError
from autograder.course.safefs import is_plain_file, remove_tree
from autograder.course.timestamps import read_timestamp

log = logging.getLogger("autograder")

# nbgrader 0.9 makes SQLAlchemy warn "Object of type <Submitted...> not in session" on every
# new submission; it is harmless and would bury real warnings.
warnings.filterwarnings("ignore", message=r"Object of type <Submitted")

# nbgrader runs the `alembic` command when it creates a gradebook: make the one installed
# beside this Python findable even when the virtual environment is not activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

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


@contextlib.contextmanager
def _course_env(course: Course) -> Iterator[None]:
    previous = os.environ.get("NNLAB_COURSE_DIR")
    os.environ["NNLAB_COURSE_DIR"] = str(course.course_dir)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("NNLAB_COURSE_DIR", None)
        else:
            os.environ["NNLAB_COURSE_DIR"] = previous


def load_config(course: Course) -> Any:
    """The course's nbgrader configuration with this course directory."""
    from traitlets.config.loader import PyFileConfigLoader

    config_file = course.repo / "nbgrader_config.py"
    if not config_file.is_file():
        raise CourseError(f"no nbgrader_config.py in {course.repo}")
    course.course_dir.mkdir(parents=True, exist_ok=True)
    with _course_env(course):
        loader = PyFileConfigLoader(config_file.name, path=str(course.repo))
        return loader.load_config()


def _run_converter(course: Course, converter: str, assignment: str, student: str | None = None,
                   **overrides: Any) -> None:
    """Run one of nbgrader's converters (as its command would) with the course's config.

    Raises:
        CourseError: with nbgrader's log when it fails.
    """
    import io

    from nbgrader import converters
    from nbgrader.coursedir import CourseDirectory

    config = load_config(course)
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        setattr(config[section], name, value)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    if student is not None:
        coursedir.student_id = student
    app = getattr(converters, converter)(coursedir=coursedir, config=config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    app.log.addHandler(handler)
    app.log.setLevel(logging.WARNING)
    try:
        with _course_env(course), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy's known-harmless SAWarnings
            app.start()
    except Exception as error:
        raise CourseError(f"nbgrader {converter} {assignment} failed: {error}\n{stream.getvalue()}") from None
    finally:
        app.log.removeHandler(handler)


def generate_assignment(course: Course, assignment: str, *, release_dir: Path | None = None,
                        source_dir: Path | None = None, db: bool = True) -> None:
    """Run nbgrader's generate_assignment (release to ``release_dir``, gradebook of ``course``).

    ``source_dir`` replaces ``solutions/`` (a translated edition's built sources).

    Raises:
        CourseError: with nbgrader's log when it fails.
    """
    overrides: dict[str, Any] = {"GenerateAssignment.force": True,
                                 "GenerateAssignment.create_assignment": db}
    if release_dir is not None:
        overrides["CourseDirectory.release_directory"] = str(release_dir)
    if source_dir is not None:
        overrides["CourseDirectory.source_directory"] = str(source_dir)
    _run_converter(course, "GenerateAssignment", assignment, **overrides)


def generate_feedback(course: Course, assignment: str, student: str | None = None, *,
                      exclude: tuple[str, ...] = ()) -> None:
    """Run nbgrader's generate_feedback (hidden tests removed by the course config).

    Only the assignment's own notebook is converted: another ``.ipynb`` a student put beside it
    (copied into ``autograded/`` with their other files) is never rendered, so a 200,000-cell
    scratch notebook cannot cost minutes and gigabytes here.

    ``exclude``: student ids nbgrader must leave alone (its comma-separated ``student_id_exclude``;
    ids never contain a comma, see :mod:`autograder.course.identifiers`).
    """
    _run_converter(course, "GenerateFeedback", assignment, student, **{
        "GenerateFeedback.force": True, "HTMLExporter.template_name": "feedback",
        "CourseDirectory.notebook_id": assignment,
        "CourseDirectory.student_id_exclude": ",".join(exclude)})


class Store:
    """The course gradebook: nbgrader's tables plus the grader's status table."""

    def __init__(self, course: Course) -> None:
        from nbgrader.api import Gradebook

        self.course = course
        course.course_dir.mkdir(parents=True, exist_ok=True)
        # the course id of the course's own config (NNLAB_COURSE_ID), as nbgrader's commands use it
        course_id = load_config(course).CourseDirectory.get("course_id", "nnlab")
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

    def add_student(self, student: str) -> None:
        self.gradebook.update_or_create_student(student)

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

    def record(self, outcome: Any, submitted: Path) -> None:
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
            _copy_files(submitted, target, skip=f"{assignment}.ipynb")
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


def _copy_files(source: Path, target: Path, *, skip: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return
    for path in source.rglob("*"):
        relative = path.relative_to(source)
        if str(relative) == skip or not is_plain_file(path):  # no links, special or hard-linked files
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)
