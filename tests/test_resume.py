"""Nothing lost: kill the grader mid-class, run it again, and compare with an uninterrupted run."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.devtools import classgen
from tests.conftest import ROOT, TEST_COURSE, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("resume")]

SLOW = "import time\ntime.sleep(1.0)"


def _write_class(course, course_dir: Path) -> list[str]:
    students = []
    for i in range(8):
        make = (classgen.perfect, classgen.wrong, classgen.blank, classgen.partial)[i % 4]
        classgen.write_submission(course_dir, f"s{i}", "mini",
                                  classgen.with_cell(make(course, "mini"), SLOW))
        students.append(f"s{i}")
    return students


def _finished(course_dir: Path) -> int:
    try:
        with sqlite3.connect(course_dir / "gradebook.db", timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM autograder_status").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _grades(course_dir: Path) -> list[str]:
    run_cli("export", "--course-dir", str(course_dir), repo=TEST_COURSE)
    return (course_dir / "grades.csv").read_text(encoding="utf-8").splitlines()


def test_killed_run_resumes_without_regrading_or_losing_anything(tmp_path: Path, test_course) -> None:
    interrupted = tmp_path / "interrupted"
    students = _write_class(test_course, interrupted)
    env = {**os.environ, "NNLAB_REPO": str(TEST_COURSE)}
    grader = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", "mini", "--course-dir", str(interrupted),
         "--workers", "1", "--no-progress"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    while _finished(interrupted) < 2 and time.monotonic() < deadline and grader.poll() is None:
        time.sleep(0.1)
    os.killpg(grader.pid, signal.SIGKILL)
    grader.wait()
    done_before = _finished(interrupted)
    assert 2 <= done_before < len(students), "the kill must land mid-class"

    resumed = run_cli("grade", "mini", "--course-dir", str(interrupted), "--no-progress",
                      repo=TEST_COURSE)
    assert f"graded {len(students) - done_before} " in resumed.stdout
    assert f"{done_before} unchanged and skipped" in resumed.stdout

    clean = tmp_path / "clean"
    _write_class(test_course, clean)
    run_cli("grade", "mini", "--course-dir", str(clean), "--no-progress", repo=TEST_COURSE)
    assert _grades(interrupted) == _grades(clean)

    with sqlite3.connect(interrupted / "gradebook.db") as db:
        submissions = db.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()[0]
        grades = db.execute("SELECT COUNT(*) FROM grade").fetchone()[0]
    assert submissions == len(students)
    assert grades == len(students) * 4  # three test cells and one written answer each


def test_grading_twice_gives_identical_results(tmp_path: Path, test_course) -> None:
    _write_class(test_course, tmp_path)
    run_cli("grade", "mini", "--course-dir", str(tmp_path), "--no-progress", repo=TEST_COURSE)
    first = _grades(tmp_path)
    again = run_cli("grade", "mini", "--course-dir", str(tmp_path), "--no-progress", repo=TEST_COURSE)
    assert "graded 0 " in again.stdout and "8 unchanged and skipped" in again.stdout
    run_cli("grade", "mini", "--course-dir", str(tmp_path), "--force", "--no-progress", repo=TEST_COURSE)
    assert _grades(tmp_path) == first


def test_a_changed_submission_is_regraded(tmp_path: Path, test_course) -> None:
    _write_class(test_course, tmp_path)
    run_cli("grade", "mini", "--course-dir", str(tmp_path), "--no-progress", repo=TEST_COURSE)
    classgen.write_submission(tmp_path, "s2", "mini", classgen.perfect(test_course, "mini"))
    again = run_cli("grade", "mini", "--course-dir", str(tmp_path), "--no-progress", repo=TEST_COURSE)
    assert "graded 1 " in again.stdout
    rows = list(csv.DictReader(_grades(tmp_path)))
    assert [row["auto_score"] for row in rows if row["student_id"] == "s2"] == ["3"]
