"""Which students ``feedback`` leaves out before nbgrader runs, and why (no nbgrader involved).

nbgrader deletes ``feedback/<student>/<assignment>`` and copies the files of
``autograded/<student>/<assignment>``: a link on either path would reach
outside the course folder, and an oversized notebook would cost minutes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.course.feedback import feedback_problem, graded_students
from autograder.course.layout import Course
from autograder.devtools import classgen
from autograder.grading.assignment import load_assignment
from autograder.grading.template import Template
from tests.conftest import TEST_COURSE


@pytest.fixture
def course(tmp_path: Path) -> Course:
    (tmp_path / "course").mkdir()
    (tmp_path / "elsewhere" / "mini").mkdir(parents=True)
    return Course.at(tmp_path / "course", repo=TEST_COURSE)


@pytest.fixture(scope="module")
def template() -> Template:
    return load_assignment(Course.at(repo=TEST_COURSE), "mini")


def autograde(course: Course, student: str, notebook: dict | None = None) -> Path:
    folder = course.autograded_dir(student, "mini")
    folder.mkdir(parents=True)
    made = notebook or classgen.perfect(Course.at(repo=TEST_COURSE), "mini")
    (folder / "mini.ipynb").write_text(json.dumps(made), encoding="utf-8")
    return folder


def test_a_graded_student_is_accepted(course: Course, template: Template) -> None:
    autograde(course, "alice")
    assert graded_students(course, "mini") == ["alice"]
    assert feedback_problem(course, template, "alice") is None


def test_a_folder_named_like_no_student_is_left_out(course: Course, template: Template) -> None:
    (course.course_dir / "autograded" / "a,b" / "mini").mkdir(parents=True)
    assert graded_students(course, "mini") == ["a,b"]
    assert "autograded/'a,b' is not a student id" in feedback_problem(course, template, "a,b")


def test_an_autograded_folder_that_is_a_link_is_left_out(course: Course, template: Template) -> None:
    (course.course_dir / "autograded").mkdir()
    (course.course_dir / "autograded" / "mallory").symlink_to(course.course_dir.parent / "elsewhere")
    assert feedback_problem(course, template, "mallory") == (
        "autograded/mallory is a symbolic link (links are not followed; submit the folder itself)")


def test_a_feedback_folder_that_is_a_link_is_left_out(course: Course, template: Template) -> None:
    """nbgrader would delete feedback/mallory/mini, that is elsewhere/mini, before writing."""
    autograde(course, "mallory")
    (course.course_dir / "feedback").mkdir()
    (course.course_dir / "feedback" / "mallory").symlink_to(course.course_dir.parent / "elsewhere")
    assert "feedback/mallory is a symbolic link" in feedback_problem(course, template, "mallory")


def test_a_link_beside_the_autograded_notebook_is_left_out(course: Course, template: Template) -> None:
    folder = autograde(course, "mallory")
    (folder / "answers.txt").symlink_to(TEST_COURSE / "solutions" / "mini" / "mini.ipynb")
    assert "holds links or special files (answers.txt)" in feedback_problem(course, template, "mallory")


def test_an_autograded_notebook_over_the_caps_is_left_out(course: Course, template: Template) -> None:
    notebook = classgen.perfect(Course.at(repo=TEST_COURSE), "mini")
    notebook["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": ""}] * 1000
    autograde(course, "mallory", notebook)
    assert feedback_problem(course, template, "mallory").startswith(
        "the autograded notebook is refused: the notebook has 1010 cells; mini accepts at most 50")
