"""Due dates and late penalties: ``python -m autograder grade`` against stock ``nbgrader autograde``.

The same class (the test course's ``mini``) is graded by both, in two course
folders with the same due date and the same penalty configuration, and the
gradebooks must agree submission by submission: timestamp, seconds late,
late penalty (per notebook and per submission), score.

One deliberate difference: a garbage ``timestamp.txt`` makes stock nbgrader
fail the whole submission ("Invalid timestamp string", no grade), while our
grader grades it as nbgrader grades a submission *without* a timestamp and
records why. So the stock class gets no ``timestamp.txt`` for that student and
the two must then agree.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.layout import Course
from autograder.course.nbgrader_bridge import generate_assignment
from autograder.devtools import classgen
from tests.conftest import TEST_COURSE, run_cli
from tests.scenarios import _perfect, _wrong

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("late")]

DUE = "2026-03-01 23:59:00 UTC"
#: student -> (their notebook, the timestamp.txt each grader sees: ours, stock)
CLASS = {
    "on-time": (_perfect, "2026-03-01 12:00:00.000000 UTC", "2026-03-01 12:00:00.000000 UTC"),
    "late-minutes": (_perfect, "2026-03-02 00:05:30.250000 UTC", "2026-03-02 00:05:30.250000 UTC"),
    # 2026-03-04 10:00 in Shanghai is 02:00 UTC: 2 days 2 h 1 min late
    "late-days": (_wrong, "2026-03-04 10:00:00.000000 Asia/Shanghai",
                  "2026-03-04 10:00:00.000000 Asia/Shanghai"),
    "no-timestamp": (_perfect, None, None),
    "garbage-timestamp": (_perfect, "last Tuesday, promise", None),
}

PLUGIN = '''
import math
from nbgrader.plugins import LateSubmissionPlugin


class TenPercentPerStartedHour(LateSubmissionPlugin):
    """A course's own rule: 10 % of the score per started hour late."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return score * min(1.0, 0.1 * math.ceil(total_seconds_late / 3600))


c.AssignLatePenalties.plugin_class = TenPercentPerStartedHour
'''
METHODS = {
    "none": 'c.LateSubmissionPlugin.penalty_method = "none"\n',
    "zero": 'c.LateSubmissionPlugin.penalty_method = "zero"\n',
    "plugin": PLUGIN,
}


def _class_folder(root: Path, method: str, *, stock: bool) -> Path:
    """A course folder with the class, its own nbgrader_config.py, and the due date set."""
    from nbgrader.api import Gradebook

    course_dir = root / ("stock" if stock else "ours")
    course_dir.mkdir()
    (course_dir / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n" + METHODS[method])
    course = Course.at(repo=TEST_COURSE)
    for student, (make, ours, theirs) in CLASS.items():
        path = classgen.write_submission(course_dir, student, "mini", make(course))
        text = theirs if stock else ours
        if text is not None:
            (path.parent / "timestamp.txt").write_text(text)
    generate_assignment(Course(TEST_COURSE, course_dir), "mini", release_dir=root / f"release-{stock}")
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment("mini", duedate=DUE)
    return course_dir


def _stock_autograde(course_dir: Path) -> None:
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    env = {**os.environ, "NNLAB_COURSE_DIR": str(course_dir),
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    subprocess.run([nbgrader, "autograde", "mini", "--force"], cwd=TEST_COURSE, env=env,
                   capture_output=True, text=True, timeout=900)


def _gradebook(course_dir: Path) -> dict[str, tuple]:
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        for submission in gradebook.find_assignment("mini").submissions:
            notebook = submission.notebooks[0]
            found[submission.student.id] = (
                submission.timestamp, submission.total_seconds_late,
                submission.late_submission_penalty, notebook.late_submission_penalty,
                submission.score, submission.code_score)
    return found


@pytest.fixture(scope="module", params=list(METHODS))
def graded(request, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp(f"late-{request.param}")
    stock, ours = _class_folder(root, request.param, stock=True), _class_folder(
        root, request.param, stock=False)
    _stock_autograde(stock)
    result = run_cli("grade", "mini", "--course-dir", str(ours), "--workers", "2", "--no-progress",
                     repo=TEST_COURSE)
    run_cli("export", "--course-dir", str(ours), repo=TEST_COURSE)
    with open(ours / "grades.csv", newline="", encoding="utf-8") as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle)}
    return {"method": request.param, "stock": _gradebook(stock), "ours": _gradebook(ours),
            "exported": exported, "stdout": result.stdout}


def test_gradebooks_agree_with_stock_nbgrader(graded: dict) -> None:
    assert sorted(graded["stock"]) == sorted(CLASS), "stock nbgrader did not grade every student"
    for student in CLASS:
        assert graded["ours"][student] == graded["stock"][student], student


def test_the_penalties_are_the_methods(graded: dict) -> None:
    """Independent of both graders: what each method must cost each student."""
    stock = graded["stock"]
    late = {s: stock[s][1] for s in CLASS}
    assert late["on-time"] == late["no-timestamp"] == late["garbage-timestamp"] == 0
    assert late["late-minutes"] == 6 * 60 + 30.25
    assert late["late-days"] == 2 * 86_400 + 2 * 3_600 + 60
    penalties = {s: stock[s][2] for s in CLASS}
    raw = {s: stock[s][4] for s in CLASS}  # 3 automatic points (2 for late-days); written answer 0
    expected = {
        "none": {s: 0.0 for s in CLASS},
        "zero": {**{s: 0.0 for s in CLASS}, "late-minutes": raw["late-minutes"],
                 "late-days": raw["late-days"]},
        # 10 % per started hour: 6.5 min -> 1 hour -> 10 %; 50 h -> capped at 100 %
        "plugin": {**{s: 0.0 for s in CLASS}, "late-minutes": 0.1 * raw["late-minutes"],
                   "late-days": raw["late-days"]},
    }[graded["method"]]
    assert penalties == pytest.approx(expected, abs=1e-12)  # float sums of a few points


def test_export_shows_lateness_and_the_timestamp_problem(graded: dict) -> None:
    rows = graded["exported"]
    assert rows["late-days"]["late_by"] == f"{2 * 86_400 + 2 * 3_600 + 60:g}"
    assert rows["on-time"]["late_by"] == "0"
    assert float(rows["late-minutes"]["penalty"]) == pytest.approx(graded["ours"]["late-minutes"][2])
    assert "graded as if it had no time" in rows["garbage-timestamp"]["timestamp_problem"]
    assert rows["no-timestamp"]["timestamp_problem"] == ""
    assert "garbage-timestamp: timestamp.txt ignored" in graded["stdout"]
