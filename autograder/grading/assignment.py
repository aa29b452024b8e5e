"""An assignment as the grader loads it: its template, with every released edition.

Test cells come from ``solutions/`` (they are never translated), so every edition is graded
by the same check calls.
"""

from __future__ import annotations

from pathlib import Path

from autograder.course.layout import EDITIONS, Course, CourseError
from autograder.grading.check_calls import CheckCallError
from autograder.grading.template import Template, load_template


def released_editions(course: Course, assignment: str) -> dict[str, Path]:
    """language -> release notebook, for every edition released."""
    found = {language: course.release_notebook(assignment, language) for language in EDITIONS}
    return {language: path for language, path in found.items() if path.is_file()}


def load_assignment(course: Course, assignment: str) -> Template:
    """The assignment's template, with every released edition.

    Raises:
        CourseError: for an unknown assignment or a test cell that breaks the test-cell rules.
    """
    course.require_assignment(assignment)
    source = course.source_notebook(assignment)
    try:
        template = load_template(course.release_notebook(assignment, "en"), source, assignment)
        for language, release in released_editions(course, assignment).items():
            if language != "en":
                template.editions[language] = load_template(release, source, assignment)
    except CheckCallError as error:
        raise CourseError(str(error)) from None
    return template
