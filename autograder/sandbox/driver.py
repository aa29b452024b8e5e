"""The driver: leads one attempt's child through a job, one request and one reply at a time.

Forked by the zygote (see :mod:`autograder.sandbox.zygote`) for each attempt, the driver forks the
child that runs the submission, then sends it every cell, an integrity check, and the
grader's check calls (the *probes*), each with its own budget (SIGINT, then SIGKILL) and a
fresh token. It accepts exactly one reply per request, of the matching kind, token and unit,
and turns it into a message of its own to the grader; any other line from the child
(malformed, unsolicited, duplicated, out of phase) becomes a :class:`protocol.Violation` and
nothing else. It asks the grader for the probes only once the cells have run.
``docs/sandbox-channel.md`` explains why this holds.
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import time
from typing import Any

from autograder.sandbox import protocol
from autograder.sandbox.child import child_main

#: seconds between SIGINT and SIGKILL for a unit that overran its budget.
GRACE = 2.0
#: the channel to the grader (the zygote's stdout, inherited).
OUT = 1

_TIMEOUT = object()


def send(message: protocol.Message) -> None:
    """One message to the grader."""
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
        # the child's set-up (its shell) is charged to the notebook's budget, not to a cell's
        ready = self.ask(protocol.CheckIntegrity(_token()), None,
                         self.notebook_deadline - time.monotonic())
        if not isinstance(ready, protocol.IntegrityReport):
            return
        for cell in self.job.cells:
            unit = f"cell:{cell['index']}"
            if unit in self.skip:
                continue
            done = self.ask(protocol.RunCell(_token(), cell["index"], cell["source"]), unit,
                            float(limits["cell_timeout"]))
            if not isinstance(done, protocol.CellDone):
                return
            send(protocol.CellResult(done.index, done.outputs, done.error, done.over, done.dt))
        report = self.ask(protocol.CheckIntegrity(_token()), None, float(limits["check_timeout"]))
        if not isinstance(report, protocol.IntegrityReport):
            return
        send(protocol.IntegrityResult("cells", report.changes))
        send(protocol.ProbesWanted())
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
            send(protocol.ProbeResult(done.k, done.record, done.ename, done.evalue, done.dt))
            send(protocol.IntegrityResult(unit, done.changes))
        end = self.ask(protocol.Finish(_token()), None, float(limits["check_timeout"]))
        if isinstance(end, protocol.Finished):
            send(protocol.IntegrityResult("end", end.changes))
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
            send(protocol.Violation(f"malformed message: {error}"[:protocol.MAX_TEXT], self.unit))
            return None
        if isinstance(message, protocol.ChildError):
            send(message)
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
        send(protocol.Violation(f"unsolicited {message.KIND} ({what})", self.unit))
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
            send(protocol.Limit("processes", self.unit))
        self._signal(signal.SIGINT)
        if self.unit is not None:
            self.interrupted.append(self.unit)
        send(protocol.Interrupted(self.unit))

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
        kill_leftovers(self.job.uid)
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


def kill_leftovers(uid: int | None) -> None:
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
