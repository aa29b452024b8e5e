"""ensemble_predict: the average of the models' class probabilities, against torch."""

from __future__ import annotations

import numpy as np
import torch

from nnlab.checks.compare import close_to, tensor64, value_of
from nnlab.checks.regularization._common import NOTEBOOK, Functions
from nnlab.checks.spec import Params, Record, Spec, call, register
from nnlab.i18n import Text


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
    numpy_only=True,
))
