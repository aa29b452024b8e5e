"""Shared fixtures: the small test course, running the grader's CLI, sandbox availability."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_COURSE = ROOT / "tests" / "fixtures" / "course"

os.environ.setdefault("MPLBACKEND", "Agg")


def sandbox_available() -> bool:
    from autograder.sandbox import bwrap_works

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
def test_course():
    from autograder.course import Course

    return Course.at(repo=TEST_COURSE)
