"""A grading worker's sandbox lives as long as the grader, not as long as the thread that started it.

Issue 15, 9: without bubblewrap in between, the zygote asked Linux to kill it when its
parent *thread* ended (``PR_SET_PDEATHSIG``), and the grader starts workers from
short-lived threads; every zygote died right after warming up, and a job sent to it in
that moment came back as "stopped responding". Without bubblewrap on purpose in the first two
tests; with it, bubblewrap's own ``--die-with-parent`` works the same way, so the pool keeps each
starting thread alive until it closes (the third).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from autograder.grading import isolation
from autograder.grading.local import WorkerPool
from autograder.grading.worker import Worker

pytestmark = pytest.mark.slow


def test_the_sandbox_outlives_the_thread_that_started_it() -> None:
    worker = Worker(0, isolation.Isolation("none", "", False))
    try:
        starter = threading.Thread(target=worker.start)
        starter.start()
        starter.join()
        time.sleep(1.5)  # three times the zygote's orphan check interval
        assert worker.process is not None and worker.process.poll() is None
    finally:
        worker.close()


def test_a_pool_worker_is_still_warm_when_its_first_job_comes() -> None:
    """With the sandbox grading chooses here (bubblewrap where it runs): a pool worker that warmed
    up in the background was killed as its starting thread ended, and the first job started it
    again (two seconds per worker on every grading run)."""
    pool = WorkerPool(1, isolation.choose("auto"))
    try:
        worker = pool.get(0)
        time.sleep(1.5)
        assert worker.process is not None and worker.process.poll() is None, (
            f"the {pool.isolation.kind} sandbox ended after warming up")
    finally:
        pool.close()
    assert worker.process is None and not any(starter.is_alive() for starter in pool.starters)


def test_the_sandbox_ends_when_the_grader_is_killed(tmp_path) -> None:
    script = textwrap.dedent("""
        import sys
        from autograder.grading import isolation
        from autograder.grading.worker import Worker
        worker = Worker(0, isolation.Isolation("none", "", False))
        worker.start()
        print(worker.process.pid, flush=True)
        sys.stdin.read()
    """)
    grader = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        zygote = int(grader.stdout.readline())
        grader.kill()
        grader.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(zygote):
            time.sleep(0.1)
        assert not _alive(zygote)
    finally:
        grader.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
