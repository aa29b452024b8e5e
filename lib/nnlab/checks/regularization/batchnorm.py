"""Batch norm's forward and its two backward passes against ``torch.nn.functional.batch_norm``.

`batchnorm_backward` (staged, node by node) and `batchnorm_backward_alt` (the simplified
derivation) are judged against the same reference: autograd through batch_norm.

The forward is checked in training mode (batch statistics, running averages in
torch's momentum convention) and in test mode; the cache never leaves the
student's process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch.nn.functional as F

from nnlab.checks.compare import close_to, tensor64, unpack, value_of
from nnlab.checks.regularization._common import NOTEBOOK, Functions
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text


def _bn_inputs(p: Params) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(p["seed"])
    n, d = p["N"], p["D"]
    return {
        "x": rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, d) + rng.uniform(-2, 2, d),
        "gamma": rng.uniform(0.5, 2.0, d), "beta": rng.standard_normal(d),
        "running_mean": rng.standard_normal(d), "running_var": rng.uniform(0.5, 2.0, d),
        "dout": rng.standard_normal((n, d)),
    }


def _bn_call(forward: Callable[..., Any], v: Mapping[str, np.ndarray], train: bool,
             p: Params) -> Record:
    return call(forward, v["x"], v["gamma"], v["beta"], v["running_mean"], v["running_var"],
                train, momentum=p["momentum"], eps=p["eps"])


def _without_cache(result: Record) -> Record:
    """A forward record without the cache (the cache never leaves your process)."""
    value = result.get("value")
    if "error" in result or not isinstance(value, (tuple, list)) or len(value) != 4:
        return result if "error" in result else {"value": ("wrong-arity", len(value))
                                                 if isinstance(value, (tuple, list)) else value}
    return {"value": (value[0], value[2], value[3])}


def _bn_forward_run(functions: Functions, p: Params) -> Record:
    v = _bn_inputs(p)
    return {"train": _without_cache(_bn_call(functions["forward"], v, True, p)),
            "test": _without_cache(_bn_call(functions["forward"], v, False, p))}


def _bn_forward_values(result: Record, what: Text) -> tuple[Any, Any, Any]:
    value = value_of(result, what)
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "wrong-arity":
        fail(what, Text("should return 4 values (out, cache, running_mean, running_var)",
                        "应返回 4 个值（out, cache, running_mean, running_var）"),
             detail=Text(f"got a tuple of {value[1]}", f"得到 {value[1]} 个值"),
             next_step=Text("end with `return out, cache, running_mean, running_var`.",
                            "以 `return out, cache, running_mean, running_var` 结尾。"))
    return unpack(value, what, ("out", "running_mean", "running_var"))


def _bn_forward_judge(record: Record, p: Params) -> None:
    v = _bn_inputs(p)
    m, eps = p["momentum"], p["eps"]
    x = tensor64(v["x"])
    rm, rv = tensor64(v["running_mean"]), tensor64(v["running_var"])
    gamma, beta = tensor64(v["gamma"]), tensor64(v["beta"])
    out = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=m, eps=eps)
    what = Text("batchnorm_forward (train=True)")
    got_out, got_rm, got_rv = _bn_forward_values(record["train"], what)
    close_to(got_out, out.numpy(), what=what + Text(": out", "：out"),
             cause=Text("in training normalize with the batch's own mean and biased variance (÷N), "
                        "x̂ = (x − μ_B) / √(σ²_B + eps), then out = γ·x̂ + β.",
                        "训练时用本批次的均值和有偏方差（÷N）归一化：x̂ = (x − μ_B) / √(σ²_B + eps)，"
                        "再 out = γ·x̂ + β。"))
    old_mean, old_var = v["running_mean"], v["running_var"]
    batch_mean, biased = v["x"].mean(axis=0), v["x"].var(axis=0)
    close_to(got_rm, rm.numpy(), what=what + Text(": running_mean", "：running_mean"),
             alternatives=((m * old_mean + (1 - m) * batch_mean, Text(
                 "momentum is the weight of the NEW batch statistic in torch's convention: "
                 "new = (1 − momentum)·old + momentum·batch.",
                 "torch 的约定中 momentum 是*新*批次统计量的权重："
                 "new = (1 − momentum)·old + momentum·batch。")),),
             cause=Text("new running_mean = (1 − momentum)·running_mean + momentum·batch mean "
                        "(torch's convention).",
                        "新 running_mean = (1 − momentum)·running_mean + momentum·批均值（torch 约定）。"))
    close_to(got_rv, rv.numpy(), what=what + Text(": running_var", "：running_var"),
             alternatives=(((1 - m) * old_var + m * biased, Text(
                 "torch updates running_var with the UNBIASED batch variance (÷(N − 1)), although it "
                 "normalizes the batch with the biased one (÷N).",
                 "torch 用*无偏*批方差（÷(N − 1)）更新 running_var，尽管归一化时用的是有偏方差（÷N）。")),
                           (m * old_var + (1 - m) * biased * len(batch_mean) / max(len(batch_mean) - 1, 1),
                            Text("momentum is the weight of the NEW batch statistic: "
                                 "new = (1 − momentum)·old + momentum·batch.",
                                 "momentum 是*新*批次统计量的权重："
                                 "new = (1 − momentum)·old + momentum·batch。"))),
             cause=Text("new running_var = (1 − momentum)·running_var + momentum·unbiased batch "
                        "variance (÷(N − 1)), as torch does.",
                        "新 running_var = (1 − momentum)·running_var + momentum·无偏批方差（÷(N − 1)），"
                        "与 torch 相同。"))
    test_what = Text("batchnorm_forward (train=False)")
    t_out, t_rm, t_rv = _bn_forward_values(record["test"], test_what)
    reference = F.batch_norm(x, tensor64(old_mean), tensor64(old_var), gamma, beta,
                             training=False, momentum=m, eps=eps).numpy()
    close_to(t_out, reference, what=test_what + Text(": out", "：out"),
             cause=Text("at test time normalize with the running statistics (fixed), not the batch's.",
                        "测试时用（固定的）running 统计量归一化，而不是本批次的统计量。"))
    for got, old, label in ((t_rm, old_mean, "running_mean"), (t_rv, old_var, "running_var")):
        close_to(got, old, what=test_what + Text(f": {label}", f"：{label}"),
                 cause=Text("test mode must leave the running statistics unchanged.",
                            "测试模式不能改变 running 统计量。"))


register(Spec(
    "batchnorm_forward", NOTEBOOK,
    Text("batchnorm_forward matches torch.nn.functional.batch_norm (train and test)",
         "batchnorm_forward 与 torch.nn.functional.batch_norm 一致（训练与测试）"),
    ("forward",), _bn_forward_run, _bn_forward_judge,
    {"seed": 0, "N": 8, "D": 5, "momentum": 0.1, "eps": 1e-5},
    numpy_only=True,
))


def _bn_backward_run(functions: Functions, p: Params) -> Record:
    v = _bn_inputs(p)
    forward = _bn_call(functions["forward"], v, True, p)
    value = forward.get("value")
    if "error" in forward or not isinstance(value, (tuple, list)) or len(value) != 4:
        return {"forward": _without_cache(forward)}
    cache = value[1]  # passed back to your backward here, in your process; never recorded
    return {"backward": call(functions["backward"], v["dout"], cache)}


#: the likely cause when dx is wrong, per exercise: the staged walk through the graph, or the
#: simplified expression derived from it
_DX_CAUSE = {
    "batchnorm_backward": (
        Text("x reaches the output three ways: directly, through the batch mean and through the "
             "batch variance; the gradients of the three paths add up.",
             "x 通过三条路径影响输出：直接、经批均值、经批方差；三条路径的梯度相加。"),
        Text("walk the computational graph of the notebook backwards, node by node, and compare "
             "each intermediate gradient with autograd's on a small example.",
             "按 notebook 中的计算图从输出往回逐个节点反向传播，"
             "并在小例子上把每个中间梯度与 autograd 比较。")),
    "batchnorm_backward_alt": (
        Text("the simplified dx must equal the staged one: collect the three paths into one "
             "expression in x̂, dout·γ and their sums over the batch (the terms through μ_B and "
             "σ²_B each carry a factor 1/N).",
             "化简后的 dx 必须与逐节点推导的结果相同：把三条路径合并成一个只含 x̂、dout·γ 及其"
             "沿批次求和的表达式（经 μ_B 和 σ²_B 的两项各带一个 1/N）。"),
        Text("compare your batchnorm_backward_alt with your batchnorm_backward on the same cache "
             "(rel_error); where they differ, re-derive that term.",
             "在同一个 cache 上比较 batchnorm_backward_alt 与 batchnorm_backward（rel_error），"
             "对不一致的项重新推导。")),
}


def _bn_backward_judge_for(name: str) -> Callable[[Record, Params], None]:
    """The judge of ``name``: dx, dgamma and dbeta against torch autograd through batch_norm."""
    def judge(record: Record, p: Params) -> None:
        if "forward" in record:
            _bn_forward_values(record["forward"], Text(f"batchnorm_forward (needed by {name})",
                                                       f"batchnorm_forward（{name} 需要它）"))
        v = _bn_inputs(p)
        x, gamma, beta = tensor64(v["x"], True), tensor64(v["gamma"], True), tensor64(v["beta"], True)
        out = F.batch_norm(x, None, None, gamma, beta, training=True, eps=p["eps"])
        out.backward(tensor64(v["dout"]))
        what = Text(name)
        dx, dgamma, dbeta = unpack(value_of(record["backward"], what), what, ("dx", "dgamma", "dbeta"))
        close_to(dbeta, beta.grad.numpy(), what=what + Text(": dbeta"),
                 cause=Text("dbeta = dout summed over the batch (axis 0).",
                            "dbeta = dout 沿批次维（axis 0）求和。"))
        close_to(dgamma, gamma.grad.numpy(), what=what + Text(": dgamma"),
                 cause=Text("dgamma = Σ over the batch of dout · x̂ (the normalized input, not x).",
                            "dgamma = 沿批次对 dout · x̂ 求和（x̂ 是归一化后的输入，不是 x）。"))
        cause, next_step = _DX_CAUSE[name]
        close_to(dx, x.grad.numpy(), what=what + Text(": dx"), cause=cause, next_step=next_step)

    return judge


register(Spec(
    "batchnorm_backward", NOTEBOOK,
    Text("batchnorm_backward matches torch autograd", "batchnorm_backward 与 torch autograd 一致"),
    ("forward", "backward"), _bn_backward_run, _bn_backward_judge_for("batchnorm_backward"),
    {"seed": 0, "N": 8, "D": 5, "momentum": 0.1, "eps": 1e-5},
    numpy_only=True,
))

register(Spec(
    "batchnorm_backward_alt", NOTEBOOK,
    Text("batchnorm_backward_alt (the simplified derivation) matches torch autograd",
         "batchnorm_backward_alt（化简后的推导）与 torch autograd 一致"),
    ("forward", "backward"), _bn_backward_run, _bn_backward_judge_for("batchnorm_backward_alt"),
    {"seed": 0, "N": 8, "D": 5, "momentum": 0.1, "eps": 1e-5},
    numpy_only=True,
))
