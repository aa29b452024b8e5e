"""The process that runs one submission, forked from the zygote (see :mod:`autograder.runner`).

It drops privileges and applies the resource limits, then runs the
notebook's cells in a fresh IPython shell, capturing each cell's outputs in
nbformat form within an output budget, reports which grading machinery the
cells replaced, and finally runs the grader's check calls (the *probes*) on
the student's functions. Every step is an event written as one JSON line to
file descriptor :data:`EVENT_FD`; nothing here decides a grade.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

#: the file descriptor a child writes its events to.
EVENT_FD = 3


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
    """Executes one job in a forked process; every method runs in the child."""

    def __init__(self, job: dict[str, Any], events: Any) -> None:
        self.job = job
        self.events = events
        self.capture = Capture(int(job["limits"]["max_output_bytes"]))
        self.pid = os.getpid()

    def emit(self, message: dict[str, Any]) -> None:
        if os.getpid() != self.pid:  # a process the submission forked ran on into our code
            os._exit(0)
        self.events.write(json.dumps(message, default=str) + "\n")
        self.events.flush()

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

    def snapshot(self, shell: Any) -> dict[str, Any]:
        """The grading machinery's objects, to detect later replacement."""
        from autograder import integrity

        return integrity.snapshot(shell)

    def run(self) -> None:
        import builtins

        shell = self.make_shell()
        builtins.input = _no_input
        baseline = self.snapshot(shell)
        skip = set(self.job.get("skip", []))
        sys.stdout = _Stream("stdout", self)  # type: ignore[assignment]
        sys.stderr = _Stream("stderr", self)  # type: ignore[assignment]
        for cell in self.job["cells"]:
            index = cell["index"]
            if f"cell:{index}" in skip:
                continue
            self.capture.outputs = []
            self.emit({"t": "cell", "i": index})
            began = time.perf_counter()
            try:
                result = shell.run_cell(cell["source"], store_history=False, silent=False)
                error = result.error_before_exec or result.error_in_exec
            except OutputLimitExceeded as exc:  # raised outside the cell's own code
                error = exc
            self.emit({"t": "done", "i": index, "outputs": self.capture.outputs,
                       "error": type(error).__name__ if error is not None else None,
                       "over": self.capture.over, "dt": time.perf_counter() - began})
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        from autograder import integrity

        self.emit({"t": "integrity", "changes": integrity.changes(baseline, shell)})
        self.probe(shell, skip)
        self.emit({"t": "end"})

    def probe(self, shell: Any, skip: set[str]) -> None:
        from nnlab.checks import codec, run_check

        for k, probe in enumerate(self.job["probes"]):
            if f"probe:{k}" in skip:
                continue
            self.emit({"t": "probe", "k": k})
            began = time.perf_counter()
            functions = {role: self._lookup(shell, name) for role, name in probe["functions"].items()}
            try:
                params = codec.decode(probe["params"])
                record = run_check(probe["name"], functions, params)
            except BaseException as error:  # noqa: BLE001 - a timeout (KeyboardInterrupt) included
                self.emit({"t": "probe_error", "k": k, "ename": type(error).__name__,
                           "evalue": str(error)[:500], "dt": time.perf_counter() - began})
                continue
            self.emit({"t": "record", "k": k, "r": record, "dt": time.perf_counter() - began})

    @staticmethod
    def _lookup(shell: Any, name: str) -> Any:
        if name in shell.user_ns:
            return shell.user_ns[name]

        def missing(*args: Any, **kwargs: Any) -> Any:
            raise NameError(f"name {name!r} is not defined (was its cell run without errors?)")

        return missing


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


def _become_child(job: dict[str, Any], write_fd: int) -> None:
    """Set up a forked child: descriptors, limits, identity, working folder. Runs in the child."""
    import resource

    os.setpgid(0, 0)
    die_with_parent()
    os.dup2(write_fd, EVENT_FD)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    scratch_out = os.open(os.path.join(job["tmp"], ".fd-output"),
                          os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(scratch_out, 1)
    os.dup2(scratch_out, 2)
    os.closerange(EVENT_FD + 1, 1 << 16)
    limits = job["limits"]
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_AS, _address_space() + int(limits["memory_mb"]) * 2**20)
    _limit(resource.RLIMIT_FSIZE, int(limits["max_file_bytes"]))
    resource.setrlimit(resource.RLIMIT_CPU, (int(limits["cpu_seconds"]), int(limits["cpu_seconds"]) + 5))
    uid = job.get("uid")
    if uid is not None and os.getuid() == 0:
        _limit(resource.RLIMIT_NPROC, int(limits["max_processes"]))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    os.chdir(job["workdir"])
    os.environ["HOME"] = job["workdir"]
    signal.signal(signal.SIGINT, signal.default_int_handler)


def child_main(job: dict[str, Any], write_fd: int) -> None:
    """Run a job in this (forked) process and exit; never returns."""
    code = 0
    try:
        _become_child(job, write_fd)
        events = os.fdopen(EVENT_FD, "w", buffering=1, encoding="utf-8")
        import random

        import numpy
        import torch

        random.seed(0)
        numpy.random.seed(0)
        torch.manual_seed(0)
        torch.set_num_threads(1)
        Child(job, events).run()
        events.flush()
    except BaseException:  # noqa: BLE001 - report anything, then exit without cleanup handlers
        import traceback

        try:
            os.write(EVENT_FD, (json.dumps({"t": "child_error", "trace": traceback.format_exc()[-3000:]})
                                + "\n").encode())
        except OSError:
            pass
        code = 70
    finally:
        os._exit(code)
