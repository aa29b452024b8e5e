"""The process that runs one submission, forked from the zygote (see :mod:`autograder.sandbox.zygote`).

It drops privileges and applies the resource limits, then answers the
zygote's requests one at a time (see :mod:`autograder.sandbox.protocol`): run a cell
in a fresh IPython shell, capturing its outputs in nbformat form within an
output budget; report which grading machinery has been replaced; run one of
the grader's check calls (a *probe*) on the student's functions. Requests
arrive on :data:`REQUEST_FD`, replies leave on :data:`REPLY_FD`; nothing here
decides a grade.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

from autograder.sandbox import protocol

#: the file descriptor a child writes its replies to, and the one it reads requests from.
REPLY_FD = 3
REQUEST_FD = 4


class OutputLimitExceeded(BaseException):
    """Raised into a cell that printed more than the submission's output budget."""


class Capture:
    """Collects one cell's outputs in nbformat form, within a byte budget for the whole run."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.over = False
        self.outputs: list[dict[str, Any]] = []

    def _charge(self, size: int) -> bool:
        if self.over:
            return False
        self.used += size
        if self.used > self.budget:
            self.over = True
            self.outputs.append({"output_type": "stream", "name": "stderr",
                                 "text": f"\n[output stopped: more than {self.budget} bytes]\n"})
            raise OutputLimitExceeded(f"output exceeded {self.budget} bytes")
        return True

    def stream(self, name: str, text: str) -> None:
        if not text or not self._charge(len(text.encode("utf-8", "replace"))):
            return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def rich(self, kind: str, data: dict[str, Any], metadata: dict[str, Any] | None) -> None:
        data = {k: v for k, v in data.items() if isinstance(k, str)}
        size = sum(len(v) if isinstance(v, str) else len(json.dumps(v, default=str)) for v in data.values())
        if not self._charge(size):
            return
        output: dict[str, Any] = {"output_type": kind, "data": data, "metadata": metadata or {}}
        if kind == "execute_result":
            output["execution_count"] = None
        self.outputs.append(output)

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        self.outputs.append({"output_type": "error", "ename": ename, "evalue": evalue[:2000],
                             "traceback": [line[:4000] for line in traceback[-40:]]})

    def clear(self) -> None:
        self.outputs = [o for o in self.outputs if o["output_type"] == "error"]


class _Stream:
    """``sys.stdout`` / ``sys.stderr`` of a child: text goes to the current cell's capture."""

    def __init__(self, name: str, child: Child) -> None:
        self.name, self.child = name, child
        self.encoding = "utf-8"

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.child.capture.stream(self.name, text)
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return 1 if self.name == "stdout" else 2

    @property
    def closed(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def _no_input(*args: Any, **kwargs: Any) -> str:
    raise RuntimeError("input() is not available while the notebook is graded: "
                       "put the value in the code instead")


class Child:
    """Answers the zygote's requests in a forked process; every method runs in the child.

    The child never speaks first: it reads one request, does it, and writes exactly one
    reply carrying the request's token. Its writer (the reply descriptor and the functions
    that encode and write) is bound when the child starts, before any student code runs, so
    a cell that replaces ``os.write`` or ``json.dumps`` does not change what is written.
    """

    def __init__(self, job: protocol.Job, requests: protocol.LineReader, reply_fd: int) -> None:
        self.job = job
        self.requests = requests
        self.capture = Capture(int(job.limits["max_output_bytes"]))
        self.pid = os.getpid()
        self._write = protocol.write
        self._getpid = os.getpid
        self._exit = os._exit
        self._reply_fd = reply_fd
        self.probed = False

    def reply(self, message: protocol.Message) -> None:
        if self._getpid() != self.pid:  # a process the submission forked ran on into our code
            self._exit(0)
        self._write(self._reply_fd, message)

    def make_shell(self) -> Any:
        from IPython.core.displayhook import DisplayHook
        from IPython.core.displaypub import DisplayPublisher
        from IPython.core.interactiveshell import InteractiveShell

        child = self

        class Publisher(DisplayPublisher):
            def publish(self, data: Any, metadata: Any = None, source: Any = None, *,
                        transient: Any = None, update: bool = False, **kwargs: Any) -> None:
                child.capture.rich("display_data", dict(data), metadata)

            def clear_output(self, wait: bool = False) -> None:
                child.capture.clear()

        class Hook(DisplayHook):
            def write_output_prompt(self) -> None:
                pass

            def write_format_data(self, format_dict: Any, md_dict: Any = None) -> None:
                child.capture.rich("execute_result", dict(format_dict), md_dict)

            def finish_displayhook(self) -> None:
                self._is_active = False

        class Shell(InteractiveShell):
            def _showtraceback(self, etype: Any, evalue: Any, stb: list[str]) -> None:
                child.capture.error(getattr(etype, "__name__", str(etype)), str(evalue), list(stb))

        Shell.display_pub_class = Publisher
        Shell.displayhook_class = Hook
        shell = Shell.instance(colors="nocolor", history_length=0, cache_size=0)
        shell.history_manager.enabled = False
        try:
            shell.enable_matplotlib("inline")
        except Exception:  # matplotlib is optional for a submission
            pass
        return shell

    def run(self) -> None:
        """Answer requests until told to finish (or until the requests end)."""
        import builtins

        from autograder.sandbox import integrity

        shell = self.make_shell()
        builtins.input = _no_input
        baseline = integrity.snapshot(shell)
        self.changes = lambda: integrity.changes(baseline, shell)
        sys.stdout = _Stream("stdout", self)  # type: ignore[assignment]
        sys.stderr = _Stream("stderr", self)  # type: ignore[assignment]
        handlers = {protocol.RunCell: self.run_cell, protocol.CheckIntegrity: self.check_integrity,
                    protocol.RunProbe: self.run_probe}
        while True:
            line = self.requests.read()
            if line is None:
                return
            request = protocol.decode(line, protocol.TO_CHILD)
            if isinstance(request, protocol.Finish):
                self.reply(protocol.Finished(request.token, self.changes()))
                return
            handlers[type(request)](shell, request)

    def run_cell(self, shell: Any, request: protocol.RunCell) -> None:
        self.capture.outputs = []
        began = time.perf_counter()
        try:
            result = shell.run_cell(request.source, store_history=False, silent=False)
            error = result.error_before_exec or result.error_in_exec
        except OutputLimitExceeded as exc:  # raised outside the cell's own code
            error = exc
        self.reply(protocol.CellDone(
            request.token, request.index, self.capture.outputs,
            type(error).__name__[:200] if error is not None else None, self.capture.over,
            time.perf_counter() - began))

    def check_integrity(self, shell: Any, request: protocol.CheckIntegrity) -> None:
        self.reply(protocol.IntegrityReport(request.token, self.changes()))

    def run_probe(self, shell: Any, request: protocol.RunProbe) -> None:
        """Run one check call; what it prints is dropped (it may show a hidden input)."""
        from nnlab.checks import codec, run_check

        self.capture = Capture(int(self.job.limits["max_output_bytes"]))
        began = time.perf_counter()
        functions = {role: self._lookup(shell, name) for role, name in request.functions.items()}
        record = ename = evalue = None
        try:
            if not self.probed:  # the checks draw from the same seeds however many cells ran before
                self.probed = True
                seed_generators()
            record = run_check(request.name, functions, codec.decode(request.params))
        except BaseException as error:  # noqa: BLE001 - a timeout (KeyboardInterrupt) included
            ename, evalue = type(error).__name__[:200], str(error)[:500]
        self.capture = Capture(int(self.job.limits["max_output_bytes"]))
        self.reply(protocol.ProbeDone(request.token, request.k, record, ename, evalue,
                                      time.perf_counter() - began, self.changes()))

    @staticmethod
    def _lookup(shell: Any, name: str) -> Any:
        if name in shell.user_ns:
            return shell.user_ns[name]

        def missing(*args: Any, **kwargs: Any) -> Any:
            raise NameError(f"name {name!r} is not defined (was its cell run without errors?)")

        return missing


def seed_generators() -> None:
    """Seed the global generators (Python's, numpy's legacy one, torch's) with 0.

    Once when the child starts, and again before the first probe: the grader may leave out
    cells no score depends on (:mod:`autograder.grading.cell_needs`), and what those would have drawn
    must not change what a check draws.
    """
    import random

    import numpy
    import torch

    random.seed(0)
    numpy.random.seed(0)
    torch.manual_seed(0)


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (no orphaned graders or children)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _limit(resource_id: int, value: int) -> None:
    import resource

    soft, hard = value, value
    _, current_hard = resource.getrlimit(resource_id)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(resource_id, (soft, hard))


def _address_space() -> int:
    """The zygote's current virtual memory size in bytes (the child starts with the same)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _become_child(job: protocol.Job, request_fd: int, reply_fd: int) -> None:
    """Set up a forked child: descriptors, limits, identity, working folder. Runs in the child."""
    import resource

    os.setpgid(0, 0)
    die_with_parent()
    import fcntl

    # first above the targets, so neither pipe end is overwritten by the other's dup2
    reply_fd, request_fd = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (reply_fd, request_fd))
    os.dup2(reply_fd, REPLY_FD)
    os.dup2(request_fd, REQUEST_FD)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    scratch_out = os.open(os.path.join(job.tmp, ".fd-output"),
                          os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(scratch_out, 1)
    os.dup2(scratch_out, 2)
    os.closerange(REQUEST_FD + 1, 1 << 16)
    limits = job.limits
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_AS, _address_space() + int(limits["memory_mb"]) * 2**20)
    _limit(resource.RLIMIT_FSIZE, int(limits["max_file_bytes"]))
    resource.setrlimit(resource.RLIMIT_CPU, (int(limits["cpu_seconds"]), int(limits["cpu_seconds"]) + 5))
    if job.uid is not None and os.getuid() == 0:
        _limit(resource.RLIMIT_NPROC, int(limits["max_processes"]))
        os.setgroups([])
        os.setgid(job.uid)
        os.setuid(job.uid)
    os.chdir(job.workdir)
    os.environ["HOME"] = job.workdir
    signal.signal(signal.SIGINT, signal.default_int_handler)


def child_main(job: protocol.Job, request_fd: int, reply_fd: int) -> None:
    """Run a job in this (forked) process and exit; never returns."""
    code = 0
    try:
        _become_child(job, request_fd, reply_fd)
        import torch

        seed_generators()
        torch.set_num_threads(1)
        Child(job, protocol.LineReader(REQUEST_FD), REPLY_FD).run()
    except BaseException:  # noqa: BLE001 - report anything, then exit without cleanup handlers
        import traceback

        try:
            protocol.write(REPLY_FD, protocol.ChildError(traceback.format_exc()[-3000:]))
        except OSError:
            pass
        code = 70
    finally:
        os._exit(code)
