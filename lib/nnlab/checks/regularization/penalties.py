"""l2_penalty, l1_penalty and elastic_net_penalty: loss and dW against torch autograd."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch

from nnlab.checks.compare import close_to, tensor64, unpack, value_of
from nnlab.checks.regularization._common import NOTEBOOK, Functions, off_zero
from nnlab.checks.spec import Params, Record, Spec, call, register
from nnlab.i18n import Text


def _penalty_W(p: Params) -> np.ndarray:
    # L1's |W| has a kink at 0: keep every weight at least 1e-3 away from it.
    return off_zero(np.random.default_rng(p["seed"]).standard_normal(tuple(p["shape"])))


def _penalty_run(kind: str, functions: Functions, p: Params) -> Record:
    W = _penalty_W(p)
    extra = (p["beta"],) if kind == "elastic_net" else ()
    return call(functions["function"], W, p["lam"], *extra)


def _penalty_reference(kind: str, W: torch.Tensor, p: Params) -> torch.Tensor:
    l2 = torch.linalg.vector_norm(W) ** 2
    l1 = torch.linalg.vector_norm(W, ord=1)
    if kind == "l2":
        return p["lam"] * l2
    if kind == "l1":
        return p["lam"] * l1
    return p["lam"] * (p["beta"] * l2 + l1)


_PENALTY_CAUSE = {
    "l2": Text("the lecture's L2 penalty is λ·ΣW² (weight decay), without a factor ½; "
               "its gradient is 2λW.",
               "课件中的 L2 正则项是 λ·ΣW²（权重衰减），没有 ½；梯度是 2λW。"),
    "l1": Text("the L1 penalty is λ·Σ|W|; its gradient is λ·sign(W) (W is never 0 here).",
               "L1 正则项是 λ·Σ|W|，梯度是 λ·sign(W)（这里 W 不为 0）。"),
    "elastic_net": Text("the lecture's elastic net is λ·Σ(βW² + |W|): β weights only the "
                        "squared term, λ multiplies both; gradient λ(2βW + sign(W)).",
                        "课件中的弹性网络是 λ·Σ(βW² + |W|)：β 只乘平方项，λ 乘整体；"
                        "梯度为 λ(2βW + sign(W))。"),
}


def _penalty_judge(kind: str, record: Record, p: Params) -> None:
    name = f"{kind}_penalty"
    W = _penalty_W(p)
    Wt = tensor64(W, grad=True)
    loss = _penalty_reference(kind, Wt, p)
    loss.backward()
    got_loss, got_dW = unpack(value_of(record, Text(name)), Text(name), ("loss", "dW"))
    cause = _PENALTY_CAUSE[kind]
    ref_loss, ref_dW = loss.detach().numpy(), Wt.grad.numpy()
    halves = ((ref_loss / 2, cause), (ref_loss * 2, cause))
    close_to(got_loss, ref_loss, what=Text(f"{name}: loss", f"{name}：loss"), cause=cause,
             alternatives=halves if kind == "l2" else ())
    close_to(got_dW, ref_dW, what=Text(f"{name}: dW", f"{name}：dW"), cause=cause,
             next_step=Text("differentiate your loss by hand for one weight and compare.",
                            "对单个权重手动求导并比较。"))


for _kind in ("l2", "l1", "elastic_net"):
    register(Spec(
        f"{_kind}_penalty", NOTEBOOK,
        Text(f"{_kind}_penalty: loss and dW match torch autograd",
             f"{_kind}_penalty：loss 与 dW 与 torch autograd 一致"),
        ("function",), partial(_penalty_run, _kind), partial(_penalty_judge, _kind),
        {"seed": 0, "shape": (5, 4), "lam": 0.1, **({"beta": 0.5} if _kind == "elastic_net" else {})},
        numpy_only=True,
    ))
