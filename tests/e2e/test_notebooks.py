"""Every notebook, student view (assignments/) and full view (solutions/), in JupyterLab 4 and
Notebook 7: Run All, then check errors, figures, widgets, explorers and the progress summary."""

from __future__ import annotations

import json
import re
import time

import pytest
from nnlab.widgets import EXPLORER_MODULES

from autograder.devtools.browser import open_notebook, run_all
from tests.e2e.conftest import APPS, ARTIFACTS, ROOT
from tests.e2e.notebook_page import (
    KNOWN_PAGE_ERRORS,
    RunAllStopped,
    cell_errors,
    exercise_explorer,
    explorers,
    full_screenshot,
    is_expected_student_error,
    rendered_images,
    run_remaining,
    save_and_read,
    saved_images,
    summary_counts,
    widget_fallbacks,
)
from tests.notebooks import notebook_ids

pytestmark = [
    pytest.mark.e2e,
    # pytest-base-url (installed with pytest-playwright) trips a pytest 9 deprecation warning
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

#: seconds for one Run All (the authoring budget is 20 s, 60 s for 05_tuning, on 2 idle cores;
#: measured here with browser, server and other work sharing them: 2-29 s).
RUN_ALL_TIMEOUT = 60.0

#: slider input: in JupyterLab PageUp/PageDown (five notches: one notch may not change a
#: figure, e.g. random-crop padding is round(8 · parameter) px); Notebook 7 takes keys at
#: document level, so there a value halfway to the farther end is typed into the readout.
SLIDER_INPUT = {"lab": "page", "notebook": "type"}

#: the full view (solutions/) and the student view (assignments/, whose demo and test cells the
#: release tags ``raises-exception`` so Run All goes on past exercises not done yet).
VIEWS = ("solutions", "assignments")


def expected_explorers(view: str, name: str) -> int:
    """How many explorers the notebook creates: cells calling ``*_explorer(`` / ``*_viewer(``."""
    notebook = json.loads((ROOT / view / name / f"{name}.ipynb").read_text(encoding="utf-8"))
    makers = [n for n in EXPLORER_MODULES if n.endswith(("explorer", "viewer"))]
    pattern = re.compile(rf"^\s*(?:{'|'.join(makers)})\(", re.M)
    return sum(len(pattern.findall("".join(c["source"]))) for c in notebook["cells"]
               if c["cell_type"] == "code")


@pytest.mark.parametrize("name", notebook_ids())
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("app", APPS)
def test_run_all(app: str, view: str, name: str, page, page_errors, server_for, fresh_notebook,
                 timings) -> None:
    server = server_for(app)
    path = fresh_notebook(server, view, name)
    start = time.monotonic()
    open_notebook(page, server, path)
    timings["open"] = round(time.monotonic() - start, 2)

    start = time.monotonic()
    run_all(page, timeout=RUN_ALL_TIMEOUT)
    timings["run_all"] = round(time.monotonic() - start, 2)
    # Jupyter stops a Run All at a cell that raises; to check the rest, run on from there.
    stops = run_remaining(page, timeout=RUN_ALL_TIMEOUT)
    timings["run_all_with_restarts"] = round(time.monotonic() - start, 2)

    notebook = save_and_read(page, server.root_dir / path)
    errors = cell_errors(notebook)
    if view == "solutions":
        assert not errors, f"{name}: cells raised in the full view: {errors}"
    else:
        unexpected = [e for e in errors if not is_expected_student_error(e[1], e[2])]
        assert not unexpected, f"{name}: cells raised something other than 'not implemented': {unexpected}"

    images = rendered_images(page)
    assert images["loaded"] == images["total"], f"{name}: {images['total'] - images['loaded']} figures " \
                                                f"did not load ({images})"
    assert images["total"] - images["in_widgets"] == saved_images(notebook), \
        f"{name}: the page shows {images['total'] - images['in_widgets']} figures outside widgets, " \
        f"the notebook has {saved_images(notebook)}"
    assert not widget_fallbacks(page), f"{name}: widgets shown as text: {widget_fallbacks(page)}"
    found = explorers(page)
    assert len(found) == expected_explorers(view, name), f"{name}: explorers on the page: {sorted(found)}"
    assert images["in_widgets"] >= len(found), f"{name}: an explorer shows no figure ({images})"

    passed, total = summary_counts(page)
    assert total > 0, f"{name}: the summary lists no checks"
    if view == "solutions":
        assert passed == total, f"{name}: full view: {passed} of {total} checks pass"
    else:
        assert passed == 0, f"{name}: student view: {passed} of {total} checks pass before any work"

    start = time.monotonic()
    problems = {explorer: exercise_explorer(page, element, how=SLIDER_INPUT[app])
                for explorer, element in found.items()}
    timings["explorers"] = round(time.monotonic() - start, 2)
    assert not any(problems.values()), f"{name}: explorers that did not redraw: {problems}"

    full_screenshot(page, ARTIFACTS / f"{app}-{view}-{name}.png")
    unknown = [e for e in page_errors if not any(k in e for k in KNOWN_PAGE_ERRORS)]
    assert not unknown, f"{name}: page errors: {unknown}"

    if stops:
        raise RunAllStopped(
            f"{name}: Run All stopped {len(stops)} times, first after code cell {stops[0]}, so a "
            "student's Run All never reaches the progress summary (is the cell tagged "
            "'raises-exception' in the release?)")

