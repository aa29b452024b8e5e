"""The grader's decision core on hand-built event streams, with no sandbox and no kernel.

``decide_status`` (every status, and which wins when several apply), ``assemble`` and the
judging of probes (scores from real check records made here from right and wrong functions,
judged against torch), and the integrity watch (a real module patched and restored). Each
test runs in milliseconds; the scenario suite (tests/test_scenarios.py) proves the same
decisions end to end through the real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from nnlab.checks import codec, run_check

from autograder.course.layout import Course
from autograder.course.settings import Settings
from autograder.grading.assemble import assemble
from autograder.grading.assignment import load_assignment
from autograder.grading.events import read_events
from autograder.grading.grade_submission import grade_submission
from autograder.grading.prepare import Prepared, prepare
from autograder.grading.rebuild import Rebuilt
from autograder.grading.status import STATUSES, decide_status
from autograder.sandbox import integrity
from autograder.sandbox import protocol as p
from tests.conftest import TEST_COURSE

RELEASE = TEST_COURSE / "assignments" / "mini" / "mini.ipynb"


def _rebuilt(tampering: tuple[str, ...] = ()) -> Rebuilt:
    cells = [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": []}] * 5
    return Rebuilt(cells=cells, tampering=list(tampering), notes=[])


# one finding of each kind decide_status weighs (invalid and missing are decided before a run)
FINDINGS = {
    "integrity": dict(events=[p.IntegrityResult("cells", ["numpy.allclose"])]),
    "tampered": dict(tampering=("test cell test_relu_forward edited (original restored)",)),
    "tampered(channel)": dict(events=[p.Violation("unsolicited cell_done (nothing was asked)", "cell:1")]),
    "policy": dict(policy=["test_relu_forward: relu_forward: your function calls torch (torch.relu)"]),
    "crashed": dict(events=[p.Exit("cell:1", False, signal="SIGSEGV")]),
    "crashed(exit code)": dict(events=[p.Exit("cell:3", False, code=3)]),
    "crashed(watchdog)": dict(watchdog=True),
    "crashed(child error)": dict(events=[p.ChildError("Traceback …")]),
    "resource_limit": dict(events=[p.Limit("processes", "cell:1")]),
    "resource_limit(signal)": dict(events=[p.Exit("cell:2", False, signal="SIGXCPU")]),
    "resource_limit(output flood)": dict(events=[p.Exit("cell:2", False, signal="SIGKILL", killed="output")]),
    "resource_limit(memory error)": dict(events=[p.CellResult(
        2, [{"output_type": "error", "ename": "MemoryError", "evalue": "", "traceback": []}], "MemoryError",
        False, 0.1)]),
    "timeout": dict(events=[p.Interrupted("cell:1")]),
    "timeout(killed)": dict(events=[p.Exit("probe:0", False, signal="SIGKILL", killed="timeout")]),
}


def _decide(*names: str) -> tuple[str, str]:
    events, tampering, policy, watchdog = [p.Attempt(0, [])], (), [], False
    for name in names:
        finding = FINDINGS[name]
        events += finding.get("events", [])
        tampering += finding.get("tampering", ())
        policy += finding.get("policy", [])
        watchdog |= finding.get("watchdog", False)
    report = read_events(events, watchdog=watchdog)
    return decide_status(report, _rebuilt(tampering), policy=policy)


@pytest.mark.parametrize("name", FINDINGS)
def test_each_finding_alone_decides_its_status(name: str) -> None:
    status, reason = _decide(name)
    assert status == name.partition("(")[0]
    assert reason and " | also: " not in reason


def test_nothing_found_is_ok_with_the_rebuild_notes_as_reason() -> None:
    rebuilt = Rebuilt(cells=[], tampering=[], notes=["answer cell relu_forward appears 2 times"])
    assert decide_status(read_events([]), rebuilt) == ("ok", "answer cell relu_forward appears 2 times")


def _order(status: str) -> int:
    return STATUSES.index(status)


PAIRS = [(a, b) for a in FINDINGS for b in FINDINGS
         if _order(a.partition("(")[0]) < _order(b.partition("(")[0])]


@pytest.mark.parametrize(("stronger", "weaker"), PAIRS, ids=[f"{a}>{b}" for a, b in PAIRS])
def test_the_more_serious_status_wins_and_the_other_finding_is_kept(stronger: str, weaker: str) -> None:
    """STATUSES is the precedence, most serious first; nothing found is lost from the reason."""
    status, reason = _decide(weaker, stronger)
    assert status == stronger.partition("(")[0]
    alone = _decide(weaker)[1]
    assert " | also: " in reason and alone.split(" | ")[0].split("; ")[0] in reason.split(" | also: ")[1]


def test_the_precedence_is_the_documented_one() -> None:
    assert STATUSES == ("invalid", "missing", "integrity", "tampered", "policy", "crashed",
                        "resource_limit", "timeout", "ok")


# --- judging and assembling, on the test course's `mini` (three checks, two calls each) ---

@pytest.fixture(scope="module")
def mini() -> tuple:
    template = load_assignment(Course.at(repo=TEST_COURSE), "mini")
    notebook = json.loads(RELEASE.read_text(encoding="utf-8"))
    return template, prepare(template, notebook, Settings())


RIGHT = {"relu_forward": lambda x: np.maximum(x, 0.0), "relu_backward": lambda dout, x: dout * (x > 0),
         "tanh_forward": np.tanh}
WRONG = {**RIGHT, "relu_backward": lambda dout, x: dout}  # passes gradient where x < 0


def _probe_events(prepared: Prepared, functions: dict) -> list[p.Message]:
    """What the sandbox would report: one real record per probe, made here."""
    events: list[p.Message] = [p.Attempt(0, [])]
    for k, (_, call) in enumerate(prepared.probes):
        chosen = {role: functions[name] for role, name in call.functions.items()}
        record = run_check(call.name, chosen, codec.decode(codec.encode(call.params)))
        events.append(p.ProbeResult(k, record, None, None, 0.01))
    return events


def test_right_functions_score_every_test_cell(mini) -> None:
    template, prepared = mini
    notebook, cells = assemble(template, prepared, read_events(_probe_events(prepared, RIGHT)), language="en")
    assert {c.grade_id: c.score for c in cells} == {c.grade_id: 1.0 for c in cells}
    assert len(cells) == 3
    test_outputs = [c["outputs"] for c in notebook["cells"]
                    if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_relu_backward"]
    assert test_outputs[0][0]["output_type"] == "stream" and "all 2 checks" in test_outputs[0][0]["text"]


def test_one_wrong_function_loses_its_cell_only_with_an_error_output(mini) -> None:
    template, prepared = mini
    notebook, cells = assemble(template, prepared, read_events(_probe_events(prepared, WRONG)), language="en")
    scores = {c.grade_id: c.score for c in cells}
    assert scores == {"test_relu_forward": 1.0, "test_relu_backward": 0.0, "test_tanh_forward": 1.0}
    outputs = next(c["outputs"] for c in notebook["cells"]
                   if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_relu_backward")
    assert outputs[0]["output_type"] == "error"  # what nbgrader's determine_grade reads as 0


def test_a_probe_with_no_record_fails_its_cell_and_a_hidden_one_hides_the_message(mini) -> None:
    template, prepared = mini
    events = _probe_events(prepared, RIGHT)
    hidden = next(k for k, (_, call) in enumerate(prepared.probes) if call.hidden)
    events[1 + hidden] = p.ProbeResult(hidden, None, "ValueError", "x[0] = 0.4967", 0.01)
    _, cells = assemble(template, prepared, read_events(events), language="en")
    failed = [c for c in cells if c.score == 0]
    assert [c.grade_id for c in failed] == [prepared.probes[hidden][0]]
    message = next(v.message for _, v in failed[0].verdicts if not v.passed)
    assert "ValueError" in message and "0.4967" not in message


def test_a_killed_probe_is_judged_as_not_finished(mini) -> None:
    template, prepared = mini
    killed = p.Exit("probe:1", False, signal="SIGKILL", killed="timeout")
    events = [*_probe_events(prepared, RIGHT)[:2], killed]
    _, cells = assemble(template, prepared, read_events(events), language="en")
    assert sum(c.score for c in cells) == 0.0  # probe 0 passed, but its cell's probe 1 did not finish


def test_a_cell_that_did_not_run_says_why_in_the_notebook(mini) -> None:
    template, prepared = mini
    first_code = prepared.job["cells"][0]["index"]
    events = [p.Attempt(0, []), p.Exit(f"cell:{first_code}", False, signal="SIGSEGV")]
    notebook, _ = assemble(template, prepared, read_events(events), language="en")
    text = notebook["cells"][first_code]["outputs"][0]["text"]
    assert text.startswith("[grader]") and "ended the notebook's process" in text


def test_script_in_an_output_never_reaches_the_instructors_browser(mini) -> None:
    template, prepared = mini
    index = prepared.job["cells"][0]["index"]
    html = {"output_type": "display_data", "data": {"text/html": "<script>steal()</script>",
                                                     "application/x-evil": "x"}, "metadata": {}}
    events = [p.Attempt(0, []), p.CellResult(index, [html], None, False, 0.1)]
    notebook, _ = assemble(template, prepared, read_events(events), language="en")
    data = notebook["cells"][index]["outputs"][0]["data"]
    assert "<script" not in data["text/html"] and "application/x-evil" not in data


# --- invalid and missing: decided before anything runs ---

def _never_run(job, folder):
    raise AssertionError("a submission that cannot be read must not be run")


@pytest.mark.parametrize(("content", "status", "why"), [
    (None, "missing", "no mini.ipynb in the submission"),
    ("{not json", "invalid", "invalid JSON"),
    (json.dumps({"nbformat": 3, "cells": []}), "invalid", "notebook format 3"),
])
def test_a_submission_that_cannot_be_read_is_never_run(tmp_path: Path, mini, content, status, why) -> None:
    template, _ = mini
    folder = tmp_path / "student" / "mini"
    folder.mkdir(parents=True)
    if content is not None:
        (folder / "mini.ipynb").write_text(content, encoding="utf-8")
    outcome = grade_submission(template, "student", folder, _never_run, Settings(), digest="d")
    assert (outcome.status, outcome.digest, outcome.scores) == (status, "d", {})
    assert why in outcome.reason


# --- integrity: a real module patched, seen, restored ---

def test_integrity_sees_a_replaced_function_and_a_hook_added_to_the_shell() -> None:
    shell = SimpleNamespace(display_pub=SimpleNamespace())
    baseline = integrity.snapshot(shell)
    assert integrity.changes(baseline, shell) == []
    original = np.allclose
    try:
        np.allclose = lambda *a, **k: True
        shell.display_pub.publish = print
        assert integrity.changes(baseline, shell) == ["numpy.allclose", "shell.display_pub.publish"]
    finally:
        np.allclose = original
    del shell.display_pub.publish
    assert integrity.changes(baseline, shell) == []
