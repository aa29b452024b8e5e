"""Grade a class: every submission of an assignment, in parallel, resumable.

Workers (sandboxed zygotes) run submissions side by side; the gradebook is
written by one thread only, so SQLite never sees two writers. A submission
whose files and assignment have not changed since it was last graded to
completion is skipped, so a run that was killed can simply be started
again: nothing is graded twice, nothing is lost.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.course import safefs
from autograder.course.identifiers import identifier_problem
from autograder.course.layout import EDITIONS, Course, CourseError, check_identifier
from autograder.course.nbgrader_bridge import Store
from autograder.course.settings import Settings, load_settings
from autograder.grading import isolation as sandbox
from autograder.grading.check_calls import PlanError
from autograder.grading.grade_submission import Outcome, grade_notebook, submission_digest
from autograder.grading.progress import Progress
from autograder.grading.template import Template, load_template
from autograder.grading.worker import Worker, WorkerError

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
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (folder or id, why not a student)
    sandbox_warning: str = ""

    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.graded)


def _editions(course: Course, assignment: str) -> dict[str, Path]:
    """language -> release notebook, for every edition released."""
    found = {language: course.release_notebook(assignment, language) for language in EDITIONS}
    return {language: path for language, path in found.items() if path.is_file()}


def template_digest(course: Course, assignment: str) -> str:
    digest = hashlib.sha256()
    for path in (course.source_notebook(assignment), *_editions(course, assignment).values()):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_assignment(course: Course, assignment: str) -> Template:
    """The assignment's template, with every released edition (test cells from ``solutions/``:
    they are never translated, so every edition is graded by the same calls)."""
    course.require_assignment(assignment)
    source = course.source_notebook(assignment)
    try:
        template = load_template(course.release_notebook(assignment, "en"), source, assignment)
        for language, release in _editions(course, assignment).items():
            if language != "en":
                template.editions[language] = load_template(release, source, assignment)
    except PlanError as error:
        raise CourseError(str(error)) from None
    return template


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
    for student in students or []:
        check_identifier(student)
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
        report = ClassReport(assignment, ignored=_ignored(course, assignment, store))
        for name, why in report.ignored:
            log.warning("not a student id, not graded: %r (%s)", name, why)
        known = [s for s in store.known_students() if identifier_problem(s) is None]
        everyone = sorted(set(course.students(assignment)) | set(known))
        wanted = students if students is not None else everyone
        unknown = sorted(set(wanted) - set(everyone) - set(course.students(assignment)))
        if students is not None and unknown:
            log.warning("no submission folder for %s: recorded as missing", ", ".join(unknown))
        todo, refused = _sort_out(course, template, wanted, store.completed(assignment), digest,
                                  force=force, report=report)
        bar = Progress(total=len(todo) + len(refused), label=f"grading {assignment}", enabled=progress)
        if scheduler:
            from autograder.grading.cluster import run_on_cluster

            results = run_on_cluster(scheduler, course, template, todo, settings, digest)
        else:
            assert pool is not None
            if pool.plan.warning:
                report.sandbox_warning = pool.plan.warning
                log.warning("%s", pool.plan.warning)
            results = _run_local(course, template, todo, settings, digest, pool)
        for student, outcome, error in itertools.chain(refused, results):
            if error is None:
                try:
                    store.record(outcome, course.submitted_dir(student, assignment))
                except CourseError as problem:  # e.g. autograded/<student> is a link: keep going
                    error = str(problem)
            if error is not None:
                report.errors.append((student, error))
                bar.advance(failed=True, note=f"{student}: grader error")
                continue
            report.graded.append(outcome)
            bar.advance(failed=outcome.status != "ok", note=f"{student}: {outcome.status}")
        bar.close()
        return report
    finally:
        store.close()
        if pool is not None:
            pool.close()


def _sort_out(course: Course, template: Template, wanted: list[str], done: dict[str, str], digest: str,
              *, force: bool, report: ClassReport) -> tuple[list[str], list[tuple[str, Outcome, None]]]:
    """Students to run, and outcomes of those refused before anything is read; unchanged ones
    (same fingerprint as their last completed grading) go to ``report.skipped``."""
    todo, refused = [], []
    for student in wanted:
        outcome = refuse_links(course, template, student, digest)
        current = outcome.digest if outcome else submission_digest(
            course.submitted_dir(student, template.assignment), digest)
        if not force and done.get(student) == current:
            report.skipped.append(student)
        elif outcome is not None:
            refused.append((student, outcome, None))
        else:
            todo.append(student)
    return todo, refused


def _ignored(course: Course, assignment: str, store: Store) -> list[tuple[str, str]]:
    """Folders of ``submitted/`` and gradebook ids that are not valid student ids, with why."""
    found = course.ignored_folders(assignment)
    found += [(s, f"gradebook id: {why}") for s in store.known_students()
              if (why := identifier_problem(s))]
    return found


def refuse_links(course: Course, template: Template, student: str, digest: str) -> Outcome | None:
    """An ``invalid`` outcome when the submission must not be read (links; see :mod:`safefs`).

    Nothing is read through the link, not even for the fingerprint: the outcome's digest is
    made of the reason, so an unchanged refusal is skipped on the next run like any result.
    """
    problem = safefs.submission_problem(course, student, template.assignment)
    if problem is None:
        return None
    reason = f"{problem}; nothing was read through it"
    refused_digest = hashlib.sha256(f"{digest}\0refused\0{reason}".encode()).hexdigest()
    return Outcome(student=student, assignment=template.assignment, status="invalid", reason=reason,
                   digest=refused_digest, max_auto=template.max_auto, max_manual=template.max_manual)


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
    runnable = sum(safefs.is_plain_file(course.submitted_dir(s, assignment) / f"{assignment}.ipynb")
                   for s in names)
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
