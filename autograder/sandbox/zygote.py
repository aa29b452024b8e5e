"""Runs submissions inside the sandbox: a warm *zygote* that forks one driver per attempt.

The zygote starts once per grading worker, imports numpy, torch, matplotlib,
IPython and nnlab, and then waits for jobs on stdin. For each attempt at a
job it forks a driver (:mod:`autograder.sandbox.driver`), which forks the child that
drops privileges, applies resource limits and runs the submission, and leads
it through the job one request at a time. When a cell or probe has to be
killed (or kills the process), the zygote runs the notebook again without it,
so the rest is still graded.

The probes (hidden tests' parameters included) are asked from the grader by
the driver only once the attempt's cells have run; the driver exits with its
attempt, so the zygote, from which every later attempt is forked, never holds
them.

Nothing here decides a grade: the grader judges the probes' records in its
own process (see :mod:`autograder.grading.judging`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from autograder.sandbox import protocol
from autograder.sandbox.child import die_with_parent
from autograder.sandbox.driver import Attempt, send

#: attempts per job (each skips the units that had to be killed).
MAX_ATTEMPTS = 6


def _clear(folder: str) -> None:
    import shutil

    for entry in os.scandir(folder):
        if os.path.ismount(entry.path) or _holds_mount(entry.path):
            continue  # a read-only bind (e.g. Python installed under /tmp): not ours to clear
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def _holds_mount(path: str) -> bool:
    """True when a mount point lies below ``path``."""
    prefix = os.path.realpath(path).rstrip("/") + "/"
    try:
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            return any(line.split()[1].startswith(prefix) for line in mounts)
    except OSError:
        return False


def _prepare(job: protocol.Job) -> None:
    """A fresh working folder holding only this submission's files; an empty /tmp."""
    import shutil

    _clear(job.workdir)
    _clear(job.tmp)
    shutil.copytree(job.inbox, job.workdir, symlinks=True, dirs_exist_ok=True)
    if job.uid is not None and os.getuid() == 0:
        for folder, dirs, files in os.walk(job.workdir):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(folder, name), job.uid, job.uid)
        os.chown(job.workdir, job.uid, job.uid)


def _run_attempt(job: protocol.Job, skip: list[str], notebook_deadline: float,
                 grader: protocol.LineReader) -> dict[str, Any] | None:
    """One attempt, in a driver process forked for it; returns what the retry loop needs.

    The driver is the only process that receives the probes from the grader, and it exits
    with the attempt: the zygote, from which later attempts are forked, never holds them.
    """
    summary_read, summary_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the driver
        os.close(summary_read)
        try:
            die_with_parent()
            attempt = Attempt(job, set(skip), notebook_deadline, grader)
            attempt.drive()
            result = attempt.reap()
            send(result)
            summary = {"clean": attempt.finished and result.code == 0 and not attempt.killed,
                       "culprit": result.unit, "interrupted": attempt.interrupted}
            os.write(summary_write, json.dumps(summary).encode())
        except BaseException:  # noqa: BLE001 - a driver bug: say so on stderr, end the job
            import traceback

            traceback.print_exc(file=sys.stderr)
        finally:
            os._exit(0)
    os.close(summary_write)
    data = b""
    while chunk := os.read(summary_read, 1 << 16):
        data += chunk
    os.close(summary_read)
    os.waitpid(pid, 0)
    return json.loads(data) if data else None


def run_job(job: protocol.Job, grader: protocol.LineReader) -> None:
    """Run a job to the end, re-running without any unit that had to be killed."""
    notebook_deadline = time.monotonic() + float(job.limits["notebook_timeout"])
    skip: list[str] = []
    for attempt in range(MAX_ATTEMPTS):
        _prepare(job)
        send(protocol.Attempt(attempt, list(skip)))
        summary = _run_attempt(job, skip, notebook_deadline, grader)
        if summary is None:
            send(protocol.Exit(None, False, code=70))
            break
        culprit = summary["culprit"]
        if summary["clean"] or time.monotonic() >= notebook_deadline or culprit is None \
                or culprit in skip:
            break  # done, out of time, or died outside any cell or probe: nothing to skip
        # skip what killed it, and what overran its budget: a hang costs its budget only once
        skip += [u for u in [*summary["interrupted"], culprit] if u not in skip]
    _clear(job.workdir)
    _clear(job.tmp)
    send(protocol.JobEnd())


def _warm_up() -> None:
    """Import what submissions use, once, before any fork."""
    import matplotlib

    matplotlib.use("module://matplotlib_inline.backend_inline")
    import IPython.core.interactiveshell  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import nnlab.checks
    import nnlab.widgets  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401

    # torch imports these on first use, which every forked child would pay again: each
    # torch.optim optimizer imports torch._dynamo (1.1 s), a module built on the meta device
    # the symbolic-shapes machinery (0.4 s)
    import torch._dynamo  # noqa: F401
    import torch.fx.experimental.symbolic_shapes  # noqa: F401

    from autograder.sandbox import integrity  # noqa: F401

    nnlab.checks.load_all()


def exit_when_orphaned(interval: float = 0.5) -> None:
    """End this zygote (and so its drivers and children) once the process that started it is gone.

    Not ``PR_SET_PDEATHSIG``: its "parent" is the *thread* that started the process, and the
    grader starts workers from short-lived threads, so without bubblewrap in between every
    zygote was killed right after it warmed up, and a job sent to it in that moment came back
    as "stopped responding". A thread here watches the parent process instead; it is not
    inherited by the drivers the zygote forks.
    """
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def main() -> None:
    """The zygote's loop: warm up, then run jobs from stdin until told to quit."""
    exit_when_orphaned()
    sys.stdout = sys.stderr  # stray prints during warm-up must not corrupt the protocol
    _warm_up()
    send(protocol.Ready(os.getpid(), os.getuid()))
    grader = protocol.LineReader(0)
    while (line := grader.read()) is not None:
        request = protocol.decode(line, protocol.TO_ZYGOTE)
        if isinstance(request, protocol.Quit):
            break
        assert isinstance(request, protocol.Job)
        run_job(request, grader)


if __name__ == "__main__":
    main()
