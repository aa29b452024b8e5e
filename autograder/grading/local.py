"""The local executor: sandboxed workers on this machine, one submission each at a time.

Workers start in the background, warming up (importing torch and the rest) while the grader
prepares; each thread takes the next submission from a shared queue, and results come back
as they finish. A worker whose sandbox fails is restarted once for the same submission.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from autograder.course.layout import Course, CourseError
from autograder.course.safefs import is_plain_file
from autograder.course.settings import Settings
from autograder.grading import isolation
from autograder.grading.grade_submission import RunJob, grade_submission
from autograder.grading.outcome import Outcome
from autograder.grading.template import Template
from autograder.grading.worker import Worker, WorkerError
from autograder.sandbox import protocol

log = logging.getLogger("autograder")

#: what an executor yields per submission: ``(student, outcome, grader error)``.
Result = tuple[str, Outcome | None, str | None]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_with_retry(worker: Worker) -> RunJob:
    """Run jobs on ``worker``; when its sandbox itself fails, once more on a fresh one."""
    def run(job: dict[str, Any], folder: Path) -> tuple[list[protocol.Message], bool]:
        result = worker.run(job, folder)
        if result.watchdog:
            log.warning("grading worker %d failed while running %s (%s); running it again on a "
                        "fresh sandbox", worker.index, folder.parent.name, result.failure)
            result = worker.run(job, folder)
        return result.events, result.watchdog

    return run


class WorkerPool:
    """Sandboxed workers that start in the background, warming up while the grader prepares.

    Each worker is started by a thread of its own that lives until the pool closes: bubblewrap's
    ``--die-with-parent`` (``PR_SET_PDEATHSIG``) ends a sandbox when the *thread* that started it
    ends, so a starter that returned right away killed its warm worker, and the first job paid
    for a second start.
    """

    def __init__(self, count: int, mode: isolation.Isolation) -> None:
        self.isolation = mode
        self.workers = [Worker(index, mode) for index in range(count)]
        self.errors: dict[int, WorkerError] = {}
        self.started = [threading.Event() for _ in self.workers]
        self.closing = threading.Event()
        self.starters = [threading.Thread(target=self._start, args=(w,), daemon=True) for w in self.workers]
        for starter in self.starters:
            starter.start()

    def _start(self, worker: Worker) -> None:
        try:
            worker.start()
        except WorkerError as error:
            self.errors[worker.index] = error
        finally:
            self.started[worker.index].set()
        self.closing.wait()

    def get(self, index: int) -> Worker:
        """Worker ``index`` once started. Raises WorkerError if it could not start."""
        self.started[index].wait()
        if index in self.errors:
            raise self.errors[index]
        return self.workers[index]

    def close(self) -> None:
        for started in self.started:
            started.wait()
        # side by side: a zygote takes more than half a second to quit (it has torch to unload)
        closers = [threading.Thread(target=worker.close) for worker in self.workers]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join()
        self.closing.set()
        for starter in self.starters:
            starter.join()


def start_pool(course: Course, assignment: str, settings: Settings,
               students: list[str] | None) -> WorkerPool:
    """Start as many workers as there are notebooks to run (at most ``settings.workers``)."""
    names = students if students is not None else course.students(assignment)
    runnable = sum(is_plain_file(course.submitted_dir(s, assignment) / f"{assignment}.ipynb")
                   for s in names)
    mode = isolation.choose(settings.sandbox) if runnable else isolation.Isolation("none", "", False)
    count = min(settings.workers or cpu_count(), runnable) if runnable else 0
    return WorkerPool(count, mode)


def run_local(course: Course, template: Template, todo: list[tuple[str, str]], settings: Settings,
              pool: WorkerPool) -> Iterator[Result]:
    """Yield a result per ``(student, submission digest)`` of ``todo`` as it finishes.

    Raises:
        CourseError: when no worker could start (nothing was graded).
    """
    jobs: queue.Queue[tuple[str, str]] = queue.Queue()
    for item in todo:
        jobs.put(item)
    results: queue.Queue[Result] = queue.Queue()
    fatal: list[BaseException] = []

    def work(index: int) -> None:
        try:
            worker = pool.get(index)
        except WorkerError as error:
            fatal.append(error)
            return
        _drain(jobs, results, fatal, lambda student, digest: grade_submission(
            template, student, course.submitted_dir(student, template.assignment),
            run_with_retry(worker), settings, digest=digest))

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(pool.workers))]
    for thread in threads:
        thread.start()
    yield from _collect(len(todo), jobs, results, threads)
    for thread in threads:
        thread.join()
    if pool.workers and len(fatal) == len(pool.workers):
        raise CourseError(f"no grading worker could start: {fatal[0]}")


def _drain(jobs: queue.Queue[tuple[str, str]], results: queue.Queue[Result],
           fatal: list[BaseException], grade: Callable[[str, str], Outcome]) -> None:
    """One worker's loop: grade queued submissions until none is left or the worker fails."""
    while True:
        try:
            student, digest = jobs.get_nowait()
        except queue.Empty:
            return
        try:
            results.put((student, grade(student, digest), None))
        except WorkerError as error:
            fatal.append(error)
            results.put((student, None, str(error)))
            return
        except Exception as error:  # a grader bug must not stop the class
            log.exception("grading %s failed", student)
            results.put((student, None, f"{type(error).__name__}: {error}"))


def _collect(total: int, jobs: queue.Queue[tuple[str, str]], results: queue.Queue[Result],
             threads: list[threading.Thread]) -> Iterator[Result]:
    """Results as they come; once every worker is gone, what is left is reported not graded."""
    received = 0
    while received < total:
        try:
            item = results.get(timeout=0.5)
        except queue.Empty:
            if any(t.is_alive() for t in threads) or not results.empty():
                continue
            while True:
                try:
                    student, _ = jobs.get_nowait()
                except queue.Empty:
                    break
                results.put((student, None, "no grading worker is running"))
            if results.empty():
                break
            continue
        received += 1
        yield item
