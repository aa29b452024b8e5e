"""Where things are: the course repository (notebooks) and a course directory (student work)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autograder.course.identifiers import explain, identifier_problem

#: the repository holding solutions/ and assignments/ (the folder holding the ``autograder`` package).
REPO = Path(os.environ.get("NNLAB_REPO", Path(__file__).resolve().parents[2]))

#: the student editions: language -> release folder. English is the source's language;
#: the others are built from ``i18n/<language>/`` (see ``autograder.course.translations``).
EDITIONS = {"en": "assignments", "zh": "assignments-zh"}


class CourseError(Exception):
    """A problem with the course set-up or with the instructor's input (exit code 1)."""


def check_identifier(value: str, *, what: str = "student id") -> str:
    """``value`` if it is a valid student id or assignment name (see :mod:`autograder.course.identifiers`).

    Raises:
        CourseError: naming the value, what is wrong with it and what a valid one looks like.
    """
    problem = identifier_problem(value)
    if problem:
        raise CourseError(explain(value, what=what, problem=problem))
    return value


@dataclass(frozen=True)
class Course:
    """The notebooks of the course and the folder holding one class's work.

    Attributes:
        repo: the repository with ``solutions/`` (instructor notebooks) and
            ``assignments/`` (student release).
        course_dir: where ``submitted/<student>/<assignment>/``, ``autograded/``,
            ``feedback/`` and ``gradebook.db`` live.
        edition: the student edition :meth:`release_notebook` gives by default (a key of
            :data:`EDITIONS`), e.g. ``"zh"`` to make a demo class from the Chinese edition.
    """

    repo: Path
    course_dir: Path
    edition: str = "en"

    @classmethod
    def at(cls, course_dir: str | Path | None = None, repo: str | Path | None = None) -> Course:
        """The course of ``repo`` (default: this repository) with its work in ``course_dir``.

        ``course_dir`` defaults to ``NNLAB_COURSE_DIR``, as in ``nbgrader_config.py``, and
        otherwise to the repository root.
        """
        repo_path = Path(repo or REPO).resolve()
        chosen = course_dir or os.environ.get("NNLAB_COURSE_DIR") or repo_path
        return cls(repo_path, Path(chosen).resolve())

    @property
    def db_path(self) -> Path:
        return self.course_dir / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    # Every path built from a name goes through the identifier rule: a name from the command
    # line, an LMS download or the gradebook can never point outside its folder.

    def source_notebook(self, assignment: str) -> Path:
        check_identifier(assignment, what="assignment")
        return self.repo / "solutions" / assignment / f"{assignment}.ipynb"

    def release_notebook(self, assignment: str, language: str | None = None) -> Path:
        check_identifier(assignment, what="assignment")
        return self.repo / EDITIONS[language or self.edition] / assignment / f"{assignment}.ipynb"

    def edition_source(self, assignment: str, language: str) -> Path:
        """The instructor notebook of an edition: ``solutions/`` for English, else the one
        built from its translation into the git-ignored ``build/<language>/``."""
        if language == "en":
            return self.source_notebook(assignment)
        return self.build_dir(language) / assignment / f"{assignment}.ipynb"

    def build_dir(self, language: str) -> Path:
        return self.repo / "build" / language

    def _student_path(self, step: str, student: str, assignment: str) -> Path:
        check_identifier(student)
        check_identifier(assignment, what="assignment")
        return self.course_dir / step / student / assignment

    def submitted_dir(self, student: str, assignment: str) -> Path:
        return self._student_path("submitted", student, assignment)

    def autograded_dir(self, student: str, assignment: str) -> Path:
        return self._student_path("autograded", student, assignment)

    def feedback_dir(self, student: str, assignment: str) -> Path:
        return self._student_path("feedback", student, assignment)

    def assignments(self) -> list[str]:
        """Assignment ids with a source notebook, in lecture order."""
        root = self.repo / "solutions"
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if (p / f"{p.name}.ipynb").is_file())

    def require_assignment(self, assignment: str) -> None:
        if not self.source_notebook(assignment).is_file():
            known = ", ".join(self.assignments()) or "none"
            raise CourseError(f"unknown assignment {assignment!r}; known assignments: {known}")
        if not self.release_notebook(assignment).is_file():
            raise CourseError(
                f"assignment {assignment!r} has no release notebook at "
                f"{self.release_notebook(assignment)}; run `make release` first"
            )

    def students(self, assignment: str) -> list[str]:
        """Students with a folder ``submitted/<student>/<assignment>/``, sorted.

        Folders whose name is not a valid student id are left out (see :meth:`ignored_folders`).
        A folder that is a link is listed: grading refuses it with a reason the export shows.
        """
        return [name for name, problem in self._submitted_folders(assignment) if problem is None]

    def ignored_folders(self, assignment: str) -> list[tuple[str, str]]:
        """``(name, why)`` of folders in ``submitted/`` that cannot be a student id."""
        return [(name, problem) for name, problem in self._submitted_folders(assignment) if problem]

    def _submitted_folders(self, assignment: str) -> list[tuple[str, str | None]]:
        check_identifier(assignment, what="assignment")
        root = self.course_dir / "submitted"
        if not root.is_dir():
            return []
        found = [(p.name, identifier_problem(p.name)) for p in root.iterdir()
                 if (p / assignment).is_dir() or (p / assignment).is_symlink()]
        return sorted(found)
