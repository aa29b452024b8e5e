"""Folding a worker's typed events into a report, and the statuses decided from it."""

from __future__ import annotations

import pytest

from autograder.grading.events import read_events
from autograder.grading.rebuild import Rebuilt
from autograder.grading.status import decide_status
from autograder.sandbox import protocol as p


def _rebuilt(tampering: list[str] | None = None) -> Rebuilt:
    cells = [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": []}] * 3
    return Rebuilt(cells=cells, tampering=tampering or [], notes=[])


def test_cell_and_probe_durations_are_both_part_of_the_floor() -> None:
    report = read_events([
        p.Attempt(0, []),
        p.CellResult(0, [], None, False, 0.25),
        p.CellResult(2, [], None, False, 0.5),
        p.ProbeResult(0, "{}", None, None, 0.125),
        p.ProbeResult(1, None, "NameError", "x", 1.0),
    ])
    assert report.cell_seconds == {0: 0.25, 2: 0.5}
    assert report.probe_seconds == {0: 0.125, 1: 1.0}
    assert report.probes[1].error == ("NameError", "x")


def test_a_rerun_replaces_the_probes_of_the_killed_attempt() -> None:
    report = read_events([
        p.Attempt(0, []),
        p.ProbeResult(0, "{}", None, None, 3.0),
        p.Exit("probe:1", False, signal="SIGKILL", killed="timeout"),
        p.Attempt(1, ["probe:1"]),
        p.ProbeResult(0, "{}", None, None, 0.5),
    ])
    assert report.probe_seconds == {0: 0.5}
    assert report.probes[1].error == ("KeyboardInterrupt", "")
    assert report.killed == [("probe:1", "timeout")]


def test_integrity_is_the_union_of_every_point_it_was_checked_at() -> None:
    """A thread that patches numpy after the cells is seen at the next probe."""
    report = read_events([
        p.Attempt(0, []),
        p.IntegrityResult("cells", []),
        p.IntegrityResult("probe:0", ["numpy.allclose"]),
        p.IntegrityResult("end", []),  # restored before the end: still seen
        p.Exit(None, True, code=0),
    ])
    assert report.integrity == ["numpy.allclose"]
    assert decide_status(report, _rebuilt())[0] == "integrity"


def test_violations_accumulate_across_attempts_and_make_the_submission_tampered() -> None:
    report = read_events([
        p.Attempt(0, []),
        p.Violation("unsolicited integrity_report (waiting for cell_done)", "cell:1"),
        p.Exit("cell:2", False, signal="SIGKILL", killed="timeout"),
        p.Attempt(1, ["cell:2"]),
        p.Violation("malformed message: a line that is not JSON", None),
        p.Exit(None, True, code=0),
    ])
    status, reason = decide_status(report, _rebuilt())
    assert status == "tampered"
    assert "wrote into the grader's channel" in reason and "(during cell:1)" in reason
    assert "a line that is not JSON" in reason and "also:" in reason  # the timeout is kept


# (findings given, status expected): each status, and which one wins when several apply
_INTEGRITY = [p.IntegrityResult("cells", ["numpy.allclose"])]
_VIOLATION = [p.Violation("unsolicited cell_done (nothing was asked)", None)]
_CRASH = [p.Exit("cell:1", False, signal="SIGSEGV")]
_LIMIT = [p.Limit("processes", "cell:1")]
_TIMEOUT = [p.Interrupted("cell:1")]
_POLICY = ["test_relu: relu: your function calls torch (torch.relu)"]


@pytest.mark.parametrize(("events", "policy", "tampering", "expected"), [
    ([], [], [], "ok"),
    (_TIMEOUT, [], [], "timeout"),
    (_LIMIT + _TIMEOUT, [], [], "resource_limit"),
    (_CRASH + _LIMIT, [], [], "crashed"),
    (_CRASH, _POLICY, [], "policy"),
    (_VIOLATION, _POLICY, [], "tampered"),
    ([], _POLICY, ["test cell test_relu was edited"], "tampered"),
    (_INTEGRITY + _VIOLATION, _POLICY, [], "integrity"),
], ids=["ok", "timeout", "limit>timeout", "crashed>limit", "policy>crashed", "tampered(channel)>policy",
        "tampered(cells)>policy", "integrity>tampered"])
def test_status_precedence(events: list[p.Message], policy: list[str], tampering: list[str],
                           expected: str) -> None:
    report = read_events([p.Attempt(0, []), *events])
    status, reason = decide_status(report, _rebuilt(tampering), policy=policy)
    assert status == expected
    assert (reason != "") == (expected != "ok")


def test_a_policy_reason_names_the_torch_function() -> None:
    status, reason = decide_status(read_events([]), _rebuilt(), policy=_POLICY)
    assert (status, reason) == ("policy", _POLICY[0])


def test_a_hidden_check_shows_neither_the_exceptions_message_nor_an_unknown_class_name() -> None:
    """The student's exception could carry a hidden input (issue 15, 1b): only a builtin kind shows."""
    from autograder.grading.check_calls import CheckCall
    from autograder.grading.judging import ProbeOutcome, judge_probe

    hidden = CheckCall("relu_forward", {"function": "relu_forward"}, {"seed": 4242, "hidden": True})
    visible = CheckCall("relu_forward", {"function": "relu_forward"}, {"seed": 0, "hidden": False})
    for ename in ("Leak_0_4967", "SystemExit"):
        outcome = ProbeOutcome(error=(ename, "x[0] = 0.4967141530112327"))
        message = judge_probe(hidden, outcome, language="en").message
        assert "0.4967" not in message and "Leak" not in message
        assert "0.4967" in judge_probe(visible, outcome, language="en").message
    assert "SystemExit" in judge_probe(hidden, ProbeOutcome(error=("SystemExit", "")), language="en").message
