"""Runs submissions inside the sandbox: a warm *zygote* that forks one child per submission.

The zygote starts once per grading worker, imports numpy, torch, matplotlib,
IPython and nnlab, and then waits for jobs on stdin. For each job it forks a
child that drops privileges, applies resource limits, runs the notebook's
cells in a fresh IPython shell and then the grader's check calls (the
*probes*), writing events to a pipe. The zygote relays the events to the
grader on stdout and enforces the budgets: per cell, per probe and per
notebook timeouts (SIGINT, then SIGKILL), and an output cap. When a cell or
probe has to be killed (or kills the process), the zygote runs the notebook
again without it, so the rest is still graded.

Nothing here decides a grade: the grader judges the probes' records in its
own process (see :mod:`autograder.verify`).

Protocol (one JSON object per line):
    grader -> zygote: ``{"job": {...}}`` or ``{"quit": true}``
    zygote -> grader: ``{"t": "ready"}``, the child's events, ``{"t": "killed", ...}``,
    ``{"t": "exit", ...}`` per attempt, ``{"t": "job_end"}``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from typing import Any

from autograder.child import child_main, die_with_parent

#: seconds between SIGINT and SIGKILL for a unit that overran its budget.
GRACE = 2.0
#: attempts per job (each skips the units that had to be killed).
MAX_ATTEMPTS = 6
#: longest single event line the zygote relays (bytes).
MAX_EVENT_BYTES = 64_000_000


def _send(stream: Any, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


class Attempt:
    """One forked child running a job; the zygote watches its budgets."""

    def __init__(self, job: dict[str, Any], out: Any) -> None:
        self.job, self.out = job, out
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            child_main(job, write_fd)
        os.close(write_fd)
        self.pid, self.fd = pid, read_fd
        self.unit: str | None = None  # "cell:3" / "probe:1" while it runs
        self.status: int | None = None
        self.interrupted: list[str] = []
        self.finished = False  # the child reported the end of its job
        self.relayed = 0
        self.killed: tuple[str | None, str] | None = None  # (unit, why)

    def watch(self, notebook_deadline: float) -> None:
        """Relay events until the child ends, enforcing its budgets."""
        limits = self.job["limits"]
        buffer = b""
        deadline = notebook_deadline
        interrupted = False
        eof = False
        while True:
            if self._exited(block=False):
                if eof or not self._readable(0.05):
                    break
            now = time.monotonic()
            if now >= deadline:
                if interrupted or now >= notebook_deadline:
                    self._kill("timeout")
                    self._exited(block=True)
                    break
                if self._at_process_cap():
                    self._relay({"t": "limit", "what": "processes", "unit": self.unit})
                self._signal(signal.SIGINT)
                interrupted = True
                if self.unit is not None:
                    self.interrupted.append(self.unit)
                deadline = now + GRACE
                self._relay({"t": "interrupted", "unit": self.unit})
                continue
            if eof or not self._readable(min(0.5, deadline - now)):
                if eof:
                    time.sleep(min(0.05, max(0.0, deadline - now)))
                continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                eof = True  # the child closed its end; it should exit now
                deadline = min(deadline, time.monotonic() + GRACE)
                continue
            self.relayed += len(chunk)
            buffer += chunk
            if self.relayed > 2 * int(limits["max_output_bytes"]) + 50_000_000 \
                    or len(buffer) > MAX_EVENT_BYTES:
                self._kill("output")
                self._exited(block=True)
                break
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                message = self._parse(line)
                if message is None:
                    continue
                kind = message.get("t")
                if kind in ("cell", "probe"):
                    key = "i" if kind == "cell" else "k"
                    self.unit = f"{kind}:{message.get(key)}"
                    budget = limits["cell_timeout"] if kind == "cell" else limits["check_timeout"]
                    deadline = min(notebook_deadline, time.monotonic() + float(budget))
                    interrupted = False
                elif kind == "end":
                    self.finished = True
                elif kind in ("done", "record", "probe_error"):
                    self.unit = None
                    deadline = notebook_deadline
                    interrupted = False
                self._relay(message)
        os.close(self.fd)

    def _at_process_cap(self) -> bool:
        """True when the submission holds (nearly) all the processes it may have."""
        uid = self.job.get("uid")
        if uid is None:
            return False
        count = 0
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                continue
        return count >= 0.9 * int(self.job["limits"]["max_processes"])

    def _readable(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        return bool(ready)

    def _exited(self, *, block: bool) -> bool:
        if self.status is not None:
            return True
        pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        self.status = status
        return True

    def _signal(self, number: int) -> None:
        try:
            os.killpg(self.pid, number)
        except ProcessLookupError:
            pass

    def _parse(self, line: bytes) -> dict[str, Any] | None:
        if not line.strip():
            return None
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("t"), str):
            self._relay({"t": "garbage", "unit": self.unit})
            return None
        return message

    def _kill(self, why: str) -> None:
        self.killed = (self.unit, why)
        self._signal(signal.SIGKILL)

    def _relay(self, message: dict[str, Any]) -> None:
        _send(self.out, message)

    def reap(self) -> dict[str, Any]:
        self._signal(signal.SIGKILL)  # anything left in its process group
        self._exited(block=True)
        status = self.status
        _kill_leftovers(self.job.get("uid"))
        result: dict[str, Any] = {"t": "exit", "unit": self.unit, "finished": self.finished}
        if os.WIFSIGNALED(status):
            result["signal"] = signal.Signals(os.WTERMSIG(status)).name
        else:
            result["code"] = os.WEXITSTATUS(status)
        if self.killed:
            result["unit"], result["killed"] = self.killed
        return result


def _kill_leftovers(uid: int | None) -> None:
    """Kill processes a child left behind (daemons escape its process group).

    A fork bomb refills the slots as they free up, so every process of the
    submission's user is stopped first, then killed, until none is left.
    """
    if uid is None or os.getuid() != 0:
        return
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        found = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
            except OSError:
                continue
        if not found:
            break
        for number in (signal.SIGSTOP, signal.SIGKILL):
            for pid in found:
                try:
                    os.kill(pid, number)
                except OSError:
                    continue
        time.sleep(0.02)
    # reap zombies re-parented to us (we are the sandbox's init's child or init itself)
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


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


def _prepare(job: dict[str, Any]) -> None:
    """A fresh working folder holding only this submission's files; an empty /tmp."""
    import shutil

    _clear(job["workdir"])
    _clear(job["tmp"])
    shutil.copytree(job["inbox"], job["workdir"], symlinks=True, dirs_exist_ok=True)
    uid = job.get("uid")
    if uid is not None and os.getuid() == 0:
        for folder, dirs, files in os.walk(job["workdir"]):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(folder, name), uid, uid)
        os.chown(job["workdir"], uid, uid)


def run_job(job: dict[str, Any], out: Any) -> None:
    """Run a job to the end, re-running without any unit that had to be killed."""
    notebook_deadline = time.monotonic() + float(job["limits"]["notebook_timeout"])
    skip: list[str] = []
    for attempt in range(MAX_ATTEMPTS):
        job = {**job, "skip": list(skip), "attempt": attempt}
        _prepare(job)
        _send(out, {"t": "attempt", "n": attempt, "skip": skip})
        runner = Attempt(job, out)
        runner.watch(notebook_deadline)
        result = runner.reap()
        _send(out, result)
        clean = runner.finished and result.get("code") == 0 and not runner.killed
        culprit = result.get("unit")
        if clean or time.monotonic() >= notebook_deadline or culprit is None or culprit in skip:
            break  # done, out of time, or died outside any cell or probe: nothing to skip
        # skip what killed it, and what overran its budget: a hang costs its budget only once
        skip += [u for u in [*runner.interrupted, culprit] if u not in skip]
    _clear(job["workdir"])
    _clear(job["tmp"])
    _send(out, {"t": "job_end"})


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

    from autograder import child, integrity  # noqa: F401

    nnlab.checks.load_all()


def main() -> None:
    """The zygote's loop: warm up, then run jobs from stdin until told to quit."""
    die_with_parent()
    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints during warm-up must not corrupt the protocol
    _warm_up()
    _send(out, {"t": "ready", "pid": os.getpid(), "uid": os.getuid()})
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            break
        run_job(request["job"], out)


if __name__ == "__main__":
    main()
