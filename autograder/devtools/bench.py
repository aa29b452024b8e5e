"""``make bench``: stock ``nbgrader autograde`` against this grader, same class, same machine, same run.

For every notebook it builds a class (perfect, blank, wrong, partial and
time-out submissions in turn), grades it with stock nbgrader and twice with
``python -m autograder grade`` (``--no-full``, the default: only the cells a score can depend
on, see :mod:`autograder.grading.cell_needs`; and ``--full``, every cell), checks
that every student gets the same automatic score from all three, and prints
wall times, per-submission medians, the ratios, and how close each
submission came to its floor (the time of its own cells). Then it grades the
whole class on a Dask LocalCluster with 1 and 2 workers, and times the
explorers' redraws in a real browser when Chromium is installed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.course.layout import Course, CourseError
from autograder.course.nbgrader_bridge import generate_assignment
from autograder.devtools import classgen
from autograder.environment import path_with_this_python

#: the class's kinds of submission, in turn.
KINDS: dict[str, Callable[[Course, str], dict[str, Any]]] = {
    "perfect": classgen.perfect,
    "blank": classgen.blank,
    "wrong": classgen.wrong,
    "partial": classgen.partial,
    "timeout": lambda c, a: classgen.with_cell(classgen.perfect(c, a), "import time\ntime.sleep(3600)"),
}

#: the order kinds come in: one submission in ten hangs, as in a real class.
PATTERN = ("perfect", "blank", "wrong", "partial", "perfect", "wrong", "blank", "partial", "perfect",
           "timeout")

#: per-cell timeout given to both graders (the time-out submissions cost this much in each).
BENCH_CELL_TIMEOUT = 10


@dataclass
class Timing:
    """One grader's run over one notebook's class."""

    wall: float
    per_submission: list[float] = field(default_factory=list)
    cells: list[float] = field(default_factory=list)  # own cell time per submission (ours only)
    scores: dict[str, float] = field(default_factory=dict)


def write_bench_class(course: Course, assignment: str, course_dir: Path, size: int) -> list[str]:
    students = []
    for i in range(size):
        kind = PATTERN[i % len(PATTERN)]
        student = f"{kind}-{i:03d}"
        classgen.write_submission(course_dir, student, assignment, KINDS[kind](course, assignment))
        students.append(student)
    return students


def _env(course_dir: Path) -> dict[str, str]:
    return {**os.environ, "NNLAB_COURSE_DIR": str(course_dir),
            "PATH": path_with_this_python(os.environ.get("PATH"))}


def run_stock(course: Course, assignment: str, course_dir: Path) -> Timing:
    """``nbgrader autograde`` as an instructor runs it; per-submission times from its log."""
    generate_assignment(Course(course.repo, course_dir), assignment,
                        release_dir=course_dir / "release-unused")
    command = [str(Path(sys.executable).parent / "nbgrader"), "autograde", assignment, "--force",
               f"--ExecutePreprocessor.timeout={BENCH_CELL_TIMEOUT}",
               f"--Execute.timeout={BENCH_CELL_TIMEOUT}", "--log-level=INFO"]
    marks: list[float] = []
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=course.repo, env=_env(course_dir), text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    for line in process.stderr:
        if "Sanitizing" in line:
            marks.append(time.monotonic())
    process.wait()
    finished = time.monotonic()
    marks.append(finished)
    timing = Timing(wall=finished - started,
                    per_submission=[b - a for a, b in zip(marks, marks[1:])])
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        for submission in gradebook.find_assignment(assignment).submissions:
            timing.scores[submission.student.id] = float(submission.code_score)
    return timing


def run_ours(course: Course, assignment: str, course_dir: Path, *, workers: int | None = None,
             scheduler: str | None = None, full: bool = False) -> Timing:
    """``python -m autograder grade`` as an instructor runs it (``full``: every cell, ``--full``)."""
    command = [sys.executable, "-m", "autograder", "grade", assignment, "--course-dir", str(course_dir),
               "--force", "--no-progress", "--cell-timeout", str(BENCH_CELL_TIMEOUT)]
    command.append("--full" if full else "--no-full")
    if workers:
        command += ["--workers", str(workers)]
    if scheduler:
        command += ["--scheduler", scheduler]
    started = time.monotonic()
    result = subprocess.run(command, cwd=course.repo, env=_env(course_dir), text=True,
                            capture_output=True)
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise CourseError(f"autograder grade failed:\n{result.stdout}\n{result.stderr}")
    with sqlite3.connect(course_dir / "gradebook.db") as db:
        rows = db.execute("SELECT student, auto_score, seconds, cell_seconds FROM autograder_status "
                          "WHERE assignment = ?", (assignment,)).fetchall()
    return Timing(wall=wall, per_submission=[r[2] for r in rows], cells=[r[3] for r in rows],
                  scores={r[0]: float(r[1]) for r in rows})


def _same_scores(assignment: str, students: list[str], runs: dict[str, dict[str, float]]) -> None:
    """Raise when two runs give any student different scores."""
    (first, a), (second, b) = runs.items()
    differ = {s: (a.get(s), b.get(s)) for s in students if a.get(s) != b.get(s)}
    if differ:
        raise CourseError(f"{assignment}: scores differ ({first}, {second}): {differ}")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _solution_run_all(course: Course, assignment: str, scratch: Path) -> float:
    """Seconds the solution's cells take (one perfect submission, graded alone)."""
    course_dir = scratch / f"runall-{assignment}"
    classgen.write_submission(course_dir, "solution", assignment, classgen.perfect(course, assignment))
    return run_ours(course, assignment, course_dir, workers=1, full=True).cells[0]


def run_bench(*, per_notebook: int = 40, assignments: list[str] | None = None, workers: int | None = None,
              dask_workers: list[int] | tuple[int, ...] = (1, 2), skip_stock: bool = False,
              echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Run the benchmark and print its tables; return the numbers.

    Raises:
        CourseError: when two runs disagree on any student's score, or a grading run fails; the
            scratch folder with every class is then kept and named in the message.
    """
    course = Course.at()
    chosen = assignments or course.assignments()
    results: dict[str, Any] = {"notebooks": {}, "dask": {}}
    scratch, scratch_kept = Path(tempfile.mkdtemp(prefix="nnlab-bench-")), False
    try:
        echo(f"bench: {per_notebook} submissions per notebook ({', '.join(PATTERN)} in turn), "
             f"cell timeout {BENCH_CELL_TIMEOUT} s, {os.cpu_count()} CPUs\n")
        header = (f"{'notebook':18} {'run-all':>8} {'stock':>8} {'full':>8} {'pruned':>8} {'full×':>6} "
                  f"{'pruned×':>7} {'stock/sub':>10} {'pruned/sub':>10} {'cells/sub':>9} {'over floor':>10}")
        echo(header)
        echo("-" * len(header))
        totals = {"stock": 0.0, "full": 0.0, "ours": 0.0}
        for assignment in chosen:
            run_all = _solution_run_all(course, assignment, scratch)
            ours_dir, stock_dir = scratch / f"ours-{assignment}", scratch / f"stock-{assignment}"
            students = write_bench_class(course, assignment, ours_dir, per_notebook)
            full = run_ours(course, assignment, ours_dir, workers=workers, full=True)
            ours = run_ours(course, assignment, ours_dir, workers=workers)
            row: dict[str, Any] = {"run_all": run_all, "ours": ours, "full": full}
            _same_scores(assignment, students, {"full": full.scores, "pruned": ours.scores})
            stock_text = full_ratio = ratio_text = stock_sub = "-"
            if not skip_stock:
                shutil.copytree(ours_dir / "submitted", stock_dir / "submitted")
                stock = run_stock(course, assignment, stock_dir)
                row["stock"] = stock
                _same_scores(assignment, students, {"stock": stock.scores, "pruned": ours.scores})
                totals["stock"] += stock.wall
                stock_text = f"{stock.wall:7.1f}s"
                full_ratio, ratio_text = f"{stock.wall / full.wall:5.2f}x", f"{stock.wall / ours.wall:6.2f}x"
                stock_sub = f"{_median(stock.per_submission):9.2f}s"
            totals["ours"] += ours.wall
            totals["full"] += full.wall
            overhead = [s - c for s, c in zip(ours.per_submission, ours.cells)]
            echo(f"{assignment:18} {run_all:7.2f}s {stock_text:>8} {full.wall:7.1f}s {ours.wall:7.1f}s "
                 f"{full_ratio:>6} {ratio_text:>7} {stock_sub:>10} {_median(ours.per_submission):9.2f}s "
                 f"{_median(ours.cells):8.2f}s {_median(overhead):9.2f}s")
            results["notebooks"][assignment] = row
        if totals["stock"]:
            echo(f"\nwhole class: stock {totals['stock']:.1f}s, full {totals['full']:.1f}s "
                 f"({totals['stock'] / totals['full']:.2f}x), pruned {totals['ours']:.1f}s "
                 f"({totals['stock'] / totals['ours']:.2f}x); identical scores in all three")
        echo("(run-all: the solution's own cells; full: --full, every cell; pruned: the default, only "
             "the cells a score can depend on; ×: stock time / ours; over floor: median pruned "
             "per-submission time minus the submission's own cell time)\n")
        if dask_workers:
            results["dask"] = _bench_dask(course, chosen, scratch, per_notebook, list(dask_workers), echo)
        results["widgets"] = _bench_widgets(echo)
        return results
    except CourseError as error:  # kept, to see why: the autograded notebooks and the gradebooks
        scratch_kept = True
        raise CourseError(f"{error}\nthe bench's classes are kept in {scratch}") from error
    finally:
        if not scratch_kept:
            shutil.rmtree(scratch, ignore_errors=True)


def _bench_dask(course: Course, chosen: list[str], scratch: Path, per_notebook: int,
                sizes: list[int], echo: Callable[[str], Any]) -> dict[int, float]:
    """Grade the first notebook's class on LocalClusters of each size; print throughput."""
    from distributed import LocalCluster

    assignment = chosen[0]
    walls: dict[int, float] = {}
    for size in sizes:
        course_dir = scratch / f"dask{size}-{assignment}"
        write_bench_class(course, assignment, course_dir, per_notebook)
        with LocalCluster(n_workers=size, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=50) as cluster:
            walls[size] = run_ours(course, assignment, course_dir,
                                   scheduler=cluster.scheduler_address).wall
        echo(f"dask LocalCluster, {size} worker(s): {per_notebook} submissions of {assignment} in "
             f"{walls[size]:.1f}s ({per_notebook / walls[size]:.2f} submissions/s)")
    return walls


def _bench_widgets(echo: Callable[[str], Any]) -> dict[str, list[float]]:
    """Median slider-to-redraw latency per explorer, in a real browser (when Chromium exists)."""
    if not shutil.which("chromium"):
        echo("\nwidget latency: skipped (no chromium; apt-get install chromium)")
        return {}
    try:
        from autograder.devtools import widget_latency
    except ImportError:
        echo("\nwidget latency: not available")
        return {}
    latencies = widget_latency.measure()
    echo("\n" + widget_latency.format_table(latencies))
    return latencies

