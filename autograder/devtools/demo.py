"""``make demo``: release, a class generated from the notebooks, grading, export, the gradebook."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder.course.grade_rows import export_csv, format_table, gradebook_rows
from autograder.course.layout import Course
from autograder.course.settings import Settings, load_settings
from autograder.devtools import classgen
from autograder.grading.grade_class import grade_class

#: the demo class: student id -> how their submission is made.
DEMO_CLASS: dict[str, Callable[[Course, str], dict[str, Any]]] = {
    "perfect": classgen.perfect,
    "blank": classgen.blank,
    "partial": classgen.partial,
    "wrong": classgen.wrong,
    "looping": lambda c, a: classgen.with_cell(classgen.perfect(c, a), "while True:\n    pass"),
    "cheater": lambda c, a: classgen.with_cell(
        classgen.wrong(c, a), "import numpy as np\nnp.allclose = lambda *a, **k: True"),
}

#: the demo's cell budget: long enough for every notebook's slowest cell, short for the loop.
DEMO_CELL_TIMEOUT = 20.0


def write_demo_class(course_dir: Path, assignments: list[str], course: Course, language: str = "en") -> None:
    """Write the demo class's submissions for each assignment into ``course_dir/submitted``,
    made from the student edition in ``language``."""
    course = dataclasses.replace(course, edition=language)
    for assignment in assignments:
        for student, make in DEMO_CLASS.items():
            classgen.write_submission(course_dir, student, assignment, make(course, assignment))


def run_demo(*, course_dir: str | Path | None = None, assignments: list[str] | None = None,
             settings: Settings | None = None, progress: bool | None = None,
             echo: Callable[[str], Any] = print, language: str = "en") -> str:
    """Build the demo class in a (temporary) course folder, grade it, export, print the table.

    ``language`` chooses the student edition the class's submissions are made from; the
    scores are the same in every edition.

    Returns:
        The printed gradebook table.
    """
    repo = Course.at()
    chosen = assignments or repo.assignments()
    holder = None
    if course_dir is None:
        holder = tempfile.TemporaryDirectory(prefix="nnlab-demo-")
        course_dir = holder.name
    course = Course.at(course_dir)
    try:
        settings = settings or load_settings(course.course_dir).replace(cell_timeout=DEMO_CELL_TIMEOUT)
        write_demo_class(course.course_dir, chosen, repo, language)
        echo(f"demo class ({language} edition): {', '.join(DEMO_CLASS)} in {course.course_dir}")
        for assignment in chosen:
            report = grade_class(assignment=assignment, course_dir=course.course_dir,
                                 settings=settings, force=True, progress=progress)
            for student, error in report.errors:
                echo(f"grader error for {student}: {error}")
        csv_path = export_csv(course_dir=course.course_dir)
        table = format_table(gradebook_rows(course, chosen))
        echo(table)
        echo(f"\nexported {csv_path}" + (" (a temporary folder, removed now)" if holder else ""))
        return table
    finally:
        if holder is not None:
            holder.cleanup()
