"""The one rule for student ids and assignment names, and every way a name reaches a path.

A name is refused with a message naming it and what is wrong; a refused name
never becomes a path, so nothing outside the course folder is read, graded,
created or removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.__main__ import main
from autograder.course.identifiers import component_problem, identifier_problem
from autograder.course.layout import Course, CourseError, check_identifier
from tests.conftest import TEST_COURSE


@pytest.mark.parametrize("name", ["alice", "s001", "Jane.Doe", "jane_doe-2", "a@example.org",
                                  "张三", "01_activations", "x" * 255])
def test_ordinary_names_are_identifiers(name: str) -> None:
    assert identifier_problem(name) is None
    assert check_identifier(name) == name


@pytest.mark.parametrize("name, reason", [
    pytest.param("", "empty", id="empty"),
    pytest.param(".", "relative", id="dot"),
    pytest.param("..", "relative", id="dot-dot"),
    pytest.param("../evil", "'/'", id="parent-path"),
    pytest.param("a/b", "'/'", id="slash"),
    pytest.param("a\\b", "'\\\\'", id="backslash"),
    pytest.param("a\0b", "NUL", id="nul"),
    pytest.param("a\nb", "U+000A", id="newline"),
    pytest.param("a\x1b[31mb", "U+001B", id="terminal-escape"),
    pytest.param("bob\u202egpj", "U+202E", id="right-to-left-override"),
    pytest.param(".ipynb_checkpoints", "hidden", id="hidden-folder"),
    pytest.param(" alice", "white space", id="leading-space"),
    pytest.param("alice\t", "U+0009", id="trailing-tab"),
    pytest.param("*", "pattern", id="glob-star"),
    pytest.param("s00[1]", "pattern", id="glob-brackets"),
    pytest.param("a,b", "list", id="comma"),
    pytest.param("x" * 256, "255 bytes", id="too-long"),
    pytest.param("张" * 86, "255 bytes", id="too-long-in-utf8"),
])
def test_names_that_are_not_one_plain_folder_name_are_refused(name: str, reason: str) -> None:
    problem = identifier_problem(name)
    assert problem is not None and reason in problem
    with pytest.raises(CourseError) as caught:
        check_identifier(name, what="student id")
    assert repr(name) in str(caught.value) and "single folder name" in str(caught.value)


def test_file_names_may_hold_what_ids_may_not_but_stay_one_component() -> None:
    for name in ("data [1].csv", ".notes.txt", "a,b.csv", "my work.ipynb"):
        assert component_problem(name) is None
    for name in (".", "..", "", "a/b", "a\\b", "a\0b"):
        assert component_problem(name) is not None


@pytest.mark.parametrize("build", ["submitted_dir", "autograded_dir", "feedback_dir"])
@pytest.mark.parametrize("student, assignment", [("../x", "mini"), ("alice", "../mini"),
                                                 ("..", "mini"), ("alice", "")])
def test_no_path_is_built_from_a_refused_name(tmp_path: Path, build: str, student: str,
                                             assignment: str) -> None:
    course = Course.at(tmp_path, repo=TEST_COURSE)
    with pytest.raises(CourseError, match="is not allowed"):
        getattr(course, build)(student, assignment)


def test_the_folder_walk_lists_valid_ids_and_reports_the_others(tmp_path: Path) -> None:
    course = Course.at(tmp_path, repo=TEST_COURSE)
    for name in ("alice", ".ipynb_checkpoints", "bob", " carol", "dave"):
        (tmp_path / "submitted" / name / "mini").mkdir(parents=True)
    (tmp_path / "submitted" / "dave" / "mini").rmdir()  # no folder for the assignment
    assert course.students("mini") == ["alice", "bob"]
    ignored = dict(course.ignored_folders("mini"))
    assert sorted(ignored) == [" carol", ".ipynb_checkpoints"]
    assert "white space" in ignored[" carol"] and "hidden" in ignored[".ipynb_checkpoints"]


@pytest.mark.parametrize("verb", ["grade", "feedback"])
@pytest.mark.parametrize("student", ["../outside", "../../outside", "..", "*"])
def test_the_cli_refuses_a_bad_student_before_touching_anything(tmp_path: Path, capsys, verb: str,
                                                                student: str, monkeypatch) -> None:
    monkeypatch.setenv("NNLAB_REPO", str(TEST_COURSE))
    monkeypatch.setattr("autograder.course.layout.REPO", TEST_COURSE)
    course_dir = tmp_path / "course" / "inner"
    sentinel = tmp_path / "outside" / "mini" / "keep.txt"  # what ../outside would have removed
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text("keep")
    course_dir.mkdir(parents=True)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main([verb, "mini", "--course-dir", str(course_dir), "--student", student]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: student id ") and "is not allowed" in err
    assert "Traceback" not in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_an_assignment_name_with_a_path_is_refused_by_every_verb(tmp_path: Path, capsys) -> None:
    for argv in (["grade", "../mini"], ["feedback", "../mini"], ["import", "../mini", "x.zip"]):
        assert main([*argv, "--course-dir", str(tmp_path)]) == 1
        assert "assignment '../mini' is not allowed" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
