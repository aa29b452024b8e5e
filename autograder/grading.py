"""Grade a class: every submission of an assignment, in parallel, resumable.

Workers (sandboxed zygotes) run submissions side by side; the gradebook is
written by one thread only, so SQLite never sees two writers. A submission
whose files and assignment have not changed since it was last graded to
completion is skipped, so a run that was killed can simply be started
again: nothing is graded twice, nothing is lost.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import sandbox
from autograder.course import Course, CourseError
from autograder.nbgrader_bridge import Store
from autograder.outcome import Outcome, grade_notebook, submission_digest
from autograder.plan import PlanError
from autograder.progress import Progress
from autograder.settings import Settings, load_settings
from autograder.submission import Template, load_template
from autograder.worker import Worker, WorkerError

log = logging.getLogger("autograder")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class ClassReport:
    """What a grading run did."""

    assignment: str
    graded: list[Outcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already graded, unchanged
    errors: list[tuple[str, str]] = field(default_factory=list)  # (student, grader error)
    sandbox_warning: str = ""

    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.graded)


def template_digest(course: Course, assignment: str) -> str:
    digest = hashlib.sha256()
    for path in (course.source_notebook(assignment), course.release_notebook(assignment)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_assignment(course: Course, assignment: str) -> Template:
    course.require_assignment(assignment)
    try:
        return load_template(course.release_notebook(assignment), course.source_notebook(assignment),
                             assignment)
    except PlanError as error:
        raise CourseError(str(error)) from None


Runner = Callable[[dict[str, Any], Path], tuple[list[dict[str, Any]], bool]]


def _worker_runner(worker: Worker) -> Runner:
    def run(job: dict[str, Any], folder: Path) -> tuple[list[dict[str, Any]], bool]:
        result = worker.run(job, folder)
        if result.watchdog:  # the sandbox itself failed: once more on a fresh one
            log.warning("grading worker %d failed while running %s (%s); running it again on a "
                        "fresh sandbox", worker.index, folder.parent.name, result.failure)
            result = worker.run(job, folder)
        return result.events, result.watchdog

    return run


def grade_class(
    *,
    assignment: str,
    course_dir: str | Path | None = None,
    settings: Settings | None = None,
    force: bool = False,
    students: list[str] | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> ClassReport:
    """Grade every submission of ``assignment`` in the course directory.

    Args:
        assignment: the assignment id (``01_activations``).
        course_dir: where ``submitted/`` and the gradebook live (default: the repository).
        settings: limits and workers (default: the course's ``autograder.toml``).
        force: regrade submissions already graded and unchanged.
        students: only these students (default: every folder under ``submitted/`` plus
            every student in the gradebook, who count as missing without a folder).
        scheduler: a Dask scheduler address to run submissions on a cluster.
        progress: show a progress bar (default: when stderr is a terminal).

    Raises:
        CourseError: for a problem with the course or the command line (nothing is graded).
    """
    course = Course.at(course_dir)
    settings = settings or load_settings(course.course_dir)
    course.require_assignment(assignment)
    pool = None if scheduler else _start_pool(course, assignment, settings, students)
    try:
        template = load_assignment(course, assignment)
        digest = template_digest(course, assignment)
        store = Store(course)
    except BaseException:
        if pool is not None:
            pool.close()
        raise
    try:
        store.ensure_assignment(assignment, digest)
        everyone = sorted(set(course.students(assignment)) | set(store.known_students()))
        wanted = students if students is not None else everyone
        unknown = sorted(set(wanted) - set(everyone) - set(course.students(assignment)))
        if students is not None and unknown:
            log.warning("no submission folder for %s: recorded as missing", ", ".join(unknown))
        done = store.completed(assignment)
        report = ClassReport(assignment)
        todo = []
        for student in wanted:
            folder = course.submitted_dir(student, assignment)
            if not force and done.get(student) == submission_digest(folder, digest):
                report.skipped.append(student)
            else:
                todo.append(student)
        bar = Progress(total=len(todo), label=f"grading {assignment}", enabled=progress)
        if scheduler:
            from autograder.cluster import run_on_cluster

            results = run_on_cluster(scheduler, course, template, todo, settings, digest)
        else:
            assert pool is not None
            if pool.plan.warning:
                report.sandbox_warning = pool.plan.warning
                log.warning("%s", pool.plan.warning)
            results = _run_local(course, template, todo, settings, digest, pool)
        for student, outcome, error in results:
            if error is not None:
                report.errors.append((student, error))
                bar.advance(failed=True, note=f"{student}: grader error")
                continue
            store.record(outcome, course.submitted_dir(student, assignment))
            report.graded.append(outcome)
            bar.advance(failed=outcome.status != "ok", note=f"{student}: {outcome.status}")
        bar.close()
        return report
    finally:
        store.close()
        if pool is not None:
            pool.close()


class WorkerPool:
    """Sandboxed workers that start in the background, warming up while the grader prepares."""

    def __init__(self, count: int, plan: sandbox.SandboxPlan) -> None:
        self.plan = plan
        self.workers = [Worker(index, plan) for index in range(count)]
        self.errors: dict[int, WorkerError] = {}
        self.starters = [threading.Thread(target=self._start, args=(w,), daemon=True) for w in self.workers]
        for starter in self.starters:
            starter.start()

    def _start(self, worker: Worker) -> None:
        try:
            worker.start()
        except WorkerError as error:
            self.errors[worker.index] = error

    def get(self, index: int) -> Worker:
        """Worker ``index`` once started. Raises WorkerError if it could not start."""
        self.starters[index].join()
        if index in self.errors:
            raise self.errors[index]
        return self.workers[index]

    def close(self) -> None:
        for starter in self.starters:
            starter.join()
        for worker in self.workers:
            worker.close()


def _start_pool(course: Course, assignment: str, settings: Settings,
                students: list[str] | None) -> WorkerPool:
    """Start as many workers as there are notebooks to run (at most ``settings.workers``)."""
    names = students if students is not None else course.students(assignment)
    runnable = sum((course.submitted_dir(s, assignment) / f"{assignment}.ipynb").is_file() for s in names)
    plan = sandbox.plan(settings.sandbox) if runnable else sandbox.SandboxPlan("none", "", False)
    count = min(settings.workers or cpu_count(), runnable) if runnable else 0
    return WorkerPool(count, plan)


def _run_local(course: Course, template: Template, todo: list[str], settings: Settings,
               digest: str, pool: WorkerPool) -> Any:
    """Yield ``(student, outcome, grader_error)`` as submissions finish, on local workers."""
    count = len(pool.workers)
    jobs: queue.Queue[str | None] = queue.Queue()
    for student in todo:
        jobs.put(student)
    results: queue.Queue[tuple[str, Outcome | None, str | None]] = queue.Queue()
    fatal: list[BaseException] = []

    def work(index: int) -> None:
        try:
            worker = pool.get(index)
        except WorkerError as error:
            fatal.append(error)
            return
        while True:
            try:
                student = jobs.get_nowait()
            except queue.Empty:
                return
            folder = course.submitted_dir(student, template.assignment)
            try:
                outcome = grade_notebook(template, student, folder, _worker_runner(worker),
                                         settings, digest)
                results.put((student, outcome, None))
            except WorkerError as error:
                fatal.append(error)
                results.put((student, None, str(error)))
                return
            except Exception as error:  # a grader bug must not stop the class
                log.exception("grading %s failed", student)
                results.put((student, None, f"{type(error).__name__}: {error}"))

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    received = 0
    while received < len(todo):
        try:
            item = results.get(timeout=0.5)
        except queue.Empty:
            if any(t.is_alive() for t in threads) or not results.empty():
                continue
            while True:  # every worker is gone: what is left was not graded
                try:
                    student = jobs.get_nowait()
                except queue.Empty:
                    break
                results.put((student, None, "no grading worker is running"))
            if results.empty():
                break
            continue
        received += 1
        yield item
    for thread in threads:
        thread.join()
    if count and len(fatal) == count:
        raise CourseError(f"no grading worker could start: {fatal[0]}")
