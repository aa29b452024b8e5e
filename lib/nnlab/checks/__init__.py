"""The one check engine behind every visible and hidden test cell.

In a test cell::

    from nnlab.checks import check
    check("relu_backward", relu_backward)
    check("dropout_backward", dropout_forward, dropout_backward)

``check`` calls your functions on inputs it generates (the *run* step),
computes the reference with torch in float64 and compares (the *judge*
step). It prints one line when the check passes and raises
:class:`CheckFailed` (an ``AssertionError``) with an explanation when it
does not. ``summary()`` shows
how many of a notebook's checks pass so far.

The grader uses the same two steps apart: :func:`run_check` inside the
sandboxed submission, :func:`judge_check` in its own trusted process.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nnlab.checks import codec, policy
from nnlab.checks.spec import CheckFailed, Params, Spec, call, register, registered
from nnlab.i18n import Text

__all__ = [
    "CheckFailed", "Spec", "call", "check", "get_spec", "judge_check", "register",
    "registry", "run_check", "summary", "reset",
]

#: modules that register the checks of each notebook, in lecture order.
CHECK_MODULES = (
    "nnlab.checks.cnn_shapes",
    "nnlab.checks.activations",
    "nnlab.checks.preprocessing",
    "nnlab.checks.initialization",
    "nnlab.checks.regularization",
    "nnlab.checks.augmentation",
    "nnlab.checks.tuning",
    "nnlab.checks.capstone",
)

_loaded = False


def load_all() -> None:
    """Import every notebook's check module (those that exist)."""
    global _loaded
    if _loaded:
        return
    for module in CHECK_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise
    _loaded = True


def registry() -> Mapping[str, Spec]:
    """All registered checks by name (after loading every notebook's checks)."""
    load_all()
    return registered()


def get_spec(name: str) -> Spec:
    """The check registered as ``name``.

    Raises:
        KeyError: naming the known checks, when there is none of that name.
    """
    specs = registry()
    if name not in specs:
        raise KeyError(f"no check named {name!r}; known checks: {', '.join(sorted(specs))}")
    return specs[name]


def run_check(name: str, functions: Mapping[str, Any], params: Any) -> str:
    """The untrusted step: call student code and return the encoded record.

    ``params`` is what the grader sent: the check's parameters, or, for a check that
    declares ``inputs``, the data :meth:`Spec.payload` prepared from them.

    For a ``numpy_only`` check, the torch functions the student's code called are added
    to the record (under :data:`policy.RECORD_KEY`) for the judge to fail it.
    """
    spec = get_spec(name)
    with policy.collecting(spec.numpy_only) as torch_calls:
        record = spec.run(functions, params)
    if torch_calls and isinstance(record, dict):
        record = {**record, policy.RECORD_KEY: sorted(torch_calls)}
    return codec.encode(record)


@dataclass(frozen=True)
class Verdict:
    """The outcome of judging one check.

    Attributes:
        name: the check's name.
        passed: whether it passed.
        message: the student-facing message (empty when passed).
        failure: the failure itself, for rendering in another language.
        internal: True when the checker itself failed (needs an instructor's look).
        policy: True when it failed because the student's function called what the
            exercise forbids (torch in a numpy exercise), whatever its values.
        measures: what the judge measured (e.g. ``{"accuracy": 0.47}``), for the
            instructor's report only; empty for most checks.
    """

    name: str
    passed: bool
    message: str = ""
    failure: CheckFailed | None = None
    internal: bool = False
    policy: bool = False
    measures: Mapping[str, float] = field(default_factory=dict)


def judge_check(name: str, encoded_record: str, params: Params) -> Verdict:
    """The trusted step: decide from a record; never raises."""
    spec = get_spec(name)
    try:
        record = codec.decode(encoded_record)
        if not isinstance(record, dict):
            raise codec.RecordError("record is not a mapping")
        if policy.RECORD_KEY in record:
            try:
                torch_calls = policy.validate(record.pop(policy.RECORD_KEY))
            except ValueError as error:
                raise codec.RecordError(str(error)) from None
            failure = _torch_failure(name, torch_calls)
            failure.hidden, failure.check_name = bool(params.get("hidden")), name
            return Verdict(name, False, failure.message(), failure, policy=True)
        measured = spec.judge(record, params)
    except CheckFailed as failure:
        failure.hidden = bool(params.get("hidden"))
        failure.check_name = name
        return Verdict(name, False, failure.message(), failure, measures=_measures(failure.measures))
    except codec.RecordError as error:
        failure = CheckFailed(
            Text(name), Text("could not be checked: its result was malformed",
                             "无法检查：结果格式异常"),
            detail=Text(str(error)),
        )
        failure.check_name = name
        return Verdict(name, False, failure.message(), failure)
    except Exception as error:  # a checker bug must not pass as a student error silently
        failure = CheckFailed(
            Text(name),
            Text("could not be checked (an error in the checker)", "无法检查（检查程序出错）"),
            detail=Text(f"{type(error).__name__}: {error}"),
            next_step=Text("tell your instructor; this is not your mistake.",
                           "请告诉老师，这不是你的错误。"),
        )
        failure.check_name = name
        return Verdict(name, False, failure.message(), failure, internal=True)
    return Verdict(name, True, measures=_measures(measured))


def _measures(found: Any) -> dict[str, float]:
    """A judge's measurements as ``{name: float}`` (anything else is dropped)."""
    if not isinstance(found, Mapping):
        return {}
    return {str(k): float(v) for k, v in found.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _torch_failure(name: str, torch_calls: list[str]) -> CheckFailed:
    """The failure of a numpy exercise answered with torch (shown for hidden checks too)."""
    called = ", ".join(torch_calls)
    return CheckFailed(
        Text(name),
        Text(f"your function calls torch ({called}); this exercise is to be written with numpy only",
             f"你的函数调用了 torch（{called}）；本练习只能用 numpy 完成"),
        cause=Text("the checks compare with torch, so calling torch would pass without the "
                   "formula you are here to learn.",
                   "检查本身就是与 torch 比较，调用 torch 虽能通过，却没有练到要学的公式。"),
        next_step=Text("write the computation with numpy operations (np.exp, np.maximum, "
                       "np.where, ...); keep torch for your own experiments outside this function.",
                       "用 numpy 运算（np.exp、np.maximum、np.where 等）写出计算；"
                       "torch 只在此函数之外做自己的实验。"),
    )


_results: dict[tuple[str, str], bool] = {}


def check(name: str, *functions: Any, **options: Any) -> None:
    """Check student functions against torch; the call test cells make.

    Args:
        name: the check's name, e.g. ``"relu_backward"``.
        *functions: the functions under test, in the order the check lists
            them (or by role: ``forward=dropout_forward``).
        **options: the check's parameters (``seed``, shapes, ``hidden``).

    Raises:
        AssertionError: (a :class:`CheckFailed`) explaining what is wrong.
        KeyError, TypeError: when the test cell itself is malformed.
    """
    spec = get_spec(name)
    bound, params = spec.bind(functions, options)
    verdict = judge_check(name, run_check(name, bound, spec.payload(params)), params)
    key = (name, repr(sorted((k, v) for k, v in params.items() if k != "hidden")))
    if not params.get("hidden"):
        _results[key] = verdict.passed
    if not verdict.passed:
        assert verdict.failure is not None
        raise verdict.failure
    print(f"✓ {spec.title}")


def reset() -> None:
    """Forget the results ``summary()`` shows."""
    _results.clear()


#: the summary's status words in the Chinese edition.
_STATUS_ZH = {"pass": "通过", "fail": "未通过", "not run": "未运行"}


class Summary:
    """How many checks of each notebook passed in this session (rich display in Jupyter)."""

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self.rows = rows  # (notebook, check name, status: pass|fail|not run)

    @property
    def passed(self) -> int:
        return sum(status == "pass" for _, _, status in self.rows)

    @property
    def total(self) -> int:
        return len(self.rows)

    def _headline(self) -> str:
        from nnlab.i18n import get_language

        if get_language() == "zh":
            return f"已通过 {self.passed} / {self.total} 项检查"
        return f"{self.passed} of {self.total} checks pass"

    def __str__(self) -> str:
        marks = {"pass": "✓", "fail": "✗", "not run": "·"}
        lines = [self._headline()]
        lines += [f"  {marks[s]} {nb} · {name}" for nb, name, s in self.rows]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        from nnlab.i18n import get_language

        colour = {"pass": "#1a7f37", "fail": "#cf222e", "not run": "#6e7781"}
        marks = {"pass": "✓", "fail": "✗", "not run": "·"}
        words = _STATUS_ZH if get_language() == "zh" else {s: s for s in _STATUS_ZH}
        items = "".join(
            f'<li style="color:{colour[s]}">{marks[s]} <code>{html.escape(name)}</code> '
            f"<small>{html.escape(words[s])}</small></li>"
            for _, name, s in self.rows
        )
        width = 100 * self.passed / max(self.total, 1)
        return (
            f'<div class="nnlab-summary"><b>{html.escape(self._headline())}</b>'
            f'<div style="background:#eee;width:20em;height:.6em;border-radius:.3em">'
            f'<div style="background:#1a7f37;width:{width:.0f}%;height:100%;border-radius:.3em">'
            f"</div></div><ul style='list-style:none;padding-left:0'>{items}</ul></div>"
        )


def summary(notebook: str | None = None) -> Summary:
    """Progress: which checks of a notebook pass, fail or have not run yet.

    Args:
        notebook: e.g. ``"01_activations"``; default: every notebook whose
            checks ran in this session.
    """
    specs = registry()
    ran = {name for name, _ in _results}
    notebooks = [notebook] if notebook else sorted({specs[n].notebook for n in ran})
    rows = []
    for nb in notebooks:
        for name, spec in specs.items():
            if spec.notebook != nb:
                continue
            outcomes = [ok for (n, _), ok in _results.items() if n == name]
            status = "not run" if not outcomes else ("pass" if all(outcomes) else "fail")
            rows.append((nb, name, status))
    return Summary(rows)

