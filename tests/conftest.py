"""Shared fixtures: the small test course, running the grader's CLI, sandbox availability, the
solution's functions, messages in Chinese, and recording the figures an explorer displays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from autograder.devtools.browser import CHROMIUM_ARGS, require_chromium

# the assertion helpers of tests/notebooks.py report like the tests that call them
pytest.register_assert_rewrite("tests.notebooks")

ROOT = Path(__file__).resolve().parent.parent
TEST_COURSE = ROOT / "tests" / "fixtures" / "course"

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` group again: pytest-xdist 3.8 marks a test's group by writing
    ``item._nodeid``, which pytest 9.2's structured node ids no longer read, so every
    ``xdist_group`` was ignored and each worker built the shared classes itself
    (pytest-dev/pytest-xdist#1386). Carry xdist's grouped id over to the structured one."""
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:  # an older pytest reads _nodeid itself
        return
    for item in items:
        grouped = getattr(item, "_nodeid", None)
        if isinstance(grouped, str) and grouped != item.nodeid and hasattr(item, "_id"):
            item._id = coerce_node_id(grouped)


def sandbox_available() -> bool:
    from autograder.grading.isolation import bwrap_works

    return bwrap_works()


def require_sandbox() -> None:
    """Skip without bubblewrap, unless CI demands it (NNLAB_REQUIRE_SANDBOX=1): then fail."""
    if sandbox_available():
        return
    if os.environ.get("NNLAB_REQUIRE_SANDBOX"):
        pytest.fail("bubblewrap is required (NNLAB_REQUIRE_SANDBOX=1) but does not work here")
    pytest.skip("bubblewrap is not installed: apt-get install bubblewrap")


def run_cli(*args: str, repo: Path | None = None, timeout: float = 900,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``python -m autograder ARGS`` as an instructor would; return the finished process."""
    env = dict(os.environ)
    if repo is not None:
        env["NNLAB_REPO"] = str(repo)
    result = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True,
                            text=True, env=env, timeout=timeout, cwd=ROOT)
    if check and result.returncode != 0:
        raise AssertionError(f"autograder {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """For the browser tests (e2e, hub): Debian's Chromium (``playwright install`` cannot download)."""
    try:
        chromium = require_chromium()
    except RuntimeError as error:
        pytest.fail(str(error))
    return {**browser_type_launch_args, "executable_path": chromium, "args": list(CHROMIUM_ARGS),
            "headless": True}


@pytest.fixture(scope="session")
def test_course():
    from autograder.course.layout import Course

    return Course.at(repo=TEST_COURSE)


@pytest.fixture(scope="module")
def ns(request) -> dict[str, Any]:
    """The solution's functions (set-up and solution cells) of the test module's ``NOTEBOOK``."""
    from tests.notebooks import solution_namespace

    return solution_namespace(request.module.NOTEBOOK)


@pytest.fixture
def chinese():
    """Messages in Chinese for the test, English again afterwards."""
    import nnlab

    nnlab.set_language("zh")
    try:
        yield
    finally:
        nnlab.set_language("en")


@pytest.fixture
def shown(monkeypatch) -> list[Any]:
    """Figures the explorers display, in order (IPython's display is replaced by a recorder)."""
    import IPython.display
    from matplotlib.figure import Figure

    figures: list[Any] = []

    def record(*objects: Any, **kwargs: Any) -> None:
        figures.extend(obj for obj in objects if isinstance(obj, Figure))

    monkeypatch.setattr(IPython.display, "display", record)
    return figures


@pytest.fixture
def live(monkeypatch, shown) -> list[Any]:
    """Explorers live (sliders and redraws, as in a Jupyter kernel).

    The result lists the figure of each redraw in order, as the live explorer renders it to
    PNG for its Image widget (a persistent figure appears once per redraw, in its current state).
    Explorers render every move here, none ahead (``explorer(..., ahead=True)``): a figure
    drawn in a background thread would change under the test that inspects it
    (``tests/test_widgets_prefetch.py`` tests rendering ahead).
    """
    import nnlab.widgets
    import nnlab.widgets.live
    import nnlab.widgets.prefetch

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("NNLAB_STATIC_WIDGETS", raising=False)
    monkeypatch.setattr(nnlab.widgets, "is_static", lambda: False)
    render = nnlab.widgets.live.render_png

    def record(figure: Any) -> bytes:
        png = render(figure)
        shown.append(figure)
        return png

    monkeypatch.setattr(nnlab.widgets.live, "render_png", record)
    monkeypatch.setattr(nnlab.widgets.prefetch.RenderAhead, "png", lambda self, values: self.render(values))
    monkeypatch.setattr(nnlab.widgets.prefetch.RenderAhead, "moved", lambda self, values, previous: None)
    return shown
