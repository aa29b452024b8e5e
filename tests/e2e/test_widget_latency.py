"""The widget-latency measurement (``autograder.devtools.widget_latency``) works in the browser.

Only that samples are measured: performance goals (≤ 100 ms median, ≤ 200 ms p90) belong to the
benchmark (``python -m autograder.devtools.widget_latency``, ``make bench``), not to a pass/fail test on a
shared machine.
"""

from __future__ import annotations

import statistics

import pytest

from autograder.devtools.widget_latency import format_table, measure
from tests.e2e.conftest import ARTIFACTS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

#: one notebook with two explorers keeps this test short; the benchmark measures them all.
NOTEBOOK, EXPLORERS, MOVES, JUMPS = "04_regularization", {"dropout", "augmentation"}, 5, 2


def test_latency_is_measured_per_explorer(lab_server, browser, capsys) -> None:
    results = measure([NOTEBOOK], moves=MOVES, jumps=JUMPS, server=lab_server, browser=browser)
    lab_server.shutdown_kernels()
    table = format_table(results)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "widget-latency.txt").write_text(table + "\n", encoding="utf-8")
    with capsys.disabled():
        print(f"\nwidget latency ({NOTEBOOK}, {MOVES} steps and {JUMPS} typed values each):\n{table}")
    assert set(results) == EXPLORERS | {f"{name} (typed)" for name in EXPLORERS}
    for name, samples in results.items():
        assert len(samples) == (JUMPS if name.endswith("(typed)") else MOVES), f"{name}: {samples}"
        assert all(0 < ms < 30_000 for ms in samples), f"{name}: {samples}"
        assert statistics.median(samples) > 0
