"""The grader's settings: one typed place, each with a default and a description.

Settings come from, in increasing priority: the defaults below, an
``autograder.toml`` in the course directory (a ``[grader]`` table), and
command-line options. Unknown keys are an error.

The same file's ``[course]`` table holds ``language``, the student edition
this class uses (``"en"``: ``assignments/``, ``"zh"``: ``assignments-zh/``);
``nbgrader_config.py`` reads it (:func:`course_language`) to choose the
folder nbgrader releases to the exchange. ``NNLAB_LANGUAGE`` overrides it.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _setting(default: Any, description: str) -> Any:
    return field(default=default, metadata={"description": description})


@dataclass(frozen=True)
class Settings:
    """Limits and behaviour of ``python -m autograder grade``."""

    cell_timeout: float = _setting(
        30.0, "Seconds one cell may run before it is interrupted (the rest of the notebook still runs).")
    notebook_timeout: float = _setting(
        300.0, "Seconds a whole notebook may run, all cells and checks together.")
    check_timeout: float = _setting(
        20.0, "Seconds the grader's re-run of one check may take inside the submission's process.")
    memory_mb: int = _setting(
        3072, "Memory (address space) a submission may allocate beyond the grader's own, in MiB.")
    cpu_seconds: int = _setting(
        600, "CPU seconds a submission's process may use in total.")
    max_processes: int = _setting(
        64, "Processes and threads a submission may have at once.")
    max_output_bytes: int = _setting(
        2_000_000, "Bytes of output (text, images) a submission may produce before it is stopped.")
    max_file_bytes: int = _setting(
        200_000_000, "Largest file a submission may write in its scratch folder, in bytes.")
    workers: int = _setting(
        0, "Submissions graded at once; 0 means one per CPU core.")
    sandbox: str = _setting(
        "auto", "'bwrap' (require bubblewrap), 'none' (rlimits only, with a warning) or 'auto'.")
    language: str = _setting(
        "en", "Language of the grader's messages in feedback: 'en' or 'zh'.")
    full: bool = _setting(
        False, "Run every cell of each submission. Without it (the default) the grader runs only the "
        "cells a score can depend on (the student's own cells, and the instructor's cells that set up "
        "or change what the graded functions use); the others are marked 'not run by the grader' in "
        "the autograded notebook.")

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str]]:
        """``(name, default, description)`` for every setting."""
        return [(f.name, f.default, f.metadata["description"]) for f in fields(cls)]

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (``None`` values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        _check_keys(changes, source="options")
        return dataclasses.replace(self, **changes)


def _check_keys(values: dict[str, Any], *, source: str) -> None:
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"unknown grader setting(s) in {source}: {', '.join(unknown)}; "
            f"known settings: {', '.join(known)}"
        )
    for key, value in values.items():
        expected = type(known[key].default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ValueError(
                f"grader setting {key!r} in {source} must be {expected.__name__}, got {value!r}"
            )
    if values.get("sandbox", "auto") not in ("auto", "bwrap", "none"):
        raise ValueError(f"grader setting 'sandbox' must be auto, bwrap or none, got {values['sandbox']!r}")
    if values.get("language", "en") not in ("en", "zh"):
        raise ValueError(f"grader setting 'language' must be en or zh, got {values['language']!r}")


def load_settings(course_dir: Path) -> Settings:
    """Settings for a course: defaults, overridden by ``course_dir/autograder.toml``."""
    path = course_dir / "autograder.toml"
    if not path.exists():
        return Settings()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML ({error})") from None
    extra = sorted(set(document) - {"grader", "course"})
    if extra:
        raise ValueError(f"{path}: unknown table(s) {', '.join(extra)}; "
                         "only [grader] and [course] are read")
    _check_course(document.get("course", {}), source=str(path))
    values = document.get("grader", {})
    _check_keys(values, source=str(path))
    return dataclasses.replace(Settings(), **values)


#: ``[course]`` keys: name -> description.
COURSE_KEYS = {"language": "The class's student edition: 'en' (assignments/) or 'zh' (assignments-zh/)."}


def _check_course(values: dict[str, Any], *, source: str) -> None:
    from autograder.course.layout import EDITIONS

    unknown = sorted(set(values) - set(COURSE_KEYS))
    if unknown:
        raise ValueError(f"unknown course setting(s) in {source}: {', '.join(unknown)}; "
                         f"known: {', '.join(COURSE_KEYS)}")
    language = values.get("language", "en")
    if language not in EDITIONS:
        raise ValueError(f"course setting 'language' in {source} must be one of "
                         f"{', '.join(EDITIONS)}, got {language!r}")


def course_language(course_dir: Path) -> str:
    """The class's student edition: ``NNLAB_LANGUAGE``, else ``[course] language``, else ``"en"``.

    Raises:
        ValueError: for an unknown language (naming where it was set) or a bad ``autograder.toml``.
    """
    if os.environ.get("NNLAB_LANGUAGE"):
        language = os.environ["NNLAB_LANGUAGE"]
        _check_course({"language": language}, source="the environment variable NNLAB_LANGUAGE")
        return language
    path = course_dir / "autograder.toml"
    if not path.exists():
        return "en"
    load_settings(course_dir)  # validates the whole file
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    return str(document.get("course", {}).get("language", "en"))
