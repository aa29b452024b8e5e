"""Generate the student editions with nbgrader and prove nothing secret is in them.

Each assignment is released once per edition (:data:`autograder.course.layout.EDITIONS`):
English from ``solutions/``, every other language from the notebook built from
``solutions/`` and ``i18n/<language>/`` (:mod:`autograder.course.translation_build`).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from autograder.course.layout import EDITIONS, Course, CourseError
from autograder.course.nbgrader_bridge import generate_assignment
from autograder.course.translation_build import Problem, build_source, translate_notebook
from autograder.course.translations import TranslationError, read_translation, translation_path
from autograder.grading.check_calls import strip_hidden
from autograder.grading.notebook_file import nbgrader_of, source_of

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
_SOLUTION = re.compile(r"^\s*#*\s*BEGIN SOLUTION.*?^\s*#*\s*END SOLUTION[^\n]*$", re.S | re.M)


def secret_lines(source_notebook: Path | dict) -> set[str]:
    """Lines only the instructor may see: inside solution regions or hidden tests.

    A line counts only if it appears nowhere else in the source notebook (a
    signature or comment repeated outside the solution is not a secret).
    ``source_notebook`` is a path or an already loaded notebook.
    """
    secret: set[str] = set()
    public: set[str] = set()
    if isinstance(source_notebook, Path):
        source_notebook = json.loads(source_notebook.read_text(encoding="utf-8"))
    for cell in source_notebook["cells"]:
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


def leaks(course: Course, assignment: str, language: str = "en") -> list[str]:
    """Secret text or markers found in the released files of ``assignment`` (empty = clean).

    The secrets of a translated edition are those of its own source (translated model
    answers) and of the English one (code, hidden tests).
    """
    folder = course.repo / EDITIONS[language] / assignment
    english = json.loads(course.source_notebook(assignment).read_text(encoding="utf-8"))
    secrets = secret_lines(english)
    if language != "en":
        translation = read_translation(translation_path(course.repo, assignment, language))
        secrets |= secret_lines(translate_notebook(english, translation)[0])
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


def build_edition_source(course: Course, assignment: str, language: str) -> list[Problem]:
    """Write the translated instructor notebook of ``assignment`` into ``build/<language>/``.

    Returns:
        The translation's problems (cells with a problem stay English in the edition).
    """
    _, problems = build_source(course.repo, assignment, language, course.build_dir(language))
    return problems


def release(*, assignments: list[str] | None = None, repo: str | Path | None = None,
            languages: tuple[str, ...] = tuple(EDITIONS)) -> list[Problem]:
    """Regenerate every edition (``assignments/``, ``assignments-zh/``) with nbgrader generate_assignment.

    Returns:
        The translation problems found on the way (untranslated or stale cells, which stay
        English in the translated edition); empty when every edition is complete.

    Raises:
        CourseError: when an assignment is unknown, nbgrader fails, or a release leaks.
    """
    course = Course.at(repo=repo)
    known = course.assignments()
    chosen = assignments or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise CourseError(f"unknown assignment(s) {', '.join(unknown)}; known: {', '.join(known)}")
    found: list[Problem] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Course(course.repo, Path(scratch))  # the release's gradebook is thrown away
        for assignment in chosen:
            for language in languages:
                source_dir = None
                if language != "en":
                    try:
                        found += build_edition_source(course, assignment, language)
                    except TranslationError as error:
                        raise CourseError(str(error)) from None
                    source_dir = course.build_dir(language)
                # the release folder is always explicit: the course language (NNLAB_LANGUAGE)
                # points nbgrader_config.py's release_directory at one edition
                generate_assignment(work, assignment, source_dir=source_dir,
                                    release_dir=course.repo / EDITIONS[language])
                problems = leaks(course, assignment, language)
                if problems:
                    raise CourseError(f"the {language} release of {assignment} leaks:\n"
                                      + "\n".join(problems))
    return found
