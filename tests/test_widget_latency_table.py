"""The latency table of ``make bench``: median and 90th percentile against the targets."""

from __future__ import annotations

import pytest

from autograder.devtools.widget_latency import TARGET_MEDIAN_MS, TARGET_P90_MS, format_table, p90


def test_p90_interpolates_between_the_two_largest_of_ten_samples() -> None:
    # inclusive method: position 0.9 · (10 − 1) = 8.1, so 90 + 0.1 · (100 − 90)
    assert p90([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]) == pytest.approx(91.0)
    assert p90([70, 10, 40]) == pytest.approx(64.0)  # sorted 10, 40, 70: position 1.8
    assert p90([42]) == 42


def test_targets_are_the_issue_s() -> None:
    assert (TARGET_MEDIAN_MS, TARGET_P90_MS) == (100.0, 200.0)


def test_table_names_what_misses_its_target() -> None:
    table = format_table({
        "fast": [50, 60, 70, 80, 90],
        "tail": [50, 60, 70, 80, 400],      # median 70, p90 80 + 0.6 · 320 = 272: only the tail
        "slow": [150, 160, 170, 180, 190],  # median 170, p90 180 + 0.6 · 10 = 186
    })
    header, _, fast, tail, slow = table.splitlines()
    assert "p90" in header and "target median ≤ 100 ms, p90 ≤ 200 ms" in header
    assert fast.split() == ["fast", "5", "70", "86", "50", "90", "ok"]
    assert tail.split() == ["tail", "5", "70", "272", "50", "400", "slow:", "p90"]
    assert slow.split() == ["slow", "5", "170", "186", "150", "190", "slow:", "median"]
