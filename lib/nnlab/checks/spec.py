"""What a check is: a named pair of steps, ``run`` (untrusted) and ``judge`` (trusted).

``run`` calls the student's functions on inputs it generates from the
check's parameters and returns a *record* of plain data (see
:mod:`nnlab.checks.codec`). A check whose parameters must stay out of the
student's process (the seed of a hidden test split, from which its labels
follow) declares a third, trusted step ``inputs(params) -> data``: ``run``
then receives only that data, never the parameters. ``judge`` regenerates the same inputs, computes
the torch reference and decides. In a student's notebook both steps run in
the kernel; the grader runs ``run`` inside the sandboxed submission and
``judge`` in its own process, so nothing a submission does to numpy, torch
or nnlab can change a verdict.
"""

from __future__ import annotations

import copy
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NoReturn

from nnlab.checks import policy
from nnlab.i18n import Text

Params = Mapping[str, Any]
Record = dict[str, Any]

#: parameters every check accepts besides its own: ``hidden`` marks a hidden test.
COMMON_PARAMS: Mapping[str, Any] = MappingProxyType({"hidden": False})


class CheckFailed(AssertionError):
    """A check did not pass. ``str()`` gives the student-facing message.

    Attributes:
        what: the thing checked, as the student knows it (``relu_backward: dx``).
        kind: what went wrong, in words that reveal no input or reference value.
        detail: numbers (shapes, counts, statistics); left out for hidden checks.
        cause: the likely cause.
        next_step: one thing to try next.
    """

    def __init__(
        self,
        what: Text,
        kind: Text,
        detail: Text | None = None,
        cause: Text | None = None,
        next_step: Text | None = None,
    ) -> None:
        super().__init__()
        self.what, self.kind, self.detail = what, kind, detail
        self.cause, self.next_step = cause, next_step
        self.hidden = False
        self.check_name = ""
        self.measures: dict[str, float] = {}  # what the judge measured before failing (see Spec.judge)

    def message(self, language: str | None = None) -> str:
        """The full message (hidden checks omit the detail)."""
        labels = {
            "en": ("hidden check", "Likely cause", "Next step"),
            "zh": ("隐藏测试", "可能原因", "下一步"),
        }[language or _current_language()]
        head = f"{self.what.render(language)}: {self.kind.render(language)}"
        if self.hidden:
            head = f"[{labels[0]} {self.check_name}] {head}"
        elif self.detail is not None:
            head += f" ({self.detail.render(language)})"
        lines = [head]
        if self.cause is not None:
            lines.append(f"{labels[1]}: {self.cause.render(language)}")
        if self.next_step is not None:
            lines.append(f"{labels[2]}: {self.next_step.render(language)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message()

    def _render_traceback_(self) -> list[str]:
        """What Jupyter shows: the message alone, not the check engine's frames."""
        return [f"CheckFailed: {line}" if n == 0 else line
                for n, line in enumerate(self.message().splitlines())]


#: statistical checks allow 5 standard errors (a false alarm < 1 in 1.7 million).
BANDS = 5.0


def fail(what: Text, kind: Text, detail: Text | None = None, cause: Text | None = None,
         next_step: Text | None = None) -> NoReturn:
    """Raise a :class:`CheckFailed`: the one way a check reports a failure."""
    raise CheckFailed(what, kind, detail, cause, next_step)


def _current_language() -> str:
    from nnlab.i18n import get_language

    return get_language()


@dataclass(frozen=True)
class Spec:
    """One check, registered under ``name`` for ``check(name, ...)`` in test cells.

    Attributes:
        name: the name test cells use, e.g. ``"relu_backward"``.
        notebook: the notebook that teaches it, e.g. ``"01_activations"``.
        title: a short description for the progress summary.
        roles: the student callables it needs, in positional order
            (``("forward", "backward")``); test cells pass them positionally
            or by these names.
        params: the parameters it accepts with their defaults (``seed``,
            shapes, ...). ``hidden`` is always accepted as well.
        run: ``run(functions, params) -> record``: calls student code.
            Runs in the student's process; must only call, never judge.
        judge: ``judge(record, params) -> None | dict[str, float]``: reports a failure with :func:`fail`.
            Runs in a trusted process; must regenerate every input itself. It may return
            what it measured (``{"accuracy": 0.47}``; on failure: the failure's ``measures``)
            for the instructor's report: the grader stores it, the student never sees it.
        numpy_only: the exercise is to be written with numpy: a student function that
            calls into torch while the check runs fails it (see :mod:`nnlab.checks.policy`).
        inputs: ``inputs(params) -> data``, trusted, or None. When given, ``run`` is called
            as ``run(functions, data)``: the grader computes the data in its own process and
            sends only it into the sandbox, so nothing the student's code can read there
            (its caller's frames, the request) holds a parameter. In a notebook both steps
            run in the kernel.
    """

    name: str
    notebook: str
    title: Text
    roles: tuple[str, ...]
    run: Callable[[Mapping[str, Callable[..., Any]], Params], Record]
    judge: Callable[[Record, Params], Mapping[str, float] | None]
    params: Mapping[str, Any] = field(default_factory=dict)
    numpy_only: bool = False
    inputs: Callable[[Params], Any] | None = None

    def payload(self, params: Params) -> Any:
        """What ``run`` receives for ``params``: the prepared inputs, or the parameters themselves."""
        return params if self.inputs is None else self.inputs(params)

    def bind(
        self, functions: tuple[Any, ...], options: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split a test cell's arguments into student callables and parameters.

        Raises:
            TypeError: for missing or unknown arguments (an authoring error).
        """
        if len(functions) > len(self.roles):
            raise TypeError(
                f"check {self.name!r} takes {len(self.roles)} function(s) "
                f"({', '.join(self.roles)}), got {len(functions)}"
            )
        bound = dict(zip(self.roles, functions))
        params = {**COMMON_PARAMS, **self.params}
        for key, value in options.items():
            if key in self.roles:
                if key in bound:
                    raise TypeError(f"check {self.name!r}: {key} given twice")
                bound[key] = value
            elif key in params:
                params[key] = value
            else:
                allowed = ", ".join([*self.roles, *params])
                raise TypeError(f"check {self.name!r}: unknown argument {key!r} (allowed: {allowed})")
        missing = [role for role in self.roles if role not in bound]
        if missing:
            raise TypeError(f"check {self.name!r}: missing {', '.join(missing)}")
        return bound, params


_REGISTRY: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    """Add a check to the registry (names are unique)."""
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ValueError(f"a check named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def registered() -> Mapping[str, Spec]:
    """The checks registered so far, by name (:func:`nnlab.checks.registry` loads them all first)."""
    return MappingProxyType(_REGISTRY)


def call(function: Any, *args: Any, **kwargs: Any) -> Record:
    """Call student code and record what happened, never raising.

    Array arguments are copied first, so a function that writes into its
    input cannot change the inputs of later calls.

    Returns:
        ``{"value": result}`` on success, or ``{"error": [type, message,
        location]}`` if it raised; ``"warnings"`` lists the messages of
        warnings it issued (e.g. ``overflow encountered in exp``).
    """
    args = tuple(_copy_arg(a) for a in args)
    kwargs = {k: _copy_arg(v) for k, v in kwargs.items()}
    if not callable(function):
        return {"error": ["TypeError", f"{type(function).__name__} object is not callable", ""]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import numpy as np

            with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"), \
                    policy.watching((*args, *kwargs.values())):
                value = function(*args, **kwargs)
        except Exception as error:  # student code may raise anything
            return {"error": [type(error).__name__, str(error)[:500], _student_frame(error)]}
    record: Record = {"value": value}
    if caught:
        record["warnings"] = sorted({str(w.message)[:200] for w in caught})
    return record


def _copy_arg(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            return value.copy()
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    if isinstance(value, (list, dict)):
        return copy.deepcopy(value)
    return value


def _student_frame(error: BaseException) -> str:
    """Where in the student's code an exception was raised (cell line), if known."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if "nnlab" not in frame.filename.replace("\\", "/").split("/"):
            return f"line {frame.lineno}: {frame.line or ''}".strip()
    return ""
