"""Maxout, forward and backward against torch: ``x (N, D)``, ``W (k, D, H)``, ``b (k, H)`` -> ``(N, H)``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch

from nnlab.checks.activations._common import NOTEBOOK, kind_of, make_dout
from nnlab.checks.compare import expect_close, tensor64, value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text


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
        fail(
            what,
            Text("has the wrong shape", "形状错误"),
            detail=Text(f"expected {shape}, got {value.shape}", f"应为 {shape}，得到 {value.shape}"),
            cause=cause,
            next_step=Text("print the shape of each intermediate array.", "打印每个中间数组的形状。"),
        )


def _maxout_judge(direction: str, record: Record, p: Params) -> None:
    x, w, b = _maxout_inputs(p)
    n, h, k = p["N"], p["H"], p["k"]
    xt, wt, bt = tensor64(x, True), tensor64(w, True), tensor64(b, True)
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
    out.backward(tensor64(make_dout(p, (n, h))))
    what = Text("maxout_backward")
    value = value_of(record, what)
    if not (isinstance(value, (tuple, list)) and len(value) == 3):
        fail(what,
             Text("should return a triple (dx, dW, db)", "应返回三元组 (dx, dW, db)"),
             detail=Text(f"got {kind_of(value)}", f"得到 {kind_of(value)}"),
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
        numpy_only=True,
    ))
