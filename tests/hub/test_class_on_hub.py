"""A class on JupyterHub, as its people would use it, in headless Chromium through the hub's login page.

Five steps, one screenshot or more each in ``test-artifacts/hub/``:

1. student A logs in, fetches ``01_activations`` from the Assignment List, answers ``tanh_forward``
   in the notebook, runs Validate, submits;
2. student B fetches and submits the blank notebook, and cannot read A's home or the inbound;
3. the instructor logs in, opens the course's formgrader (a hub service, inside JupyterLab's
   iframe: nbgrader #1870), collects; ``python -m autograder grade`` runs as the grader account;
   the formgrader shows both scores; feedback is generated and released;
4. student A fetches feedback and sees the score; the feedback has no hidden tests;
5. the second course's student sees only their own course's assignment and cannot fetch the first
   course's; its instructor cannot open the first course's formgrader.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import warnings
from typing import Any

import pytest

from tests.hub.conftest import ARTIFACTS, ROOT, Hub

pytestmark = [pytest.mark.hub]

COURSE, OTHER = "nnlab-demo", "nnlab-demo2"
ASSIGNMENT, OTHER_ASSIGNMENT = "01_activations", "00_cnn_shapes"
#: the exercise student A answers, and the code typed into its cell.
ANSWER = "def tanh_forward(x):\n    return np.tanh(x)\n"
#: seconds for nbgrader's Validate (it runs the whole notebook as the student).
VALIDATE_TIMEOUT = 240.0
#: the budget of the hub start and the five steps on 2 cores (6 minutes). Measured 301 s on a
#: 2-core machine shared with other work, 500 s under heavier load (load average 12): over it,
#: the test warns and records the times in test-artifacts/hub/timings.json instead of failing.
BUDGET = 360.0


def _points_of(grade_id: str) -> float:
    notebook = json.loads((ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text("utf-8"))
    cells = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(cells) == 1, grade_id
    return float(cells[0]["metadata"]["nbgrader"]["points"])


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def _login(browser: Any, hub: Hub, name: str, *, then: str | None = None) -> Any:
    """A fresh browser context logged in as roster ``name`` through /hub/login.

    Without ``then`` the hub starts the user's server and JupyterLab opens; with ``then`` (a
    path such as ``/services/<course>/lab``) the login goes there instead and starts no server.
    """
    user = hub.plan.user(name)
    page = browser.new_context(viewport={"width": 1400, "height": 950}).new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{hub.url}/hub/login" + (f"?next={then}" if then else ""))
    page.fill("#username_input", user)
    page.fill("#password_input", hub.passwords[user])
    page.click("#login_submit")
    if then is None:
        page.wait_for_url(re.compile(rf"/user/{re.escape(user)}/lab"), timeout=150_000)
        page.locator("#jp-main-dock-panel").wait_for()
    else:
        page.wait_for_load_state()
    return page


def _assignment_list(page: Any) -> None:
    page.locator('.lm-MenuBar-item:has-text("Nbgrader")').first.click()
    page.locator('.lm-Menu-item:has-text("Assignment List")').first.click()
    page.locator("#released_assignments_list").wait_for()
    page.wait_for_function("() => { const e = document.querySelector('#released_assignments_list_loading');"
                           " return !e || e.offsetParent === null; }")


def _row(page: Any, list_id: str, assignment: str) -> Any:
    """The assignment's row in one of the Assignment List's lists (not its nested notebook rows)."""
    return page.locator(f"#{list_id} > .list_item", has=page.locator(f'text="{assignment}"')).first


def _fetch(page: Any) -> None:
    _assignment_list(page)
    row = _row(page, "released_assignments_list", ASSIGNMENT)
    row.locator('button:has-text("Fetch")').click()
    _row(page, "fetched_assignments_list", ASSIGNMENT).wait_for()


def _submit(page: Any) -> None:
    page.locator("#refresh_assignments_list").click()
    row = _row(page, "fetched_assignments_list", ASSIGNMENT)
    row.locator('button:has-text("Submit")').first.click()
    _row(page, "submitted_assignments_list", ASSIGNMENT).wait_for()


def _answer_and_validate(page: Any, hub: Hub, name: str) -> str:
    """Open the fetched notebook, type the answer into tanh_forward's cell, save, Validate."""
    path = f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    page.goto(f"{hub.url}/user/{hub.plan.user(name)}/lab/tree/{path}")
    page.locator(".jp-NotebookPanel").first.wait_for()
    cell = page.locator(".jp-CodeCell", has=page.locator('.cm-content:has-text("def tanh_forward")')).first
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(ANSWER)
    page.keyboard.press("Escape")
    page.keyboard.press("ControlOrMeta+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')")
    page.locator(".validate-button").first.click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=VALIDATE_TIMEOUT * 1000)
    _shot(page, "1-student-a-validate")
    text = message.inner_text()
    page.locator(".jp-Dialog .jp-mod-accept, .jp-Dialog button").last.click()
    return text


def _as(hub: Hub, name: str, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a shell command as roster account ``name`` (a real login shell of that user)."""
    return subprocess.run(["runuser", "-u", hub.plan.user(name), "--", *command],
                          capture_output=True, text=True, timeout=120)


def _grader(hub: Hub, course: str, *command: str) -> subprocess.CompletedProcess[str]:
    result = hub.setup("as-grader", course, "--", *command)
    assert result.returncode == 0, f"{' '.join(command)} as grader:\n{result.stdout}\n{result.stderr}"
    return result


def _formgrader_frame(page: Any) -> Any:
    """nbgrader's formgrader panel (an iframe) opened from the course service's JupyterLab."""
    page.locator("#jp-main-dock-panel").wait_for()
    page.locator('.lm-MenuBar-item:has-text("Nbgrader")').first.click()
    page.locator('.lm-Menu-item:has-text("Formgrader")').first.click()
    frame = page.frame_locator("iframe").first
    frame.locator("body").wait_for()
    return frame


def step_1_student_a(browser: Any, hub: Hub) -> Any:
    """Student A: fetch, answer one exercise, Validate, submit. Returns A's page (kept for step 4)."""
    alice = _login(browser, hub, "alice")
    _shot(alice, "1-student-a-lab")
    _fetch(alice)
    _shot(alice, "1-student-a-fetched")
    validation = _answer_and_validate(alice, hub, "alice")
    assert 'check("tanh_forward"' not in validation, validation[:1500]  # the answered check passes
    assert "not implemented yet" in validation, validation[:1500]  # the other exercises are still open
    _assignment_list(alice)
    _submit(alice)
    _shot(alice, "1-student-a-submitted")
    return alice


def step_2_student_b(browser: Any, hub: Hub) -> None:
    """Student B: fetch and submit blank; no access to A's home or to the inbound."""
    bob = _login(browser, hub, "bob")
    _fetch(bob)
    _submit(bob)
    _shot(bob, "2-student-b-submitted")
    a_home = hub.plan.state / "home" / hub.plan.user("alice")
    inbound = hub.plan.exchange / COURSE / "inbound"
    for target in (a_home, inbound):
        denied = _as(hub, "bob", "ls", str(target))
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, (target, denied)
    submissions = sorted(p.name.split("+")[0] for p in inbound.iterdir())
    assert submissions == [hub.plan.user("alice"), hub.plan.user("bob")], submissions
    bob.context.close()


def step_3_instructor(browser: Any, hub: Hub) -> tuple[float, float]:
    """Instructor: formgrader in the hub, collect, our grader as the grader account, scores,
    feedback. Returns A's expected score and the seconds `autograder grade` took."""
    teacher = _login(browser, hub, "teacher", then=f"/services/{COURSE}/lab")
    frame = _formgrader_frame(teacher)
    frame.locator(f'td.name:has-text("{ASSIGNMENT}")').wait_for()
    _shot(teacher, "3-formgrader-in-lab")
    _grader(hub, COURSE, "nbgrader", "collect", ASSIGNMENT)
    started = time.monotonic()
    graded = _grader(hub, COURSE, "python", "-m", "autograder", "grade", ASSIGNMENT, "--no-progress")
    grade_seconds = round(time.monotonic() - started, 2)
    print(graded.stdout, graded.stderr)
    teacher.goto(f"{hub.url}/services/{COURSE}/formgrader/manage_submissions/{ASSIGNMENT}")
    teacher.wait_for_function("() => document.querySelectorAll('td.score').length >= 2 && "
                              "[...document.querySelectorAll('td.score')].every(s => s.textContent.trim())")
    scores = {tr.locator(".student-id").inner_text().strip(): tr.locator(".score").inner_text().strip()
              for tr in teacher.locator("tbody tr").all()}
    _shot(teacher, "3-formgrader-scores")
    expected = _points_of("test_tanh_forward")
    value = {student: float(text.split("/")[0]) for student, text in scores.items()}
    assert value == {hub.plan.user("alice"): expected, hub.plan.user("bob"): 0.0}, scores
    _grader(hub, COURSE, "nbgrader", "generate_feedback", ASSIGNMENT)
    _grader(hub, COURSE, "nbgrader", "release_feedback", ASSIGNMENT)
    teacher.context.close()
    return expected, grade_seconds


def step_4_feedback(alice: Any, hub: Hub, expected: float) -> None:
    """Student A fetches feedback and sees the score; the feedback has no hidden tests."""
    _assignment_list(alice)
    row = _row(alice, "submitted_assignments_list", ASSIGNMENT)
    row.locator('button:has-text("Fetch Feedback")').click()
    row.locator('text="(view feedback)"').wait_for()
    a_home = hub.plan.state / "home" / hub.plan.user("alice")
    feedback = next((a_home / COURSE / ASSIGNMENT / "feedback").rglob(f"{ASSIGNMENT}.html"))
    alice.goto(f"{hub.url}/user/{hub.plan.user('alice')}/files/{feedback.relative_to(a_home)}")
    body = alice.locator("body").inner_text()
    _shot(alice, "4-student-a-feedback")
    assert re.search(rf"Score:\s*{expected:g}(\.0)?\s*/", body), body[:800]
    html = feedback.read_text(encoding="utf-8")
    for secret in ("HIDDEN TESTS", "hidden=True", "seed=2024"):
        assert secret not in html, f"feedback shows {secret!r}"
    alice.context.close()


def step_5_other_course(browser: Any, hub: Hub) -> None:
    """The second course's student sees only their course's assignment and cannot fetch ours;
    its instructor cannot open our formgrader."""
    carol = _login(browser, hub, "carol")
    _assignment_list(carol)
    _row(carol, "released_assignments_list", OTHER_ASSIGNMENT).wait_for()
    released = carol.locator("#released_assignments_list").inner_text()
    _shot(carol, "5-other-course-student")
    assert ASSIGNMENT not in released, released
    fetch = _as(hub, "carol", "env", f"PATH={hub.plan.bin}:/usr/bin:/bin", "HOME=/tmp",
                f"JUPYTER_CONFIG_PATH={hub.plan.state / 'etc' / 'jupyter'}",
                "nbgrader", "fetch_assignment", "--course", COURSE, ASSIGNMENT)
    assert fetch.returncode != 0, fetch.stdout + fetch.stderr
    carol.context.close()
    teacher2 = _login(browser, hub, "teacher2", then=f"/services/{OTHER}/formgrader")
    teacher2.wait_for_url(re.compile(rf"/services/{OTHER}/formgrader"))  # their own course: allowed
    answer = teacher2.goto(f"{hub.url}/services/{COURSE}/formgrader")
    _shot(teacher2, "5-other-instructor-forbidden")
    assert answer is not None and answer.status == 403, (teacher2.url, answer and answer.status)
    teacher2.context.close()


def test_class_on_the_hub(hub: Hub, browser: Any) -> None:
    timings: dict[str, float] = {"hub_start": hub.started_in}
    start = last = time.monotonic()

    def lap(step: str) -> None:
        nonlocal last
        now = time.monotonic()
        timings[step] = round(now - last, 2)
        last = now

    alice = step_1_student_a(browser, hub)
    lap("1_student_a")
    step_2_student_b(browser, hub)
    lap("2_student_b")
    expected, timings["3_grade_two_submissions"] = step_3_instructor(browser, hub)
    lap("3_instructor")
    step_4_feedback(alice, hub, expected)
    lap("4_feedback")
    step_5_other_course(browser, hub)
    lap("5_other_course")
    timings["total"] = round(time.monotonic() - start + hub.started_in, 2)
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    if timings["total"] > BUDGET:  # a measurement, not a verdict: shared machines run it slower
        warnings.warn(f"the hub test took {timings['total']:.0f} s, over its {BUDGET:.0f} s budget: "
                      f"{timings}", stacklevel=1)
