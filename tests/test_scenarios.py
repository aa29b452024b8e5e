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

from autograder.course.layout import Course
from autograder.sandbox import protocol
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


def _grade_scenario_class(tmp_path_factory, test_course, name: str, *options: str) -> dict:
    """Write the scenario class into a fresh course, grade it through the CLI and export it."""
    course_dir = tmp_path_factory.mktemp(name)
    outside = tmp_path_factory.mktemp(f"outside-{name}") / "marker.txt"
    listener = Listener()
    try:
        write_class(test_course, course_dir, values={
            "repo": TEST_COURSE, "course_dir": course_dir, "port": listener.port, "outside": outside})
        result = run_cli("grade", "mini", "--course-dir", str(course_dir), "--workers", "2",
                         *options, *BUDGETS, repo=TEST_COURSE)
        run_cli("export", "--course-dir", str(course_dir), repo=TEST_COURSE)
    finally:
        listener.close()
    with open(course_dir / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    return {"rows": rows, "course_dir": course_dir, "outside": outside, "listener": listener,
            "stdout": result.stdout}


@pytest.fixture(scope="session")
def graded(tmp_path_factory, test_course):
    """Grade the scenario class once; yield what the tests inspect."""
    yield _grade_scenario_class(tmp_path_factory, test_course, "scenario-course")


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
    from autograder.grading.isolation import choose
    from autograder.grading.worker import Worker

    worker = Worker(0, choose("bwrap"))
    cells = ["import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)",
             "import os\nwhile True:\n    os.fork()"]
    limits = {"cell_timeout": 3, "notebook_timeout": 60, "check_timeout": 3, "memory_mb": 512,
              "cpu_seconds": 60, "max_processes": 32, "max_output_bytes": 10_000, "max_file_bytes": 10**6}
    try:
        result = worker.run({"cells": [{"index": i, "source": c} for i, c in enumerate(cells)],
                             "probes": [], "limits": limits}, tmp_path)
        assert isinstance(result.events[-1], protocol.JobEnd)
        leftovers = [p.name for p in Path("/proc").iterdir()
                     if p.name.isdigit() and _uid(p) == worker.uid]
        assert leftovers == []
    finally:
        worker.close()


def test_no_state_reaches_the_next_submission(tmp_path: Path) -> None:
    """A warm worker runs submission after submission: nothing one leaves is seen by the next."""
    require_sandbox()
    from autograder.grading.isolation import choose
    from autograder.grading.worker import Worker

    limits = {"cell_timeout": 10, "notebook_timeout": 60, "check_timeout": 5, "memory_mb": 512,
              "cpu_seconds": 60, "max_processes": 32, "max_output_bytes": 100_000, "max_file_bytes": 10**6}
    leave = ("import os, numpy, builtins\nopen('/tmp/left.txt', 'w').write('x')\n"
             "open('left.txt', 'w').write('x')\nnumpy.left_behind = 1\nbuiltins.left_behind = 1\n"
             "os.environ['LEFT_BEHIND'] = '1'")
    look = ("import os, numpy, builtins\nprint('SEEN:', [os.path.exists('/tmp/left.txt'), "
            "os.path.exists('left.txt'), hasattr(numpy, 'left_behind'), "
            "hasattr(builtins, 'left_behind'), 'LEFT_BEHIND' in os.environ])")
    worker = Worker(0, choose("bwrap"))
    try:
        outputs = []
        for source in (leave, look):
            result = worker.run({"cells": [{"index": 0, "source": source}], "probes": [],
                                 "limits": limits}, tmp_path)
            outputs += [json.dumps(e.outputs) for e in result.events if isinstance(e, protocol.CellResult)]
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


# --- links, names, caps and LMS downloads (issue: nothing from a submission is trusted) ------------

LINKED = ("notebook-links-to-solution", "folder-links-to-solution", "student-folder-links-to-solutions",
          "notebook-hard-linked-outside", "hard-link-beside-notebook", "notebook-is-a-fifo")


@pytest.mark.parametrize("student, says", [
    ("notebook-links-to-solution", "submitted/notebook-links-to-solution/mini/mini.ipynb is a symbolic link"),
    ("folder-links-to-solution", "submitted/folder-links-to-solution/mini is a symbolic link"),
    ("student-folder-links-to-solutions", "submitted/student-folder-links-to-solutions is a symbolic link"),
    ("notebook-hard-linked-outside", "mini/mini.ipynb is a hard link"),
    ("hard-link-beside-notebook", "mini/data.txt is a hard link"),
    ("notebook-is-a-fifo", "mini/mini.ipynb is a FIFO"),
])
def test_links_are_refused_with_a_reason_and_nothing_is_copied(graded: dict, student: str, says: str) -> None:
    reason = graded["rows"][student]["reason"]
    assert says in reason and reason.endswith("nothing was read through it")
    assert not (graded["course_dir"] / "autograded" / student).exists()
    assert f"{student}: invalid: " in graded["stdout"]


def test_no_solution_reached_any_graded_or_feedback_file(graded: dict) -> None:
    for folder in ("autograded", "feedback"):
        for path in (graded["course_dir"] / folder).rglob("*"):
            if path.is_file():
                assert "BEGIN SOLUTION" not in path.read_text(encoding="utf-8", errors="replace"), path


def test_a_link_beside_the_notebook_is_skipped_and_said(graded: dict) -> None:
    row = graded["rows"]["symlink-beside-notebook"]
    assert "not copied (links or special files): notes.txt" in row["reason"]
    autograded = graded["course_dir"] / "autograded" / "symlink-beside-notebook" / "mini"
    assert (autograded / "mini.ipynb").is_file() and not (autograded / "notes.txt").exists()


@pytest.mark.parametrize("student, says", [
    ("200k-empty-cells", "the notebook has 200010 cells; mini accepts at most 50"),
    ("huge-cell-source", "characters, more than 100000"),
    ("saved-output-flood", "holds 600 outputs, more than 500"),
])
def test_structure_caps_say_which_cap(graded: dict, student: str, says: str) -> None:
    assert says in graded["rows"][student]["reason"]


def test_the_import_reports_dot_entries_and_writes_nothing_outside_submitted(graded: dict) -> None:
    course_dir = graded["course_dir"]
    log = (course_dir / "import-lms-dot-entries.log").read_text()
    assert "not imported: lms-dot-entries/.: unsafe path in the archive" in log
    assert "not imported: .._7_assignsubmission_file_/mini.ipynb: student id '..' is not allowed" in log
    assert not (course_dir / "mini").exists()
    log = (course_dir / "import-lms-symlink-entry.log").read_text()
    assert "lms-symlink-entry/mini.ipynb: a symbolic link in the archive" in log
    assert sorted(p.name for p in (course_dir / "submitted" / "lms-symlink-entry" / "mini").iterdir()) == [
        "notes.txt"]


@pytest.mark.parametrize("argv", [
    pytest.param(["grade", "mini", "--student", "../../elsewhere"], id="grade-climbing-out"),
    pytest.param(["grade", "mini", "--student", "../evil"], id="grade-sibling"),
    pytest.param(["feedback", "mini", "--student", "../x"], id="feedback-climbing-out"),
])
def test_a_student_option_outside_the_course_is_refused_and_nothing_removed(graded: dict,
                                                                           argv: list[str]) -> None:
    course_dir = graded["course_dir"]
    # where submitted/<student>/mini (grade) and feedback/<student>/mini (feedback) would point
    victims = [course_dir.parent / "elsewhere" / "mini", course_dir / "evil" / "mini",
               course_dir / "x" / "mini"]
    for victim in victims:
        victim.mkdir(parents=True, exist_ok=True)
        (victim / "mini.ipynb").write_text("{}")
    result = run_cli(*argv, "--course-dir", str(course_dir), repo=TEST_COURSE, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"student id '{argv[-1]}' is not allowed" in result.stderr
    assert all((victim / "mini.ipynb").read_text() == "{}" for victim in victims)


def test_feedback_stays_bounded_with_200k_cell_notebooks(graded: dict) -> None:
    """The 200,000-cell notebook as stock nbgrader would have autograded it is refused before
    nbconvert; the same notebook beside a graded one (a student's scratch file) is never rendered."""
    from tests.scenarios import _with_empty_cells

    huge = _with_empty_cells(200_000)(Course.at(repo=TEST_COURSE))
    course_dir = graded["course_dir"]
    (course_dir / "autograded" / "stock-200k" / "mini").mkdir(parents=True)
    (course_dir / "autograded" / "stock-200k" / "mini" / "mini.ipynb").write_text(huge)
    (course_dir / "autograded" / "correct" / "mini" / "scratch.ipynb").write_text(huge)
    result = run_cli("feedback", "mini", "--student", "stock-200k", "--course-dir", str(course_dir),
                     repo=TEST_COURSE, check=False, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("no feedback for stock-200k: the autograded notebook is refused: the notebook has "
            "200010 cells") in result.stderr
    assert not (course_dir / "feedback" / "stock-200k").exists()
    run_cli("feedback", "mini", "--student", "correct", "--course-dir", str(course_dir),
            repo=TEST_COURSE, timeout=300)
    assert sorted(p.name for p in (course_dir / "feedback" / "correct" / "mini").iterdir()) == ["mini.html"]
def test_forged_channel_lines_never_pass_for_the_graders_own(graded: dict) -> None:
    """Issue 15, 1a and 1c: forgeries are refused, named in the reason, and change no verdict."""
    forged = graded["rows"]["forged-integrity-line"]["reason"]
    assert "numpy.allclose" in forged and "wrote into the grader's channel" in forged
    malformed = graded["rows"]["malformed-channel-line"]["reason"]
    assert "unknown message kind 'interrupted'" in malformed and "not JSON" in malformed


def test_hidden_parameters_and_inputs_never_reach_the_students_outputs(graded: dict, test_course) -> None:
    """Issue 15, 1b: nothing printed or written while the checks run reaches the graded notebook."""
    from autograder.course.leaks import hidden_input_values, hidden_parameter_texts, output_leaks
    from autograder.grading.assignment import load_assignment

    template = load_assignment(test_course, "mini")
    path = graded["course_dir"] / "autograded" / "smuggled-hidden-inputs" / "mini" / "mini.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert output_leaks(notebook, parameters=hidden_parameter_texts(template),
                        inputs=hidden_input_values(template)) == []
    outputs = _outputs(graded, "smuggled-hidden-inputs")
    assert "FOUND BEFORE CHECKS: []" in outputs  # the cells ran before any check was sent
    assert "SMUGGLED" not in outputs and "INPUT" not in outputs


def test_a_numpy_exercise_answered_with_torch_names_the_torch_function(graded: dict) -> None:
    """Issue 15, 8: the check fails with the function named; a torch demo cell is not affected."""
    reason = graded["rows"]["torch-answers"]["reason"]
    assert "torch.relu" in reason and "numpy only" in reason
    assert "your function calls torch" in _outputs(graded, "torch-answers")
    assert "demo: 0.5" in _outputs(graded, "torch-in-a-demo-cell")
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


def test_pruned_and_full_grading_agree_on_every_scenario(graded, tmp_path_factory, test_course) -> None:
    """The class above is graded with only the cells a score can depend on (the default); graded
    again with ``--full`` (every cell), every scenario, the integrity cases included, gets the same
    status and score."""
    rows = _grade_scenario_class(tmp_path_factory, test_course, "scenario-course-full",
                                 "--full")["rows"]
    full = {student: (row["status"], row["auto_score"]) for student, row in rows.items()}
    pruned = {student: (row["status"], row["auto_score"]) for student, row in graded["rows"].items()}
    differ = {student: (graded["rows"][student]["reason"], rows[student]["reason"])
              for student in full if pruned.get(student) != full[student]}
    assert pruned == full, f"reasons (pruned, full): {differ}"
