"""Checks for 04_regularization: weight penalties, batch norm, early stopping, ensembles.

The random layers (dropout, DropConnect, stochastic depth) are checked in
:mod:`nnlab.checks.dropout` and the augmentations in
:mod:`nnlab.checks.augmentation`; both use the helpers defined here.

Deterministic parts are compared with torch in float64 (:data:`FLOAT64`):
the penalties with ``torch.linalg.vector_norm`` and autograd, batch norm with
``torch.nn.functional.batch_norm``. Random parts cannot be compared value by
value (your code draws its own random numbers): their checks are
*structural* and *statistical*, a fraction or a mean within 5 standard
errors of its expectation with a fixed seed (:func:`within`); each message
states the standard error.

``p`` is never left ambiguous: ``p_drop`` is the probability of dropping a
unit (torch's ``p``), ``p_keep = 1 - p_drop`` is the lecture's ``p``, and
``p_survive`` is the probability that a residual branch is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NoReturn

import numpy as np
import torch
import torch.nn.functional as F

from nnlab.checks.compare import FLOAT64, Tolerance, expect_close, value_of
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, register
from nnlab.i18n import Text

NOTEBOOK = "04_regularization"
BANDS = 5.0  # statistical checks allow 5 standard errors (a false alarm < 1 in 1.7 million)

Functions = Mapping[str, Callable[..., Any]]


# --------------------------------------------------------------------------- helpers

def fail(what: Text, kind: Text, detail: Text | None = None, cause: Text | None = None,
         next_step: Text | None = None) -> NoReturn:
    """Raise a :class:`CheckFailed` (a shorthand shared with the augmentation checks)."""
    raise CheckFailed(what, kind, detail, cause, next_step)


def unpack(value: Any, what: Text, names: tuple[str, ...]) -> tuple[Any, ...]:
    """``value`` as a tuple of ``len(names)`` items, or a failure naming what to return."""
    wanted = ", ".join(names)
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = f"{type(value).__name__}" + (f" of {len(value)}" if isinstance(value, (tuple, list)) else "")
        fail(what, Text(f"should return {len(names)} values ({wanted})",
                        f"应返回 {len(names)} 个值（{wanted}）"),
             detail=Text(f"got {got}", f"得到 {got}"),
             next_step=Text(f"end with `return {wanted}`.", f"以 `return {wanted}` 结尾。"))
    return tuple(value)


def within(statistic: float, expected: float, stderr: float, *, what: Text, name: Text,
           cause: Text | None = None, next_step: Text | None = None,
           extra: Text | None = None) -> None:
    """``|statistic - expected| <= 5 * stderr``, else a failure stating the standard error."""
    if np.isfinite(statistic) and abs(statistic - expected) <= BANDS * stderr:
        return
    detail = Text(
        f"{name.en} = {statistic:.4g}, expected {expected:.4g} ± {BANDS:g}×{stderr:.2g} "
        f"(standard error)",
        f"{name.zh or name.en} = {statistic:.4g}，期望 {expected:.4g} ± {BANDS:g}×{stderr:.2g}（标准误差）",
    )
    if extra is not None:
        detail = detail + Text("; ", "；") + extra
    fail(what, Text("is statistically off", "统计量偏离预期"), detail, cause, next_step)


def fraction_within(count: int, n: int, p: float, *, what: Text, name: Text,
                    cause: Text | None = None, next_step: Text | None = None,
                    extra: Text | None = None) -> None:
    """A binomial fraction ``count / n`` against its probability ``p`` (SE = √(p(1−p)/n))."""
    stderr = math.sqrt(max(p * (1 - p), 1e-12) / n)
    within(count / n, p, stderr, what=what, name=name, cause=cause, next_step=next_step, extra=extra)


def close_to(value: Any, expected: np.ndarray, *, what: Text, cause: Text | None = None,
             alternatives: tuple[tuple[np.ndarray, Text], ...] = (), tol: Tolerance = FLOAT64,
             next_step: Text | None = None) -> np.ndarray:
    """:func:`expect_close` on a value; a matching wrong ``alternative`` names its own cause."""
    expected = np.asarray(expected)
    if isinstance(value, (np.ndarray, float, np.floating)) and np.shape(value) == expected.shape:
        got = np.asarray(value, dtype=np.float64)
        for alternative, alt_cause in alternatives:
            if (np.allclose(got, alternative, rtol=tol.rtol, atol=tol.atol)
                    and not np.allclose(alternative, expected, rtol=tol.rtol, atol=tol.atol)):
                cause = alt_cause
                break
    return expect_close({"value": value}, expected, what=what, tol=tol, cause=cause,
                        next_step=next_step)


def off_zero(x: np.ndarray, margin: float = 1e-3) -> np.ndarray:
    """``x`` with entries closer than ``margin`` to 0 moved to 0.5 (kinks, and "was it zeroed?")."""
    x = x.copy()
    x[np.abs(x) < margin] = 0.5
    return x


def torch_dropout(x: np.ndarray, p_drop: float, seed: int) -> np.ndarray:
    """``torch.nn.functional.dropout(x, p=p_drop, training=True)`` with its own seed (float64)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return F.dropout(torch.tensor(x, dtype=torch.float64), p=p_drop, training=True).numpy()


def torch_dropout_scale(p_drop: float) -> float:
    """The factor torch's (inverted) dropout multiplies kept entries by, measured on ones."""
    out = torch_dropout(np.ones(64), p_drop, seed=0)
    return float(out[out != 0][0]) if (out != 0).any() else math.inf


def tensor64(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


# P_CONFUSION: the cause when the fraction of zeros is 1 - p_drop instead of p_drop.
P_CONFUSION = Text(
    "p_drop was used as the keep probability. Here p_drop is the probability of DROPPING "
    "(zeroing) a unit, as torch's p; the keep probability is p_keep = 1 − p_drop. The "
    "lecture's `p` is the keep probability: mask = rng.random(x.shape) < p_keep.",
    "把 p_drop 当成了保留概率。这里 p_drop 是*丢弃*（置零）一个单元的概率，与 torch 的 p 相同；"
    "保留概率 p_keep = 1 − p_drop。课件里的 `p` 是保留概率：mask = rng.random(x.shape) < p_keep。",
)


# --------------------------------------------------------------------------- penalties

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
    ))


# --------------------------------------------------------------------------- batch norm

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
))


def _bn_backward_run(functions: Functions, p: Params) -> Record:
    v = _bn_inputs(p)
    forward = _bn_call(functions["forward"], v, True, p)
    value = forward.get("value")
    if "error" in forward or not isinstance(value, (tuple, list)) or len(value) != 4:
        return {"forward": _without_cache(forward)}
    cache = value[1]  # passed back to your backward here, in your process; never recorded
    return {"backward": call(functions["backward"], v["dout"], cache)}


def _bn_backward_judge(record: Record, p: Params) -> None:
    if "forward" in record:
        _bn_forward_values(record["forward"], Text("batchnorm_forward (needed by batchnorm_backward)",
                                                   "batchnorm_forward（batchnorm_backward 需要它）"))
    v = _bn_inputs(p)
    x, gamma, beta = tensor64(v["x"], True), tensor64(v["gamma"], True), tensor64(v["beta"], True)
    out = F.batch_norm(x, None, None, gamma, beta, training=True, eps=p["eps"])
    out.backward(tensor64(v["dout"]))
    what = Text("batchnorm_backward")
    dx, dgamma, dbeta = unpack(value_of(record["backward"], what), what, ("dx", "dgamma", "dbeta"))
    close_to(dbeta, beta.grad.numpy(), what=what + Text(": dbeta"),
             cause=Text("dbeta = dout summed over the batch (axis 0).",
                        "dbeta = dout 沿批次维（axis 0）求和。"))
    close_to(dgamma, gamma.grad.numpy(), what=what + Text(": dgamma"),
             cause=Text("dgamma = Σ over the batch of dout · x̂ (the normalized input, not x).",
                        "dgamma = 沿批次对 dout · x̂ 求和（x̂ 是归一化后的输入，不是 x）。"))
    close_to(dx, x.grad.numpy(), what=what + Text(": dx"),
             cause=Text("x reaches the output three ways: directly, through the batch mean and "
                        "through the batch variance; dx = (γ/σ)/N · (N·dout − Σdout − x̂·Σ(dout·x̂)) "
                        "with σ = √(var + eps).",
                        "x 通过三条路径影响输出：直接、经批均值、经批方差；"
                        "dx = (γ/σ)/N · (N·dout − Σdout − x̂·Σ(dout·x̂))，σ = √(var + eps)。"),
             next_step=Text("draw the computational graph of batch norm and backpropagate node by node.",
                            "画出批归一化的计算图，逐个节点反向传播。"))


register(Spec(
    "batchnorm_backward", NOTEBOOK,
    Text("batchnorm_backward matches torch autograd", "batchnorm_backward 与 torch autograd 一致"),
    ("forward", "backward"), _bn_backward_run, _bn_backward_judge,
    {"seed": 0, "N": 8, "D": 5, "momentum": 0.1, "eps": 1e-5},
))


# --------------------------------------------------------------------------- early stopping

def _es_sequences(p: Params) -> list[tuple[float, ...]]:
    """Validation accuracies to drive EarlyStopping with (from ``seed``; higher is better).

    A noisy learning curve rounded to 2 decimals (so ties happen), a curve that only gets
    worse, one with a plateau at its best value, and one that never stops improving.
    """
    rng = np.random.default_rng(p["seed"])
    t = np.arange(40)
    curve = 0.9 - 0.5 * np.exp(-t / 5) - 0.01 * np.maximum(0, t - 12) + rng.normal(0, 0.02, t.size)
    patience = int(p["patience"])
    start = float(np.round(rng.uniform(0.3, 0.6), 2))
    return [
        tuple(float(v) for v in np.round(curve, 2)),
        tuple(round(start - 0.05 * k, 2) for k in range(patience + 3)),
        (0.2, start, start, *[start] * (patience + 1), start + 0.1),
        tuple(round(0.1 + 0.05 * k, 2) for k in range(patience + 4)),
    ]


def _es_run(functions: Functions, p: Params) -> Record:
    runs = []
    for metrics in _es_sequences(p):
        made = call(functions["cls"], p["patience"])
        if "error" in made:
            return {"init": made}
        stopper = made["value"]
        params = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
        returns = []
        for step, metric in enumerate(metrics):
            params["W"][...] = step  # updated in place, as an optimizer does
            params["b"][...] = -step
            result = call(lambda s=stopper, m=metric, q=params: s.step(m, q))
            returns.append(result)
            if "error" in result or result.get("value") is True or isinstance(
                    result.get("value"), np.bool_) and bool(result["value"]):
                break
        params["W"] += 1000.0  # training goes on changing the same arrays
        params["b"] += 1000.0
        runs.append({"returns": returns,
                     "best": call(lambda s=stopper: s.best_params)})
    return {"runs": runs}


def _simulate(metrics: tuple[float, ...], patience: int) -> tuple[list[bool], int]:
    """The spec, step by step: stop once ``patience`` steps in a row bring no new best."""
    best, best_step, returns = -math.inf, -1, []
    for step, metric in enumerate(metrics):
        if metric > best:
            best, best_step = metric, step
        stop = step - best_step >= patience
        returns.append(stop)
        if stop:
            break
    return returns, best_step


def _es_judge(record: Record, p: Params) -> None:
    what = Text("EarlyStopping")
    if "init" in record:
        value_of(record["init"], Text("EarlyStopping(patience)"))
    patience = int(p["patience"])
    rule = Text(f"with patience={patience}, step() returns True as soon as {patience} steps in a row "
                "bring no new best; higher val_metric is better, and a value equal to the best is "
                "not an improvement.",
                f"patience={patience} 时，连续 {patience} 步没有新的最好值就让 step() 返回 True；"
                "val_metric 越高越好，与最好值相等不算提升。")
    for metrics, run in zip(_es_sequences(p), record["runs"]):
        expected, best_step = _simulate(metrics, patience)
        for step, result in enumerate(run["returns"]):
            got = value_of(result, what + Text(".step"))
            if not isinstance(got, (bool, np.bool_)):
                fail(what + Text(".step"), Text("should return True or False", "应返回 True 或 False"),
                     detail=Text(f"got {type(got).__name__}", f"得到 {type(got).__name__}"),
                     next_step=Text("return a bool: whether training should stop now.",
                                    "返回布尔值：现在是否应停止训练。"))
            if step >= len(expected) or bool(got) != expected[step]:
                want = expected[step] if step < len(expected) else False
                shown = ", ".join(f"{m:g}" for m in metrics[: step + 1])
                fail(what + Text(".step"), Text("stops at the wrong step", "停止的步数不对"),
                     detail=Text(f"after the metrics {shown}: returned {bool(got)}, expected {want}",
                                 f"依次输入 {shown} 后：返回 {bool(got)}，应为 {want}"),
                     cause=rule)
        if len(run["returns"]) < len(expected):
            fail(what + Text(".step"), Text("never stops", "一直没有停止"), cause=rule)
        best = value_of(run["best"], what + Text(".best_params"))
        best_what = what + Text(".best_params")
        if not isinstance(best, dict) or set(best) != {"W", "b"}:
            fail(best_what, Text("should be a dict with the same keys as params",
                                 "应是与 params 键相同的字典"),
                 detail=Text(f"got {type(best).__name__}", f"得到 {type(best).__name__}"),
                 next_step=Text("in step(), on a new best: self.best_params = copy.deepcopy(params).",
                                "在 step() 中遇到新的最好值时：self.best_params = copy.deepcopy(params)。"))
        W = best["W"]
        if not isinstance(W, np.ndarray) or W.shape != (2, 3):
            fail(best_what, Text("does not hold the params' arrays", "没有保存参数数组"),
                 next_step=Text("store copy.deepcopy(params).", "保存 copy.deepcopy(params)。"))
        if np.all(W >= 1000):
            fail(best_what, Text("changed after step() returned", "在 step() 返回后被改变了"),
                 detail=Text("it shows the parameters' latest values, not the snapshot",
                             "它显示的是参数的最新值，而不是快照"),
                 cause=Text("best_params refers to the same arrays the optimizer keeps updating in "
                            "place (a reference or a shallow copy such as dict(params)).",
                            "best_params 引用了优化器原地更新的同一批数组"
                            "（引用或 dict(params) 这样的浅拷贝）。"),
                 next_step=Text("self.best_params = copy.deepcopy(params)",
                                "self.best_params = copy.deepcopy(params)"))
        snapshot_step = float(np.median(W))
        if not np.allclose(W, best_step) or not np.allclose(best["b"], -best_step):
            fail(best_what, Text("is not the snapshot of the best step", "不是最好那一步的快照"),
                 detail=Text(f"holds the params of step {snapshot_step:g}, the best val_metric "
                             f"came at step {best_step}",
                             f"保存的是第 {snapshot_step:g} 步的参数，"
                             f"最好的 val_metric 出现在第 {best_step} 步"),
                 cause=Text("take the snapshot only when val_metric improves on the best so far.",
                            "只在 val_metric 超过目前最好值时保存快照。"))


register(Spec(
    "EarlyStopping", NOTEBOOK,
    Text("EarlyStopping stops after `patience` steps without a new best, keeps a copy of the best params",
         "EarlyStopping 连续 patience 步无提升即停止，并保存最好参数的副本"),
    ("cls",), _es_run, _es_judge, {"seed": 0, "patience": 2},
))


# --------------------------------------------------------------------------- ensembles

def _ensemble_inputs(p: Params) -> np.ndarray:
    logits = np.random.default_rng(p["seed"]).standard_normal((p["M"], p["N"], p["C"])) * 2
    return torch.softmax(tensor64(logits), dim=-1).numpy()


def _ensemble_run(functions: Functions, p: Params) -> Record:
    probs = _ensemble_inputs(p)
    return {"array": call(functions["function"], probs),
            "list": call(functions["function"], list(probs))}


def _ensemble_judge(record: Record, p: Params) -> None:
    probs = tensor64(_ensemble_inputs(p))
    expected = torch.stack(list(probs)).mean(dim=0).numpy()
    for form, label in (("array", "an (M, N, C) array"), ("list", "a list of M (N, C) arrays")):
        close_to(value_of(record[form], Text("ensemble_predict")), expected,
                 what=Text(f"ensemble_predict (given {label})", f"ensemble_predict（输入为 {label}）"),
                 cause=Text("average the M models' class probabilities: mean over the model axis "
                            "(axis 0), keeping (N, C); np.asarray turns a list into an (M, N, C) array.",
                            "对 M 个模型的类别概率取平均：在模型维（axis 0）上求均值，保留 (N, C)；"
                            "np.asarray 可把列表变成 (M, N, C) 数组。"))


register(Spec(
    "ensemble_predict", NOTEBOOK,
    Text("ensemble_predict averages the models' probabilities", "ensemble_predict 对各模型的概率取平均"),
    ("function",), _ensemble_run, _ensemble_judge, {"seed": 0, "M": 5, "N": 7, "C": 4},
))
