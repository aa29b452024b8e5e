"""Make submissions from the course's own notebooks: a demo class, benchmark classes, scenarios.

Every submission starts from the student release (what a student downloads)
and fills solution cells with the instructor's answers, some of them, or
deliberately wrong ones, so it changes with the notebooks and never goes stale.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder.course.layout import Course
from autograder.grading.notebook_file import nbgrader_of, source_of

_MARKER = re.compile(r"^\s*#*\s*(BEGIN|END) SOLUTION\s*$")

#: appended to a solution cell to make its function return a wrong value of the right type.
WRONG_SUFFIX = '''

def _nnlab_demo_wrong(value):
    import numpy as _np
    if isinstance(value, _np.ndarray) and value.dtype.kind == "f":
        return value * 1.5 + 0.25
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, (tuple, list)):
        return type(value)(_nnlab_demo_wrong(v) for v in value)
    if isinstance(value, str):
        return value + "?"
    return value


def _nnlab_demo_wrap(function):
    def wrong(*args, **kwargs):
        return _nnlab_demo_wrong(function(*args, **kwargs))
    return wrong


{name} = _nnlab_demo_wrap({name})
'''


def _answers(source_notebook: Path) -> dict[str, str]:
    """grade id -> the solution cell's text with the solution markers removed."""
    answers = {}
    for cell in json.loads(source_notebook.read_text(encoding="utf-8"))["cells"]:
        meta = nbgrader_of(cell)
        if meta.get("solution"):
            lines = [line for line in source_of(cell).splitlines() if not _MARKER.match(line)]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def _defined_function(source: str) -> str | None:
    match = re.search(r"^def (\w+)\(", source, re.M)
    return match.group(1) if match else None


def make_submission(course: Course, assignment: str, *,
                    fill: Callable[[int, str], str | None]) -> dict[str, Any]:
    """The release notebook with solution cells filled by ``fill(position, grade_id)``.

    ``fill`` returns ``"answer"`` (the instructor's answer), ``"wrong"`` (the answer with
    its function made to return wrong values), or ``None`` (left as released).
    """
    notebook = json.loads(course.release_notebook(assignment).read_text(encoding="utf-8"))
    answers = _answers(course.source_notebook(assignment))
    position = 0
    for cell in notebook["cells"]:
        meta = nbgrader_of(cell)
        if not meta.get("solution"):
            continue
        choice = fill(position, meta["grade_id"])
        position += 1
        answer = answers.get(meta["grade_id"])
        if choice is None or answer is None:
            continue
        if choice == "wrong" and cell["cell_type"] == "code" and _defined_function(answer):
            answer += WRONG_SUFFIX.format(name=_defined_function(answer))
        cell["source"] = answer
    return notebook


def solution_cell_count(course: Course, assignment: str) -> int:
    notebook = json.loads(course.release_notebook(assignment).read_text(encoding="utf-8"))
    return sum(1 for c in notebook["cells"] if nbgrader_of(c).get("solution") and c["cell_type"] == "code")


def perfect(course: Course, assignment: str) -> dict[str, Any]:
    return make_submission(course, assignment, fill=lambda i, g: "answer")


def blank(course: Course, assignment: str) -> dict[str, Any]:
    return make_submission(course, assignment, fill=lambda i, g: None)


def partial(course: Course, assignment: str) -> dict[str, Any]:
    """The first half of the answers filled in."""
    half = max(1, solution_cell_count(course, assignment) // 2)
    return make_submission(course, assignment, fill=lambda i, g: "answer" if i < half else None)


def wrong(course: Course, assignment: str) -> dict[str, Any]:
    """Every answer filled in; the first answer that defines a function made wrong."""
    answers = _answers(course.source_notebook(assignment))
    target = next((g for g, text in answers.items() if _defined_function(text)), None)
    return make_submission(course, assignment, fill=lambda i, g: "wrong" if g == target else "answer")


def with_cell(notebook: dict[str, Any], source: str, *, after_first_solution: bool = True) -> dict[str, Any]:
    """A copy with an extra ordinary code cell (after the first answer, or at the end)."""
    notebook = copy.deepcopy(notebook)
    extra = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
             "execution_count": None, "id": f"extra{len(notebook['cells'])}"}
    position = len(notebook["cells"])
    if after_first_solution:
        position = next((i + 1 for i, c in enumerate(notebook["cells"])
                         if nbgrader_of(c).get("solution") and c["cell_type"] == "code"), position)
    notebook["cells"].insert(position, extra)
    return notebook


def write_submission(course_dir: Path, student: str, assignment: str,
                     notebook: dict[str, Any] | str | bytes) -> Path:
    """Place a submission at ``course_dir/submitted/<student>/<assignment>/<assignment>.ipynb``."""
    folder = course_dir / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    if isinstance(notebook, bytes):
        path.write_bytes(notebook)
    elif isinstance(notebook, str):
        path.write_text(notebook, encoding="utf-8")
    else:
        path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path
