"""The elementwise activations of 01_activations, forward and backward, against torch.

Sigmoid, tanh, ReLU, Leaky ReLU, ELU, SELU and GELU: the reference is
``torch.nn.functional`` in float64 and its gradient comes from autograd. The
judges recognise numpy overflow warnings, GELU's two variants swapped and
SELU's constants rounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.activations._common import (
    NOTEBOOK,
    SHAPE_DEFAULT,
    make_dout,
    make_x,
    sign_regions,
)
from nnlab.checks.compare import FLOAT64, Region, expect_close, tensor64
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, fail, register
from nnlab.i18n import Text

Reference = Callable[[torch.Tensor, Params], torch.Tensor]

#: a wrong result that equals this torch computation has this cause.
Alternative = tuple[Reference, Text]

_WARNED_NEXT = Text(
    "only evaluate each formula where it is numerically safe (np.where on both branches still "
    "computes both: split the input, or clip what goes into exp).",
    "只在数值安全的区域计算每个公式（np.where 仍会计算两个分支：先拆分输入，或先截断送入 exp 的值）。",
)


def _expect_quiet(record: Record, what: Text, cause: Text | None) -> None:
    """Fail when numpy warned (overflow, invalid value) during a call whose values are right."""
    warned = record.get("warnings") or []
    if warned:
        fail(
            what,
            Text("is correct but numpy warned while computing it",
                 "结果正确，但计算时 numpy 发出了警告"),
            detail=Text("; ".join(warned), "；".join(warned)),
            cause=cause or Text("an intermediate value overflowed (e.g. exp of a large number).",
                                "中间结果溢出（例如对很大的数求 exp）。"),
            next_step=_WARNED_NEXT,
        )


def _diagnose(
    failure: CheckFailed, record: Record, reference_value: np.ndarray,
    alternatives: list[tuple[np.ndarray, Text]], close_cause: Text | None,
) -> CheckFailed:
    """Sharpen the cause of a "values differ" failure when the mistake is recognisable."""
    got = record.get("value")
    if not (isinstance(got, np.ndarray) and got.shape == reference_value.shape
            and got.dtype == np.float64 and np.all(np.isfinite(got))):
        return failure
    for value, cause in alternatives:
        if np.allclose(got, value, rtol=FLOAT64.rtol, atol=FLOAT64.atol):
            failure.cause = cause
            return failure
    if close_cause is not None:
        scale = np.maximum(np.abs(reference_value), 1.0)
        if float(np.max(np.abs(got - reference_value) / scale)) < 1e-2:
            failure.cause = close_cause
    return failure


def _elementwise(
    name: str,
    reference: Reference,
    *,
    backward: bool,
    extra: Callable[[Params], tuple[Any, ...]] = lambda p: (),
    params: dict[str, Any] | None = None,
    causes: dict[str, Text] | None = None,
    cause: Text | None = None,
    alternatives: Callable[[Params], list[Alternative]] = lambda p: [],
    close_cause: Text | None = None,
    title: Text,
) -> Spec:
    """A check of ``f(x, *extra)`` or ``f_backward(dout, x, *extra)`` against torch.

    Args:
        causes: the likely cause when every difference sits where x < 0
            (``"neg"``), x > 0 (``"pos"``) or |x| ≥ 10 (``"extreme"``; also the
            cause given for numpy warnings).
        cause: the likely cause otherwise.
        alternatives: torch computations of known wrong answers, each with its cause.
        close_cause: the cause when the result is within 1% of torch (rounded constants).
    """
    defaults = {"seed": 0, "shape": SHAPE_DEFAULT, "extremes": False, **(params or {})}
    causes = causes or {}

    def run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
        x = make_x(p)
        if backward:
            return call(functions["function"], make_dout(p, x.shape), x, *extra(p))
        return call(functions["function"], x, *extra(p))

    def evaluate(function: Reference, x: np.ndarray, p: Params) -> np.ndarray:
        xt = tensor64(x, grad=True)
        y = function(xt, p)
        if not backward:
            return y.detach().numpy()
        y.backward(tensor64(make_dout(p, x.shape)))
        return xt.grad.numpy()

    def judge(record: Record, p: Params) -> None:
        x = make_x(p)
        expected = evaluate(reference, x, p)
        regions = sign_regions(x)
        regions = [
            Region(r.label, r.mask, causes.get("neg" if i == 0 else "pos"))
            for i, r in enumerate(regions)
        ]
        if p.get("extremes"):
            regions.append(Region(Text("where |x| ≥ 10", "|x| ≥ 10 处"), np.abs(x) >= 10,
                                  causes.get("extreme")))
        what = Text(f"{name}: {'dx' if backward else 'output'}",
                    f"{name}：{'dx' if backward else '输出'}")
        try:
            expect_close(record, expected, what=what, tol=FLOAT64, regions=regions, cause=cause,
                         allow_warnings=True)
        except CheckFailed as failure:
            known = [(evaluate(f, x, p), c) for f, c in alternatives(p)]
            raise _diagnose(failure, record, expected, known, close_cause) from None
        _expect_quiet(record, what, causes.get("extreme"))

    return register(Spec(name, NOTEBOOK, title, ("function",), run, judge, defaults, numpy_only=True))


_STABLE = Text(
    "exp of a large number overflows: for x < 0 use e^x / (1 + e^x), for x ≥ 0 use 1 / (1 + e^-x).",
    "对很大的数求 exp 会溢出：x < 0 时用 e^x / (1 + e^x)，x ≥ 0 时用 1 / (1 + e^-x)。",
)

_elementwise(
    "sigmoid_forward", lambda x, p: torch.sigmoid(x), backward=False,
    params={"extremes": True}, causes={"extreme": _STABLE},
    title=Text("sigmoid_forward matches torch.sigmoid (also at |x| = 1000)",
               "sigmoid_forward 与 torch.sigmoid 一致（|x| = 1000 时也是）"),
)
_elementwise(
    "sigmoid_backward", lambda x, p: torch.sigmoid(x), backward=True,
    params={"extremes": True}, causes={"extreme": _STABLE},
    cause=Text("σ'(x) = σ(x)(1 − σ(x)), times dout.", "σ'(x) = σ(x)(1 − σ(x))，再乘以 dout。"),
    title=Text("sigmoid_backward matches autograd", "sigmoid_backward 与 autograd 一致"),
)
_elementwise(
    "tanh_forward", lambda x, p: torch.tanh(x), backward=False, params={"extremes": True},
    title=Text("tanh_forward matches torch.tanh", "tanh_forward 与 torch.tanh 一致"),
)
_elementwise(
    "tanh_backward", lambda x, p: torch.tanh(x), backward=True, params={"extremes": True},
    cause=Text("tanh'(x) = 1 − tanh²(x), times dout.", "tanh'(x) = 1 − tanh²(x)，再乘以 dout。"),
    title=Text("tanh_backward matches autograd", "tanh_backward 与 autograd 一致"),
)
_elementwise(
    "relu_forward", lambda x, p: F.relu(x), backward=False,
    causes={"neg": Text("ReLU outputs 0 for negative inputs.", "ReLU 对负输入输出 0。"),
            "pos": Text("ReLU passes positive inputs unchanged.", "ReLU 对正输入原样输出。")},
    title=Text("relu_forward matches torch.relu", "relu_forward 与 torch.relu 一致"),
)
_elementwise(
    "relu_backward", lambda x, p: F.relu(x), backward=True,
    causes={"neg": Text("ReLU passes no gradient through negative inputs: multiply dout by (x > 0).",
                        "ReLU 在负输入处没有梯度：用 dout 乘以 (x > 0)。"),
            "pos": Text("for x > 0 the gradient is dout unchanged.", "x > 0 时梯度就是 dout。")},
    title=Text("relu_backward matches autograd", "relu_backward 与 autograd 一致"),
)

_SLOPE = {"negative_slope": 0.01}
_elementwise(
    "leaky_relu_forward", lambda x, p: F.leaky_relu(x, p["negative_slope"]), backward=False,
    extra=lambda p: (p["negative_slope"],), params=_SLOPE,
    causes={"neg": Text("for x < 0 Leaky ReLU returns negative_slope · x.",
                        "x < 0 时 Leaky ReLU 返回 negative_slope · x。")},
    title=Text("leaky_relu_forward matches torch", "leaky_relu_forward 与 torch 一致"),
)
_elementwise(
    "leaky_relu_backward", lambda x, p: F.leaky_relu(x, p["negative_slope"]), backward=True,
    extra=lambda p: (p["negative_slope"],), params=_SLOPE,
    causes={"neg": Text("for x < 0 the gradient is negative_slope · dout, never 0.",
                        "x < 0 时梯度是 negative_slope · dout，而不是 0。")},
    title=Text("leaky_relu_backward matches autograd", "leaky_relu_backward 与 autograd 一致"),
)

_ALPHA = {"alpha": 1.0}
_EXP_ONLY_NEGATIVE = Text("evaluate eˣ only where x ≤ 0 (e.g. on np.minimum(x, 0)) so large x cannot "
                          "overflow.",
                          "只在 x ≤ 0 处计算 eˣ（例如对 np.minimum(x, 0) 求 exp），避免大 x 溢出。")
_elementwise(
    "elu_forward", lambda x, p: F.elu(x, p["alpha"]), backward=False,
    extra=lambda p: (p["alpha"],), params={**_ALPHA, "extremes": True},
    causes={"neg": Text("for x ≤ 0 ELU is α(eˣ − 1).", "x ≤ 0 时 ELU 为 α(eˣ − 1)。"),
            "extreme": _EXP_ONLY_NEGATIVE},
    title=Text("elu_forward matches torch", "elu_forward 与 torch 一致"),
)
_elementwise(
    "elu_backward", lambda x, p: F.elu(x, p["alpha"]), backward=True,
    extra=lambda p: (p["alpha"],), params={**_ALPHA, "extremes": True},
    causes={"neg": Text("for x ≤ 0 the derivative is α·eˣ (= ELU(x) + α).",
                        "x ≤ 0 时导数为 α·eˣ（= ELU(x) + α）。"),
            "extreme": _EXP_ONLY_NEGATIVE},
    title=Text("elu_backward matches autograd", "elu_backward 与 autograd 一致"),
)
_SELU_CAUSE = Text(
    "SELU is λx for x > 0 and λα(eˣ − 1) otherwise, with the lecture's α ≈ 1.6733 and λ ≈ 1.0507 "
    "written to full precision.",
    "SELU 在 x > 0 时为 λx，否则为 λα(eˣ − 1)；α ≈ 1.6733、λ ≈ 1.0507 要写全精度。",
)
# SELU's constants as printed in the lecture (Klambauer et al. 2017, arXiv:1706.02515).
_SELU_ROUNDED = Text(
    "the values are within 1% of torch but not equal: α and λ look rounded. Use every digit of "
    "α = 1.6732632423543772848170429916717 and λ = 1.0507009873554804934193349852946.",
    "结果与 torch 相差不到 1% 但不相等：α 和 λ 似乎被四舍五入了。请用完整的 "
    "α = 1.6732632423543772848170429916717 和 λ = 1.0507009873554804934193349852946。",
)
_elementwise(
    "selu_forward", lambda x, p: F.selu(x), backward=False, params={"extremes": True},
    causes={"extreme": _EXP_ONLY_NEGATIVE}, cause=_SELU_CAUSE, close_cause=_SELU_ROUNDED,
    title=Text("selu_forward matches torch", "selu_forward 与 torch 一致"),
)
_elementwise(
    "selu_backward", lambda x, p: F.selu(x), backward=True, params={"extremes": True},
    causes={"extreme": _EXP_ONLY_NEGATIVE}, cause=_SELU_CAUSE, close_cause=_SELU_ROUNDED,
    title=Text("selu_backward matches autograd", "selu_backward 与 autograd 一致"),
)

_GELU_CAUSE = Text(
    "approximate='none' is x·Φ(x) with the exact normal CDF Φ(x) = (1 + erf(x/√2))/2; "
    "approximate='tanh' is 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). Check you did not swap them.",
    "approximate='none' 用精确的正态分布函数 Φ(x) = (1 + erf(x/√2))/2；approximate='tanh' 用 "
    "0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))。检查是否把两者弄反。",
)
_GELU_OTHER = {"none": "tanh", "tanh": "none"}


def _gelu_swapped(p: Params) -> list[Alternative]:
    """The other GELU variant: a result equal to it means the branches are swapped."""
    other = _GELU_OTHER.get(p["approximate"], "none")
    cause = Text(
        f"your result is torch's GELU with approximate='{other}', but approximate="
        f"'{p['approximate']}' was asked: the two variants are swapped, or `approximate` is ignored.",
        f"你的结果等于 torch 中 approximate='{other}' 的 GELU，而要求的是 approximate="
        f"'{p['approximate']}'：两种形式弄反了，或忽略了参数 `approximate`。",
    )
    return [(lambda x, _p: F.gelu(x, approximate=other), cause)]


_elementwise(
    "gelu_forward", lambda x, p: F.gelu(x, approximate=p["approximate"]),
    backward=False, extra=lambda p: (p["approximate"],),
    params={"approximate": "none", "extremes": True}, cause=_GELU_CAUSE,
    alternatives=_gelu_swapped,
    title=Text("gelu_forward matches torch", "gelu_forward 与 torch 一致"),
)
_elementwise(
    "gelu_backward", lambda x, p: F.gelu(x, approximate=p["approximate"]),
    backward=True, extra=lambda p: (p["approximate"],),
    params={"approximate": "none", "extremes": True}, cause=_GELU_CAUSE,
    alternatives=_gelu_swapped,
    title=Text("gelu_backward matches autograd", "gelu_backward 与 autograd 一致"),
)
