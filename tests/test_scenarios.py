"""The scenario suite: every attack and fault graded through the real CLI, in one class.

The class (see tests/scenarios.py) is graded once per session with small
budgets; each test then reads the exported CSV, the gradebook or the
autograded notebook of one scenario.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from tests.conftest import TEST_COURSE, require_sandbox, run_cli, sandbox_available
from tests.scenarios import SCENARIOS, Scenario, write_class

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("scenarios")]

BUDGETS = ["--cell-timeout", "3", "--check-timeout", "3", "--notebook-timeout", "90",
           "--memory-mb", "768", "--max-output-bytes", "200000", "--no-progress"]


class Listener:
    """A TCP server on the host's loopback that records whoever connects."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="session")
def graded(tmp_path_factory, test_course):
    """Grade the scenario class once; yield what the tests inspect."""
    course_dir = tmp_path_factory.mktemp("scenario-course")
    outside = tmp_path_factory.mktemp("outside") / "marker.txt"
    listener = Listener()
    try:
        write_class(test_course, course_dir, values={
            "repo": TEST_COURSE, "course_dir": course_dir, "port": listener.port, "outside": outside})
        result = run_cli("grade", "mini", "--course-dir", str(course_dir), "--workers", "2",
                         *BUDGETS, repo=TEST_COURSE)
        run_cli("export", "--course-dir", str(course_dir), repo=TEST_COURSE)
    finally:
        listener.close()
    with open(course_dir / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    yield {"rows": rows, "course_dir": course_dir, "outside": outside, "listener": listener,
           "stdout": result.stdout}


def _outputs(graded: dict, student: str) -> str:
    path = graded["course_dir"] / "autograded" / student / "mini" / "mini.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps([c.get("outputs", []) for c in notebook["cells"]])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_status_and_score(graded: dict, scenario: Scenario) -> None:
    if scenario.needs_sandbox:
        require_sandbox()
    row = graded["rows"][scenario.name]
    assert (row["status"], float(row["auto_score"])) == (scenario.status, scenario.score), (
        f"{scenario.name}: got {row['status']} {row['auto_score']} ({row['reason']})")
    if scenario.status != "ok":
        assert row["reason"], "a non-ok status must say why"


def test_every_student_is_exported_once(graded: dict) -> None:
    assert sorted(graded["rows"]) == sorted(s.name for s in SCENARIOS)
    assert all(row["max_auto_score"] == "3" and row["max_score"] == "4" for row in graded["rows"].values())


def test_reasons_say_what_happened(graded: dict) -> None:
    rows = graded["rows"]
    assert "test_relu_forward" in rows["edited-test-cell"]["reason"]
    assert "deleted" in rows["deleted-test-cell"]["reason"]
    assert "duplicated" in rows["duplicated-test-cell"]["reason"]
    assert "moved" in rows["moved-test-cell"]["reason"]
    assert "numpy.allclose" in rows["numpy-monkeypatch"]["reason"]
    assert "nnlab.checks.check" in rows["patched-check-helper"]["reason"]
    assert "memory" in rows["memory-bomb"]["reason"]
    assert "output" in rows["output-flood"]["reason"]
    assert "JSON" in rows["invalid-json"]["reason"]
    assert "format 3" in rows["old-nbformat"]["reason"]
    assert "mini.ipynb" in rows["missing"]["reason"]
    assert "SIGSEGV" in rows["segfault"]["reason"]


def test_submissions_cannot_read_course_files(graded: dict) -> None:
    require_sandbox()
    assert '"READABLE: []' in _outputs(graded, "read-solutions-and-gradebook")


def test_submissions_cannot_write_outside_their_folder(graded: dict) -> None:
    require_sandbox()
    assert '"WRITTEN: []' in _outputs(graded, "write-outside-submission")
    assert not graded["outside"].exists()
    assert not (TEST_COURSE / "solutions" / "mini" / "pwned.txt").exists()
    assert not (graded["course_dir"] / "pwned.txt").exists()


def test_submissions_have_no_network(graded: dict) -> None:
    require_sandbox()
    assert "NO NETWORK" in _outputs(graded, "network-access")
    assert graded["listener"].connections == 0


def test_output_flood_is_truncated(graded: dict) -> None:
    stored = _outputs(graded, "output-flood")
    assert len(stored) < 400_000
    assert "output stopped" in stored


def test_hang_costs_only_its_budget_and_later_cells_still_run(graded: dict) -> None:
    outputs = _outputs(graded, "loop-ignoring-interrupts")
    assert "was skipped" in outputs  # the unkillable cell is reported, the rest graded
    assert graded["rows"]["loop-ignoring-interrupts"]["auto_score"] == "3"


def test_input_fails_its_cell_with_a_clear_message(graded: dict) -> None:
    assert "input() is not available while the notebook is graded" in _outputs(graded, "input-call")


def test_no_process_outlives_a_submission(tmp_path: Path) -> None:
    """Fork bombs and daemons leave nothing running under the submission's user id."""
    require_sandbox()
    if os.getuid() != 0:
        pytest.skip("submissions run under their own user id only when the grader is root")
    from autograder.sandbox import plan
    from autograder.worker import Worker

    worker = Worker(0, plan("bwrap"))
    cells = ["import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)",
             "import os\nwhile True:\n    os.fork()"]
    limits = {"cell_timeout": 3, "notebook_timeout": 60, "check_timeout": 3, "memory_mb": 512,
              "cpu_seconds": 60, "max_processes": 32, "max_output_bytes": 10_000, "max_file_bytes": 10**6}
    try:
        result = worker.run({"cells": [{"index": i, "source": c} for i, c in enumerate(cells)],
                             "probes": [], "limits": limits}, tmp_path)
        assert result.events[-1] == {"t": "job_end"}
        leftovers = [p.name for p in Path("/proc").iterdir()
                     if p.name.isdigit() and _uid(p) == worker.uid]
        assert leftovers == []
    finally:
        worker.close()


def test_no_state_reaches_the_next_submission(tmp_path: Path) -> None:
    """A warm worker runs submission after submission: nothing one leaves is seen by the next."""
    require_sandbox()
    from autograder.sandbox import plan
    from autograder.worker import Worker

    limits = {"cell_timeout": 10, "notebook_timeout": 60, "check_timeout": 5, "memory_mb": 512,
              "cpu_seconds": 60, "max_processes": 32, "max_output_bytes": 100_000, "max_file_bytes": 10**6}
    leave = ("import os, numpy, builtins\nopen('/tmp/left.txt', 'w').write('x')\n"
             "open('left.txt', 'w').write('x')\nnumpy.left_behind = 1\nbuiltins.left_behind = 1\n"
             "os.environ['LEFT_BEHIND'] = '1'")
    look = ("import os, numpy, builtins\nprint('SEEN:', [os.path.exists('/tmp/left.txt'), "
            "os.path.exists('left.txt'), hasattr(numpy, 'left_behind'), "
            "hasattr(builtins, 'left_behind'), 'LEFT_BEHIND' in os.environ])")
    worker = Worker(0, plan("bwrap"))
    try:
        outputs = []
        for source in (leave, look):
            result = worker.run({"cells": [{"index": 0, "source": source}], "probes": [],
                                 "limits": limits}, tmp_path)
            outputs += [json.dumps(e) for e in result.events if e.get("t") == "done"]
        assert "SEEN: [False, False, False, False, False]" in outputs[-1]
    finally:
        worker.close()


def _uid(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except FileNotFoundError:
        return None


def test_failing_checks_explain_themselves_in_the_autograded_notebook(graded: dict) -> None:
    outputs = _outputs(graded, "wrong")
    assert "relu_forward: output: values differ from torch" in outputs
    assert "ReLU outputs 0 for negative inputs" in outputs
    hidden = "[hidden check relu_forward]"
    assert hidden in outputs and "expected mean" not in outputs.split(hidden)[1].split('"')[0]


def test_sandbox_status_is_reported(graded: dict) -> None:
    if sandbox_available():
        assert "bubblewrap is not available" not in graded["stdout"]


@pytest.mark.parametrize("student, words", [
    ("timestamp-zone-path", "not of the form"),
    ("timestamp-long-zone", "at most 64"),
    ("timestamp-600kb-digits", "at most 64"),
    ("timestamp-words", "not of the form"),
    ("timestamp-not-text", "not UTF-8"),
    ("timestamp-impossible-date", "not a real time"),
])
def test_an_unusable_timestamp_is_recorded_with_its_reason_and_graded_as_none(
        graded: dict, student: str, words: str) -> None:
    row = graded["rows"][student]
    assert words in row["timestamp_problem"], row["timestamp_problem"]
    assert "graded as if it had no time" in row["timestamp_problem"]
    assert (row["late_by"], row["penalty"]) == ("0", "0")
    assert f"{student}: timestamp.txt" in graded["stdout"]  # grade says so too
    assert "Traceback" not in graded["stdout"]


def test_a_valid_timestamp_is_used_and_not_reported(graded: dict) -> None:
    from nbgrader.api import Gradebook

    assert graded["rows"]["timestamp-valid"]["timestamp_problem"] == ""
    with Gradebook(f"sqlite:///{graded['course_dir'] / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission("mini", "timestamp-valid")
        assert str(submission.timestamp) == "2024-01-01 00:00:00"  # 08:00 in Shanghai is 00:00 UTC
