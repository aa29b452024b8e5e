"""The class insight report: on a graded class with planted mistakes it must name them, first, exactly.

The class (102 submissions of the test course's ``mini``) is graded once per
session through the real CLI: 30 students let the ReLU gradient through
negative inputs, 20 return x from relu_forward, 10 scale tanh, 40 are right,
one submitted nothing and one a broken file. The report must rank the two
planted ReLU causes first with exactly 30 and 20 students, and count the
rest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograder.course.layout import Course
from autograder.devtools import classgen
from tests.conftest import TEST_COURSE, run_cli
from tests.scenarios import _perfect

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("insight")]

PLANTED = {  # mistake -> (how many students, the function as they wrote it)
    "relu-backward-passes-negatives": (30, "relu_backward",
                                       "def relu_backward(dout, x):\n    return dout.copy()"),
    "relu-forward-identity": (20, "relu_forward", "def relu_forward(x):\n    return x.copy()"),
    "tanh-scaled": (10, "tanh_forward", "def tanh_forward(x):\n    return 1.5 * np.tanh(x)"),
    "correct": (40, None, None),
}
BACKWARD_CAUSE = "ReLU passes no gradient through negative inputs: multiply dout by (x > 0)."
FORWARD_CAUSE = "ReLU outputs 0 for negative inputs."


def _write_class(course_dir: Path) -> None:
    course = Course.at(repo=TEST_COURSE)
    number = 0
    for mistake, (count, grade_id, source) in PLANTED.items():
        for _ in range(count):
            notebook = _perfect(course)
            for cell in notebook["cells"]:
                if grade_id and cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
                    cell["source"] = source
            classgen.write_submission(course_dir, f"s{number:03d}-{mistake}", "mini", notebook)
            number += 1
    (course_dir / "submitted" / "s900-missing" / "mini").mkdir(parents=True)
    classgen.write_submission(course_dir, "s901-broken", "mini", '{"cells": [')


@pytest.fixture(scope="session")
def planted_class(tmp_path_factory) -> Path:
    course_dir = tmp_path_factory.mktemp("planted-class")
    _write_class(course_dir)
    run_cli("grade", "mini", "--course-dir", str(course_dir), "--workers", "2", "--no-progress",
            "--cell-timeout", "10", repo=TEST_COURSE, timeout=3600)
    return course_dir


@pytest.fixture
def insight(planted_class: Path, monkeypatch):
    import autograder.course.layout
    from autograder.course.insight import collect

    monkeypatch.setattr(autograder.course.layout, "REPO", TEST_COURSE)
    return collect(Course.at(planted_class, repo=TEST_COURSE), "mini")


def test_the_planted_causes_come_first_with_exact_counts(insight) -> None:
    top = [(c.check, c.text, c.count) for c in insight.causes[:2]]
    assert top == [("relu_backward", BACKWARD_CAUSE, 30), ("relu_forward", FORWARD_CAUSE, 20)]
    tanh = [c for c in insight.causes if c.check == "tanh_forward"]
    assert sum(c.count for c in tanh) >= 10 and max(c.count for c in tanh) == 10
    assert all(c.count <= 10 for c in insight.causes[2:])


def test_pass_rates_per_check_visible_and_hidden(insight) -> None:
    rates = {(s.name, s.hidden): (s.passed, s.runs) for s in insight.checks}
    assert rates[("relu_backward", False)] == rates[("relu_backward", True)] == (70, 100)
    assert rates[("relu_forward", False)] == rates[("relu_forward", True)] == (80, 100)
    assert rates[("tanh_forward", False)] == rates[("tanh_forward", True)] == (90, 100)


def test_statuses_scores_and_written_answers(insight) -> None:
    statuses = {status: len(students) for status, students in insight.statuses.items()}
    assert statuses == {"ok": 100, "missing": 1, "invalid": 1}
    assert sorted(r.auto_score for r in insight.rows).count(3.0) == 40
    assert insight.pending_submissions == 100  # every filled-in written answer awaits formgrader
    assert insight.median_seconds is not None and insight.median_seconds > 0


def test_examples_are_anonymous(insight) -> None:
    for cause in insight.causes:
        assert "s0" not in cause.example and "mini.ipynb" not in cause.example


def test_the_html_report_is_one_offline_file_per_assignment_and_an_overview(planted_class: Path) -> None:
    result = run_cli("report", "--course-dir", str(planted_class), repo=TEST_COURSE)
    page = (planted_class / "reports" / "mini.html").read_text(encoding="utf-8")
    overview = (planted_class / "reports" / "index.html").read_text(encoding="utf-8")
    assert "reports/mini.html" in result.stdout and "reports/index.html" in result.stdout
    assert page.index(BACKWARD_CAUSE.replace(">", "&gt;")) < page.index(FORWARD_CAUSE)
    assert page.count('src="data:image/png;base64,') >= 2  # histogram and check chart, embedded
    assert not re.search(r'(src|href)="(https?:)?//', page + overview)  # nothing fetched online
    assert 'href="mini.html"' in overview and "relu_backward" in overview


def test_the_report_follows_the_course_language(planted_class: Path, tmp_path: Path) -> None:
    (planted_class / "autograder.toml").write_text('[course]\nlanguage = "zh"\n')
    try:
        run_cli("report", "mini", "--course-dir", str(planted_class), "--output-dir", str(tmp_path),
                repo=TEST_COURSE)
    finally:
        (planted_class / "autograder.toml").unlink()
    page = (tmp_path / "mini.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in page and "班级的主要误解" in page
    run_cli("report", "mini", "--course-dir", str(planted_class), "--output-dir", str(tmp_path),
            "--language", "en", repo=TEST_COURSE)
    assert "What the class misunderstood" in (tmp_path / "mini.html").read_text(encoding="utf-8")


def test_an_empty_course_says_what_to_do(tmp_path: Path) -> None:
    result = run_cli("report", "--course-dir", str(tmp_path), repo=TEST_COURSE, check=False)
    assert result.returncode == 1 and "nothing graded yet" in result.stderr
    assert json.dumps(result.stderr).count("Traceback") == 0
