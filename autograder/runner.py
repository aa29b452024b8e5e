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

#: the file descriptor a child writes its events to.
EVENT_FD = 3
#: seconds between SIGINT and SIGKILL for a unit that overran its budget.
GRACE = 2.0
#: attempts per job (each skips the units that had to be killed).
MAX_ATTEMPTS = 6
#: longest single event line the zygote relays (bytes).
MAX_EVENT_BYTES = 64_000_000


def _send(stream: Any, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


# --------------------------------------------------------------------------- the child

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
            functions = {role: self._lookup(shell, name) for role, name in probe["functions"].items()}
            try:
                params = codec.decode(probe["params"])
                record = run_check(probe["name"], functions, params)
            except BaseException as error:  # noqa: BLE001 - a timeout (KeyboardInterrupt) included
                self.emit({"t": "probe_error", "k": k, "ename": type(error).__name__,
                           "evalue": str(error)[:500]})
                continue
            self.emit({"t": "record", "k": k, "r": record})

    @staticmethod
    def _lookup(shell: Any, name: str) -> Any:
        if name in shell.user_ns:
            return shell.user_ns[name]

        def missing(*args: Any, **kwargs: Any) -> Any:
            raise NameError(f"name {name!r} is not defined (was its cell run without errors?)")

        return missing


def _die_with_parent() -> None:
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
    _die_with_parent()
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


def _child_main(job: dict[str, Any], write_fd: int) -> None:
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


# --------------------------------------------------------------------------- the zygote

class Attempt:
    """One forked child running a job; the zygote watches its budgets."""

    def __init__(self, job: dict[str, Any], out: Any) -> None:
        self.job, self.out = job, out
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child_main(job, write_fd)
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

    from autograder import integrity  # noqa: F401

    nnlab.checks.load_all()


def main() -> None:
    """The zygote's loop: warm up, then run jobs from stdin until told to quit."""
    _die_with_parent()
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
