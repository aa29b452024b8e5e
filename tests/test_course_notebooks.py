"""Every notebook of the course: release in sync and leak-free, solution full marks, release zero,
feedback without hidden tests — through nbgrader and the grader's CLI, and in a real Jupyter kernel."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from autograder.course.layout import Course
from autograder.course.leaks import hidden_leaks
from autograder.course.nbgrader_bridge import generate_assignment
from autograder.course.release import MARKERS, leaks
from autograder.devtools import classgen
from autograder.grading.assignment import load_assignment
from tests.conftest import ROOT, run_cli
from tests.notebooks import (
    check_calls,
    check_cells,
    error_outputs,
    execute_notebook,
    notebook_ids,
    release_path,
    solution_path,
)

NOTEBOOKS = notebook_ids()
STUDENTS = {"perfect": classgen.perfect, "blank": classgen.blank, "wrong": classgen.wrong}


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


@pytest.fixture(scope="module")
def course() -> Course:
    return Course.at(repo=ROOT)


def test_every_lecture_notebook_exists() -> None:
    assert NOTEBOOKS, "no notebooks in solutions/"
    assert all(re.fullmatch(r"\d\d_[a-z_]+", nb) for nb in NOTEBOOKS)


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_equals_a_fresh_nbgrader_release(notebook: str, course: Course, tmp_path: Path) -> None:
    generate_assignment(Course(course.repo, tmp_path / "course"), notebook, release_dir=tmp_path / "release")
    fresh = json.loads((tmp_path / "release" / notebook / f"{notebook}.ipynb").read_text(encoding="utf-8"))
    committed = json.loads(course.release_notebook(notebook).read_text(encoding="utf-8"))
    assert fresh == committed, f"assignments/{notebook} is stale: run `make release`"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_contains_no_solution_or_hidden_test(notebook: str, course: Course) -> None:
    assert leaks(course, notebook) == []
    folder = course.repo / "assignments" / notebook
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"{notebook}.ipynb"], "only the notebook may be released"
    text = (folder / f"{notebook}.ipynb").read_text(encoding="utf-8")
    assert not [m for m in MARKERS if m in text] and "HIDDEN TESTS" not in text


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_solutions_are_stored_without_outputs(notebook: str, course: Course) -> None:
    for cell in _cells(course.source_notebook(notebook)):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_solution_runs_top_to_bottom_in_a_real_kernel(notebook: str) -> None:
    """Every cell runs without error as nbgrader runs it; every check call prints its ✓, and the
    last cell's summary counts every check the test cells use as passed."""
    executed = execute_notebook(solution_path(notebook), allow_errors=False)
    calls = check_calls(notebook)
    printed = "".join(output.get("text", "") for cell in executed.cells if cell.cell_type == "code"
                      for output in cell.get("outputs", []))
    assert printed.count("✓") == len(calls)
    checks = len({call.name for call in calls})
    summary = "".join(output.get("data", {}).get("text/plain", "") for output in executed.cells[-1].outputs)
    assert f"{checks} of {checks} checks pass" in summary, summary


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_fails_only_as_not_implemented_in_a_real_kernel(notebook: str) -> None:
    """Run as released (nothing implemented), every test cell fails with the check's "not
    implemented yet" and every other error is the stubs' NotImplementedError."""
    from nnlab.checks import CheckFailed

    assert issubclass(CheckFailed, AssertionError)
    executed = execute_notebook(release_path(notebook), allow_errors=True)
    tests = {cell.grade_id for cell in check_cells(notebook)}  # nbgrader's grade: true code cells
    failed_tests = set()
    for grader, error in error_outputs(executed):
        if grader.get("grade_id") in tests:
            assert error.ename == CheckFailed.__name__ and "not implemented yet" in error.evalue, (
                f"{notebook}: test cell {grader['grade_id']} fails with {error.ename}: {error.evalue}")
            failed_tests.add(grader["grade_id"])
        else:
            assert error.ename == "NotImplementedError", (
                f"{notebook}: a cell fails with {error.ename}: {error.evalue}")
    assert tests and failed_tests == tests


#: the tests of the graded class: one xdist worker builds it (each worker would grade it again).
GRADED = pytest.mark.xdist_group("course-notebooks-graded")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course: Course) -> dict:
    """Each notebook graded for a perfect, a blank and a wrong student, with feedback."""
    course_dir = tmp_path_factory.mktemp("course-notebooks")
    for notebook in NOTEBOOKS:
        for student, make in STUDENTS.items():
            classgen.write_submission(course_dir, student, notebook, make(course, notebook))
        run_cli("grade", notebook, "--course-dir", str(course_dir), "--no-progress")
        run_cli("feedback", notebook, "--course-dir", str(course_dir))
    run_cli("export", "--course-dir", str(course_dir))
    with open(course_dir / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {(row["student_id"], row["assignment"]): row for row in csv.DictReader(handle)}
    return {"dir": course_dir, "rows": rows}


@pytest.mark.slow
@GRADED
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_solution_autogrades_to_full_marks(graded: dict, notebook: str) -> None:
    row = graded["rows"][("perfect", notebook)]
    assert row["status"] == "ok", row["reason"]
    assert float(row["auto_score"]) == float(row["max_auto_score"]) > 0


@pytest.mark.slow
@GRADED
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_scores_zero_and_fails_only_as_not_implemented(graded: dict, notebook: str) -> None:
    row = graded["rows"][("blank", notebook)]
    assert row["status"] == "ok", row["reason"]
    assert float(row["auto_score"]) == 0
    autograded = graded["dir"] / "autograded" / "blank" / notebook / f"{notebook}.ipynb"
    for cell in _cells(autograded):
        grader = cell.get("metadata", {}).get("nbgrader", {})
        for output in cell.get("outputs", []):
            if output["output_type"] != "error":
                continue
            if grader.get("grade"):
                failures = output["traceback"][1:]
                assert failures and all("not implemented yet" in f for f in failures), failures
            else:
                assert output["ename"] == "NotImplementedError", (
                    f"{notebook}: a cell fails with {output['ename']}: {output['evalue']}")


@pytest.mark.slow
@GRADED
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_a_wrong_answer_loses_points_but_not_all(graded: dict, notebook: str) -> None:
    row = graded["rows"][("wrong", notebook)]
    assert 0 < float(row["auto_score"]) < float(row["max_auto_score"])


@pytest.mark.slow
@GRADED
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_feedback_never_contains_hidden_tests(graded: dict, notebook: str, course: Course) -> None:
    hidden = load_assignment(course, notebook).hidden_texts()
    assert hidden, f"{notebook} has no hidden tests"
    for student in STUDENTS:
        page = graded["dir"] / "feedback" / student / notebook / f"{notebook}.html"
        html = page.read_text(encoding="utf-8")
        assert hidden_leaks(html, hidden) == []
        assert "HIDDEN TESTS" not in html and "hidden=True" not in html
