"""Browser tests: one JupyterLab 4 and one Notebook 7 server per session, headless Debian Chromium.

Each server serves a temporary copy of the course (``nbgrader_config.py``, ``solutions/``,
``assignments/``), so nbgrader's Validate button and formgrader find the course config and
nothing is written into the repository. Every test opens its own fresh copy of a notebook.
Screenshots and per-test timings go to ``test-artifacts/e2e/`` (git-ignored).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from autograder.devtools.notebook_server import JupyterServer, start_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
APPS = ("lab", "notebook")


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


def _course_copy(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    for folder in ("solutions", "assignments"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


def _server(app: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp(f"e2e-{app}")
    server = start_server(app, _course_copy(base / "root"), home=base / "home", course_dir=base / "course")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    yield from _server("lab", tmp_path_factory)


@pytest.fixture(scope="session")
def notebook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    yield from _server("notebook", tmp_path_factory)


@pytest.fixture
def server_for(request: pytest.FixtureRequest) -> Iterator[Callable[[str], JupyterServer]]:
    """``server_for("lab")`` / ``server_for("notebook")``; the kernels a test started are shut
    down after it (each one holds torch)."""
    used: list[JupyterServer] = []

    def get(app: str) -> JupyterServer:
        server = request.getfixturevalue(f"{app}_server")
        used.append(server)
        return server

    yield get
    for server in used:
        server.shutdown_kernels()


@pytest.fixture
def fresh_notebook(request: pytest.FixtureRequest) -> Callable[[JupyterServer, str, str], str]:
    """Copy ``view/NN/NN.ipynb`` to a folder of its own under the server root; return its path
    relative to the root (outputs never accumulate, and never in the repository)."""

    def copy(server: JupyterServer, view: str, name: str) -> str:
        folder = server.root_dir / "runs" / _safe(request.node.name) / name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / view / name / f"{name}.ipynb", folder / f"{name}.ipynb")
        return str((folder / f"{name}.ipynb").relative_to(server.root_dir))

    return copy


@pytest.fixture
def page_errors(page: Any) -> list[str]:
    """Uncaught errors of the page's scripts, collected as they happen."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(60_000)
    return errors


@pytest.fixture
def timings(request: pytest.FixtureRequest) -> Iterator[dict[str, float]]:
    """Phase durations (s) a test records; appended to ``test-artifacts/e2e/timings.jsonl``."""
    phases: dict[str, float] = {}
    start = time.monotonic()
    yield phases
    phases["total"] = round(time.monotonic() - start, 2)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "timings.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps({"test": request.node.name, **phases}) + "\n")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
