"""Calling student code and the torch references shared by the 02_preprocessing checks.

Every call goes through :func:`call_recording`, which notes which array
arguments the student's function changed in place. The references transpose
images to torch's ``(N, C, H, W)`` and compute in float64 like torchvision's
``Normalize``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from nnlab.checks.spec import Record, call, fail
from nnlab.i18n import Text

NOTEBOOK = "02_preprocessing"


# --------------------------------------------------------------------------- calling


def call_recording(function: Any, *args: Any) -> Record:
    """:func:`call`, also recording which array arguments ``function`` changed in place.

    ``call`` hands the function copies, so the check's own inputs stay
    intact; the wrapper compares those copies before and after the call.
    The record gains ``"mutated"``: the positions of the changed arguments.
    """
    if not callable(function):
        return call(function, *args)
    changed: list[int] = []

    def recording(*given: Any) -> Any:
        before = [a.copy() if isinstance(a, np.ndarray) else None for a in given]
        try:
            return function(*given)
        finally:
            changed.extend(
                i for i, (a, b) in enumerate(zip(given, before))
                if b is not None and not (isinstance(a, np.ndarray) and a.shape == b.shape
                                          and np.array_equal(a, b, equal_nan=True))
            )

    record = call(recording, *args)
    record["mutated"] = changed
    return record


def expect_untouched(record: Record, names: Sequence[str], function: str) -> None:
    """Fail when the student's function changed one of its array arguments in place."""
    mutated = [names[i] for i in record.get("mutated") or [] if isinstance(i, int) and 0 <= i < len(names)]
    if not mutated:
        return
    listed = ", ".join(mutated)
    fail(
        Text(function),
        Text(f"returns the right values but changed its input {listed} in place",
             f"结果正确，但原地修改了输入 {listed}"),
        cause=Text(
            f"augmented assignment (X -= mean, X /= std) or np.subtract(..., out=X) writes into the "
            f"caller's array: after the call the caller's data ({listed}) is no longer the original "
            f"(and running the cell twice preprocesses it twice).",
            f"增量赋值（X -= mean、X /= std）或 np.subtract(..., out=X) 会写入调用者的数组：调用之后，"
            f"调用者的 {listed} 已不再是原始数据（重复运行单元格还会重复预处理）。"),
        next_step=Text("build a new array instead: X = X - mean, or start from X = X.copy().",
                       "改为生成新数组：X = X - mean，或者先写 X = X.copy()。"),
    )


# --------------------------------------------------------------------------- torch references


def nchw(X: np.ndarray) -> torch.Tensor:
    """``(N, H, W, C)`` numpy -> ``(N, C, H, W)`` float64 tensor (torch's layout)."""
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)).permute(0, 3, 1, 2)


def nhwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(0, 2, 3, 1).contiguous().numpy()


def torch_statistics(X: np.ndarray) -> dict[str, np.ndarray]:
    """The mean image ``(H, W, C)``, per-channel mean and population std ``(C,)``, from torch."""
    t = nchw(X)
    return {
        "mean_image": t.mean(dim=0).permute(1, 2, 0).contiguous().numpy(),
        "channel_mean": t.mean(dim=(0, 2, 3)).numpy(),
        "channel_std": torch.std(t, dim=(0, 2, 3), correction=0).numpy(),
    }


def torch_normalize(X: np.ndarray, mean: np.ndarray, std: np.ndarray | None) -> np.ndarray:
    """torchvision ``Normalize`` on every image: ``(t - mean[:, None, None]) / std[:, None, None]``.

    A mean image ``(H, W, C)`` is transposed to ``(C, H, W)`` and subtracted as is.
    """
    t = nchw(X)
    m = torch.from_numpy(np.asarray(mean, dtype=np.float64))
    t = t - (m.permute(2, 0, 1) if m.ndim == 3 else m[:, None, None])
    if std is not None:
        s = torch.from_numpy(np.asarray(std, dtype=np.float64))
        t = t / s[:, None, None]
    return nhwc(t)
