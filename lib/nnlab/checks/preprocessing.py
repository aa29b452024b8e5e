"""Checks for 02_preprocessing: dataset statistics and standardization vs torch.

Images are ``(N, H, W, C)`` float64 (channels last, like the lecture's
``[32, 32, 3]``). Every reference transposes them to torch's ``(N, C, H, W)``
layout and computes in float64 the way torchvision's ``Normalize`` does on a
``(C, H, W)`` tensor: ``(tensor - mean[:, None, None]) / std[:, None, None]``.
A numpy implementation that reduces over the wrong axis therefore disagrees
with the reference, and a correct one agrees to rounding (:data:`FLOAT64`).

The standard deviation is the *population* standard deviation over all
``N·H·W`` values of a channel (divide by ``M``, numpy's default ``ddof=0``,
torch's ``correction=0``), the convention of the usual per-channel statistics.

Inputs come from the embedded dataset (``source="shapes"``, always
``32×32×3``) or from random data (``source="random"``) with any shape, where
each channel has its own mean and spread and each pixel position its own
offset, so that channels, positions and images are all told apart.

Every call goes through :func:`_call_recording`, which notes which array
arguments the student's function changed in place (``X -= mean`` on the
caller's array), so that the judge can say so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np
import torch

from nnlab.checks.compare import FLOAT64, _describe, expect_close, value_of
from nnlab.checks.spec import CheckFailed, Params, Record, Spec, call, register
from nnlab.i18n import Text

NOTEBOOK = "02_preprocessing"
SHAPES_IMAGE = (32, 32, 3)

# --------------------------------------------------------------------------- inputs


def _random_images(rng: np.random.Generator, shape: tuple[int, ...], loc: np.ndarray,
                   scale: np.ndarray) -> np.ndarray:
    """``(N, H, W, C)`` float64: per-channel ``loc``/``scale`` plus a per-position offset."""
    n, h, w, c = shape
    rows = np.sin(np.linspace(0.3, 2.8, h))[:, None, None]
    cols = np.cos(np.linspace(0.2, 2.1, w))[None, :, None]
    pattern = rows * cols * rng.uniform(0.5, 1.5, size=c) + 0.3 * rng.standard_normal((h, w, c))
    return loc + scale * (rng.standard_normal((n, h, w, c)) + pattern)


def _check_shape(p: Params) -> tuple[int, int, int, int]:
    shape = tuple(int(n) for n in p["shape"])
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f"preprocessing checks: shape must be (N, H, W, C), got {p['shape']!r}")
    if p["source"] == "shapes" and shape[1:] != SHAPES_IMAGE:
        raise ValueError(f"preprocessing checks: source='shapes' images are {SHAPES_IMAGE}, "
                         f"got shape {shape}")
    if p["source"] not in ("shapes", "random"):
        raise ValueError(f"preprocessing checks: unknown source {p['source']!r} (shapes, random)")
    return shape  # type: ignore[return-value]


def make_images(p: Params) -> np.ndarray:
    """The check's ``X``: ``(N, H, W, C)`` float64 from ``p["source"]``, ``p["shape"]``, ``p["seed"]``."""
    shape = _check_shape(p)
    if p["source"] == "shapes":
        from nnlab.data import load_shapes

        data = load_shapes(num_train=shape[0], num_val=0, num_test=0, seed=int(p["seed"]))
        return data.X_train.astype(np.float64)
    rng = np.random.default_rng(p["seed"])
    c = shape[3]
    return _random_images(rng, shape, rng.uniform(-1.0, 3.0, size=c), rng.uniform(0.5, 3.0, size=c))


def make_statistics(p: Params) -> tuple[np.ndarray, np.ndarray | None]:
    """The ``mean`` and ``std`` handed to ``standardize`` (not the statistics of ``X``).

    ``mode="image"``: a mean image ``(H, W, C)`` and no std; ``"channel"``:
    a per-channel mean ``(C,)`` and no std; ``"channel_std"``: both ``(C,)``.
    """
    _, h, w, c = _check_shape(p)
    rng = np.random.default_rng(int(p["seed"]) + 101)
    centre, spread = (0.5, 0.3) if p["source"] == "shapes" else (1.0, 1.5)
    if p["mode"] == "image":
        return centre + 0.2 * rng.standard_normal((h, w, c)), None
    mean = centre + rng.uniform(-0.2, 0.2, size=c)
    if p["mode"] == "channel":
        return mean, None
    if p["mode"] == "channel_std":
        return mean, spread * rng.uniform(0.6, 1.4, size=c)
    raise ValueError(f"standardize check: unknown mode {p['mode']!r} (image, channel, channel_std)")


def make_splits(p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, val and test splits whose distributions deliberately differ.

    Val is brighter and more spread out than train, test darker and flatter,
    each channel by its own amount, so statistics fitted on anything but the
    training split give visibly different results.
    """
    n, h, w, c = _check_shape(p)
    n_val, n_test = int(p["n_val"]), int(p["n_test"])
    if p["source"] == "shapes":
        from nnlab.data import load_shapes

        data = load_shapes(num_train=n, num_val=n_val, num_test=n_test, seed=int(p["seed"]))
        return (data.X_train.astype(np.float64),
                0.7 * data.X_val.astype(np.float64) + np.array([0.35, 0.2, 0.1]),
                0.5 * data.X_test.astype(np.float64) + np.array([0.0, 0.05, 0.2]))
    rng = np.random.default_rng(p["seed"])
    loc, scale = rng.uniform(-1.0, 1.0, size=c), rng.uniform(0.5, 1.5, size=c)
    return (_random_images(rng, (n, h, w, c), loc, scale),
            _random_images(rng, (n_val, h, w, c), loc + rng.uniform(1.0, 2.0, size=c),
                           scale * rng.uniform(1.5, 2.5, size=c)),
            _random_images(rng, (n_test, h, w, c), loc - rng.uniform(1.0, 2.0, size=c),
                           scale * rng.uniform(0.3, 0.6, size=c)))


# --------------------------------------------------------------------------- calling


def _call_recording(function: Any, *args: Any) -> Record:
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


def _expect_untouched(record: Record, names: Sequence[str], function: str) -> None:
    """Fail when the student's function changed one of its array arguments in place."""
    mutated = [names[i] for i in record.get("mutated") or [] if isinstance(i, int) and 0 <= i < len(names)]
    if not mutated:
        return
    listed = ", ".join(mutated)
    raise CheckFailed(
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


def _nchw(X: np.ndarray) -> torch.Tensor:
    """``(N, H, W, C)`` numpy -> ``(N, C, H, W)`` float64 tensor (torch's layout)."""
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)).permute(0, 3, 1, 2)


def _nhwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(0, 2, 3, 1).contiguous().numpy()


def _torch_statistics(X: np.ndarray) -> dict[str, np.ndarray]:
    """The mean image ``(H, W, C)``, per-channel mean and population std ``(C,)``, from torch."""
    t = _nchw(X)
    return {
        "mean_image": t.mean(dim=0).permute(1, 2, 0).contiguous().numpy(),
        "channel_mean": t.mean(dim=(0, 2, 3)).numpy(),
        "channel_std": torch.std(t, dim=(0, 2, 3), correction=0).numpy(),
    }


def _torch_normalize(X: np.ndarray, mean: np.ndarray, std: np.ndarray | None) -> np.ndarray:
    """torchvision ``Normalize`` on every image: ``(t - mean[:, None, None]) / std[:, None, None]``.

    A mean image ``(H, W, C)`` is transposed to ``(C, H, W)`` and subtracted as is.
    """
    t = _nchw(X)
    m = torch.from_numpy(np.asarray(mean, dtype=np.float64))
    t = t - (m.permute(2, 0, 1) if m.ndim == 3 else m[:, None, None])
    if std is not None:
        s = torch.from_numpy(np.asarray(std, dtype=np.float64))
        t = t / s[:, None, None]
    return _nhwc(t)


# --------------------------------------------------------------------------- diagnosis helpers


def _axes_text(axes: tuple[int, ...] | None) -> str:
    if axes is None:
        return "None"
    return str(axes[0]) if len(axes) == 1 else str(axes)


def _reduction_hint(x_shape: tuple[int, ...], got_shape: tuple[int, ...]) -> str | None:
    """``"np.mean(X, axis=(0, 1))"``-style description of a reduction giving ``got_shape``."""
    if got_shape == ():
        return "np.mean(X) (axis=None: one number for all values)"
    for r in range(1, len(x_shape)):
        for axes in combinations(range(len(x_shape)), r):
            kept = tuple(n for i, n in enumerate(x_shape) if i not in axes)
            kept_dims = tuple(1 if i in axes else n for i, n in enumerate(x_shape))
            if got_shape == kept:
                return f"np.mean(X, axis={_axes_text(axes)})"
            if got_shape == kept_dims:
                return f"np.mean(X, axis={_axes_text(axes)}, keepdims=True)"
    return None


_REDUCES = {
    "mean_image": Text("the mean image averages over the N images only: axis=0, giving (H, W, C)",
                       "平均图像只对 N 张图像求平均：axis=0，结果为 (H, W, C)"),
    "channel_mean": Text("the per-channel mean averages over images, rows and columns: "
                         "axis=(0, 1, 2), giving (C,)",
                         "逐通道均值要对图像、行、列一起求平均：axis=(0, 1, 2)，结果为 (C,)"),
    "channel_std": Text("the per-channel std is over images, rows and columns together: "
                        "axis=(0, 1, 2), giving (C,)",
                        "逐通道标准差要对图像、行、列一起计算：axis=(0, 1, 2)，结果为 (C,)"),
}


def _expect_shape(value: Any, expected_shape: tuple[int, ...], x_shape: tuple[int, ...],
                  function: str, what: Text) -> None:
    """A shape failure that says which reduction the student's shape comes from."""
    if not isinstance(value, np.ndarray) or value.shape == tuple(expected_shape):
        return  # other problems (type, values) are for expect_close
    hint = _reduction_hint(x_shape, value.shape)
    n, h, w, c = x_shape
    if function == "standardize" and value.shape == (n, c, h, w):
        cause = Text("the result is channel-first (N, C, H, W), torch's layout; the images here are "
                     "channels-last (N, H, W, C) and the result must keep X's layout.",
                     "结果是通道在前的 (N, C, H, W)（torch 的布局）；这里的图像是通道在后的 "
                     "(N, H, W, C)，结果必须与 X 的布局相同。")
    elif function == "standardize":
        cause = Text("standardize changes values, not the shape: (X - mean) / std broadcasts to X's shape.",
                     "standardize 只改变数值，不改变形状：(X - mean) / std 会广播成 X 的形状。")
    elif hint is not None:
        reduces = _REDUCES[function]
        cause = Text(f"your result has the shape of {hint}; {reduces.en}.",
                     f"你的结果形状相当于 {hint}；{reduces.zh}。")
    else:
        cause = _REDUCES[function] + Text(".", "。")
    raise CheckFailed(
        what, Text("has the wrong shape", "形状错误"),
        detail=Text(f"X has shape {x_shape}; expected {tuple(expected_shape)}, got {value.shape}",
                    f"X 的形状为 {x_shape}；应为 {tuple(expected_shape)}，得到 {value.shape}"),
        cause=cause,
        next_step=Text("print X.shape and your result's shape, and name each axis (N, H, W, C).",
                       "打印 X.shape 和结果的形状，写出每个维度的含义（N, H, W, C）。"),
    )


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong computation, recognised by the result it produces.

    Attributes:
        kind: what the student's function does, e.g. "divides before subtracting".
        cause: why that is wrong.
        result: the value the mistake produces on the check's inputs.
        next_step: one thing to do instead (default: compare with the text).
    """

    kind: Text
    cause: Text
    result: Any
    next_step: Text | None = None


_COMPARE = Text("compare your code with the formula in the text above the exercise.",
                "对照练习上方文字中的公式检查代码。")


def _is_close(value: Any, reference: Any) -> bool:
    if isinstance(reference, tuple):
        return (isinstance(value, (tuple, list)) and len(value) == len(reference)
                and all(_is_close(v, r) for v, r in zip(value, reference)))
    return (isinstance(value, np.ndarray) and value.shape == np.shape(reference)
            and value.dtype.kind == "f"
            and bool(np.allclose(value, reference, rtol=FLOAT64.rtol, atol=FLOAT64.atol)))


def _diagnose(value: Any, expected: Any, mistakes: Callable[[], list[Mistake]], what: Text) -> None:
    """Name the mistake when a wrong result equals what a known mistake produces.

    ``mistakes`` is only called when ``value`` differs from ``expected``.
    """
    if _is_close(value, expected):
        return
    for mistake in mistakes():
        if _is_close(value, mistake.result):
            raise CheckFailed(what, mistake.kind, cause=mistake.cause,
                              next_step=mistake.next_step or _COMPARE)


# --------------------------------------------------------------------------- statistics checks

_POPULATION = Text(
    "this course uses the population std over all N·H·W values of a channel: divide by M, not "
    "M − 1 (np.std's default ddof=0; torch.std(..., correction=0), i.e. unbiased=False).",
    "本课程使用总体标准差：对每个通道的全部 N·H·W 个值，除以 M 而不是 M − 1（np.std 默认的 "
    "ddof=0；torch.std(..., correction=0)，即 unbiased=False）。",
)


def _std_mistakes(X: np.ndarray) -> list[Mistake]:
    t = _nchw(X)
    over_all = Text("compute one std over axis=(0, 1, 2) of X.",
                    "在 X 的 axis=(0, 1, 2) 上一次性计算标准差。")
    return [
        Mistake(Text("uses the sample std (ddof=1)", "用了样本标准差（ddof=1）"), _POPULATION,
                torch.std(t, dim=(0, 2, 3), correction=1).numpy(),
                Text("use np.std(..., ddof=0), numpy's default.",
                     "使用 np.std(..., ddof=0)（numpy 的默认值）。")),
        Mistake(Text("returns the variance, not the standard deviation", "返回的是方差，不是标准差"),
                Text("the std is the square root of the mean squared deviation.",
                     "标准差是离差平方均值的平方根。"),
                torch.var(t, dim=(0, 2, 3), correction=0).numpy(),
                Text("take the square root (or use np.std).", "开平方（或直接用 np.std）。")),
        Mistake(Text("averages the stds of single images", "对每张图像的标准差求了平均"),
                Text("the std of each image misses how much images differ from one another; the "
                     "channel's std is over all its N·H·W values at once.",
                     "单张图像的标准差忽略了图像之间的差异；通道的标准差要对它的全部 N·H·W 个值一次性计算。"),
                torch.std(t, dim=(2, 3), correction=0).mean(dim=0).numpy(), over_all),
        Mistake(Text("averages the stds of single pixel positions", "对每个像素位置的标准差求了平均"),
                Text("np.std(X, axis=0) is the spread at each position across images; it misses how "
                     "positions differ from one another.",
                     "np.std(X, axis=0) 只是每个位置在图像之间的离散程度，忽略了位置之间的差异。"),
                torch.std(t, dim=0, correction=0).mean(dim=(1, 2)).numpy(), over_all),
    ]


_STAT_TITLES = {
    "mean_image": Text("mean_image matches torch (mean over the N images, (H, W, C))",
                       "mean_image 与 torch 一致（对 N 张图像求平均，(H, W, C)）"),
    "channel_mean": Text("channel_mean matches torch (mean per channel, (C,))",
                         "channel_mean 与 torch 一致（逐通道均值，(C,)）"),
    "channel_std": Text("channel_std matches torch (population std per channel, (C,))",
                        "channel_std 与 torch 一致（逐通道总体标准差，(C,)）"),
}


def _statistic_run(function: str, functions: Mapping[str, Callable[..., Any]], p: Params) -> Record:
    return _call_recording(functions["function"], make_images(p))


def _statistic_judge(function: str, record: Record, p: Params) -> None:
    X = make_images(p)
    expected = _torch_statistics(X)[function]
    what = Text(function)
    value = value_of(record, what)
    _expect_shape(value, expected.shape, X.shape, function, what)
    if function == "channel_std":
        _diagnose(value, expected, lambda: _std_mistakes(X), what)
    expect_close(record, expected, what=what, tol=FLOAT64,
                 cause=_REDUCES[function] + Text(".", "。"))
    _expect_untouched(record, ["X"], function)


_STAT_DEFAULTS = {"seed": 0, "source": "shapes", "shape": (64, 32, 32, 3)}

for _function in ("mean_image", "channel_mean", "channel_std"):
    register(Spec(_function, NOTEBOOK, _STAT_TITLES[_function], ("function",),
                  partial(_statistic_run, _function), partial(_statistic_judge, _function),
                  dict(_STAT_DEFAULTS)))


# --------------------------------------------------------------------------- standardize


def _standardize_run(functions: Mapping[str, Callable[..., Any]], p: Params) -> Record:
    mean, std = make_statistics(p)
    return _call_recording(functions["function"], make_images(p), mean, std)


_WRONG_AXIS = Text(
    "a (C,) vector already lines up with the last (channel) axis of (N, H, W, C). Reshaping it to "
    "(C, 1, 1) — the layout torchvision's Normalize uses for channel-first (C, H, W) tensors — puts "
    "it on the wrong axis (numpy even broadcasts silently when the sizes happen to match).",
    "(C,) 向量本来就与 (N, H, W, C) 的最后一维（通道）对齐。把它 reshape 成 (C, 1, 1)"
    "（torchvision 的 Normalize 对通道在前的 (C, H, W) 张量的写法）会把它放到错误的维度上"
    "（尺寸恰好相同时 numpy 甚至会悄悄地广播，不报错）。",
)
_NO_RESHAPE = Text("use the statistics as they are: X - mean (no reshape).",
                   "直接使用统计量：X - mean（不要 reshape）。")


def _error_failure(record: Record, p: Params) -> CheckFailed | None:
    """A specific message for the errors standardize typically raises (None: no such error)."""
    error = record.get("error")
    if error is None:
        return None
    kind, message = (list(error) + ["", ""])[:2]
    message = str(message)
    what = Text("standardize")
    detail = Text(f"{kind}: {message}", f"{kind}：{message}")
    if "NoneType" in message:
        return CheckFailed(
            what, Text("fails when std is None", "std 为 None 时出错"), detail=detail,
            cause=Text("std=None means subtract only: divide by std only when std is not None.",
                       "std=None 表示只减均值：仅当 std is not None 时才除以 std。"),
            next_step=Text("put the division under `if std is not None:`.",
                           "把除法放在 `if std is not None:` 之下。"))
    if "truth value" in message:
        return CheckFailed(
            what, Text("tests an array for truth", "对数组做了真值判断"), detail=detail,
            cause=Text("`if std:` is ambiguous for an array.", "对数组写 `if std:` 含义不明确。"),
            next_step=Text("write `if std is not None:`.", "改写为 `if std is not None:`。"))
    if "broadcast" in message:
        cause = _WRONG_AXIS if p["mode"] != "image" else Text(
            "standardize must also accept a mean image (H, W, C): it broadcasts against (N, H, W, C) "
            "as it is, just like a (C,) vector.",
            "standardize 也必须接受平均图像 (H, W, C)：它和 (C,) 向量一样可以直接与 (N, H, W, C) 广播。")
        return CheckFailed(what, Text("could not broadcast the statistics against X",
                                      "统计量无法与 X 广播"),
                           detail=detail, cause=cause, next_step=_NO_RESHAPE)
    return None


def _standardize_mistakes(X: np.ndarray, mean: np.ndarray, std: np.ndarray | None) -> list[Mistake]:
    t, m = _nchw(X), torch.from_numpy(mean)
    m = m.permute(2, 0, 1) if m.ndim == 3 else m[:, None, None]
    mistakes: list[Mistake] = []
    if std is not None:
        s = torch.from_numpy(std)[:, None, None]
        mistakes += [
            Mistake(Text("divides before subtracting", "先除后减"),
                    Text("X / std - mean is not (X - mean) / std.",
                         "X / std - mean 不等于 (X - mean) / std。"),
                    _nhwc(t / s - m),
                    Text("subtract the mean first, then divide by std.", "先减均值，再除以标准差。")),
            Mistake(Text("ignores std", "忽略了 std"),
                    Text("when std is given, the centred data is divided by it.",
                         "给出 std 时，要用它去除中心化后的数据。"),
                    _nhwc(t - m)),
            Mistake(Text("multiplies by std instead of dividing", "乘以了 std 而不是除以它"),
                    Text("standardizing divides by the std so that each channel ends with spread 1.",
                         "标准化要除以标准差，使每个通道的离散程度变为 1。"),
                    _nhwc((t - m) * s)),
            Mistake(Text("does not subtract the mean", "没有减去均值"),
                    Text("standardizing is (X - mean) / std.", "标准化是 (X - mean) / std。"),
                    _nhwc(t / s)),
        ]
    own = t.mean(dim=0, keepdim=True) if mean.ndim == 3 else t.mean(dim=(0, 2, 3), keepdim=True)
    recomputed = t - own
    if std is not None:
        recomputed = recomputed / torch.std(t, dim=(0, 2, 3), correction=0, keepdim=True)
    mistakes.append(Mistake(
        Text("uses statistics computed from X, not the ones passed in",
             "使用了从 X 重新计算的统计量，而不是传入的参数"),
        Text("standardize applies the statistics it is given (usually the training split's) to any X.",
             "standardize 用传入的统计量（通常来自训练集）去处理任意 X。"),
        _nhwc(recomputed),
        Text("use the arguments mean and std; do not compute new statistics inside.",
             "使用参数 mean 和 std，不要在函数内重新计算统计量。")))
    n, h, w, c = X.shape
    for axis, size, name in ((1, h, "H, rows"), (2, w, "W, columns")):
        if mean.ndim != 1 or size != c:
            continue
        shape = [1, 1, 1, 1]
        shape[axis] = c
        wrong = X - mean.reshape(shape)
        if std is not None:
            wrong = wrong / std.reshape(shape)
        mistakes.append(Mistake(
            Text(f"applies the per-channel statistics along axis {axis} ({name})",
                 f"把逐通道统计量用在了第 {axis} 维（{name}）上"),
            _WRONG_AXIS, wrong, _NO_RESHAPE))
    return mistakes


_FORMS = {"image": "X - mean_image", "channel": "X - mean", "channel_std": "(X - mean) / std"}


def _standardize_judge(record: Record, p: Params) -> None:
    X = make_images(p)
    mean, std = make_statistics(p)
    expected = _torch_normalize(X, mean, std)
    what = Text("standardize")
    failure = _error_failure(record, p)
    if failure is not None:
        raise failure
    value = value_of(record, what)
    _expect_shape(value, expected.shape, X.shape, "standardize", what)
    _diagnose(value, expected, lambda: _standardize_mistakes(X, mean, std), what)
    form = _FORMS[p["mode"]]
    expect_close(record, expected, what=what, tol=FLOAT64,
                 cause=Text(f"with these arguments the result is {form}, broadcast over (N, H, W, C).",
                            f"对这组参数，结果应为 {form}，并在 (N, H, W, C) 上广播。"))
    _expect_untouched(record, ["X", "mean", "std"], "standardize")


register(Spec(
    "standardize", NOTEBOOK,
    Text("standardize matches torchvision-style Normalize", "standardize 与 torchvision 式的 Normalize 一致"),
    ("function",), _standardize_run, _standardize_judge,
    {"seed": 0, "source": "shapes", "shape": (64, 32, 32, 3), "mode": "channel_std"},
))


# --------------------------------------------------------------------------- fit_transform_splits


def _fitted(*splits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and population std (torch) of the splits taken together."""
    stats = _torch_statistics(np.concatenate(splits))
    return stats["channel_mean"], stats["channel_std"]


_TRAIN_ONLY = Text("compute mean and std once, from X_train only, and standardize all three splits "
                   "with them.",
                   "只用 X_train 计算一次均值和标准差，再用它们标准化全部三个划分。")


def _splits_mistakes(splits: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[Mistake]:
    def each(mean: np.ndarray, std: np.ndarray | None) -> tuple[np.ndarray, ...]:
        return tuple(_torch_normalize(x, mean, std) for x in splits)

    t = _nchw(splits[0])
    pixel_mean, pixel_std = t.mean(dim=0), torch.std(t, dim=0, correction=0)
    leak = Text(
        "statistics fitted on val/test let them leak into preprocessing, so they no longer measure "
        "performance on unseen data (a new image arrives alone: only the training statistics exist).",
        "在验证/测试集上计算统计量会让它们泄漏进预处理，它们就不再能衡量模型在未见数据上的表现"
        "（新图像是单独到来的：只有训练集的统计量可用）。")
    return [
        Mistake(Text("fits the statistics on all three splits together (leakage)",
                     "在三个划分合并后的数据上计算统计量（数据泄漏）"), leak,
                each(*_fitted(*splits)), _TRAIN_ONLY),
        Mistake(Text("fits the statistics on train and val together (leakage)",
                     "在训练集和验证集合并后的数据上计算统计量（数据泄漏）"), leak,
                each(*_fitted(splits[0], splits[1])), _TRAIN_ONLY),
        Mistake(Text("standardizes each split with its own statistics", "每个划分用了它自己的统计量"),
                Text("every split must go through the same transform as train. With their own statistics "
                     "all splits look centred, the model gets differently transformed inputs than it was "
                     "trained on, and a real shift between the splits is hidden.",
                     "每个划分都必须经过与训练集相同的变换。用各自的统计量时，每个划分看起来都已中心化，"
                     "模型得到的输入与训练时的变换不同，划分之间真实存在的分布偏移也被掩盖。"),
                tuple(_torch_normalize(x, *_fitted(x)) for x in splits), _TRAIN_ONLY),
        Mistake(Text("uses the sample std (ddof=1)", "用了样本标准差（ddof=1）"), _POPULATION,
                each(t.mean(dim=(0, 2, 3)).numpy(), torch.std(t, dim=(0, 2, 3), correction=1).numpy())),
        Mistake(Text("standardizes per pixel position (mean image, per-pixel std), not per channel",
                     "按像素位置（平均图像、逐像素标准差）做了标准化，而不是逐通道"),
                Text("this exercise uses the per-channel statistics, the most common choice today.",
                     "本练习使用逐通道统计量，这是当今最常用的做法。"),
                tuple(_nhwc((_nchw(x) - pixel_mean) / pixel_std) for x in splits),
                Text("use channel_mean(X_train) and channel_std(X_train).",
                     "使用 channel_mean(X_train) 和 channel_std(X_train)。")),
        Mistake(Text("only subtracts the mean", "只减去了均值"),
                Text("standardizing also divides by the training split's per-channel std.",
                     "标准化还要除以训练集的逐通道标准差。"),
                each(_fitted(splits[0])[0], None)),
    ]


def _splits_run(functions: Mapping[str, Callable[..., Any]], p: Params) -> Record:
    return _call_recording(functions["function"], *make_splits(p))


def _splits_judge(record: Record, p: Params) -> None:
    splits = make_splits(p)
    mean, std = _fitted(splits[0])
    expected = tuple(_torch_normalize(x, mean, std) for x in splits)
    what = Text("fit_transform_splits")
    value = value_of(record, what)
    if not (isinstance(value, (tuple, list)) and len(value) == 3):
        length = f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""
        raise CheckFailed(
            what, Text("should return three arrays (train, val, test)", "应返回三个数组 (train, val, test)"),
            detail=Text(f"got {_describe(value)}{length}", f"得到 {_describe(value)}{length}"),
            next_step=Text("end with: return train, val, test", "最后写：return train, val, test"))
    _diagnose(value, expected, lambda: _splits_mistakes(splits), what)
    for name, got, ref, x in zip(("train", "val", "test"), value, expected, splits):
        split_what = Text(f"fit_transform_splits: {name}", f"fit_transform_splits：{name}")
        _expect_shape(got, ref.shape, x.shape, "standardize", split_what)
        expect_close({"value": got}, ref, what=split_what, tol=FLOAT64,
                     cause=Text("every split is (X - mean) / std with the per-channel mean and "
                                "population std of X_train.",
                                "每个划分都应为 (X - mean) / std，其中 mean 和 std 是 X_train 的逐通道均值与"
                                "总体标准差。"))
    _expect_untouched(record, ["X_train", "X_val", "X_test"], "fit_transform_splits")


register(Spec(
    "fit_transform_splits", NOTEBOOK,
    Text("fit_transform_splits uses the training statistics for every split",
         "fit_transform_splits 对每个划分都使用训练集的统计量"),
    ("function",), _splits_run, _splits_judge,
    {"seed": 0, "source": "shapes", "shape": (64, 32, 32, 3), "n_val": 24, "n_test": 16},
))
