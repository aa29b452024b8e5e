"""Runs submissions inside the sandbox: a warm *zygote* that forks one child per submission.

The zygote starts once per grading worker, imports numpy, torch, matplotlib,
IPython and nnlab, and then waits for jobs on stdin. For each attempt at a
job it forks a *driver*, which forks the child that drops privileges,
applies resource limits and runs the submission. The driver then leads the
child through the job one request at a time (see :mod:`autograder.protocol`):
every cell, an integrity check, then the grader's check calls (the *probes*),
each with its own budget (SIGINT, then SIGKILL) and each answered by exactly
one reply carrying the request's token. It turns each reply into a message
of its own to the grader; a line from the child that is malformed,
unsolicited, duplicated or out of phase becomes a :class:`~protocol.Violation`
and nothing else. When a cell or probe has to be killed (or kills the
process), the zygote runs the notebook again without it, so the rest is
still graded.

The probes (hidden tests' parameters included) are asked from the grader by
the driver only once the attempt's cells have run, so no process that ran
student code before that point ever held them, and the zygote never does.

Nothing here decides a grade: the grader judges the probes' records in its
own process (see :mod:`autograder.verify`).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import sys
import time
from typing import Any

from autograder import protocol
from autograder.child import child_main, die_with_parent

#: seconds between SIGINT and SIGKILL for a unit that overran its budget.
GRACE = 2.0
#: attempts per job (each skips the units that had to be killed).
MAX_ATTEMPTS = 6
#: the zygote's (and its drivers') channel to the grader.
OUT = 1

_TIMEOUT = object()


def _send(message: protocol.Message) -> None:
    protocol.write(OUT, message)


class Attempt:
    """One forked child running a job, led request by request by this (driver) process."""

    def __init__(self, job: protocol.Job, skip: set[str], notebook_deadline: float,
                 grader: protocol.LineReader) -> None:
        self.job, self.skip, self.notebook_deadline, self.grader = job, skip, notebook_deadline, grader
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(request_write)
            os.close(reply_read)
            child_main(job, request_read, reply_write)
        os.close(request_read)
        os.close(reply_write)
        self.pid, self.requests, self.replies = pid, request_write, reply_read
        self.buffer = b""
        self.eof = False
        self.unit: str | None = None  # "cell:3" / "probe:1" while it runs
        self.status: int | None = None
        self.interrupted: list[str] = []
        self.finished = False  # the child answered every request
        self.relayed = 0
        self.killed: tuple[str | None, str] | None = None  # (unit, why)

    def drive(self) -> None:
        """Every cell, an integrity check, the probes, the finish: one request and reply each."""
        limits = self.job.limits
        for cell in self.job.cells:
            unit = f"cell:{cell['index']}"
            if unit in self.skip:
                continue
            done = self.ask(protocol.RunCell(_token(), cell["index"], cell["source"]), unit,
                            float(limits["cell_timeout"]))
            if not isinstance(done, protocol.CellDone):
                return
            _send(protocol.CellResult(done.index, done.outputs, done.error, done.over, done.dt))
        report = self.ask(protocol.CheckIntegrity(_token()), None, float(limits["check_timeout"]))
        if not isinstance(report, protocol.IntegrityReport):
            return
        _send(protocol.IntegrityResult("cells", report.changes))
        _send(protocol.ProbesWanted())
        probes = protocol.decode(self.grader.read() or b"", (protocol.Probes,))
        assert isinstance(probes, protocol.Probes)
        for k, probe in enumerate(probes.probes):
            unit = f"probe:{k}"
            if unit in self.skip:
                continue
            done = self.ask(protocol.RunProbe(_token(), k, probe["name"], probe["functions"],
                                              probe["params"]), unit, float(limits["check_timeout"]))
            if not isinstance(done, protocol.ProbeDone):
                return
            _send(protocol.ProbeResult(done.k, done.record, done.ename, done.evalue, done.dt))
            _send(protocol.IntegrityResult(unit, done.changes))
        end = self.ask(protocol.Finish(_token()), None, float(limits["check_timeout"]))
        if isinstance(end, protocol.Finished):
            _send(protocol.IntegrityResult("end", end.changes))
            self.finished = True
            self.drain()

    def ask(self, request: Any, unit: str | None, budget: float) -> protocol.Message | None:
        """Send ``request``; return its one reply, or None when the child ended or was killed.

        Every other line read meanwhile becomes a :class:`protocol.Violation`.
        """
        self.unit = unit
        deadline = min(self.notebook_deadline, time.monotonic() + budget)
        if not self._request(protocol.encode(request), deadline):
            return None
        interrupted = False
        while True:
            line = self._line(deadline)
            if line is None:
                return None
            if line is _TIMEOUT:
                if interrupted or time.monotonic() >= self.notebook_deadline:
                    self._kill("timeout")
                    return None
                self._interrupt()
                interrupted = True
                deadline = time.monotonic() + GRACE
                continue
            reply = self._accept(line, request)
            if reply is not None:
                self.unit = None
                return reply

    def drain(self) -> None:
        """After the last reply: anything more the child writes before it exits is a violation."""
        deadline = time.monotonic() + GRACE
        while (line := self._line(deadline)) not in (None, _TIMEOUT):
            self._accept(line, None)

    def _accept(self, line: Any, request: Any) -> protocol.Message | None:
        """The reply to ``request`` if ``line`` is it; otherwise report why it is not."""
        try:
            message = protocol.decode(line, protocol.FROM_CHILD)
        except protocol.ProtocolError as error:
            _send(protocol.Violation(f"malformed message: {error}"[:protocol.MAX_TEXT], self.unit))
            return None
        if isinstance(message, protocol.ChildError):
            _send(message)
            return None
        expected = _REPLIES.get(type(request))
        if (expected is not None and isinstance(message, expected)
                and message.token == request.token  # type: ignore[attr-defined]
                and getattr(message, "index", None) == getattr(request, "index", None)
                and getattr(message, "k", None) == getattr(request, "k", None)):
            return message
        what = ("nothing was asked" if request is None else
                f"waiting for {expected.KIND if expected else '?'}")
        if expected is not None and isinstance(message, expected):
            what += ", with another token or unit (forged or duplicated)"
        _send(protocol.Violation(f"unsolicited {message.KIND} ({what})", self.unit))
        return None

    def _request(self, data: bytes, deadline: float) -> bool:
        """Write a request; False when the child is gone or stops reading."""
        while data:
            _, ready, _ = select.select([], [self.requests], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                self._kill("timeout")
                return False
            try:
                data = data[os.write(self.requests, data[:1 << 16]):]
            except (BrokenPipeError, OSError):
                return False
        return True

    def _line(self, deadline: float) -> Any:
        """The child's next line; ``_TIMEOUT`` at the deadline; None once it closed its end."""
        while b"\n" not in self.buffer:
            if self.eof:
                return None
            ready, _, _ = select.select([self.replies], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return _TIMEOUT
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                self.eof = True
                continue
            self.relayed += len(chunk)
            self.buffer += chunk
            limit = 2 * int(self.job.limits["max_output_bytes"]) + 50_000_000
            if self.relayed > limit or len(self.buffer) > protocol.MAX_LINE:
                self._kill("output")
                self.eof = True
                return None
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def _interrupt(self) -> None:
        if self._at_process_cap():
            _send(protocol.Limit("processes", self.unit))
        self._signal(signal.SIGINT)
        if self.unit is not None:
            self.interrupted.append(self.unit)
        _send(protocol.Interrupted(self.unit))

    def _at_process_cap(self) -> bool:
        """True when the submission holds (nearly) all the processes it may have."""
        uid = self.job.uid
        if uid is None:
            return False
        count = 0
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                continue
        return count >= 0.9 * int(self.job.limits["max_processes"])

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

    def _kill(self, why: str) -> None:
        self.killed = (self.unit, why)
        self._signal(signal.SIGKILL)

    def reap(self) -> protocol.Exit:
        """Wait for the child (killing what is left of it) and say how it ended."""
        if self.finished:  # it was told to finish: give it a moment to exit on its own
            deadline = time.monotonic() + GRACE
            while not self._exited(block=False) and time.monotonic() < deadline:
                time.sleep(0.01)
        self._signal(signal.SIGKILL)  # anything left in its process group
        self._exited(block=True)
        os.close(self.requests)
        os.close(self.replies)
        status = self.status
        assert status is not None
        _kill_leftovers(self.job.uid)
        unit, killed = self.killed if self.killed else (self.unit, None)
        if os.WIFSIGNALED(status) and not (self.finished and not self.killed):
            return protocol.Exit(unit, self.finished, signal=signal.Signals(os.WTERMSIG(status)).name,
                                 killed=killed)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0
        return protocol.Exit(unit, self.finished, code=code, killed=killed)


_REPLIES: dict[type, type] = {
    protocol.RunCell: protocol.CellDone, protocol.CheckIntegrity: protocol.IntegrityReport,
    protocol.RunProbe: protocol.ProbeDone, protocol.Finish: protocol.Finished,
}


def _token() -> str:
    return secrets.token_hex(16)


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
            _send(result)
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
        _send(protocol.Attempt(attempt, list(skip)))
        summary = _run_attempt(job, skip, notebook_deadline, grader)
        if summary is None:
            _send(protocol.Exit(None, False, code=70))
            break
        culprit = summary["culprit"]
        if summary["clean"] or time.monotonic() >= notebook_deadline or culprit is None \
                or culprit in skip:
            break  # done, out of time, or died outside any cell or probe: nothing to skip
        # skip what killed it, and what overran its budget: a hang costs its budget only once
        skip += [u for u in [*summary["interrupted"], culprit] if u not in skip]
    _clear(job.workdir)
    _clear(job.tmp)
    _send(protocol.JobEnd())


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
    _send(protocol.Ready(os.getpid(), os.getuid()))
    grader = protocol.LineReader(0)
    while (line := grader.read()) is not None:
        request = protocol.decode(line, protocol.TO_ZYGOTE)
        if isinstance(request, protocol.Quit):
            break
        assert isinstance(request, protocol.Job)
        run_job(request, grader)


if __name__ == "__main__":
    main()
