"""Grades back into the LMS: ``export --format canvas|moodle`` in the layouts each LMS imports.

Where the layouts come from:

- Canvas gradebook import CSV: Canvas's guide "How do I import grades in the
  Gradebook?" and its export ("How do I export grades in the Gradebook?"): fixed
  columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then
  one column per assignment; the second row of Canvas's own export is
  ``    Points Possible``. Canvas matches a row by ``ID`` (the Canvas user id, the
  number after the name in the submission download's file names,
  ``<name>_<userid>_<submissionid>_<file>``) or the SIS ids. (Also summarised by
  Ohio State's guide "Import a CSV file to Carmen grades": Student Name or ID or
  SIS User ID; SIS Login ID; Section; assignment name.)
- Moodle grading worksheet (assignment → "Upload grading worksheet"): the
  importer ``mod/assign/feedback/offline/importgradeslib.php`` looks for the
  columns named by the strings ``recordid`` ("Identifier"), ``grade`` ("Grade")
  and ``lastmodifiedgrade`` ("Last modified (grade)") and strips the prefix
  ``hiddenuser`` ("Participant ") from the identifier to get the participant
  number, the same number as in the download's folder names
  ``<Full Name>_<participant>_assignsubmission_file_/``.
"""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from autograder.course.export import CANVAS_FIXED, MOODLE_COLUMNS, canvas_table, moodle_table
from autograder.course.grade_rows import Row
from autograder.course.identities import Identity
from autograder.course.lateness import Lateness
from autograder.course.layout import Course
from autograder.devtools import classgen
from tests.conftest import TEST_COURSE, run_cli
from tests.scenarios import _perfect, _wrong

IDS = {"s001": Identity("canvas", "jdoe", "12345"), "s002": Identity("canvas", "roe", "12346")}


def _row(student: str, score: float, *, pending: bool = False, status: str = "ok") -> Row:
    return Row(student, "mini", score, 4.0, status, "", score, 3.0, pending, Lateness())


def test_canvas_layout() -> None:
    table = canvas_table([_row("s001", 3), _row("s002", 2, pending=True), _row("s003", 1)], IDS)
    assert table[0] == [*CANVAS_FIXED, "mini"] == ["Student", "ID", "SIS User ID", "SIS Login ID",
                                                  "Section", "mini"]
    assert table[1] == ["    Points Possible", "", "", "", "", "4"]
    assert table[2:] == [["jdoe", "12345", "", "", "", "3"],
                         ["roe", "12346", "", "", "", ""]]  # pending written answer: empty, not 0


def test_moodle_layout() -> None:
    ids = {"s001": Identity("moodle", "Jane Doe", "501")}
    table = moodle_table([_row("s001", 3), _row("s002", 1)], ids, now=datetime(2026, 3, 2, 9, 30))
    assert table == [list(MOODLE_COLUMNS), ["Participant 501", "Jane Doe", "3", "4", "2026-03-02 09:30:00"]]
    assert {"Identifier", "Grade", "Last modified (grade)"} <= set(table[0])  # what Moodle requires


ROSTER = "student_id,lms_name,lms_id\ns001,Jane Doe,12345\ns002,Rui Li,12346\ns003,Ana Roe,12347\n"
CANVAS = {"jdoe_12345_678_mini.ipynb": "s001", "ruili_late_12346_679_mini.ipynb": "s002",
          "anaroe_12347_680_mini.ipynb": "s003"}
MOODLE = {"Jane Doe_501_assignsubmission_file_/mini.ipynb": "s001",
          "Rui Li_502_assignsubmission_file_/mini.ipynb": "s002",
          "Ana Roe_503_assignsubmission_file_/mini.ipynb": "s003"}


def _zip(path: Path, members: dict[str, str], notebooks: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for member, student in members.items():
            bundle.writestr(member, notebooks[student])
    return path


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory) -> dict:
    """A Canvas and a Moodle download of one class, imported with a roster, graded, exported."""
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("lms-round-trip")
    course_dir = root / "course"
    course = Course.at(repo=TEST_COURSE)
    notebooks = {"s001": json.dumps(_perfect(course)), "s002": json.dumps(_wrong(course)),
                 "s003": json.dumps(classgen.blank(course, "mini"))}
    (root / "roster.csv").write_text(ROSTER)
    for name, members in (("canvas.zip", CANVAS), ("moodle.zip", MOODLE)):
        run_cli("import", "mini", str(_zip(root / name, members, notebooks)), "--course-dir",
                str(course_dir), "--roster", str(root / "roster.csv"), repo=TEST_COURSE)
    run_cli("grade", "mini", "--course-dir", str(course_dir), "--workers", "2", "--no-progress",
            repo=TEST_COURSE)
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:  # as formgrader would
        grade = gradebook.find_grade("answer_relu", "mini", "mini", "s001")
        grade.manual_score = 1.0  # what formgrader's grade API does on save
        grade.needs_manual_grade = False
        gradebook.db.commit()
        scores = {s.student.id: s.score for s in gradebook.find_assignment("mini").submissions}
    out = {}
    for fmt in ("canvas", "moodle"):
        result = run_cli("export", "--format", fmt, "--course-dir", str(course_dir), repo=TEST_COURSE)
        path = course_dir / ("grades-canvas.csv" if fmt == "canvas" else "grades-moodle-mini.csv")
        with open(path, newline="", encoding="utf-8") as handle:
            out[fmt] = (list(csv.reader(handle)), result.stdout)
    return {"scores": scores, **out}


@pytest.mark.slow
@pytest.mark.xdist_group("lms-round-trip")  # one worker grades the class
def test_canvas_round_trip_maps_every_student_back(round_trip: dict) -> None:
    table, stdout = round_trip["canvas"]
    assert table[0][:5] == list(CANVAS_FIXED)
    by_canvas_id = {row[1]: row for row in table[2:]}
    roster = {"12345": "s001", "12346": "s002", "12347": "s003"}
    assert sorted(by_canvas_id) == sorted(roster)  # every Canvas user id from the download
    assert by_canvas_id["12345"][5] == "4"  # 3 automatic + 1 written, entered in formgrader
    assert by_canvas_id["12346"][5] == ""  # written answer not graded yet: empty, not 0
    assert by_canvas_id["12347"][5] == "0"  # blank: nothing to grade by hand
    assert round_trip["scores"]["s001"] == 4.0
    assert "1 grade(s) left empty" in stdout


@pytest.mark.slow
@pytest.mark.xdist_group("lms-round-trip")  # one worker grades the class
def test_moodle_round_trip_maps_every_student_back(round_trip: dict) -> None:
    table, stdout = round_trip["moodle"]
    header, rows = table[0], table[1:]
    identifier, grade = header.index("Identifier"), header.index("Grade")
    by_participant = {row[identifier].removeprefix("Participant "): row[grade] for row in rows}
    assert by_participant == {"501": "4", "502": "", "503": "0"}
    assert "1 grade(s) left empty" in stdout
