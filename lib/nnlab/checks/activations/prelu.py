"""PReLU: one learned slope α; the backward returns ``(dx, dalpha)``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch.nn.functional as F

from nnlab.checks.activations._common import (
    NOTEBOOK,
    SHAPE_DEFAULT,
    kind_of,
    make_dout,
    make_x,
    sign_regions,
)
from nnlab.checks.compare import Region, expect_close, tensor64, value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text


def _prelu_alpha(p: Params) -> float:
    return float(p["alpha"])


def _prelu_run(direction: str, functions: dict[str, Callable[..., Any]], p: Params) -> Record:
    x = make_x(p)
    if direction == "forward":
        return call(functions["function"], x, _prelu_alpha(p))
    return call(functions["function"], make_dout(p, x.shape), x, _prelu_alpha(p))


def _prelu_judge(direction: str, record: Record, p: Params) -> None:
    x = make_x(p)
    xt, at = tensor64(x, grad=True), tensor64(np.array([_prelu_alpha(p)]), grad=True)
    y = F.prelu(xt, at)
    negative = Text("for x ≤ 0 PReLU returns α·x (α is the second argument).",
                    "x ≤ 0 时 PReLU 返回 α·x（α 是第二个参数）。")
    regions = sign_regions(x)
    if direction == "forward":
        expect_close(record, y.detach().numpy(), what=Text("prelu_forward: output", "prelu_forward：输出"),
                     regions=[Region(regions[0].label, regions[0].mask, negative), regions[1]],
                     cause=Text("PReLU is max(αx, x) for α < 1: x where x > 0, αx elsewhere.",
                                "PReLU：x > 0 时为 x，否则为 αx。"))
        return
    y.backward(tensor64(make_dout(p, x.shape)))
    what = Text("prelu_backward", "prelu_backward")
    value = value_of(record, what)
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        fail(
            what,
            Text("should return a pair (dx, dalpha)", "应返回二元组 (dx, dalpha)"),
            detail=Text(f"got {kind_of(value)}", f"得到 {kind_of(value)}"),
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
        fail(
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


for _direction in ("forward", "backward"):
    register(Spec(
        f"prelu_{_direction}", NOTEBOOK,
        Text(f"prelu_{_direction} matches torch PReLU", f"prelu_{_direction} 与 torch PReLU 一致"),
        ("function",), partial(_prelu_run, _direction), partial(_prelu_judge, _direction),
        {"seed": 0, "shape": SHAPE_DEFAULT, "alpha": 0.25},
        numpy_only=True,
    ))
