"""The statistical check: a statistic within a few standard errors of its expectation.

Random layers (dropout, DropConnect, stochastic depth), random augmentations,
random search and random weight initialization draw their own random numbers, so
their outputs cannot be compared with torch value by value. Their checks measure a
statistic on the student's output (a fraction of zeros, a mean, a variance) and
compare it with its expectation under a correct implementation, allowing
:data:`~nnlab.checks.spec.BANDS` (5) standard errors with a fixed seed: a correct
answer fails less than once in 1.7 million draws. Every message states the
standard error.
"""

from __future__ import annotations

import math

import numpy as np

from nnlab.checks.spec import BANDS, fail
from nnlab.i18n import Text

__all__ = ["expect_fraction", "expect_within"]


def expect_within(
    statistic: float, expected: float, *, stderr: float, what: Text, statistic_name: Text,
    bands: float = BANDS, cause: Text | None = None, next_step: Text | None = None,
    extra: Text | None = None,
) -> None:
    """A statistical check: ``|statistic - expected| <= bands * stderr``; the one every check uses.

    Args:
        statistic: the value measured on the student's output.
        expected: its expectation under a correct implementation.
        stderr: the standard error of ``statistic`` under that implementation (the
            message states it).
        what: the function and output, as in :func:`expect_close`.
        statistic_name: what ``statistic`` is, e.g. ``Text("fraction of zeroed entries")``.
        bands: how many standard errors to allow (:data:`~nnlab.checks.spec.BANDS`, 5,
            keeps false alarms below 1 in 1.7 million with a fixed seed).
        extra: more detail after the numbers (e.g. what torch gives on the same input).
    """
    if np.isfinite(statistic) and abs(statistic - expected) <= bands * stderr:
        return
    detail = Text(
        f"{statistic_name.en} = {statistic:.4g}, expected {expected:.4g} ± "
        f"{bands:g}×{stderr:.2g} (standard error)",
        f"{statistic_name.zh or statistic_name.en} = {statistic:.4g}，期望 {expected:.4g} ± "
        f"{bands:g}×{stderr:.2g}（标准误）",
    )
    if extra is not None:
        detail = detail + Text("; ", "；") + extra
    fail(what, Text("is statistically off", "统计量偏离预期"), detail, cause, next_step)


def expect_fraction(count: int, n: int, p: float, *, what: Text, statistic_name: Text,
                    cause: Text | None = None, next_step: Text | None = None,
                    extra: Text | None = None) -> None:
    """:func:`expect_within` for a binomial fraction ``count / n`` of probability ``p``.

    Its standard error is √(p(1−p)/n) (floored for p = 0 or 1).
    """
    stderr = math.sqrt(max(p * (1 - p), 1e-12) / n)
    expect_within(count / n, p, stderr=stderr, what=what, statistic_name=statistic_name,
                  cause=cause, next_step=next_step, extra=extra)
