"""Judge a submission's probes in the grader's own process and write test-cell outputs.

The records come from the sandbox; the references come from torch here. A test cell scores
only if every check call in it (hidden ones included) passes. Test cells are not run in the
student's kernel (their calls run as probes), so a test cell's stored outputs are the
grader's verdict alone: one passing line, or an error output listing the failures, which
is what nbgrader's ``determine_grade`` reads (an error output means no points).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

from nnlab.checks import Verdict, judge_check
from nnlab.i18n import Text

from autograder.grading.check_calls import CheckCall


@dataclass
class ProbeOutcome:
    """What the sandbox returned for one check call."""

    record: str | None = None  # the encoded record, when the call ran
    error: tuple[str, str] | None = None  # (kind, message) when it did not


@dataclass
class CellVerdict:
    """The grader's decision on one test cell."""

    grade_id: str
    points: float
    verdicts: list[tuple[CheckCall, Verdict]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and all(v.passed for _, v in self.verdicts)

    @property
    def score(self) -> float:
        return self.points if self.passed else 0.0

    @property
    def internal_errors(self) -> list[str]:
        return [v.message for _, v in self.verdicts if v.internal]

    @property
    def policy_messages(self) -> list[str]:
        """The first check of this cell failed for calling what its exercise forbids, if any."""
        lines = [f"{self.grade_id}: {v.message.splitlines()[0]}" for _, v in self.verdicts if v.policy]
        return lines[:1]


_NOT_RUN = {
    "KeyboardInterrupt": Text("did not finish within the time allowed for one check",
                              "没有在单个检查的时限内完成"),
    "not_run": Text("could not be run (the notebook's process ended before this check)",
                    "无法运行（笔记本进程在该检查之前已结束）"),
}


_BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                       if isinstance(value, type) and issubclass(value, BaseException)}


def judge_probe(call: CheckCall, outcome: ProbeOutcome, *, language: str) -> Verdict:
    """A verdict for one call, from its record or from why it has none."""
    if outcome.record is not None:
        verdict = judge_check(call.name, outcome.record, call.params)
        if not verdict.passed and verdict.failure is not None:
            return Verdict(verdict.name, False, verdict.failure.message(language), verdict.failure,
                           verdict.internal, verdict.policy, verdict.measures)
        return verdict
    kind, message = outcome.error or ("not_run", "")
    if call.hidden:  # the student's exception may carry a hidden input: name only its kind
        kind = kind if kind in _NOT_RUN or kind in _BUILTIN_EXCEPTIONS else "an exception"
        message = ""
    text = _NOT_RUN.get(kind) or Text(f"could not be run ({kind}" + (f": {message})" if message else ")"),
                                      f"无法运行（{kind}" + (f"：{message}）" if message else "）"))
    prefix = f"[hidden check {call.name}] " if call.hidden else ""
    name = ", ".join(call.functions.values()) or call.name
    return Verdict(call.name, False, f"{prefix}{name}: {text.render(language)}")


#: where an autograded test cell keeps what the grader's judges measured (``cell.metadata``):
#: ``[{"check": name, "hidden": bool, "measures": {"accuracy": 0.47}}, ...]``, for the
#: instructor's report (:mod:`autograder.course.insight`); not shown in feedback.
MEASURES_KEY = "nnlab_measures"


def cell_measures(cell: CellVerdict) -> list[dict[str, Any]]:
    """What the judges of one test cell measured, one entry per check call that measured."""
    return [{"check": call.name, "hidden": call.hidden, "measures": dict(v.measures)}
            for call, v in cell.verdicts if v.measures]


def verdict_outputs(cell: CellVerdict, *, language: str) -> list[dict[str, Any]]:
    """The stored outputs of a test cell: one line per passing cell, the failures otherwise.

    An error output means no points to nbgrader's ``determine_grade``; nothing else
    (no stderr, no number that could read as partial credit) is written.
    """
    total = len(cell.verdicts)
    if cell.passed:
        line = (f"✓ grader: all {total} checks of this cell passed" if language == "en"
                else f"✓ 评分：本单元格的 {total} 项检查全部通过")
        passed = [f"✓ {v.name}" for call, v in cell.verdicts if not call.hidden]
        return [{"output_type": "stream", "name": "stdout", "text": "\n".join([*passed, line]) + "\n"}]
    failures = [v.message for _, v in cell.verdicts if not v.passed]
    head = (f"grader: {len(failures)} of {total} checks of this cell failed" if language == "en"
            else f"评分：本单元格的 {total} 项检查中有 {len(failures)} 项未通过")
    return [{
        "output_type": "error",
        "ename": "CheckFailed",
        "evalue": head,
        "traceback": [head, *failures],
    }]
