"""nbgrader's converters run as its commands would: generate_assignment, generate_feedback.

The configuration is the course's own (:mod:`autograder.course.nbgrader_config`); the
gradebook is :mod:`autograder.course.gradebook`.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import Any

from autograder.course.layout import Course, CourseError
from autograder.course.nbgrader_config import course_environment, load_config

log = logging.getLogger("autograder")


def run_converter(course: Course, converter: str, assignment: str, student: str | None = None,
                   **overrides: Any) -> None:
    """Run one of nbgrader's converters (as its command would) with the course's config.

    Raises:
        CourseError: with nbgrader's log when it fails.
    """
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
        with course_environment(course), warnings.catch_warnings():
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
    run_converter(course, "GenerateAssignment", assignment, **overrides)


def generate_feedback(course: Course, assignment: str, student: str | None = None, *,
                      exclude: tuple[str, ...] = ()) -> None:
    """Run nbgrader's generate_feedback (hidden tests removed by the course config).

    Only the assignment's own notebook is converted: another ``.ipynb`` a student put beside it
    (copied into ``autograded/`` with their other files) is never rendered, so a 200,000-cell
    scratch notebook cannot cost minutes and gigabytes here.

    ``exclude``: student ids nbgrader must leave alone (its comma-separated ``student_id_exclude``;
    ids never contain a comma, see :mod:`autograder.course.identifiers`).
    """
    run_converter(course, "GenerateFeedback", assignment, student, **{
        "GenerateFeedback.force": True, "HTMLExporter.template_name": "feedback",
        "CourseDirectory.notebook_id": assignment,
        "CourseDirectory.student_id_exclude": ",".join(exclude)})


