"""Grade a class: every submission of an assignment, in parallel, resumable.

Workers (sandboxed zygotes, :mod:`~autograder.grading.local`, or Dask workers,
:mod:`~autograder.grading.cluster`) run submissions side by side; the gradebook is written
by this thread only, so SQLite never sees two writers. A submission whose files and
assignment have not changed since it was last graded to completion is skipped, so a run
that was killed can simply be started again: nothing is graded twice, nothing is lost.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import safefs
from autograder.course.gradebook import Store
from autograder.course.identifiers import identifier_problem
from autograder.course.layout import Course, CourseError, check_identifier
from autograder.course.settings import Settings, load_settings
from autograder.grading.assignment import load_assignment
from autograder.grading.cluster import run_on_cluster
from autograder.grading.fingerprint import refusal_digest, submission_digest, template_digest
from autograder.grading.local import Result, run_local, start_pool
from autograder.grading.outcome import Outcome
from autograder.grading.progress import Progress
from autograder.grading.template import Template

log = logging.getLogger("autograder")


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
    # the workers start first: they warm up (torch, the checks) while this process loads the same
    pool = None if scheduler else start_pool(course, assignment, settings, students)
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
        todo, refused = _sort_out(course, template, _wanted(course, store, assignment, students),
                                  store.completed(assignment), digest, force=force, report=report)
        bar = Progress(total=len(todo) + len(refused), label=f"grading {assignment}", enabled=progress)
        if scheduler:
            results: Iterator[Result] = run_on_cluster(scheduler, course, template, todo, settings, digest)
        else:
            assert pool is not None
            report.sandbox_warning = pool.isolation.warning
            if pool.isolation.warning:
                log.warning("%s", pool.isolation.warning)
            results = run_local(course, template, todo, settings, pool)
        _record(course, store, report, bar, itertools.chain(refused, results))
        return report
    finally:
        store.close()
        if pool is not None:
            pool.close()


def _wanted(course: Course, store: Store, assignment: str, students: list[str] | None) -> list[str]:
    """The students to grade: those asked for, or every folder and every gradebook student."""
    known = [s for s in store.known_students() if identifier_problem(s) is None]
    everyone = sorted(set(course.students(assignment)) | set(known))
    if students is None:
        return everyone
    unknown = sorted(set(students) - set(everyone))
    if unknown:
        log.warning("no submission folder for %s: recorded as missing", ", ".join(unknown))
    return students


def _record(course: Course, store: Store, report: ClassReport, bar: Progress,
            results: Iterable[Result]) -> None:
    """Write each result to the gradebook as it comes (this thread only) and to the report."""
    for student, outcome, error in results:
        if error is None and outcome is not None:
            try:
                store.record(outcome, course.submitted_dir(student, report.assignment))
            except CourseError as problem:  # e.g. autograded/<student> is a link: keep going
                error = str(problem)
        if error is not None or outcome is None:
            report.errors.append((student, str(error)))
            bar.advance(failed=True, note=f"{student}: grader error")
            continue
        report.graded.append(outcome)
        bar.advance(failed=outcome.status != "ok", note=f"{student}: {outcome.status}")
    bar.close()


def _sort_out(course: Course, template: Template, wanted: list[str], done: dict[str, str], digest: str,
              *, force: bool, report: ClassReport) -> tuple[list[tuple[str, str]], list[Result]]:
    """``(student, fingerprint)`` to run, and outcomes of those refused before anything is
    read; unchanged ones (same fingerprint as their last completed grading) go to
    ``report.skipped``. Each submission's fingerprint is computed here, once."""
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
            todo.append((student, current))
    return todo, refused


def _ignored(course: Course, assignment: str, store: Store) -> list[tuple[str, str]]:
    """Folders of ``submitted/`` and gradebook ids that are not valid student ids, with why."""
    found = course.ignored_folders(assignment)
    found += [(s, f"gradebook id: {why}") for s in store.known_students()
              if (why := identifier_problem(s))]
    for name, why in found:
        log.warning("not a student id, not graded: %r (%s)", name, why)
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
    return Outcome(student=student, assignment=template.assignment, status="invalid", reason=reason,
                   digest=refusal_digest(digest, reason), max_auto=template.max_auto,
                   max_manual=template.max_manual)
