"""Importing an LMS download (zip) into ``submitted/<student>/mini/`` of a course folder.

Zips are built in ``tmp_path`` with the file names Canvas, Moodle and
Blackboard produce; the assignment is the test course's ``mini``.
"""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

import autograder.course.layout
from autograder.course import lms_import as lms
from autograder.course.layout import CourseError
from autograder.course.lms_import import import_zip
from tests.conftest import TEST_COURSE

NOTEBOOK = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})


@pytest.fixture(autouse=True)
def test_course_repo(monkeypatch) -> None:
    """Point the grader at the test course (REPO is read from NNLAB_REPO at import)."""
    monkeypatch.setenv("NNLAB_REPO", str(TEST_COURSE))
    monkeypatch.setattr(autograder.course.layout, "REPO", TEST_COURSE)


def make_zip(tmp_path: Path, files: dict[str, str | bytes], name: str = "download.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as bundle:
        for member, data in files.items():
            bundle.writestr(zipfile.ZipInfo(member), data)
    return path


def run_import(tmp_path: Path, files: dict[str, str | bytes], roster: Path | None = None) -> lms.ImportResult:
    course_dir = tmp_path / "course"
    course_dir.mkdir(exist_ok=True)
    return import_zip(assignment="mini", archive=make_zip(tmp_path, files), course_dir=course_dir,
                      roster=roster)


def submitted(tmp_path: Path, student: str, name: str = "mini.ipynb") -> Path:
    return tmp_path / "course" / "submitted" / student / "mini" / name


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("member, student", [
    pytest.param("jdoe_12345_678_mini.ipynb", "jdoe", id="canvas"),
    pytest.param("jdoe_late_12345_678_mini.ipynb", "jdoe", id="canvas-late"),
    pytest.param("j.doe-2_12345_678_Homework 1.ipynb", "j.doe-2", id="canvas-dotted-login"),
    pytest.param("Jane Doe_123_assignsubmission_file_/mini.ipynb", "jane_doe", id="moodle"),
    pytest.param("Assignment 1_jdoe_attempt_2026-01-02-03-04-05_mini.ipynb", "jdoe", id="blackboard"),
    pytest.param("alice/mini.ipynb", "alice", id="plain-folder"),
    pytest.param("Alice Smith/my work.ipynb", "alice_smith", id="plain-folder-spaces"),
])
def test_each_layout_places_the_notebook_under_the_assignments_name(tmp_path: Path, member: str,
                                                                    student: str) -> None:
    result = run_import(tmp_path, {member: NOTEBOOK})
    assert result.problems == []
    assert result.imported == [(student, submitted(tmp_path, student))]
    assert submitted(tmp_path, student).read_text() == NOTEBOOK


def test_blackboard_writes_the_submission_time(tmp_path: Path) -> None:
    run_import(tmp_path, {"Assignment_jdoe_attempt_2026-01-02-03-04-05_mini.ipynb": NOTEBOOK})
    assert submitted(tmp_path, "jdoe", "timestamp.txt").read_text() == "2026-01-02 03:04:05 UTC"


def test_other_files_of_a_student_are_copied_with_their_name(tmp_path: Path) -> None:
    result = run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK, "alice/data.csv": "a,b\n1,2\n"})
    assert result.problems == [] and [s for s, _ in result.imported] == ["alice"]
    assert submitted(tmp_path, "alice", "data.csv").read_text() == "a,b\n1,2\n"


def test_lms_clutter_is_skipped_silently(tmp_path: Path) -> None:
    result = run_import(tmp_path, {"__MACOSX/alice/._mini.ipynb": b"\0\1", "alice/.DS_Store": b"\0",
                                   "alice/mini.ipynb": NOTEBOOK})
    assert result.problems == []
    assert files_under(tmp_path / "course") == ["submitted/alice/mini/mini.ipynb"]


def write_roster(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_roster_maps_lms_names_and_ids_to_student_ids(tmp_path: Path) -> None:
    roster = write_roster(tmp_path, "student_id,lms_name,lms_id\ns001,,12345\ns002,Jane Doe,\ns003,bob,\n")
    result = run_import(tmp_path, {
        "jdoe_12345_678_mini.ipynb": NOTEBOOK,  # Canvas: matched by its user id
        "JANE DOE_999_assignsubmission_file_/mini.ipynb": NOTEBOOK,  # Moodle: by name, any case
        "Assignment_bob_attempt_2026-01-02-03-04-05_mini.ipynb": NOTEBOOK,
    }, roster=roster)
    assert result.problems == []
    assert sorted(student for student, _ in result.imported) == ["s001", "s002", "s003"]
    assert all(submitted(tmp_path, s).is_file() for s in ("s001", "s002", "s003"))


def test_names_missing_from_the_roster_are_reported_and_not_imported(tmp_path: Path) -> None:
    roster = write_roster(tmp_path, "\ufeffstudent_id,lms_name\ns001,alice\n")  # Excel's BOM is fine
    result = run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK, "mallory/mini.ipynb": NOTEBOOK},
                        roster=roster)
    assert [s for s, _ in result.imported] == ["s001"]
    assert result.problems == ["mallory/mini.ipynb: no roster entry for mallory (folders)"]
    assert not (tmp_path / "course" / "submitted" / "mallory").exists()


@pytest.mark.parametrize("header", ["student_id\n", "lms_name,lms_id\n", "id,name\n", ""])
def test_a_roster_without_the_needed_columns_is_refused(tmp_path: Path, header: str) -> None:
    roster = write_roster(tmp_path, header + "s001,alice\n" if header else "")
    with pytest.raises(CourseError, match="student_id and lms_name or lms_id"):
        run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK}, roster=roster)


def test_unmatched_file_names_are_reported(tmp_path: Path) -> None:
    result = run_import(tmp_path, {"loose.ipynb": NOTEBOOK, "a/b/c.ipynb": NOTEBOOK})
    assert result.imported == []
    assert sorted(result.problems) == [
        "a/b/c.ipynb: does not match any known LMS file name layout",
        "loose.ipynb: does not match any known LMS file name layout",
    ]


@pytest.mark.parametrize("member", ["../evil.ipynb", "alice/../../evil.ipynb", "/tmp/evil/mini.ipynb",
                                    "..\\evil.ipynb"])
def test_unsafe_paths_are_reported_and_nothing_is_written(tmp_path: Path, member: str) -> None:
    result = run_import(tmp_path, {member: NOTEBOOK, "alice/mini.ipynb": NOTEBOOK})
    assert result.problems == [f"{member}: unsafe path in the archive (skipped)"]
    assert [s for s, _ in result.imported] == ["alice"]
    assert files_under(tmp_path) == ["course/submitted/alice/mini/mini.ipynb", "download.zip"]
    assert not Path("/tmp/evil").exists()


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe\x00", b""])
def test_a_malformed_notebook_is_imported_but_reported(tmp_path: Path, data: bytes) -> None:
    result = run_import(tmp_path, {"alice/mini.ipynb": data})
    assert result.imported == [("alice", submitted(tmp_path, "alice"))]
    assert submitted(tmp_path, "alice").read_bytes() == data
    assert result.problems == ["alice/mini.ipynb: imported for alice, but it is not valid notebook JSON "
                               "(it will be graded as invalid)"]


@pytest.mark.parametrize("order", ["older-first", "newer-first"])
def test_the_latest_blackboard_attempt_is_kept(tmp_path: Path, order: str) -> None:
    older = ("HW_jdoe_attempt_2026-01-02-03-04-05_mini.ipynb", NOTEBOOK.replace("[]", "[ ]", 1))
    newer = ("HW_jdoe_attempt_2026-01-09-00-00-00_mini.ipynb", NOTEBOOK)
    attempts = [older, newer] if order == "older-first" else [newer, older]
    result = run_import(tmp_path, dict(attempts))
    assert submitted(tmp_path, "jdoe").read_text() == newer[1]
    assert submitted(tmp_path, "jdoe", "timestamp.txt").read_text() == "2026-01-09 00:00:00 UTC"
    assert result.imported == [("jdoe", submitted(tmp_path, "jdoe"))]
    assert all(older[0] in problem for problem in result.problems)


def test_two_notebooks_for_one_student_without_times_keep_the_first_and_report(tmp_path: Path) -> None:
    first, second = NOTEBOOK, NOTEBOOK.replace("[]", "[ ]", 1)
    result = run_import(tmp_path, {"jdoe_12345_678_mini.ipynb": first, "jdoe/mini.ipynb": second})
    assert submitted(tmp_path, "jdoe").read_text() == first
    assert result.imported == [("jdoe", submitted(tmp_path, "jdoe"))]
    assert result.problems == ["jdoe/mini.ipynb: a second notebook for jdoe (kept jdoe_12345_678_mini.ipynb)"]


def test_an_archive_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "download.zip"
    fake.write_text("this is not a zip")
    with pytest.raises(CourseError, match="not a readable zip file"):
        import_zip(assignment="mini", archive=fake, course_dir=tmp_path)
    with pytest.raises(CourseError, match="not a readable zip file"):
        import_zip(assignment="mini", archive=tmp_path / "missing.zip", course_dir=tmp_path)


def test_an_archive_that_unpacks_too_large_is_refused_before_writing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(lms, "MAX_TOTAL_BYTES", 2 * len(NOTEBOOK) - 1)
    with pytest.raises(CourseError, match="unpacks to more than"):
        run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK, "bob/mini.ipynb": NOTEBOOK})
    assert not (tmp_path / "course" / "submitted").exists()


def test_a_single_file_over_the_limit_is_skipped_and_reported(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(lms, "MAX_FILE_BYTES", len(NOTEBOOK) - 1)
    result = run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK})
    assert result.imported == [] and "larger than" in result.problems[0]


def test_an_unknown_assignment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="unknown assignment 'maxi'.*mini"):
        import_zip(assignment="maxi", archive=make_zip(tmp_path, {"a/b.ipynb": NOTEBOOK}),
                   course_dir=tmp_path)


def test_a_second_import_keeps_the_replaced_notebook_and_says_where(tmp_path: Path) -> None:
    first = run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK})
    assert first.replaced == []
    newer = NOTEBOOK.replace("}", ' }', 1)
    (tmp_path / "download.zip").unlink()
    second = run_import(tmp_path, {"alice/mini.ipynb": newer})
    assert submitted(tmp_path, "alice").read_text() == newer
    [(path, backup)] = second.replaced
    assert path == submitted(tmp_path, "alice")
    assert backup.read_text() == NOTEBOOK
    assert backup.is_relative_to(tmp_path / "course" / "import-backups")
    assert files_under(tmp_path / "course" / "submitted") == ["alice/mini/mini.ipynb"]


def test_importing_the_same_download_again_replaces_nothing(tmp_path: Path) -> None:
    run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK})
    (tmp_path / "download.zip").unlink()
    again = run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK})
    assert again.replaced == []
    assert not (tmp_path / "course" / "import-backups").exists()


def test_blackboard_receipts_are_kept_beside_the_notebook_not_reported(tmp_path: Path) -> None:
    stem = "Assignment_jdoe_attempt_2026-01-02-03-04-05"
    result = run_import(tmp_path, {f"{stem}_mini.ipynb": NOTEBOOK, f"{stem}.txt": "Name: J Doe\n"})
    assert result.problems == []
    assert submitted(tmp_path, "jdoe", "blackboard_receipt_2026-01-02-03-04-05.txt").read_text() == (
        "Name: J Doe\n")
    assert submitted(tmp_path, "jdoe").read_text() == NOTEBOOK


# --- names and links: nothing is written outside submitted/, no link is imported or followed ----


def make_zip_with_modes(tmp_path: Path, files: dict[str, tuple[int, str | bytes]]) -> Path:
    """A zip whose entries carry a Unix file type (as Info-ZIP's ``zip -y`` stores links)."""
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        for member, (mode, data) in files.items():
            info = zipfile.ZipInfo(member)
            info.create_system = 3  # Unix: the high 16 bits of external_attr are st_mode
            info.external_attr = mode << 16
            bundle.writestr(info, data)
    return path


def import_modes(tmp_path: Path, files: dict[str, tuple[int, str | bytes]]) -> lms.ImportResult:
    course_dir = tmp_path / "course"
    course_dir.mkdir(exist_ok=True)
    return import_zip(assignment="mini", archive=make_zip_with_modes(tmp_path, files),
                      course_dir=course_dir)


@pytest.mark.parametrize("member", [".._7_assignsubmission_file_/mini.ipynb",
                                   "._7_assignsubmission_file_/mini.ipynb",
                                   "../_7_assignsubmission_file_/mini.ipynb"])
def test_a_moodle_name_that_is_a_relative_folder_is_reported_and_not_written(tmp_path: Path,
                                                                              member: str) -> None:
    result = run_import(tmp_path, {member: NOTEBOOK, "alice/mini.ipynb": NOTEBOOK})
    assert [s for s, _ in result.imported] == ["alice"]
    [problem] = result.problems
    assert problem.startswith(f"{member}: ") and problem.endswith("(skipped)")
    assert files_under(tmp_path) == ["course/submitted/alice/mini/mini.ipynb", "download.zip"]


@pytest.mark.parametrize("member", ["x/.", "x/..", "x/./mini.ipynb", "x//mini.ipynb"])
def test_a_dot_or_empty_name_part_is_reported_not_a_crash(tmp_path: Path, member: str) -> None:
    result = run_import(tmp_path, {member: NOTEBOOK, "alice/mini.ipynb": NOTEBOOK})
    assert [s for s, _ in result.imported] == ["alice"]
    [problem] = result.problems
    assert problem.startswith(f"{member}: ") and ("unsafe path" in problem)
    assert files_under(tmp_path / "course") == ["submitted/alice/mini/mini.ipynb"]


def test_a_symlink_entry_is_refused_and_never_imported_as_a_file(tmp_path: Path) -> None:
    link = stat.S_IFLNK | 0o777
    result = import_modes(tmp_path, {
        "mallory/mini.ipynb": (link, "../../../../solutions/mini/mini.ipynb"),
        "mallory/data.csv": (link, "/etc/passwd"),
        "alice/mini.ipynb": (stat.S_IFREG | 0o644, NOTEBOOK),
    })
    assert [s for s, _ in result.imported] == ["alice"]
    assert sorted(result.problems) == [
        f"mallory/{name}: a symbolic link in the archive, not a file (refused; nothing is read "
        "through it) (skipped)" for name in ("data.csv", "mini.ipynb")]
    assert not (tmp_path / "course" / "submitted" / "mallory").exists()


def test_a_special_file_entry_is_refused(tmp_path: Path) -> None:
    result = import_modes(tmp_path, {"mallory/mini.ipynb": (stat.S_IFIFO | 0o644, NOTEBOOK)})
    assert result.imported == []
    assert result.problems == ["mallory/mini.ipynb: a special file in the archive, not a regular "
                               "file (refused) (skipped)"]


def test_a_roster_id_that_is_not_a_folder_name_is_reported(tmp_path: Path) -> None:
    roster = write_roster(tmp_path, "student_id,lms_name\n../evil,alice\ns002,bob\n")
    result = run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK, "bob/mini.ipynb": NOTEBOOK},
                        roster=roster)
    assert [s for s, _ in result.imported] == ["s002"]
    assert result.problems == ["alice/mini.ipynb: student id '../evil' is not allowed: it contains "
                               "'/' (a path, not a name); a student id must be a single folder name "
                               "such as 'alice' or 's001' (skipped)"]
    assert files_under(tmp_path / "course") == ["submitted/s002/mini/mini.ipynb"]


def test_a_student_folder_that_is_a_link_is_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "course" / "submitted").mkdir(parents=True)
    (tmp_path / "course" / "submitted" / "alice").symlink_to(outside)
    result = run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK})
    assert result.imported == []
    assert result.problems == ["alice/mini.ipynb: not imported for alice: submitted/alice is a "
                               "symbolic link (links are not followed; submit the folder itself)"]
    assert list(outside.iterdir()) == []


def test_a_notebook_that_is_a_link_is_moved_aside_and_its_target_left_alone(tmp_path: Path) -> None:
    outside = tmp_path / "instructor.ipynb"
    outside.write_text("instructor's notebook")
    folder = tmp_path / "course" / "submitted" / "alice" / "mini"
    folder.mkdir(parents=True)
    (folder / "mini.ipynb").symlink_to(outside)
    result = run_import(tmp_path, {"alice/mini.ipynb": NOTEBOOK})
    assert result.problems == []
    assert not submitted(tmp_path, "alice").is_symlink()
    assert submitted(tmp_path, "alice").read_text() == NOTEBOOK
    assert outside.read_text() == "instructor's notebook"
    [(path, backup)] = result.replaced
    assert path == submitted(tmp_path, "alice") and backup.is_symlink()


@pytest.mark.parametrize("member", [
    pytest.param("jdoe_12345_678_timestamp.txt", id="canvas"),
    pytest.param("Jane Doe_123_assignsubmission_file_/timestamp.txt", id="moodle"),
    pytest.param("jdoe/TIMESTAMP.txt", id="plain-folder"),
])
def test_a_students_own_timestamp_is_kept_aside_and_never_dates_the_submission(
        tmp_path: Path, member: str) -> None:
    notebook = member.replace("timestamp.txt", "mini.ipynb").replace("TIMESTAMP.txt", "mini.ipynb")
    result = run_import(tmp_path, {notebook: NOTEBOOK, member: "2020-01-01 00:00:00 UTC"})
    student = result.imported[0][0]
    assert not submitted(tmp_path, student, "timestamp.txt").exists()
    kept = submitted(tmp_path, student, lms.STUDENT_TIMESTAMP)
    assert kept.read_text() == "2020-01-01 00:00:00 UTC"
    assert result.set_aside == [(member, kept)]


def test_blackboard_time_wins_over_a_students_timestamp(tmp_path: Path) -> None:
    stem = "Assignment_jdoe_attempt_2026-01-02-03-04-05"
    run_import(tmp_path, {f"{stem}_timestamp.txt": "2020-01-01 00:00:00 UTC", f"{stem}_mini.ipynb": NOTEBOOK})
    assert submitted(tmp_path, "jdoe", "timestamp.txt").read_text() == "2026-01-02 03:04:05 UTC"


def test_the_lms_identity_of_each_student_is_recorded(tmp_path: Path) -> None:
    from autograder.course.identities import Identity, load_identities

    roster = write_roster(tmp_path, "student_id,lms_name,lms_id\ns001,,12345\ns002,Jane Doe,\n")
    run_import(tmp_path, {"jdoe_12345_678_mini.ipynb": NOTEBOOK,
                          "Jane Doe_501_assignsubmission_file_/mini.ipynb": NOTEBOOK}, roster=roster)
    course = autograder.course.layout.Course.at(tmp_path / "course", repo=TEST_COURSE)
    assert load_identities(course) == {("s001", "canvas"): Identity("canvas", "jdoe", "12345"),
                                       ("s002", "moodle"): Identity("moodle", "Jane Doe", "501")}
