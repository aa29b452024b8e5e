"""Generate the student release with nbgrader and prove nothing secret is in it."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from autograder.course import Course, CourseError
from autograder.nbgrader_bridge import generate_assignment
from autograder.plan import strip_hidden
from autograder.submission import nbgrader_of, source_of

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
_SOLUTION = re.compile(r"^\s*#*\s*BEGIN SOLUTION.*?^\s*#*\s*END SOLUTION[^\n]*$", re.S | re.M)


def secret_lines(source_notebook: Path) -> set[str]:
    """Lines only the instructor may see: inside solution regions or hidden tests.

    A line counts only if it appears nowhere else in the source notebook (a
    signature or comment repeated outside the solution is not a secret).
    """
    secret: set[str] = set()
    public: set[str] = set()
    for cell in json.loads(source_notebook.read_text(encoding="utf-8"))["cells"]:
        text = source_of(cell)
        meta = nbgrader_of(cell)
        inside = "\n".join(m.group(0) for m in _SOLUTION.finditer(text))
        outside = _SOLUTION.sub("", text)
        if meta.get("grade") and not meta.get("solution") and cell["cell_type"] == "code":
            visible = strip_hidden(outside)
            hidden = set(outside.splitlines()) - set(visible.splitlines())
            secret |= {line.strip() for line in hidden}
            outside = visible
        secret |= {line.strip() for line in inside.splitlines()}
        public |= {line.strip() for line in outside.splitlines()}
    return {line for line in secret - public
            if len(line) >= 6 and not any(marker in line for marker in MARKERS)}


def leaks(course: Course, assignment: str) -> list[str]:
    """Secret text or markers found in the released files of ``assignment`` (empty = clean)."""
    folder = course.repo / "assignments" / assignment
    secrets = secret_lines(course.source_notebook(assignment))
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for marker in MARKERS:
            if marker in text:
                found.append(f"{path.relative_to(course.repo)}: marker {marker!r}")
        if path.suffix == ".ipynb":
            lines = {line.strip() for c in json.loads(text)["cells"] for line in source_of(c).splitlines()}
        else:
            lines = {line.strip() for line in text.splitlines()}
        for line in sorted(secrets & lines):
            found.append(f"{path.relative_to(course.repo)}: solution or hidden-test line {line!r}")
    return found


def release(*, assignments: list[str] | None = None, repo: str | Path | None = None) -> list[str]:
    """Regenerate ``assignments/`` from ``solutions/`` with nbgrader generate_assignment.

    Returns:
        The assignment ids released.

    Raises:
        CourseError: when an assignment is unknown, nbgrader fails, or the release leaks.
    """
    course = Course.at(repo=repo)
    known = course.assignments()
    chosen = assignments or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise CourseError(f"unknown assignment(s) {', '.join(unknown)}; known: {', '.join(known)}")
    with tempfile.TemporaryDirectory() as scratch:
        work = Course(course.repo, Path(scratch))  # the release's gradebook is thrown away
        for assignment in chosen:
            generate_assignment(work, assignment)
            problems = leaks(course, assignment)
            if problems:
                raise CourseError(f"the release of {assignment} leaks:\n" + "\n".join(problems))
    return chosen
