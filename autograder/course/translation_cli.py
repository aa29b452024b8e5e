"""``python -m autograder translations check|update [NOTEBOOK ...]``: the author's translation workflow.

``check`` lists every problem of the translation files (stale, missing,
untranslated cells, fragments not found, code changed) and exits 1 if there
is one; ``update`` adds entries for new cells (the English as placeholder),
drops entries of removed cells, and with ``--accept CELL_ID`` records the new
English hash of a cell whose translation the author has revised.
"""

from __future__ import annotations

import json
import sys

from autograder.course.layout import EDITIONS, Course, CourseError
from autograder.course.translation_build import translate_notebook
from autograder.course.translations import (
    TranslationError,
    read_translation,
    translation_path,
    update_translation,
)


def run_translations(*, action: str, notebooks: list[str], language: str = "zh",
                     accept: tuple[str, ...] = (), warnings: bool = False) -> int:
    """Run ``check`` or ``update`` on ``notebooks`` (default: all); returns the exit status."""
    if language not in EDITIONS or language == "en":
        raise CourseError(f"unknown translation {language!r}; translated editions: "
                          f"{', '.join(lang for lang in EDITIONS if lang != 'en')}")
    course = Course.at()
    known = course.assignments()
    chosen = notebooks or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise CourseError(f"unknown notebook(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if accept and len(chosen) != 1:
        raise CourseError("--accept needs exactly one NOTEBOOK (cell ids are per notebook)")
    failed = 0
    for notebook in chosen:
        english = json.loads(course.source_notebook(notebook).read_text(encoding="utf-8"))
        path = translation_path(course.repo, notebook, language)
        try:
            if action == "update":
                for change in update_translation(english, path, accept=accept):
                    print(f"{path}: {change}")
            _, problems = translate_notebook(english, read_translation(path))
        except TranslationError as error:
            print(f"error: {error}", file=sys.stderr)
            failed += 1
            continue
        errors = [p for p in problems if not p.warning]
        for problem in problems:
            if warnings or not problem.warning:
                print(problem)
        print(f"{notebook}: {len(errors)} problem(s), {len(problems) - len(errors)} warning(s)")
        failed += bool(errors)
    return 1 if failed else 0
