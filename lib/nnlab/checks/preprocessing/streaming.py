"""merge_channel_stats and streaming_channel_stats: per-channel statistics of data seen in batches.

A dataset the size of ImageNet does not fit in memory, so its per-channel mean
and std are computed one batch at a time. A batch is summarized per channel by
``(count, mean, m2)`` with ``m2 = Σ (x − mean)²``; summaries of two parts merge
into the summary of their union (Chan, Golub & LeVeque's pairwise update).

Both checks compare with torch on the concatenated data:
``torch.var_mean(..., correction=0)`` over ``(N, H, W)`` per channel, in float64.
The stream's data sit far from 0 with a small spread (values around 10⁵,
spread 0.01) in one of its runs: there the textbook shortcut
``E[x²] − E[x]²`` loses about fourteen of float64's sixteen digits to
cancellation and misses the reference by far more than the tolerance, while
deviations from a batch mean keep them. The batches arrive as a one-shot
iterator, so a second pass over them sees nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch

from nnlab.checks.compare import FLOAT64, expect_close, value_of
from nnlab.checks.preprocessing._common import NOTEBOOK, nchw
from nnlab.checks.spec import Params, Record, Spec, call, fail, register
from nnlab.i18n import Text

Functions = Mapping[str, Callable[..., Any]]


def _batches(p: Params, offset: float, spread: float, key: int) -> list[np.ndarray]:
    """Batches of different sizes; each channel has its own level around ``offset``."""
    rng = np.random.default_rng([p["seed"], key])
    c = p["C"]
    levels = offset + rng.uniform(-1, 1, c) * max(1.0, spread * 10)
    sizes = rng.integers(1, p["max_batch"] + 1, p["num_batches"])
    return [levels + spread * rng.uniform(0.5, 2.0, c) * rng.standard_normal((n, p["H"], p["W"], c))
            for n in sizes]


def _torch_summary(X: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, mean, m2) per channel of ``(N, H, W, C)`` data, measured with torch."""
    var, mean = torch.var_mean(nchw(X), dim=(0, 2, 3), correction=0)
    count = X.shape[0] * X.shape[1] * X.shape[2]
    return count, mean.numpy(), (var * count).numpy()


def _summary_of(value: Any, what: Text, c: int) -> tuple[float, np.ndarray, np.ndarray]:
    ok = (isinstance(value, (tuple, list)) and len(value) == 3
          and all(np.shape(v) == (c,) for v in value[1:]) and np.ndim(value[0]) == 0)
    if not ok:
        fail(what, Text("should return (count, mean, m2)", "应返回 (count, mean, m2)"),
             Text(f"expected a tuple of a number and two ({c},) arrays",
                  f"应为一个数和两个形状为 ({c},) 的数组组成的元组"),
             next_step=Text("return count, mean, m2", "return count, mean, m2"))
    return float(value[0]), np.asarray(value[1], dtype=np.float64), np.asarray(value[2], dtype=np.float64)


# --------------------------------------------------------------------------- merge

def _merge_parts(p: Params) -> tuple[np.ndarray, np.ndarray]:
    a, b = _batches(p, 0.5, 0.3, 1)[:2]
    return np.concatenate([a, a[: p["max_batch"]]]), b  # parts of different sizes


def _merge_run(functions: Functions, p: Params) -> Record:
    a, b = _merge_parts(p)
    return call(functions["function"], _torch_summary(a), _torch_summary(b))


def _merge_judge(record: Record, p: Params) -> None:
    a, b = _merge_parts(p)
    what = Text("merge_channel_stats")
    count, mean, m2 = _summary_of(value_of(record, what), what, p["C"])
    expected = _torch_summary(np.concatenate([a, b]))
    (_, mean_a, m2_a), (_, mean_b, m2_b) = _torch_summary(a), _torch_summary(b)
    expect_close({"value": count}, np.float64(expected[0]), what=what + Text(": count"),
                 cause=Text("the union has the values of both parts.", "并集包含两部分的全部值。"))
    equal_weights = np.allclose(mean, (mean_a + mean_b) / 2)
    expect_close({"value": mean}, expected[1], what=what + Text(": mean"), tol=FLOAT64,
                 cause=Text("the parts have different counts: weight each mean by its count"
                            + (" (you averaged the two means as equals)." if equal_weights else "."),
                            "两部分的数量不同：按各自的数量加权平均"
                            + ("（你把两个均值等权平均了）。" if equal_weights else "。")))
    missing_between = np.allclose(m2, m2_a + m2_b)
    expect_close({"value": m2}, expected[2], what=what + Text(": m2"), tol=FLOAT64,
                 cause=Text("m2 of the union is not only m2_a + m2_b: each part's deviations were taken "
                            "from its own mean, so the spread BETWEEN the two means adds a term that "
                            "grows with (mean_b − mean_a)² and with both counts"
                            + (" (your m2 is exactly m2_a + m2_b)." if missing_between else "."),
                            "并集的 m2 不只是 m2_a + m2_b：两部分的离差是相对各自的均值计算的，两个均值之间的"
                            "差异还贡献一项，它随 (mean_b − mean_a)² 和两部分的数量增长"
                            + ("（你的 m2 恰好等于 m2_a + m2_b）。" if missing_between else "。")),
                 next_step=Text("write the union's m2 as Σ over both parts of (x − mean)², split "
                                "x − mean = (x − mean_a) + (mean_a − mean) and expand.",
                                "把并集的 m2 写成两部分上 Σ(x − mean)²，拆成 x − mean = (x − mean_a) + "
                                "(mean_a − mean) 再展开。"))


register(Spec(
    "merge_channel_stats", NOTEBOOK,
    Text("merge_channel_stats: two (count, mean, m2) summaries give the union's, as torch measures it",
         "merge_channel_stats：两个 (count, mean, m2) 摘要合并为并集的摘要，与 torch 一致"),
    ("function",), _merge_run, _merge_judge,
    {"seed": 0, "num_batches": 2, "max_batch": 6, "H": 4, "W": 5, "C": 3},
    numpy_only=True,
))


# --------------------------------------------------------------------------- stream

#: run name -> (offset, spread); a run is judged only when the runs before it passed
_RUNS = {"images in [0, 1]": (0.5, 0.25), "values around 1e5, spread 0.01": (1e5, 0.01)}


class _OneShot(Iterator[np.ndarray]):
    """The batches, once: iterating again yields nothing (a stream from disk)."""

    def __init__(self, batches: list[np.ndarray]) -> None:
        self._batches = iter([b.copy() for b in batches])

    def __next__(self) -> np.ndarray:
        return next(self._batches)


def _stream_run(functions: Functions, p: Params) -> Record:
    return {run: call(functions["function"], _OneShot(_batches(p, *levels, 2 + k)))
            for k, (run, levels) in enumerate(_RUNS.items())}


def _stream_judge(record: Record, p: Params) -> None:
    for k, (run, levels) in enumerate(_RUNS.items()):
        X = np.concatenate(_batches(p, *levels, 2 + k))
        what = Text(f"streaming_channel_stats ({run})", f"streaming_channel_stats（{run}）")
        value = value_of(record[run], what)
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            fail(what, Text("should return (mean, std)", "应返回 (mean, std)"),
                 next_step=Text("return mean, std", "return mean, std"))
        count, mean, m2 = _torch_summary(X)
        expect_close({"value": value[0]}, mean, what=what + Text(": mean"), tol=FLOAT64,
                     cause=Text("batches have different sizes: weight each batch's mean by its number "
                                "of values (merge the summaries), and iterate over the batches only once.",
                                "各批大小不同：按各批的值的个数加权（合并摘要），并且只遍历一次。"))
        mean_of_stds = np.mean([torch.std(nchw(b), dim=(0, 2, 3), correction=0).numpy()
                                for b in _batches(p, *levels, 2 + k)], axis=0)
        got = np.asarray(value[1], dtype=np.float64) if np.shape(value[1]) == mean.shape else None
        cause = Text("std = √(m2 / count) of all values at once, in one pass: merge the batches' "
                     "(count, mean, m2) with merge_channel_stats.",
                     "std = √(m2 / count)，对全部值一次遍历求得：用 merge_channel_stats 合并各批的 "
                     "(count, mean, m2)。")
        if got is not None and np.allclose(got, mean_of_stds, rtol=1e-9, atol=0):
            cause = Text("the mean of the batches' stds misses the spread between batch means.",
                         "各批标准差的平均忽略了批均值之间的差异。") + Text(" ") + cause
        elif k > 0:  # the runs before passed: only the distance from 0 changed
            cause = Text("E[x²] − E[x]² cancels catastrophically when the values are far from 0 "
                         "(here both terms are about 10¹⁰ and differ by 10⁻⁴): sum squared "
                         "deviations from each batch's own mean instead.",
                         "当数值远离 0 时，E[x²] − E[x]² 会发生灾难性抵消（这里两项都约为 10¹⁰，差只有 "
                         "10⁻⁴）：改为对每批相对其自身均值的离差平方求和。") + Text(" ") + cause
        expect_close({"value": value[1]}, np.sqrt(m2 / count), what=what + Text(": std"), tol=FLOAT64,
                     cause=cause)


register(Spec(
    "streaming_channel_stats", NOTEBOOK,
    Text("streaming_channel_stats: one pass over batches gives torch's per-channel mean and std",
         "streaming_channel_stats：一次遍历各批得到与 torch 一致的逐通道均值和标准差"),
    ("function",), _stream_run, _stream_judge,
    {"seed": 0, "num_batches": 7, "max_batch": 6, "H": 4, "W": 5, "C": 3},
    numpy_only=True,
))
