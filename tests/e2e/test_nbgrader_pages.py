"""nbgrader in the browser: the student's Validate button (JupyterLab and Notebook 7) and the
instructor's formgrader listing a graded demo class."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from autograder.course.layout import Course
from autograder.devtools import classgen
from autograder.devtools.browser import open_notebook
from autograder.devtools.notebook_server import JupyterServer
from tests.e2e.conftest import APPS, ARTIFACTS, ROOT

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

ASSIGNMENT = "01_activations"

#: seconds for nbgrader's validate (it executes the whole notebook on the server).
VALIDATE_TIMEOUT = 180.0

#: the demo class of the formgrader test: student id -> how the submission is made.
CLASS = {"perfect": classgen.perfect, "blank": classgen.blank, "partial": classgen.partial,
         "wrong": classgen.wrong}


@pytest.mark.parametrize("view", ["solutions", "assignments"])
@pytest.mark.parametrize("app", APPS)
def test_validate_button(app: str, view: str, page, page_errors, server_for, fresh_notebook,
                         timings) -> None:
    """Validate on a solution notebook says success; on the blank release it lists the failing
    checks with our "not implemented yet" messages."""
    server = server_for(app)
    open_notebook(page, server, fresh_notebook(server, view, ASSIGNMENT))
    start = time.monotonic()
    page.locator(".validate-button").first.click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=VALIDATE_TIMEOUT * 1000)
    timings["validate"] = round(time.monotonic() - start, 2)
    page.screenshot(path=str(ARTIFACTS / f"validate-{app}-{view}.png"))
    text = message.inner_text()
    classes = message.get_attribute("class") or ""
    if view == "solutions":
        assert "validation-success" in classes, f"Validate on the solution: {text[:2000]}"
        assert "Success! Your notebook passes all the tests." in text
    else:
        assert "validation-failed" in classes, f"Validate on the release: {text[:2000]}"
        tests, answers = _graded_cells()
        failed = text.count("The following cell failed:")
        # every test cell fails, and so does every unanswered written answer (still the stub)
        assert failed == tests + answers, f"{failed} failing cells reported, expected {tests} + {answers}"
        assert text.count("not implemented yet") >= tests, text[:2000]
        assert "There was an error running the validate command" not in text


def _graded_cells() -> tuple[int, int]:
    """(test cells, written answers) of the release."""
    notebook = json.loads((ROOT / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text("utf-8"))
    graded = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    tests = sum(c["cell_type"] == "code" for c in graded)
    return tests, len(graded) - tests


def _points(view: str) -> tuple[float, float]:
    """(autograded points, all points) of the assignment, from its cell metadata."""
    notebook = json.loads((ROOT / view / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text("utf-8"))
    graded = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    auto = sum(c["metadata"]["nbgrader"].get("points", 0) for c in graded if c["cell_type"] == "code")
    return float(auto), float(sum(c["metadata"]["nbgrader"].get("points", 0) for c in graded))


def _grade_class(server: JupyterServer) -> None:
    """Write the demo class into the server's course folder and grade it with our CLI."""
    course_dir = server.course_dir
    assert course_dir is not None
    repo = Course.at(repo=ROOT)
    for student, make in CLASS.items():
        classgen.write_submission(course_dir, student, ASSIGNMENT, make(repo, ASSIGNMENT))
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT,
                             "--course-dir", str(course_dir), "--no-progress"],
                            capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, f"grading failed:\n{result.stdout}\n{result.stderr}"


def test_formgrader_lists_graded_class(page, page_errors, server_for, timings) -> None:
    """Formgrader → Manage Assignments shows the assignment with 4 submissions; its submissions
    page shows each student with a score; the perfect one has every autograded point."""
    server = server_for("lab")
    start = time.monotonic()
    _grade_class(server)
    timings["grade"] = round(time.monotonic() - start, 2)

    page.goto(f"{server.url}/formgrader?token={server.token}")
    row = page.locator("tr", has=page.locator(f'td.name:has-text("{ASSIGNMENT}")'))
    count = row.locator(".num-submissions")
    count.locator("a").wait_for()
    assert count.inner_text().strip() == str(len(CLASS))
    page.screenshot(path=str(ARTIFACTS / "formgrader-assignments.png"), full_page=True)

    count.locator("a").click()
    page.wait_for_url(re.compile(rf"/formgrader/manage_submissions/{ASSIGNMENT}"))
    page.wait_for_function(f"() => document.querySelectorAll('td.score').length >= {len(CLASS)}"
                           " && [...document.querySelectorAll('td.score')].every(s => s.textContent.trim())")
    scores = {}
    for tr in page.locator("tbody tr").all():
        student = tr.locator(".student-id").inner_text().strip()
        scores[student] = tr.locator(".score").inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / "formgrader-submissions.png"), full_page=True)

    assert set(scores) == set(CLASS), f"formgrader lists {scores}"
    auto, total = _points("solutions")
    value = {s: float(text.split("/")[0]) for s, text in scores.items()}
    assert all(text.endswith(f"/ {total:g}") for text in scores.values()), scores
    assert value["perfect"] == auto, f"perfect: {scores['perfect']}, expected {auto:g} of {total:g}"
    assert value["blank"] == 0, scores
    assert 0 < value["partial"] < auto, scores
    assert 0 < value["wrong"] < auto, scores
    assert not page_errors, page_errors
