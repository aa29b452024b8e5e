"""What a graded function may call: numpy exercises must not be answered by calling torch.

Every check compares with torch, so the shortest answer to a numpy exercise would be
``torch.sigmoid(torch.from_numpy(x)).numpy()``. A check whose :class:`~nnlab.checks.Spec`
says ``numpy_only=True`` watches the student's function *while it runs* (and only
then: plots and demos elsewhere in the notebook may use torch freely) and fails with a
message naming the torch functions it called; the grader gives the submission the status
``policy``.

The watch is a profile hook (``sys.setprofile``, plus ``threading.setprofile`` for threads
the function starts): it sees every Python function of the ``torch`` package and every C
function whose module is torch's (``torch.sigmoid``, ``Tensor.numpy``), whatever name the
student gave them, so renaming (``import torch as np``) does not hide a call. It is a
learning guard, not a security boundary: code that calls libtorch through ``ctypes``, or
hands the work to a thread started before the call, is not seen (see
``docs/sandbox-channel.md``).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: the record key under which :func:`nnlab.checks.run_check` reports what was called.
RECORD_KEY = "torch_calls"
#: how many distinct torch functions a report names at most.
MAX_NAMES = 5

_active: list[set[str]] = []  # the collector of the check running now (none outside checks)


@contextmanager
def collecting(numpy_only: bool) -> Iterator[set[str]]:
    """Within a check's run step: collect the torch calls its student calls make."""
    seen: set[str] = set()
    if not numpy_only:
        yield seen
        return
    _active.append(seen)
    try:
        yield seen
    finally:
        _active.pop()


@contextmanager
def watching(given: tuple[Any, ...] = ()) -> Iterator[None]:
    """Around one call of student code: record its torch calls when a numpy-only check runs.

    Args:
        given: the arguments the check passes to the student's function; functions among
            them are the check's own (e.g. a weight scale measured with torch), so what they
            call is not the student's doing.
    """
    if not _active:
        yield
        return
    seen = _active[-1]
    exempt = {code for code in map(_code_of, given) if code is not None}
    inside: list[Any] = []  # frames of the check's own functions now running

    def hook(frame: Any, event: str, arg: Any) -> None:
        if inside:
            if event == "return" and frame is inside[-1]:
                inside.pop()
            return
        if event == "call" and frame.f_code in exempt:
            inside.append(frame)
            return
        if len(seen) >= MAX_NAMES:
            return
        if event == "c_call":
            inside_torch = _is_torch(frame.f_globals.get("__name__"))
            name = None if inside_torch else _c_function_name(arg)
        elif event == "call":
            name = _python_function_name(frame)
        else:
            return
        if name is not None:
            seen.add(name)

    previous, previous_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        yield
    finally:
        sys.setprofile(previous)
        threading.setprofile(previous_threads)  # type: ignore[arg-type]


def _code_of(value: Any) -> Any:
    """The code object a callable argument runs (through partials and bound methods)."""
    while isinstance(value, functools.partial):
        value = value.func
    value = getattr(value, "__func__", value)
    return getattr(value, "__code__", None)


def _is_torch(module: object) -> bool:
    return isinstance(module, str) and (module == "torch" or module.startswith("torch."))


def _c_function_name(function: Any) -> str | None:
    """``torch.sigmoid`` / ``torch.Tensor.numpy`` for a C function of torch, else None."""
    owner = getattr(function, "__objclass__", None) or getattr(function, "__self__", None)
    module = getattr(function, "__module__", None)
    if not _is_torch(module):
        owner_type = owner if isinstance(owner, type) else type(owner)
        module = getattr(owner_type, "__module__", None) if owner is not None else None
        if not _is_torch(module):
            return None
        return f"torch.Tensor.{getattr(function, '__name__', '?')}"
    return f"torch.{getattr(function, '__name__', '?')}"


def _python_function_name(frame: Any) -> str | None:
    """``torch.nn.functional.relu`` for a Python function of the torch package, else None."""
    module = frame.f_globals.get("__name__")
    if not _is_torch(module):
        return None
    caller = frame.f_back
    if caller is not None and _is_torch(caller.f_globals.get("__name__")):
        return None  # torch calling itself: the student's call was already named
    if frame.f_code.co_name == "<module>":
        return None  # a module torch imports on first use, not a function called
    module = "torch.Tensor" if module == "torch._tensor" else module
    return f"{module}.{frame.f_code.co_name}"


def validate(names: Any) -> list[str]:
    """The names a record reports, checked (a record comes from the student's process).

    Raises:
        ValueError: when they are not a short list of short strings.
    """
    if (not isinstance(names, list) or len(names) > MAX_NAMES
            or not all(isinstance(n, str) and 0 < len(n) <= 120 for n in names)):
        raise ValueError(f"{RECORD_KEY} is not a list of at most {MAX_NAMES} names")
    return names
