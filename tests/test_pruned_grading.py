"""Grading only the cells a score can depend on changes no score and no status.

The demo class of every notebook (which holds the bench class's kinds: perfect, blank,
partial, wrong, plus a cheater that patches numpy) is graded twice,
pruned (the default) and with ``full``, and the two gradebooks must agree exactly. The
scenario class (every attack and fault, the integrity cases included) is compared in
tests/test_scenarios.py. The demo's
looping student is left out here: its loop is the student's own cell, which always runs,
and the scenario class has the same case (``infinite-loop``) at a tenth of the cost.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.course.layout import Course
from autograder.course.settings import Settings
from autograder.devtools import classgen
from autograder.devtools.demo import DEMO_CLASS
from autograder.grading.assignment import load_assignment
from autograder.grading.grade_class import grade_class
from autograder.grading.prepare import prepare

pytestmark = pytest.mark.slow

STUDENTS = [name for name in DEMO_CLASS if name != "looping"]
#: generous budgets: a full run of a busy machine's slowest demonstration cell must not time out
#: where the pruned run leaves that cell out (that would be the machine, not the grader).
SETTINGS = Settings(cell_timeout=120.0, notebook_timeout=900.0, workers=2)


def _grade(course_dir: Path, assignment: str, *, full: bool) -> dict[str, tuple[str, float]]:
    report = grade_class(assignment=assignment, course_dir=course_dir, settings=SETTINGS.replace(full=full),
                         force=True, progress=False)
    assert report.errors == []
    return {o.student: (o.status, o.auto_score) for o in report.graded}


#: every notebook: each leaves out demonstration cells (a wrong analysis shows as a differing
#: score); `make bench` compares pruned, full and stock on every notebook's bench class too.
COMPARED = Course.at().assignments()


@pytest.mark.parametrize("assignment", COMPARED)
def test_pruned_and_full_grading_agree_on_the_demo_class(tmp_path: Path, assignment: str) -> None:
    course = Course.at()
    for student in STUDENTS:
        classgen.write_submission(tmp_path, student, assignment, DEMO_CLASS[student](course, assignment))
    pruned = _grade(tmp_path, assignment, full=False)
    skipped = _skipped_cells(tmp_path, assignment, "perfect")
    full = _grade(tmp_path, assignment, full=True)
    assert pruned == full
    assert set(pruned) == set(STUDENTS)
    assert pruned["cheater"][0] == "integrity"  # patching numpy is seen in both modes
    assert pruned["perfect"] == ("ok", load_assignment(course, assignment).max_auto)
    print(f"\n{assignment}: pruned run left out {skipped} cell(s) of the perfect submission; "
          f"fallbacks: {_fallbacks(tmp_path, assignment)}")


def _skipped_cells(course_dir: Path, assignment: str, student: str) -> int:
    """Cells the autograded notebook marks as not run (read before the full run rewrites it)."""
    path = course_dir / "autograded" / student / assignment / f"{assignment}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return sum(1 for c in cells if c.get("metadata", {}).get("autograder", {}).get("run") is False)


def _fallbacks(course_dir: Path, assignment: str) -> dict[str, str]:
    """student -> why every cell ran, for the submissions the analysis was unsure about."""
    template = load_assignment(Course.at(), assignment)
    found = {}
    for student in STUDENTS:
        path = course_dir / "submitted" / student / assignment / f"{assignment}.ipynb"
        notebook = json.loads(path.read_text(encoding="utf-8"))
        prepared = prepare(template.edition_for(notebook), notebook, Settings(full=False))
        if prepared.every_cell_because:
            found[student] = prepared.every_cell_because
    return found


def test_a_skipped_cell_is_marked_and_keeps_no_saved_output(tmp_path: Path) -> None:
    course = Course.at()
    assignment = "03_initialization"
    notebook = classgen.perfect(course, assignment)
    for cell in notebook["cells"]:  # outputs saved by the student's kernel: none may survive
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "STALE OUTPUT\n"}]
    classgen.write_submission(tmp_path, "perfect", assignment, notebook)
    assert _grade(tmp_path, assignment, full=False)["perfect"][0] == "ok"
    path = tmp_path / "autograded" / "perfect" / assignment / f"{assignment}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    skipped = [c for c in cells if c.get("metadata", {}).get("autograder", {}).get("run") is False]
    assert skipped, "the lecture's 4096-wide experiment is no score's business: it must be left out"
    for cell in skipped:
        assert [o["text"] for o in cell["outputs"]] == [
            "[grader] not run by the grader; no score depends on it.\n"]
    assert "STALE OUTPUT" not in path.read_text(encoding="utf-8")
