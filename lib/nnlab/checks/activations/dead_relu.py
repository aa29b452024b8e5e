"""dead_relu_fraction: the fraction of units that never activate on a batch, measured with torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.activations._common import NOTEBOOK
from nnlab.checks.compare import FLOAT64, as_array, value_of
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text


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
    fail(
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
    numpy_only=True,
))
