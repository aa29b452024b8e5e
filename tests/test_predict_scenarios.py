"""06's ``predict`` through the real CLI: a submission that hunts for the hidden labels, guesses the
split's seed, or answers constant or random labels earns no accuracy points and keeps the rest; the
judged accuracy reaches the instructor's report from the grader, per student.
"""

from __future__ import annotations

import csv
import json

import pytest
from nnlab.checks.capstone.predict import BASELINE_ACCURACY

from autograder.course.insight import collect
from autograder.course.layout import Course
from autograder.grading.judging import MEASURES_KEY
from tests.conftest import ROOT, run_cli
from tests.scenarios import CAPSTONE, PREDICT_SCENARIOS, write_predict_class

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("predict-scenarios")]  # one worker grades the class
TIER_POINTS = 2.0  # test_predict_baseline + test_predict_good


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    course_dir = tmp_path_factory.mktemp("predict-scenarios")
    write_predict_class(Course.at(ROOT), course_dir)
    run_cli("grade", CAPSTONE, "--course-dir", str(course_dir), "--workers", "2", "--no-progress",
            timeout=1800)
    run_cli("export", "--course-dir", str(course_dir))
    with open(course_dir / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle) if row["assignment"] == CAPSTONE}
    return {"dir": course_dir, "rows": rows}


def _cells(graded: dict, student: str) -> dict[str, dict]:
    path = graded["dir"] / "autograded" / student / CAPSTONE / f"{CAPSTONE}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")}


@pytest.mark.parametrize("scenario", PREDICT_SCENARIOS, ids=[s.name for s in PREDICT_SCENARIOS])
def test_a_predict_without_a_model_earns_no_accuracy_points_and_keeps_the_rest(graded: dict,
                                                                               scenario) -> None:
    perfect, row = graded["rows"]["perfect"], graded["rows"][scenario.name]
    # written answers wait for a person: the export's score is empty, its auto_score is the grader's
    assert perfect["status"] == "ok" and float(perfect["auto_score"]) == float(perfect["max_auto_score"])
    assert row["status"] == "ok", row
    assert float(row["auto_score"]) == float(perfect["auto_score"]) - TIER_POINTS, row
    cells = _cells(graded, scenario.name)
    for tier in ("baseline", "good"):
        assert cells[f"test_predict_{tier}"]["outputs"][0]["output_type"] == "error"


def test_the_hidden_accuracy_is_written_by_the_grader_for_the_report(graded: dict) -> None:
    for student in ("perfect", *(s.name for s in PREDICT_SCENARIOS)):
        measured = _cells(graded, student)["test_predict_good"]["metadata"][MEASURES_KEY]
        hidden = [m["measures"]["accuracy"] for m in measured if m["hidden"]]
        assert len(hidden) == 2 and all(0.0 <= a <= 1.0 for a in hidden)
        if student != "perfect":
            assert max(hidden) < BASELINE_ACCURACY, (student, hidden)
    insight = collect(Course.at(graded["dir"]), CAPSTONE)
    accuracies = insight.hidden_measures["predict"]["accuracy"]
    assert set(accuracies) == set(graded["rows"])
    assert accuracies["perfect"] >= BASELINE_ACCURACY > max(
        v for s, v in accuracies.items() if s != "perfect")
    run_cli("report", CAPSTONE, "--course-dir", str(graded["dir"]))
    page = next((graded["dir"] / "reports").rglob(f"*{CAPSTONE}*.html")).read_text(encoding="utf-8")
    assert "Measured on the hidden split: predict accuracy" in page
