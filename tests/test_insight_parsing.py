"""Reading the grader's verdicts back out of autograded test cells (no grading needed).

The messages are made by the real ``CheckFailed.message`` and ``verdict_outputs``
the grader writes, the calls by the real test-cell parser.
"""

from __future__ import annotations

from nnlab.checks.spec import CheckFailed
from nnlab.i18n import Text

from autograder.course.insight import CheckStat, _judge_cell, attribute, failures_of
from autograder.grading.check_calls import parse_test_cell

CELL = ('check("sigmoid_forward", sigmoid_forward)\n'
        'check("sigmoid_forward", sigmoid_forward, seed=2024, shape=(7, 3), hidden=True)\n'
        'check("sigmoid_forward", sigmoid_forward, seed=77, shape=(1, 33), hidden=True)\n')
CALLS = parse_test_cell(CELL, where="test")


def _message(*, hidden: bool, cause: str | None, language: str = "en") -> str:
    failure = CheckFailed(Text("sigmoid_forward: output", "sigmoid_forward：输出"),
                          Text("values differ from torch", "与 torch 的结果不同"),
                          Text("3 of 21 values differ", "21 个值中有 3 个不同"),
                          Text(cause, cause) if cause else None, Text("compare", "对照"))
    failure.hidden, failure.check_name = hidden, "sigmoid_forward"
    return failure.message(language)


def test_each_failure_of_repeated_hidden_calls_counts_once_per_call() -> None:
    messages = [_message(hidden=True, cause="overflow"), _message(hidden=True, cause="overflow")]
    stats = {("t", i): CheckStat("t", c.name, c.hidden) for i, c in enumerate(CALLS)}
    causes: dict = {}
    _judge_cell("s1", "t", CALLS, messages, stats, causes)
    assert [(s.hidden, s.passed, s.runs) for s in stats.values()] == [(False, 1, 1), (True, 0, 1),
                                                                      (True, 0, 1)]
    (cause,) = causes.values()
    assert (cause.text, cause.count, cause.hidden_only) == ("overflow", 1, True)


def test_the_cause_line_groups_failures_and_its_absence_falls_back_to_what_went_wrong() -> None:
    assert attribute(_message(hidden=False, cause="use a stable form."), CALLS) == (
        0, "use a stable form.")
    assert attribute(_message(hidden=False, cause=None), CALLS) == (
        0, "sigmoid_forward: output: values differ from torch")
    assert attribute(_message(hidden=True, cause="稳定形式。", language="zh"), CALLS)[1] == "稳定形式。"
    assert attribute(_message(hidden=True, cause=None, language="zh"), CALLS, frozenset({1}))[0] == 2


def test_verdicts_are_read_from_the_outputs_the_grader_writes() -> None:
    passed = {"outputs": [{"output_type": "stream", "name": "stdout",
                           "text": "✓ sigmoid_forward\n✓ grader: all 3 checks of this cell passed\n"}]}
    failed = {"outputs": [{"output_type": "error", "ename": "CheckFailed", "evalue": "x",
                           "traceback": ["grader: 1 of 3 checks of this cell failed", "m1"]}]}
    assert failures_of(passed) == [] and failures_of(failed) == ["m1"]
    assert failures_of({"outputs": []}) is None  # not judged: its checks count as not passed


def test_exercises_left_as_released_are_not_counted_as_misunderstandings() -> None:
    from autograder.course.insight import Cause

    assert Cause("relu_forward", "relu_forward: output: not implemented yet").not_started
    assert Cause("relu_forward", "relu_forward：输出：尚未实现").not_started
    assert not Cause("relu_forward", "ReLU outputs 0 for negative inputs.").not_started


# --- what the judges measured (06's hidden-split accuracy) --------------------------------------

def _predict_cell(*, hidden_accuracies: list[float], visible: float = 0.5) -> dict:
    """A test cell's stored verdicts as the grader writes them: real verdicts, real metadata."""
    from nnlab.checks import Verdict

    from autograder.grading.judging import MEASURES_KEY, CellVerdict, cell_measures

    calls = parse_test_cell('check("predict", predict, tier="good")\n' + "".join(
        f'check("predict", predict, tier="good", secret_seed={900 + k}, hidden=True)\n'
        for k in range(len(hidden_accuracies))), where="test")
    verdicts = [Verdict("predict", True, measures={"accuracy": a})
                for a in [visible, *hidden_accuracies]]
    cell = CellVerdict("test_predict_good", 1.0, list(zip(calls, verdicts, strict=True)))
    return {"metadata": {MEASURES_KEY: cell_measures(cell)}}


def test_hidden_measures_average_a_students_hidden_calls_and_ignore_the_visible_one() -> None:
    from autograder.course.insight import hidden_measures_of

    found = hidden_measures_of([_predict_cell(hidden_accuracies=[0.4, 0.5], visible=0.9)])
    assert found == {"predict": {"accuracy": 0.45}}


def test_malformed_measures_are_skipped_not_trusted_or_fatal() -> None:
    from autograder.course.insight import hidden_measures_of
    from autograder.grading.judging import MEASURES_KEY

    cells = [{"metadata": {MEASURES_KEY: "0.99"}}, {"metadata": {MEASURES_KEY: [
        {"check": "predict", "hidden": True, "measures": {"accuracy": "high"}},
        {"check": "predict", "hidden": False, "measures": {"accuracy": 1.0}}, 7]}}, "not a cell"]
    assert hidden_measures_of(cells) == {}

