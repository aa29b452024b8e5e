"""Checks for 01_activations: every activation's forward and backward vs torch.

Each check regenerates its inputs from ``seed`` and ``shape``; the reference
is ``torch.nn.functional`` in float64 and its gradient comes from autograd.
Inputs stay at least 1e-3 away from kinks (ReLU's 0) so a correct float64
implementation agrees with torch to rounding (tolerance :data:`FLOAT64`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.compare import FLOAT64, Region, expect_close, value_of
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, register
from nnlab.i18n import Text

NOTEBOOK = "01_activations"

# SELU's constants (Klambauer et al. 2017, arXiv:1706.02515), as printed in the lecture.
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


def _elementwise(
    name: str,
    reference: Reference,
    *,
    backward: bool,
    extra: Callable[[Params], tuple[Any, ...]] = lambda p: (),
    params: dict[str, Any] | None = None,
    causes: dict[str, Text] | None = None,
    cause: Text | None = None,
    title: Text,
) -> Spec:
    """A check of ``f(x, *extra)`` or ``f_backward(dout, x, *extra)`` against torch."""
    defaults = {"seed": 0, "shape": _SHAPE_DEFAULT, "extremes": False, **(params or {})}
    causes = causes or {}

    def run(functions: dict[str, Callable[..., Any]], p: Params) -> Record:
        x = make_x(p)
        if backward:
            return call(functions["function"], make_dout(p, x.shape), x, *extra(p))
        return call(functions["function"], x, *extra(p))

    def judge(record: Record, p: Params) -> None:
        x = make_x(p)
        xt = _t(x, grad=True)
        y = reference(xt, p)
        if backward:
            y.backward(_t(make_dout(p, x.shape)))
            expected = xt.grad.numpy()
        else:
            expected = y.detach().numpy()
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
        expect_close(record, expected, what=what, tol=FLOAT64, regions=regions, cause=cause)

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
_elementwise(
    "elu_forward", lambda x, p: F.elu(x, p["alpha"]), backward=False,
    extra=lambda p: (p["alpha"],), params={**_ALPHA, "extremes": True},
    causes={"neg": Text("for x ≤ 0 ELU is α(eˣ − 1).", "x ≤ 0 时 ELU 为 α(eˣ − 1)。"),
            "extreme": Text("evaluate eˣ only where x ≤ 0 so large x cannot overflow.",
                            "只在 x ≤ 0 处计算 eˣ，避免大 x 溢出。")},
    title=Text("elu_forward matches torch", "elu_forward 与 torch 一致"),
)
_elementwise(
    "elu_backward", lambda x, p: F.elu(x, p["alpha"]), backward=True,
    extra=lambda p: (p["alpha"],), params={**_ALPHA, "extremes": True},
    causes={"neg": Text("for x ≤ 0 the derivative is α·eˣ (= ELU(x) + α).",
                        "x ≤ 0 时导数为 α·eˣ（= ELU(x) + α）。"),
            "extreme": Text("evaluate eˣ only where x ≤ 0 so large x cannot overflow.",
                            "只在 x ≤ 0 处计算 eˣ，避免大 x 溢出。")},
    title=Text("elu_backward matches autograd", "elu_backward 与 autograd 一致"),
)
_SELU_CAUSE = Text(
    "SELU is λx for x > 0 and λα(eˣ − 1) otherwise, with the lecture's α ≈ 1.6733 and λ ≈ 1.0507 "
    "written to full precision.",
    "SELU 在 x > 0 时为 λx，否则为 λα(eˣ − 1)；α ≈ 1.6733、λ ≈ 1.0507 要写全精度。",
)
_elementwise(
    "selu_forward", lambda x, p: F.selu(x), backward=False, params={"extremes": True},
    cause=_SELU_CAUSE,
    title=Text("selu_forward matches torch", "selu_forward 与 torch 一致"),
)
_elementwise(
    "selu_backward", lambda x, p: F.selu(x), backward=True, params={"extremes": True},
    cause=_SELU_CAUSE,
    title=Text("selu_backward matches autograd", "selu_backward 与 autograd 一致"),
)

_GELU_CAUSE = Text(
    "approximate='none' is x·Φ(x) with the exact normal CDF Φ(x) = (1 + erf(x/√2))/2; "
    "approximate='tanh' is 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). Check you did not swap them.",
    "approximate='none' 用精确的正态分布函数 Φ(x) = (1 + erf(x/√2))/2；approximate='tanh' 用 "
    "0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))。检查是否把两者弄反。",
)
_elementwise(
    "gelu_forward", lambda x, p: F.gelu(x, approximate=p["approximate"]),
    backward=False, extra=lambda p: (p["approximate"],),
    params={"approximate": "none", "extremes": True}, cause=_GELU_CAUSE,
    title=Text("gelu_forward matches torch", "gelu_forward 与 torch 一致"),
)
_elementwise(
    "gelu_backward", lambda x, p: F.gelu(x, approximate=p["approximate"]),
    backward=True, extra=lambda p: (p["approximate"],),
    params={"approximate": "none", "extremes": True}, cause=_GELU_CAUSE,
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
    regions = _regions(x)
    if direction == "forward":
        expect_close(record, y.detach().numpy(), what=Text("prelu_forward: output", "prelu_forward：输出"),
                     regions=regions,
                     cause=Text("PReLU is max(αx, x) for α < 1: x where x > 0, αx elsewhere.",
                                "PReLU：x > 0 时为 x，否则为 αx。"))
        return
    y.backward(_t(make_dout(p, x.shape)))
    value = value_of(record, Text("prelu_backward", "prelu_backward"))
    if not (isinstance(value, tuple) and len(value) == 2):
        raise CheckFailed(
            Text("prelu_backward", "prelu_backward"),
            Text("should return a pair (dx, dalpha)", "应返回二元组 (dx, dalpha)"),
            next_step=Text("return dx, dalpha", "写 return dx, dalpha"),
        )
    dx, dalpha = value
    expect_close({"value": dx}, xt.grad.numpy(), what=Text("prelu_backward: dx"),
                 regions=[Region(r.label, r.mask, Text("dx is α·dout where x ≤ 0.",
                                                        "x ≤ 0 处 dx = α·dout。") if i == 0 else None)
                          for i, r in enumerate(regions)])
    expect_close({"value": dalpha}, at.grad.numpy().reshape(()), what=Text("prelu_backward: dalpha"),
                 cause=Text("α receives Σ dout·x over the positions where x ≤ 0 (one shared α, so "
                            "sum over all of them; return a scalar).",
                            "α 的梯度是 x ≤ 0 处 dout·x 的总和（所有位置共享一个 α，返回标量）。"))


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


def _maxout_judge(direction: str, record: Record, p: Params) -> None:
    x, w, b = _maxout_inputs(p)
    xt, wt, bt = _t(x, True), _t(w, True), _t(b, True)
    z = torch.einsum("nd,kdh->knh", xt, wt) + bt[:, None, :]
    out = z.max(dim=0).values
    if direction == "forward":
        expect_close(record, out.detach().numpy(),
                     what=Text("maxout_forward: output", "maxout_forward：输出"),
                     cause=Text("out[n, h] = max over k of (x @ W[k] + b[k])[n, h]; take the max over "
                                "the k axis, not over features.",
                                "out[n, h] = 对 k 取 (x @ W[k] + b[k])[n, h] 的最大值；在 k 维上取最大值。"))
        return
    out.backward(_t(make_dout(p, (p["N"], p["H"]))))
    value = value_of(record, Text("maxout_backward"))
    if not (isinstance(value, tuple) and len(value) == 3):
        raise CheckFailed(Text("maxout_backward"),
                          Text("should return a triple (dx, dW, db)", "应返回三元组 (dx, dW, db)"),
                          next_step=Text("return dx, dW, db", "写 return dx, dW, db"))
    routing = Text("the gradient flows only through the winning piece k* of each (n, h); "
                   "build a one-hot mask of the argmax over k.",
                   "梯度只流经每个 (n, h) 取得最大值的那一片 k*：对 k 的 argmax 建一个 one-hot 掩码。")
    for got, ref, label in zip(value, (xt.grad, wt.grad, bt.grad), ("dx", "dW", "db")):
        expect_close({"value": got}, ref.numpy(), what=Text(f"maxout_backward: {label}"),
                     cause=routing)


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
    measured = (F.relu(z) == 0).all(dim=0).double().mean()
    expect_close(record, measured.numpy(), what=Text("dead_relu_fraction"),
                 cause=Text("a unit is dead when its pre-activation is ≤ 0 for *every* example "
                            "(all over axis 0); return the fraction of such units as a float.",
                            "某单元对*所有*样本的预激活都 ≤ 0 时才算死亡（沿第 0 维 all）；"
                            "返回这类单元所占比例（浮点数）。"))


register(Spec(
    "dead_relu_fraction", NOTEBOOK,
    Text("dead_relu_fraction matches a torch measurement", "dead_relu_fraction 与 torch 测量一致"),
    ("function",), _dead_run, _dead_judge, {"seed": 0, "N": 64, "H": 40},
))
