"""Links in a submission are never followed: refused with a reason, nothing read through them.

Each case builds a real course folder in ``tmp_path`` with real symbolic
links, hard links and FIFOs, and a "secret" file outside the submission that
stands for the instructor's notebook.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from autograder.course import safefs
from autograder.course.layout import Course, CourseError
from autograder.grading.notebook_file import InvalidSubmission, read_notebook
from tests.conftest import TEST_COURSE

SECRET = '{"cells": [], "nbformat": 4, "metadata": {}, "nbformat_minor": 5, "x": "BEGIN SOLUTION"}'


@pytest.fixture
def course(tmp_path: Path) -> Course:
    (tmp_path / "course").mkdir()
    (tmp_path / "secret.ipynb").write_text(SECRET)
    (tmp_path / "secrets" / "mini").mkdir(parents=True)
    (tmp_path / "secrets" / "mini" / "mini.ipynb").write_text(SECRET)
    return Course.at(tmp_path / "course", repo=TEST_COURSE)


def folder_of(course: Course, student: str = "mallory") -> Path:
    folder = course.submitted_dir(student, "mini")
    folder.mkdir(parents=True)
    return folder


def test_a_plain_submission_is_accepted(course: Course) -> None:
    folder = folder_of(course)
    (folder / "mini.ipynb").write_text(SECRET)
    (folder / "data.csv").write_text("a,b\n")
    assert safefs.submission_problem(course, "mallory", "mini") is None


def test_a_missing_notebook_or_folder_is_left_to_the_missing_status(course: Course) -> None:
    assert safefs.submission_problem(course, "nobody", "mini") is None
    folder_of(course)
    assert safefs.submission_problem(course, "mallory", "mini") is None


def arrange(course: Course, how: str) -> None:
    """Make mallory's submission point at the secret in one way."""
    outside = course.course_dir.parent
    submitted = course.course_dir / "submitted"
    if how == "notebook-symlink":
        (folder_of(course) / "mini.ipynb").symlink_to(outside / "secret.ipynb")
    elif how == "folder-symlink":
        (submitted / "mallory").mkdir(parents=True)
        (submitted / "mallory" / "mini").symlink_to(outside / "secrets" / "mini")
    elif how == "student-symlink":
        submitted.mkdir()
        (submitted / "mallory").symlink_to(outside / "secrets")
    elif how == "relative-symlink":
        (folder_of(course) / "mini.ipynb").symlink_to("../../../../secret.ipynb")
    elif how == "hard-link":
        os.link(outside / "secret.ipynb", folder_of(course) / "mini.ipynb")
    elif how == "hard-link-beside":
        folder = folder_of(course)
        (folder / "mini.ipynb").write_text(SECRET)
        os.link(outside / "secret.ipynb", folder / "data.txt")
    elif how == "fifo":
        os.mkfifo(folder_of(course) / "mini.ipynb")
    elif how == "folder-is-a-file":
        (submitted / "mallory").mkdir(parents=True)
        (submitted / "mallory" / "mini").write_text("not a folder")


@pytest.mark.parametrize("how, reason", [
    ("notebook-symlink", "mallory/mini/mini.ipynb is a symbolic link"),
    ("relative-symlink", "mallory/mini/mini.ipynb is a symbolic link"),
    ("folder-symlink", "mallory/mini is a symbolic link"),
    ("student-symlink", "mallory is a symbolic link"),
    ("hard-link", "mallory/mini/mini.ipynb is a hard link (2 names"),
    ("hard-link-beside", "mallory/mini/data.txt is a hard link"),
    ("fifo", "mallory/mini/mini.ipynb is a FIFO"),
    ("folder-is-a-file", "mallory/mini is a file, not a folder"),
])
def test_links_and_special_files_are_refused_with_a_reason(course: Course, how: str, reason: str) -> None:
    arrange(course, how)
    problem = safefs.submission_problem(course, "mallory", "mini")
    assert problem is not None and problem.startswith("submitted/") and reason in problem


@pytest.mark.parametrize("how", ["notebook-symlink", "hard-link", "fifo"])
def test_read_notebook_never_reads_through_a_link_or_blocks_on_a_fifo(course: Course, how: str) -> None:
    arrange(course, how)
    path = course.submitted_dir("mallory", "mini") / "mini.ipynb"
    caught: list[BaseException] = []

    def read() -> None:
        try:
            read_notebook(path)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            caught.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "reading the notebook blocked"
    assert len(caught) == 1 and isinstance(caught[0], InvalidSubmission)
    assert "BEGIN SOLUTION" not in str(caught[0])
    assert "mini.ipynb is a" in str(caught[0])


def test_links_beside_the_notebook_are_not_a_reason_to_refuse(course: Course) -> None:
    folder = folder_of(course)
    (folder / "mini.ipynb").write_text(SECRET)
    (folder / "notes.txt").symlink_to(course.course_dir.parent / "secret.ipynb")
    (folder / "sub").symlink_to(course.course_dir.parent / "secrets")
    assert safefs.submission_problem(course, "mallory", "mini") is None
    assert safefs.folder_files(folder).refused == ["notes.txt", "sub"]


def test_remove_tree_removes_inside_the_course_folder(course: Course) -> None:
    target = course.autograded_dir("alice", "mini")
    (target / "deep").mkdir(parents=True)
    (target / "deep" / "file.txt").write_text("x")
    (target / "link").symlink_to(course.course_dir.parent / "secrets")  # removed, not followed
    safefs.remove_tree(target, course)
    assert not target.exists() and target.parent.is_dir()
    assert (course.course_dir.parent / "secrets" / "mini" / "mini.ipynb").read_text() == SECRET


def test_remove_tree_never_removes_through_a_link_or_outside(course: Course) -> None:
    outside = course.course_dir.parent / "secrets"
    (course.course_dir / "autograded").mkdir()
    (course.course_dir / "autograded" / "mallory").symlink_to(outside)
    with pytest.raises(CourseError, match="is a link or not a folder"):
        safefs.remove_tree(course.autograded_dir("mallory", "mini"), course)
    with pytest.raises(CourseError, match="not inside the course folder"):
        safefs.remove_tree(outside / "mini", course)
    with pytest.raises(CourseError, match="not inside the course folder"):
        safefs.remove_tree(course.course_dir / ".." / "secrets", course)
    assert (outside / "mini" / "mini.ipynb").read_text() == SECRET


def test_a_link_in_place_of_the_target_is_removed_itself(course: Course) -> None:
    target = course.autograded_dir("alice", "mini")
    target.parent.mkdir(parents=True)
    target.symlink_to(course.course_dir.parent / "secrets" / "mini")
    safefs.remove_tree(target, course)
    assert not os.path.lexists(target)
    assert (course.course_dir.parent / "secrets" / "mini" / "mini.ipynb").read_text() == SECRET
