"""Dropout, BatchNorm1d and BatchNorm2d as torch modules, against ``nn.Dropout`` / ``nn.BatchNorm*``.

Each ``run`` builds the student's module with torch's constructor arguments, converts it
to float64 (``.double()``), trains it for a few steps (forward, backward through autograd)
and switches it to eval mode, recording outputs, gradients, running statistics and
``state_dict`` keys. Each ``judge`` replays the same scenario on torch's module.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from nnlab.checks.capstone._common import NOTEBOOK, Functions, array_close, numpy_of, probe, scenario_value
from nnlab.checks.spec import BANDS, Params, Record, Spec, fail, register
from nnlab.i18n import Text

NOT_A_MODULE = Text("subclass torch.nn.Module (class Dropout(nn.Module): ...) and call "
                    "super().__init__() first in __init__.",
                    "继承 torch.nn.Module（class Dropout(nn.Module): ...），并在 __init__ 中先调用 "
                    "super().__init__()。")


def backward(out: Any, x: torch.Tensor, dout: torch.Tensor) -> Any:
    """``d(sum(out * dout))/dx`` through autograd, or a note saying why there is none."""
    if not isinstance(out, torch.Tensor) or out.grad_fn is None:
        return "no gradient (the output is not connected to x in autograd's graph)"
    (out * dout).sum().backward()
    return numpy_of(x.grad)


# --------------------------------------------------------------------------- Dropout

def _dropout_input(p: Params) -> torch.Tensor:
    rng = np.random.default_rng(p["seed"])
    x = rng.standard_normal((p["N"], p["D"]))
    x[np.abs(x) < 1e-3] = 0.5  # no entry is (close to) zero, so "was it dropped?" is unambiguous
    return torch.tensor(x, dtype=torch.float64)


def _dropout_run(functions: Functions, p: Params) -> Record:
    def scenario() -> dict[str, Any]:
        cls = functions["Dropout"]
        default = cls()
        module = cls(p=p["p"])
        torch.manual_seed(p["seed"])
        x = _dropout_input(p).requires_grad_(True)
        module.train()
        out = module(x)
        grad = backward(out, x, torch.ones_like(x))
        second = module(x.detach())
        module.eval()
        evaluated = module(x.detach())
        return {"is_module": isinstance(module, nn.Module), "default_p": float(getattr(default, "p", -1)),
                "p": float(getattr(module, "p", -1)), "train": numpy_of(out), "grad": grad,
                "second": numpy_of(second), "eval": numpy_of(evaluated),
                "keys": sorted(module.state_dict()) if isinstance(module, nn.Module) else []}
    return probe(scenario)


def _dropout_judge(record: Record, p: Params) -> None:
    what = Text("Dropout")
    v = scenario_value(record, what)
    if not v["is_module"]:
        fail(what, Text("is not a torch.nn.Module", "不是 torch.nn.Module"), next_step=NOT_A_MODULE)
    if v["default_p"] != 0.5 or v["p"] != p["p"]:
        fail(what, Text("does not keep p as torch does", "没有像 torch 一样保存 p"),
             detail=Text(f"Dropout().p = {v['default_p']:g}, Dropout(p={p['p']:g}).p = {v['p']:g}"),
             cause=Text("the constructor must be Dropout(p=0.5) and store p as self.p: the "
                        "probability of DROPPING a unit, as nn.Dropout.",
                        "构造函数应为 Dropout(p=0.5)，并保存为 "
                        "self.p：*丢弃*单元的概率，与 nn.Dropout 相同。"))
    x = _dropout_input(p).numpy()
    array_close(v["eval"], x, what=what + Text(" (eval mode)", "（eval 模式）"),
                cause=Text("in eval mode inverted dropout is the identity: return x unchanged "
                           "(check self.training).",
                           "eval 模式下倒置 dropout 是恒等映射：原样返回 x（检查 self.training）。"))
    train = v["train"]
    if isinstance(train, str) or np.shape(train) != x.shape:
        array_close(train, x, what=what + Text(" (train mode)", "（train 模式）"),
                    cause=Text("return a tensor of the input's shape.", "返回与输入形状相同的张量。"))
    dropped = train == 0
    n, p_drop = x.size, p["p"]
    stderr = math.sqrt(p_drop * (1 - p_drop) / n)
    fraction = float(dropped.mean())
    if abs(fraction - p_drop) > BANDS * stderr:
        confused = abs(fraction - (1 - p_drop)) <= BANDS * stderr
        fail(what + Text(" (train mode)", "（train 模式）"), Text("drops the wrong fraction", "丢弃比例错误"),
             detail=Text(f"fraction of zeros {fraction:.4f}, expected {p_drop:g} ± {BANDS:g}×{stderr:.2g} "
                         "(standard error)",
                         f"置零比例 {fraction:.4f}，期望 {p_drop:g} ± {BANDS:g}×{stderr:.2g}（标准误）"),
             cause=Text("p was used as the keep probability; torch's p is the probability of "
                        "DROPPING a unit: keep = torch.rand_like(x) >= p.",
                        "把 p 当成了保留概率；torch 的 p 是*丢弃*概率：keep = torch.rand_like(x) >= p。")
             if confused else Text("draw one independent Bernoulli(1 − p) keep decision per entry.",
                                   "对每个元素独立抽取保留与否（保留概率 1 − p）。"))
    scale = 1.0 / (1.0 - p_drop)  # nn.Dropout scales kept units by 1/(1 - p) during training
    array_close(np.where(dropped, 0.0, train), np.where(dropped, 0.0, x * scale),
                what=what + Text(" (train mode, kept units)", "（train 模式，保留的单元）"),
                cause=Text(f"inverted dropout divides the kept units by 1 − p = {1 - p_drop:g} during "
                           "training, so eval mode needs no change.",
                           f"倒置 dropout 在训练时把保留的单元除以 1 − "
                           f"p = {1 - p_drop:g}，测试时就无需改动。"))
    array_close(v["grad"], np.where(dropped, 0.0, scale),
                what=what + Text(" (gradient)", "（梯度）"),
                cause=Text("build the output from tensor operations on x (mask * x / (1 − p)) so "
                           "autograd can differentiate it; no .numpy() or .detach() on the way.",
                           "用对 x 的张量运算（mask * x / (1 − p)）构造输出，autograd 才能求导；"
                           "中间不要 .numpy() 或 .detach()。"))
    if np.array_equal(v["second"] == 0, dropped) and 0 < p_drop < 1:
        fail(what, Text("reuses the same mask on every call", "每次调用都使用同一个掩码"),
             cause=Text("draw a new mask in forward(), not once in __init__.",
                        "在 forward() 中每次重新抽取掩码，而不是在 __init__ 中只抽一次。"))
    if v["keys"]:
        fail(what, Text("has a state_dict, nn.Dropout has none", "有 state_dict，而 nn.Dropout 没有"),
             detail=Text(f"keys {v['keys']}"),
             cause=Text("store the mask as a plain attribute or not at all, not as a buffer or Parameter.",
                        "掩码不要注册为 buffer 或 Parameter。"))


register(Spec(
    "Dropout", NOTEBOOK,
    Text("Dropout behaves as torch.nn.Dropout", "Dropout 与 torch.nn.Dropout 行为一致"),
    ("Dropout",), _dropout_run, _dropout_judge, {"seed": 0, "N": 200, "D": 50, "p": 0.5},
))


# --------------------------------------------------------------------------- BatchNorm

def _bn_inputs(p: Params, dims: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``steps`` training batches (x, dout) and, last, an eval batch, float64."""
    rng = np.random.default_rng(p["seed"])
    shape = (p["N"], p["C"]) + ((p["H"], p["H"]) if dims == 4 else ())
    per_channel = (1, p["C"]) + (1, 1) * (dims == 4)
    scale = rng.uniform(0.5, 3.0, p["C"]).reshape(per_channel)
    shift = rng.uniform(-2, 2, p["C"]).reshape(per_channel)
    batches = []
    for _ in range(p["steps"] + 1):
        x = rng.standard_normal(shape) * scale + shift
        batches.append((torch.tensor(x), torch.tensor(rng.standard_normal(shape))))
    return batches


def _bn_scenario(module: Any, p: Params, dims: int) -> dict[str, Any]:
    """Train ``module`` for ``steps`` batches, then evaluate: the record both sides compare."""
    rng = np.random.default_rng(p["seed"] + 1)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(rng.uniform(0.5, 2.0, p["C"])))
        module.bias.copy_(torch.tensor(rng.standard_normal(p["C"])))
    steps = []
    module.train()
    for x, dout in _bn_inputs(p, dims)[:-1]:
        x = x.clone().requires_grad_(True)
        module.weight.grad = module.bias.grad = None
        out = module(x)
        dx = backward(out, x, dout)
        steps.append({"out": numpy_of(out), "dx": dx, "dweight": numpy_of(module.weight.grad),
                      "dbias": numpy_of(module.bias.grad), "running_mean": numpy_of(module.running_mean),
                      "running_var": numpy_of(module.running_var)})
    module.eval()
    x_eval = _bn_inputs(p, dims)[-1][0]
    with torch.no_grad():
        evaluated = module(x_eval)
    state = module.state_dict()
    return {"steps": steps, "eval": numpy_of(evaluated),
            "keys": sorted(state), "tracked": int(state.get("num_batches_tracked", -1))}


def _bn_run(dims: int):
    def run(functions: Functions, p: Params) -> Record:
        def scenario() -> dict[str, Any]:
            module = functions["BatchNorm"](p["C"], eps=p["eps"], momentum=p["momentum"])
            if not isinstance(module, nn.Module):
                return {"is_module": False}
            return {"is_module": True, **_bn_scenario(module.double(), p, dims)}
        return probe(scenario)
    return run


_BN_CAUSES = {
    "out": Text("in train mode normalize each channel with the batch's mean and biased variance "
                "(÷N, over every axis but the channel axis), then weight·x̂ + bias.",
                "训练模式下对每个通道用本批的均值和有偏方差（÷N，"
                "对通道维以外的所有维）归一化，再 weight·x̂ + bias。"),
    "dx": Text("build the output from tensor operations only, so autograd differentiates through the "
               "batch mean and variance too (no .detach() on them in train mode).",
               "只用张量运算构造输出，autograd 才会对批均值和方差也求导（训练模式下不要对它们 .detach()）。"),
    "dweight": Text("weight must be an nn.Parameter of shape (C,) multiplying x̂.",
                    "weight 应是形状 (C,) 的 nn.Parameter，乘在 x̂ 上。"),
    "dbias": Text("bias must be an nn.Parameter of shape (C,) added after scaling.",
                  "bias 应是形状 (C,) 的 nn.Parameter，在缩放后相加。"),
    "running_mean": Text("torch's momentum is the weight of the NEW batch statistic: "
                         "running = (1 − momentum)·running + momentum·batch_mean, updated without grad.",
                         "torch 的 momentum 是*新*批统计量的权重：running = (1 − momentum)·running + "
                         "momentum·batch_mean，在 no_grad 下更新。"),
    "running_var": Text("running_var is updated with the UNBIASED batch variance (÷(N − 1)), although "
                        "the batch is normalized with the biased one; start from ones.",
                        "running_var 用*无偏*批方差（÷(N − 1)）更新，尽管归一化用有偏方差；初值为 1。"),
}


def _bn_judge(dims: int, reference: type[nn.Module]):
    def judge(record: Record, p: Params) -> None:
        name = reference.__name__
        what = Text(name)
        v = scenario_value(record, what)
        if not v["is_module"]:
            fail(what, Text("is not a torch.nn.Module", "不是 torch.nn.Module"), next_step=NOT_A_MODULE)
        torch_module = reference(p["C"], eps=p["eps"], momentum=p["momentum"]).double()
        expected = _bn_scenario(torch_module, p, dims)
        if v["keys"] != expected["keys"]:
            fail(what + Text(": state_dict"), Text("has other keys than torch's", "键与 torch 的不同"),
                 detail=Text(f"expected {expected['keys']}, got {v['keys']}", f"应为 {expected['keys']}，"
                             f"得到 {v['keys']}"),
                 cause=Text("weight and bias are nn.Parameters; running_mean, running_var and "
                            "num_batches_tracked are buffers (self.register_buffer).",
                            "weight 和 bias 是 nn.Parameter；running_mean、running_var、num_batches_tracked "
                            "是 buffer（self.register_buffer）。"))
        if len(v["steps"]) != len(expected["steps"]):
            fail(what, Text("could not be run", "无法运行"))
        for step, (got, want) in enumerate(zip(v["steps"], expected["steps"], strict=True), start=1):
            for key in ("out", "dx", "dweight", "dbias", "running_mean", "running_var"):
                array_close(got[key], want[key], cause=_BN_CAUSES[key],
                            what=what + Text(f" (train step {step}): {key}", f"（训练第 {step} 步）：{key}"))
        array_close(v["eval"], expected["eval"], what=what + Text(" (eval mode)", "（eval 模式）"),
                    cause=Text("in eval mode normalize with running_mean and running_var, not the batch's "
                               "statistics, and leave them unchanged.",
                               "eval 模式下用 running_mean 和 "
                               "running_var 归一化（不用本批统计量），且不改变它们。"))
        if v["tracked"] != expected["tracked"]:
            fail(what + Text(": num_batches_tracked"), Text("is not what torch counts",
                                                            "与 torch 的计数不同"),
                 detail=Text(f"expected {expected['tracked']}, got {v['tracked']}"),
                 cause=Text("add 1 to num_batches_tracked at every training forward pass.",
                            "每次训练模式的前向传播把 num_batches_tracked 加 1。"))
    return judge


BN_PARAMS = {"seed": 0, "N": 16, "C": 5, "H": 4, "eps": 1e-5, "momentum": 0.1, "steps": 3}

register(Spec(
    "BatchNorm1d", NOTEBOOK,
    Text("BatchNorm1d behaves as torch.nn.BatchNorm1d", "BatchNorm1d 与 torch.nn.BatchNorm1d 行为一致"),
    ("BatchNorm",), _bn_run(2), _bn_judge(2, nn.BatchNorm1d), BN_PARAMS,
))

register(Spec(
    "BatchNorm2d", NOTEBOOK,
    Text("BatchNorm2d behaves as torch.nn.BatchNorm2d", "BatchNorm2d 与 torch.nn.BatchNorm2d 行为一致"),
    ("BatchNorm",), _bn_run(4), _bn_judge(4, nn.BatchNorm2d), BN_PARAMS,
))
