"""Checks for 01_activations: every activation's forward and backward vs torch.

Each check regenerates its inputs from ``seed`` and ``shape``; the reference
is ``torch.nn.functional`` in float64 and its gradient comes from autograd.
Inputs stay at least 1e-3 away from kinks (ReLU's 0) so a correct float64
implementation agrees with torch to rounding (tolerance :data:`FLOAT64`).

Beyond "values differ", the judges recognise the usual mistakes and name
them: numpy overflow warnings (sigmoid/ELU/SELU evaluated with ``exp`` on
every input), GELU's two variants swapped (the result matches torch's other
variant), SELU's constants rounded (close but not exact), PReLU's ``dalpha``
left as an array, maxout's max taken over the wrong axis, and a dead-unit
fraction counted per entry or with ``any`` instead of ``all``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.compare import FLOAT64, Region, as_array, expect_close, value_of
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, register
from nnlab.i18n import Text

NOTEBOOK = "01_activations"

_SHAPE_DEFAULT = (4, 6)
_EXTREMES = (-1000.0, 1000.0, -50.0, 50.0, -10.0, 10.0)


def make_x(params: Params) -> np.ndarray:
    """Inputs for elementwise checks: normal·3, away from 0, with extreme values first.

    The extremes (±1000, ±50, ±10) test numerical stability; they are
    placed only when ``params["extremes"]`` is true (sigmoid, tanh, GELU, ELU, SELU).
    """
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal(tuple(params["shape"])) * 3.0
    x[np.abs(x) < 1e-3] = 0.5  # keep off the kink at 0
    if params.get("extremes"):
        flat = x.reshape(-1)
        k = min(len(_EXTREMES), flat.size)
        flat[:k] = _EXTREMES[:k]
    return x


def make_dout(params: Params, shape: tuple[int, ...]) -> np.ndarray:
    """Upstream gradient for backward checks (independent of x)."""
    return np.random.default_rng(params["seed"] + 7919).standard_normal(shape)


def _t(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _regions(x: np.ndarray) -> list[Region]:
    return [
        Region(Text("where x < 0", "x < 0"), x < 0),
        Region(Text("where x > 0", "x > 0"), x > 0),
    ]


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
        raise CheckFailed(
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
    defaults = {"seed": 0, "shape": _SHAPE_DEFAULT, "extremes": False, **(params or {})}
    causes = causes or {}

    def run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
        x = make_x(p)
        if backward:
            return call(functions["function"], make_dout(p, x.shape), x, *extra(p))
        return call(functions["function"], x, *extra(p))

    def evaluate(function: Reference, x: np.ndarray, p: Params) -> np.ndarray:
        xt = _t(x, grad=True)
        y = function(xt, p)
        if not backward:
            return y.detach().numpy()
        y.backward(_t(make_dout(p, x.shape)))
        return xt.grad.numpy()

    def judge(record: Record, p: Params) -> None:
        x = make_x(p)
        expected = evaluate(reference, x, p)
        regions = _regions(x)
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

    return register(Spec(name, NOTEBOOK, title, ("function",), run, judge, defaults))


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


# --- PReLU: one learned slope alpha; backward returns (dx, dalpha) -------------------------

def _prelu_alpha(p: Params) -> float:
    return float(p["alpha"])


def _prelu_run(direction: str, functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    x = make_x(p)
    if direction == "forward":
        return call(functions["function"], x, _prelu_alpha(p))
    return call(functions["function"], make_dout(p, x.shape), x, _prelu_alpha(p))


def _prelu_judge(direction: str, record: Record, p: Params) -> None:
    x = make_x(p)
    xt, at = _t(x, grad=True), _t(np.array([_prelu_alpha(p)]), grad=True)
    y = F.prelu(xt, at)
    negative = Text("for x ≤ 0 PReLU returns α·x (α is the second argument).",
                    "x ≤ 0 时 PReLU 返回 α·x（α 是第二个参数）。")
    regions = _regions(x)
    if direction == "forward":
        expect_close(record, y.detach().numpy(), what=Text("prelu_forward: output", "prelu_forward：输出"),
                     regions=[Region(regions[0].label, regions[0].mask, negative), regions[1]],
                     cause=Text("PReLU is max(αx, x) for α < 1: x where x > 0, αx elsewhere.",
                                "PReLU：x > 0 时为 x，否则为 αx。"))
        return
    y.backward(_t(make_dout(p, x.shape)))
    what = Text("prelu_backward", "prelu_backward")
    value = value_of(record, what)
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise CheckFailed(
            what,
            Text("should return a pair (dx, dalpha)", "应返回二元组 (dx, dalpha)"),
            detail=Text(f"got {_kind_of(value)}", f"得到 {_kind_of(value)}"),
            cause=Text("PReLU has two inputs that need a gradient: x and the parameter α.",
                       "PReLU 有两个需要梯度的输入：x 和参数 α。"),
            next_step=Text("end the function with `return dx, dalpha`.",
                           "函数最后写 `return dx, dalpha`。"),
        )
    dx, dalpha = value
    expect_close({"value": dx}, xt.grad.numpy(), what=Text("prelu_backward: dx", "prelu_backward：dx"),
                 regions=[Region(regions[0].label, regions[0].mask,
                                 Text("dx is α·dout where x ≤ 0.", "x ≤ 0 处 dx = α·dout。")),
                          Region(regions[1].label, regions[1].mask,
                                 Text("dx is dout where x > 0.", "x > 0 处 dx = dout。"))])
    what = Text("prelu_backward: dalpha", "prelu_backward：dalpha")
    summed = Text("α receives Σ dout·x over the positions where x ≤ 0 (one shared α, so sum over all "
                  "of them; return a scalar).",
                  "α 的梯度是 x ≤ 0 处 dout·x 的总和（所有位置共享一个 α，返回标量）。")
    if isinstance(dalpha, np.ndarray) and dalpha.ndim > 0:
        raise CheckFailed(
            what,
            Text("should be one number, not an array", "应是一个数，而不是数组"),
            detail=Text(f"got an array of shape {dalpha.shape}", f"得到形状为 {dalpha.shape} 的数组"),
            cause=Text("α is one parameter shared by every position, so its gradient is the sum of "
                       "the contributions of all positions.",
                       "α 是所有位置共享的一个参数，所以它的梯度是所有位置贡献之和。"),
            next_step=Text("sum the per-position gradients (np.sum) and return that number.",
                           "把各位置的梯度求和（np.sum），返回这个数。"),
        )
    expect_close({"value": dalpha}, at.grad.numpy().reshape(()), what=what, cause=summed)


def _kind_of(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, np.ndarray):
        return f"one array of shape {value.shape}"
    return type(value).__name__


for _direction in ("forward", "backward"):
    register(Spec(
        f"prelu_{_direction}", NOTEBOOK,
        Text(f"prelu_{_direction} matches torch PReLU", f"prelu_{_direction} 与 torch PReLU 一致"),
        ("function",), partial(_prelu_run, _direction), partial(_prelu_judge, _direction),
        {"seed": 0, "shape": _SHAPE_DEFAULT, "alpha": 0.25},
    ))


# --- Maxout: x (N, D), W (k, D, H), b (k, H) -> out (N, H) ---------------------------------

def _maxout_inputs(p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(p["seed"])
    n, d, h, k = p["N"], p["D"], p["H"], p["k"]
    return rng.standard_normal((n, d)), rng.standard_normal((k, d, h)), rng.standard_normal((k, h))


def _maxout_run(direction: str, functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    x, w, b = _maxout_inputs(p)
    if direction == "forward":
        return call(functions["function"], x, w, b)
    dout = make_dout(p, (p["N"], p["H"]))
    return call(functions["function"], dout, x, w, b)


def _expect_shape(value: Any, shape: tuple[int, ...], what: Text, cause: Text) -> None:
    """A shape failure with a cause specific to the exercise (before comparing values)."""
    if isinstance(value, np.ndarray) and value.shape != shape:
        raise CheckFailed(
            what,
            Text("has the wrong shape", "形状错误"),
            detail=Text(f"expected {shape}, got {value.shape}", f"应为 {shape}，得到 {value.shape}"),
            cause=cause,
            next_step=Text("print the shape of each intermediate array.", "打印每个中间数组的形状。"),
        )


def _maxout_judge(direction: str, record: Record, p: Params) -> None:
    x, w, b = _maxout_inputs(p)
    n, h, k = p["N"], p["H"], p["k"]
    xt, wt, bt = _t(x, True), _t(w, True), _t(b, True)
    z = torch.einsum("nd,kdh->knh", xt, wt) + bt[:, None, :]
    out = z.max(dim=0).values
    if direction == "forward":
        what = Text("maxout_forward: output", "maxout_forward：输出")
        _expect_shape(
            record.get("value"), (n, h), what,
            Text(f"out has one value per example and unit, (N, H) = ({n}, {h}): compute the k = {k} "
                 "pieces x @ W[j] + b[j], each (N, H), and take the max over the pieces (the k axis), "
                 "which then disappears.",
                 f"输出对每个样本、每个单元各有一个值，(N, H) = ({n}, {h})：先算 k = {k} 片 x @ W[j] + b[j]"
                 "（每片 (N, H)），再在片的维度（k 维）上取最大值，该维随之消失。"),
        )
        expect_close(record, out.detach().numpy(), what=what,
                     cause=Text("out[n, h] = max over k of (x @ W[k] + b[k])[n, h]; take the max over "
                                "the k axis, not over features.",
                                "out[n, h] = 对 k 取 (x @ W[k] + b[k])[n, h] 的最大值；在 k 维上取最大值。"))
        return
    out.backward(_t(make_dout(p, (n, h))))
    what = Text("maxout_backward")
    value = value_of(record, what)
    if not (isinstance(value, (tuple, list)) and len(value) == 3):
        raise CheckFailed(what,
                          Text("should return a triple (dx, dW, db)", "应返回三元组 (dx, dW, db)"),
                          detail=Text(f"got {_kind_of(value)}", f"得到 {_kind_of(value)}"),
                          cause=Text("a maxout layer has three inputs that need a gradient: x, W and b.",
                                     "maxout 层有三个需要梯度的输入：x、W 和 b。"),
                          next_step=Text("end the function with `return dx, dW, db`.",
                                         "函数最后写 `return dx, dW, db`。"))
    routing = Text("the gradient flows only through the winning piece k* of each (n, h); "
                   "build a one-hot mask of the argmax over k.",
                   "梯度只流经每个 (n, h) 取得最大值的那一片 k*：对 k 的 argmax 建一个 one-hot 掩码。")
    for got, ref, label, like in zip(value, (xt.grad, wt.grad, bt.grad), ("dx", "dW", "db"),
                                     ("x (N, D)", "W (k, D, H)", "b (k, H)")):
        part = Text(f"maxout_backward: {label}", f"maxout_backward：{label}")
        _expect_shape(got, tuple(ref.shape), part,
                      Text(f"{label} has the shape of {like}.", f"{label} 的形状与 {like} 相同。"))
        expect_close({"value": got}, ref.numpy(), what=part, cause=routing)


for _direction in ("forward", "backward"):
    register(Spec(
        f"maxout_{_direction}", NOTEBOOK,
        Text(f"maxout_{_direction} matches torch", f"maxout_{_direction} 与 torch 一致"),
        ("function",), partial(_maxout_run, _direction), partial(_maxout_judge, _direction),
        {"seed": 0, "N": 5, "D": 4, "H": 3, "k": 2},
    ))


# --- Dead ReLUs: the fraction of units that never activate on a batch ----------------------

def _dead_inputs(p: Params) -> np.ndarray:
    rng = np.random.default_rng(p["seed"])
    z = rng.standard_normal((p["N"], p["H"])) + rng.uniform(-4.0, 1.0, size=p["H"])
    z[np.abs(z) < 1e-3] = 0.5
    return z


def _dead_run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    return call(functions["function"], _dead_inputs(p))


def _dead_judge(record: Record, p: Params) -> None:
    z = torch.tensor(_dead_inputs(p), dtype=torch.float64)
    inactive = F.relu(z) == 0  # (N, H): the unit passes nothing for that example
    expected = inactive.all(dim=0).double().mean().numpy()
    what = Text("dead_relu_fraction")
    got = as_array(value_of(record, what), what, expected, allow_scalar=True)
    if np.isclose(got, expected, rtol=FLOAT64.rtol, atol=FLOAT64.atol):
        return
    mistakes = [
        (inactive.double().mean().numpy(),
         Text("you measured the fraction of inactive entries (example, unit); a unit is dead "
              "only when it is inactive for every example: reduce over axis 0 with all first.",
              "你算的是不激活的 (样本, 单元) 元素所占比例；只有对所有样本都不激活的单元才算死亡："
              "先沿第 0 维做 all。")),
        (inactive.any(dim=0).double().mean().numpy(),
         Text("you counted units inactive for *some* example (any); a dead unit is inactive for "
              "*every* example (all).",
              "你统计的是对*某些*样本不激活的单元（any）；死亡单元要对*所有*样本都不激活（all）。")),
        (inactive.all(dim=1).double().mean().numpy(),
         Text("you reduced over the wrong axis: z is (N, H), one column per unit; reduce over the "
              "examples, axis 0.",
              "维度用错了：z 的形状是 (N, H)，每列是一个单元；应沿样本所在的第 0 维归约。")),
        (1.0 - expected,
         Text("you returned the fraction of units that are alive (active for some example).",
              "你返回的是存活单元（对某些样本激活）的比例。")),
    ]
    cause = next((c for value, c in mistakes if np.isclose(got, value, rtol=1e-7, atol=1e-7)),
                 Text("a unit is dead when its pre-activation is ≤ 0 for *every* example "
                      "(all over axis 0); return the fraction of such units as a float.",
                      "某单元对*所有*样本的预激活都 ≤ 0 时才算死亡（沿第 0 维 all）；"
                      "返回这类单元所占比例（浮点数）。"))
    raise CheckFailed(
        what,
        Text("differs from the measured fraction of dead units", "与测得的死亡单元比例不一致"),
        detail=Text(f"expected {float(expected):.4g}, got {float(got):.4g}",
                    f"应为 {float(expected):.4g}，得到 {float(got):.4g}"),
        cause=cause,
        next_step=Text("try it on a tiny z you can check by hand, e.g. np.array([[-1., 2.], [-3., -4.]]) "
                       "(one dead unit of two: 0.5).",
                       "在一个能手算的小例子上试试，例如 np.array([[-1., 2.], [-3., -4.]])"
                       "（两个单元中一个死亡：0.5）。"),
    )


register(Spec(
    "dead_relu_fraction", NOTEBOOK,
    Text("dead_relu_fraction matches a torch measurement", "dead_relu_fraction 与 torch 测量一致"),
    ("function",), _dead_run, _dead_judge, {"seed": 0, "N": 64, "H": 40},
))
