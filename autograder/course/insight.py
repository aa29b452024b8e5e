"""What a class misunderstood: per-check pass rates and the commonest failure causes of one assignment.

Read only from what grading left behind: the gradebook (scores, written answers
still to grade), the grader's ``autograder_status`` table (statuses, reasons,
times) and the autograded notebooks, whose test cells carry the grader's verdict
(``✓ grader: all N checks passed`` or one message per failed check, each with
the check's *likely cause*). The instructor's notebook says which checks each
test cell runs and which are hidden, so a failure is attributed to its check
and pass rates are counted per check, visible and hidden apart.

Failures are grouped by the check's cause text (the message's ``Likely cause``
line, or what went wrong when a check has no cause), counted in students, and
shown with one example message; no student id is attached to a cause.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.course.grade_rows import Row, gradebook_rows
from autograder.course.layout import Course
from autograder.grading.check_calls import CheckCall, CheckCallError, parse_test_cell

_HIDDEN = re.compile(r"^\[(?:hidden check|隐藏测试) (?P<name>[^\]]+)\] ")
_CAUSE = re.compile(r"^(?:Likely cause|可能原因): (?P<cause>.+)$", re.M)
_PASSED = ("✓ grader:", "✓ 评分：")
_NOT_STARTED = ("not implemented yet", "尚未实现")  # nnlab.checks.compare.value_of
#: statuses whose autograded notebook holds no verdicts to learn from.
_NO_NOTEBOOK = ("missing", "invalid", "ungraded")


@dataclass
class CheckStat:
    """One check call of a test cell, over the class.

    Attributes:
        cell: the test cell's grade id.
        name: the check's name.
        hidden: whether it is a hidden test.
        runs: submissions whose notebook was judged.
        passed: how many of them passed it.
    """

    cell: str
    name: str
    hidden: bool
    runs: int = 0
    passed: int = 0

    @property
    def rate(self) -> float | None:
        return self.passed / self.runs if self.runs else None


@dataclass
class Cause:
    """One failure cause of one check: how many students it hit and an example message."""

    check: str
    text: str
    students: set[str] = field(default_factory=set)
    example: str = ""
    hidden_only: bool = True

    @property
    def count(self) -> int:
        return len(self.students)

    @property
    def not_started(self) -> bool:
        """An exercise left as released (``raise NotImplementedError``): not a misunderstanding."""
        return self.text.endswith(_NOT_STARTED)


@dataclass
class AssignmentInsight:
    """Everything the report shows about one assignment."""

    assignment: str
    rows: list[Row]
    checks: list[CheckStat]
    causes: list[Cause]
    seconds: dict[str, float]
    pending_cells: int = 0
    #: check -> measure -> student -> value: what the grader's judges measured on hidden checks
    #: (e.g. ``predict``'s accuracy on the hidden split), averaged over a student's hidden calls.
    hidden_measures: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    @property
    def statuses(self) -> dict[str, list[str]]:
        """status -> the students with it."""
        found: dict[str, list[str]] = defaultdict(list)
        for row in self.rows:
            found[row.status].append(row.student_id)
        return dict(sorted(found.items()))

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.seconds.values()) if self.seconds else None

    def slowest(self, n: int = 3) -> list[tuple[str, float]]:
        return sorted(self.seconds.items(), key=lambda item: -item[1])[:n]

    @property
    def pending_submissions(self) -> int:
        return sum(row.needs_manual_grade for row in self.rows)


def test_cells(course: Course, assignment: str) -> dict[str, list[CheckCall]]:
    """grade id -> the check calls of each autograded test cell of the instructor's notebook."""
    notebook = json.loads(course.source_notebook(assignment).read_text(encoding="utf-8"))
    cells = {}
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            try:
                cells[meta["grade_id"]] = parse_test_cell(source, where=f"{assignment} {meta['grade_id']}")
            except CheckCallError:
                cells[meta["grade_id"]] = []
    return cells


def failures_of(cell: dict[str, Any]) -> list[str] | None:
    """The failure messages in an autograded test cell; [] when all passed, None if not judged."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error" and output.get("ename") == "CheckFailed":
            return [str(line) for line in output.get("traceback", [])[1:]]
        text = output.get("text", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        if any(mark in text for mark in _PASSED):
            return []
    return None


def attribute(message: str, calls: list[CheckCall],
              taken: frozenset[int] = frozenset()) -> tuple[int | None, str]:
    """The index of the call a failure message belongs to, and the message's cause text.

    Several calls of one check in a cell (two hidden ones, say) give the same kind of
    message: each failure goes to the first such call not ``taken`` by an earlier one.
    """
    head = message.splitlines()[0] if message else ""
    hidden = _HIDDEN.match(head)
    cause = _CAUSE.search(message)
    body = head[hidden.end():] if hidden else head
    text = cause.group("cause").strip() if cause else re.sub(r"\s*\(.*\)\s*$", "", body).strip()
    if hidden:
        chosen = [i for i, c in enumerate(calls) if c.hidden and c.name == hidden.group("name")]
    else:
        label = body.split(":")[0].strip()
        chosen = [i for i, c in enumerate(calls)
                  if not c.hidden and label in (c.name, *c.functions.values())]
        chosen = chosen or [i for i, c in enumerate(calls) if not c.hidden]
    free = [i for i in chosen if i not in taken]
    return ((free or chosen)[0] if chosen else None), text


def _judge_cell(student: str, grade_id: str, calls: list[CheckCall], messages: list[str] | None,
                stats: dict[tuple[str, int], CheckStat], causes: dict[tuple[str, str], Cause]) -> None:
    failed: Counter[int] = Counter()
    for message in messages if messages is not None else []:
        index, text = attribute(message, calls, frozenset(failed))
        if index is None:
            continue
        call = calls[index]
        failed[index] += 1
        cause = causes.setdefault((call.name, text), Cause(call.name, text, example=message))
        cause.students.add(student)
        cause.hidden_only = cause.hidden_only and call.hidden
    for index in range(len(calls)):
        stat = stats[(grade_id, index)]
        stat.runs += 1
        # a cell that was not judged (its notebook stopped first) passed none of its checks
        stat.passed += int(messages is not None and not failed[index])


def collect(course: Course, assignment: str) -> AssignmentInsight:
    """The report's numbers for one assignment of the course folder."""
    from autograder.course.gradebook import Store

    rows = gradebook_rows(course, [assignment])
    cells = test_cells(course, assignment)
    stats = {(g, i): CheckStat(g, c.name, c.hidden) for g, calls in cells.items()
             for i, c in enumerate(calls)}
    causes: dict[tuple[str, str], Cause] = {}
    measured: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        if row.status in _NO_NOTEBOOK:
            continue
        path = course.autograded_dir(row.student_id, assignment) / f"{assignment}.ipynb"
        graded = _graded_cells(path)
        for grade_id, calls in cells.items():
            _judge_cell(row.student_id, grade_id, calls, failures_of(graded.get(grade_id, {})),
                        stats, causes)
        for check, values in hidden_measures_of(graded.values()).items():
            for measure, value in values.items():
                measured.setdefault(check, {}).setdefault(measure, {})[row.student_id] = value
    store = Store(course)
    try:
        seconds = {student: float(status["seconds"] or 0)
                   for (name, student), status in store.statuses().items() if name == assignment}
        pending = _pending_cells(store, assignment)
    finally:
        store.close()
    ranked = sorted(causes.values(), key=lambda c: (c.not_started, -c.count, c.check, c.text))
    return AssignmentInsight(assignment, rows, list(stats.values()), ranked, seconds, pending, measured)


def hidden_measures_of(cells: Any) -> dict[str, dict[str, float]]:
    """check -> measure -> mean over the hidden calls, from what the grader wrote into test cells.

    Read from ``metadata[verify.MEASURES_KEY]``, which the grader writes when it judges
    (and removes from whatever the submission sent), never from the submission's outputs.
    """
    from autograder.grading.judging import MEASURES_KEY

    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for cell in cells:
        entries = cell.get("metadata", {}).get(MEASURES_KEY) if isinstance(cell, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not (isinstance(entry, dict) and entry.get("hidden")
                    and isinstance(entry.get("measures"), dict)):
                continue
            for measure, value in entry["measures"].items():
                if isinstance(value, (int, float)):
                    values[(str(entry.get("check")), measure)].append(float(value))
    found: dict[str, dict[str, float]] = {}
    for (check, measure), numbers in values.items():
        found.setdefault(check, {})[measure] = statistics.fmean(numbers)
    return found


def _graded_cells(path: Path) -> dict[str, dict[str, Any]]:
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {cell["metadata"]["nbgrader"]["grade_id"]: cell for cell in notebook.get("cells", [])
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")}


def _pending_cells(store: Any, assignment: str) -> int:
    """Written answers formgrader still shows as needing a grade."""
    try:
        submissions = store.gradebook.find_assignment(assignment).submissions
    except Exception:  # nbgrader's MissingEntry: nothing graded yet
        return 0
    return sum(1 for s in submissions for nb in s.notebooks for g in nb.grades
               if g.needs_manual_grade)


def course_assignments(course: Course) -> list[str]:
    """Assignments with grades in the course folder's gradebook, in lecture order."""
    from autograder.course.gradebook import Store

    if not course.db_path.is_file():
        return []
    store = Store(course)
    try:
        graded = {name for name, _ in store.statuses()}
    finally:
        store.close()
    return [name for name in course.assignments() if name in graded]
