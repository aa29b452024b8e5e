"""Grading on a Dask cluster: the same work as a local run, on ``dask.distributed`` workers.

Each task carries one submission's files (bytes) to a Dask worker, which
grades it in its own sandboxed zygote (started once per worker process and
reused) against its own copy of the course, and returns the outcome as
plain data. The client writes the gradebook, exactly as a local run does.
Every worker must have this repository installed at the same version: a
task checks the assignment's fingerprint and refuses to grade against a
different one.
"""

from __future__ import annotations

import atexit
import dataclasses
import queue
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autograder.course.layout import Course, CourseError, check_identifier
from autograder.course.safefs import folder_files
from autograder.course.settings import Settings
from autograder.grading import isolation
from autograder.grading.assignment import load_assignment
from autograder.grading.fingerprint import template_digest
from autograder.grading.grade_submission import grade_submission
from autograder.grading.local import Result, run_with_retry
from autograder.grading.outcome import Outcome
from autograder.grading.template import Template
from autograder.grading.worker import Worker

_idle: queue.Queue[Worker] = queue.Queue()
_created: list[Worker] = []
_lock = threading.Lock()


def _borrow_worker(settings: Settings) -> Worker:
    """A warm sandbox worker of this process (created on first use, then reused)."""
    try:
        return _idle.get_nowait()
    except queue.Empty:
        with _lock:
            worker = Worker(len(_created), isolation.choose(settings.sandbox))
            _created.append(worker)
            if len(_created) == 1:
                atexit.register(lambda: [w.close() for w in _created])
        return worker


def grade_on_worker(assignment: str, student: str, files: dict[str, bytes] | None, settings: dict[str, Any],
                    digest: str, submission: str) -> dict[str, Any]:
    """Runs on a Dask worker: grade one submission; returns :meth:`Outcome.to_plain`.

    Args:
        digest: the assignment's fingerprint on the client (this worker's copy must match).
        submission: the submission's fingerprint, as the client computed it.
    """
    course = Course.at()
    check_identifier(student)  # it names a folder of this worker's scratch space
    if template_digest(course, assignment) != digest:
        raise CourseError(f"this Dask worker's copy of {assignment} differs from the grader's "
                          f"({course.repo}); install the same version of the course on every worker")
    template = load_assignment(course, assignment)
    config = Settings(**settings)
    worker = _borrow_worker(config)
    try:
        with tempfile.TemporaryDirectory(prefix="nnlab-dask-") as scratch:
            folder = Path(scratch) / student / assignment
            if files is not None:  # None: the student has no submission folder at all
                folder.mkdir(parents=True)
            for name, data in (files or {}).items():
                path = folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            return grade_submission(template, student, folder, run_with_retry(worker), config,
                                    digest=submission).to_plain()
    finally:
        _idle.put(worker)


def _files(folder: Path) -> dict[str, bytes] | None:
    """The submission's plain files (links, special and hard-linked files are never read)."""
    if not folder.is_dir():
        return None
    return {name: (folder / name).read_bytes() for name in folder_files(folder).plain}


def run_on_cluster(scheduler: str, course: Course, template: Template, todo: list[tuple[str, str]],
                   settings: Settings, digest: str) -> Iterator[Result]:
    """Yield ``(student, outcome, grader_error)`` per ``(student, fingerprint)`` of ``todo`` as
    the cluster finishes them.

    Raises:
        CourseError: when the scheduler cannot be reached.
    """
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout="20s")
    except OSError as error:
        raise CourseError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    try:
        futures = {}
        for student, submission in todo:
            files = _files(course.submitted_dir(student, template.assignment))
            future = client.submit(grade_on_worker, template.assignment, student, files,
                                   dataclasses.asdict(settings), digest, submission, pure=False,
                                   key=f"grade-{template.assignment}-{student}-{digest[:12]}")
            futures[future] = student
        for future in as_completed(futures):
            student = futures[future]
            try:
                yield student, Outcome.from_plain(future.result()), None
            except Exception as error:  # one failed task must not stop the class
                yield student, None, f"{type(error).__name__}: {error}"
    finally:
        client.close()
