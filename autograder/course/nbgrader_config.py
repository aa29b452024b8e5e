"""The course's ``nbgrader_config.py``, loaded for one course directory.

The course's ``nbgrader_config.py`` is the one configuration; the grader loads it with the
course directory it was given (``NNLAB_COURSE_DIR``), so ``nbgrader`` commands and
``python -m autograder`` agree on every path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from autograder.course.layout import Course, CourseError
from autograder.environment import path_with_this_python


@contextlib.contextmanager
def course_environment(course: Course) -> Iterator[None]:
    """While nbgrader runs: the course directory its config reads, and this Python's commands
    (``alembic``, which nbgrader runs when it creates a gradebook) first on ``PATH``."""
    wanted = {"NNLAB_COURSE_DIR": str(course.course_dir),
              "PATH": path_with_this_python(os.environ.get("PATH"))}
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_config(course: Course) -> Any:
    """The course's nbgrader configuration with this course directory."""
    from traitlets.config.loader import PyFileConfigLoader

    config_file = course.repo / "nbgrader_config.py"
    if not config_file.is_file():
        raise CourseError(f"no nbgrader_config.py in {course.repo}")
    course.course_dir.mkdir(parents=True, exist_ok=True)
    with course_environment(course):
        loader = PyFileConfigLoader(config_file.name, path=str(course.repo))
        return loader.load_config()
