"""The typed messages between the grader, the zygote and the child: one JSON object per line.

Three links, each with its own message kinds (the ``t`` field):

* grader -> zygote (the zygote's stdin): :class:`Job`, :class:`Probes`, :class:`Quit`;
* zygote -> child (the child's request pipe): :class:`RunCell`, :class:`CheckIntegrity`,
  :class:`RunProbe`, :class:`Finish`;
* child -> zygote (the child's reply pipe): :class:`CellDone`, :class:`IntegrityReport`,
  :class:`ProbeDone`, :class:`Finished`, :class:`ChildError`;
* zygote -> grader (the zygote's stdout): :class:`Ready`, :class:`Attempt`, :class:`CellResult`,
  :class:`IntegrityResult`, :class:`ProbesWanted`, :class:`ProbeResult`, :class:`Interrupted`,
  :class:`Limit`, :class:`Violation`, :class:`Exit`, :class:`JobEnd`.

:func:`decode` accepts a line only as one of the kinds of its link, with exactly the declared
fields, each of the declared type and within its size; anything else raises
:class:`ProtocolError` naming what is wrong. The child's replies are untrusted (student code runs
in that process): the zygote decodes them, checks each is the one reply to its pending request
(see :mod:`autograder.sandbox.zygote`), and re-emits it as a zygote message, so nothing the child writes
ever reaches the grader as a message of the zygote's own. ``docs/sandbox-channel.md`` explains
why this holds.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

from autograder.sandbox.protocol_fields import MAX_TEXT, ProtocolError, check_field, check_units, shape, show

#: longest line any link carries (bytes); the cells of a notebook are bounded below this.
MAX_LINE = 64_000_000
__all__ = ["MAX_TEXT", "ProtocolError"]  # re-exported: the protocol's users need only this module

#: bound when this module is imported, before any student code runs in the process.
_dumps = json.dumps
_os_write = os.write


@dataclass(frozen=True)
class Message:
    """Base of every message; ``KIND`` is its ``t`` and ``LIMITS`` caps its text fields."""

    KIND: ClassVar[str] = ""
    LIMITS: ClassVar[dict[str, int]] = {}


# grader -> zygote ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Job(Message):
    """One submission to run: its code cells and budgets, *not* its checks (see :class:`Probes`)."""

    KIND = "job"
    LIMITS = {"inbox": 4096, "workdir": 4096, "tmp": 4096}
    cells: list[dict[str, Any]]
    limits: dict[str, Any]
    inbox: str
    workdir: str
    tmp: str
    uid: int | None = None


@dataclass(frozen=True)
class Probes(Message):
    """The check calls of one attempt, sent only once the attempt's cells have all run."""

    KIND = "probes"
    probes: list[dict[str, Any]]


@dataclass(frozen=True)
class Quit(Message):
    KIND = "quit"


# zygote -> child ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RunCell(Message):
    KIND = "run_cell"
    token: str
    index: int
    source: str


@dataclass(frozen=True)
class CheckIntegrity(Message):
    KIND = "check_integrity"
    token: str


@dataclass(frozen=True)
class RunProbe(Message):
    KIND = "run_probe"
    LIMITS = {"name": 200}
    token: str
    k: int
    name: str
    functions: dict[str, str]
    params: str


@dataclass(frozen=True)
class Finish(Message):
    KIND = "finish"
    token: str


# child -> zygote ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CellDone(Message):
    """The reply to :class:`RunCell`: the cell's outputs in nbformat form."""

    KIND = "cell_done"
    LIMITS = {"error": 200}
    token: str
    index: int
    outputs: list[dict[str, Any]]
    error: str | None
    over: bool
    dt: float


@dataclass(frozen=True)
class IntegrityReport(Message):
    """The reply to :class:`CheckIntegrity`: watched objects replaced since the first cell."""

    KIND = "integrity_report"
    token: str
    changes: list[str]


@dataclass(frozen=True)
class ProbeDone(Message):
    """The reply to :class:`RunProbe`: the encoded record, or why there is none.

    ``changes`` is the integrity check made right after the call (each judging point).
    """

    KIND = "probe_done"
    LIMITS = {"ename": 200, "evalue": 500}
    token: str
    k: int
    record: str | None
    ename: str | None
    evalue: str | None
    dt: float
    changes: list[str]


@dataclass(frozen=True)
class Finished(Message):
    KIND = "finished"
    token: str
    changes: list[str]


@dataclass(frozen=True)
class ChildError(Message):
    """The child failed outside any cell (its setup, or the grader's own code in it)."""

    KIND = "child_error"
    trace: str


# zygote -> grader ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Ready(Message):
    KIND = "ready"
    pid: int
    uid: int


@dataclass(frozen=True)
class Attempt(Message):
    KIND = "attempt"
    n: int
    skip: list[str]


@dataclass(frozen=True)
class CellResult(Message):
    KIND = "cell_result"
    LIMITS = {"error": 200}
    index: int
    outputs: list[dict[str, Any]]
    error: str | None
    over: bool
    dt: float


@dataclass(frozen=True)
class IntegrityResult(Message):
    """Integrity as checked at one point: ``where`` is ``cells``, a probe's unit or ``end``."""

    KIND = "integrity_result"
    LIMITS = {"where": 40}
    where: str
    changes: list[str]


@dataclass(frozen=True)
class ProbesWanted(Message):
    KIND = "probes_wanted"


@dataclass(frozen=True)
class ProbeResult(Message):
    KIND = "probe_result"
    LIMITS = {"ename": 200, "evalue": 500}
    k: int
    record: str | None
    ename: str | None
    evalue: str | None
    dt: float


@dataclass(frozen=True)
class Interrupted(Message):
    KIND = "interrupted"
    unit: str | None


@dataclass(frozen=True)
class Limit(Message):
    KIND = "limit"
    LIMITS = {"what": 40}
    what: str
    unit: str | None


@dataclass(frozen=True)
class Violation(Message):
    """The child wrote something that is not the one reply the zygote was waiting for."""

    KIND = "violation"
    reason: str
    unit: str | None


@dataclass(frozen=True)
class Exit(Message):
    """How an attempt's child ended, as the zygote observed it."""

    KIND = "exit"
    LIMITS = {"signal": 20, "killed": 20}
    unit: str | None
    finished: bool
    code: int | None = None
    signal: str | None = None
    killed: str | None = None


@dataclass(frozen=True)
class JobEnd(Message):
    KIND = "job_end"


@dataclass(frozen=True)
class SkippedFiles(Message):
    """Added by the grader's worker (never on a wire): files not copied into the sandbox."""

    KIND = "skipped_files"
    files: list[str] = field(default_factory=list)


TO_ZYGOTE = (Job, Probes, Quit)
TO_CHILD = (RunCell, CheckIntegrity, RunProbe, Finish)
FROM_CHILD = (CellDone, IntegrityReport, ProbeDone, Finished, ChildError)
FROM_ZYGOTE = (Ready, Attempt, CellResult, IntegrityResult, ProbesWanted, ProbeResult,
               Interrupted, Limit, Violation, Exit, JobEnd, ChildError)


def encode(message: Message) -> bytes:
    """One line (newline included) for ``message``."""
    fields = {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}
    return (_dumps({"t": message.KIND, **fields}, ensure_ascii=False) + "\n").encode()


def decode(line: bytes | str, kinds: tuple[type[Message], ...]) -> Message:
    """The message on ``line``, which must be one of ``kinds``.

    Raises:
        ProtocolError: not JSON, not an object, an unknown kind, missing or extra fields,
            a field of the wrong type or too long.
    """
    if len(line) > MAX_LINE:
        raise ProtocolError(f"a line of {len(line)} bytes (at most {MAX_LINE})")
    try:
        data = json.loads(line)
    except ValueError:
        raise ProtocolError("a line that is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"a JSON {type(data).__name__}, not an object")
    by_kind = {k.KIND: k for k in kinds}
    kind = data.pop("t", None)
    if not isinstance(kind, str) or kind not in by_kind:
        raise ProtocolError(f"unknown message kind {show(kind)} (expected one of {', '.join(by_kind)})")
    cls = by_kind[kind]
    hints, declared = shape(cls)
    extra = sorted(set(data) - set(declared))
    if extra:
        raise ProtocolError(f"{kind}: unexpected field(s) {', '.join(map(show, extra))}")
    for name, spec in declared.items():
        if name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise ProtocolError(f"{kind}: missing field {name!r}")
            continue
        check_field(kind, name, data[name], hints[name], cls.LIMITS.get(name, MAX_TEXT))
    message = cls(**data)
    check_units(message)
    return message


def parse_unit(unit: str) -> tuple[str, int]:
    """``"probe:3"`` -> ``("probe", 3)`` for a unit that passed :func:`decode`."""
    kind, _, number = unit.partition(":")
    return kind, int(number)


class LineReader:
    """Reads whole lines from a file descriptor without reading past the line it returns.

    The links are strictly request/response, so nothing is ever pending behind a line;
    reading in chunks is safe, and a forked process never inherits half a buffer.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def read(self) -> bytes | None:
        """The next line (without its newline), or None at end of file; linear in its length
        (only new chunks are searched, joined once): a probe message can hold tens of MB of images."""
        line, newline, rest = self.buffer.partition(b"\n")
        chunks, size = [line], len(line)
        while not newline:
            if size > MAX_LINE:
                raise ProtocolError(f"a line longer than {MAX_LINE} bytes")
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                self.buffer = b"".join(chunks)
                return None
            line, newline, rest = chunk.partition(b"\n")
            chunks.append(line)
            size += len(line)
        self.buffer = rest
        return b"".join(chunks)


def write(fd: int, message: Message) -> None:
    """Write one message to ``fd`` in full."""
    data = encode(message)
    while data:
        data = data[_os_write(fd, data):]
