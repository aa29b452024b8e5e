"""Folding a worker's event stream into a report: what counts, what the last attempt overrides."""

from __future__ import annotations

from autograder.outcome import read_events


def test_cell_and_probe_durations_are_both_part_of_the_floor() -> None:
    report = read_events([
        {"t": "attempt"},
        {"t": "done", "i": 0, "outputs": [], "dt": 0.25},
        {"t": "done", "i": 2, "outputs": [], "dt": 0.5},
        {"t": "record", "k": 0, "r": "{}", "dt": 0.125},
        {"t": "probe_error", "k": 1, "ename": "NameError", "evalue": "x", "dt": 1.0},
    ])
    assert report.cell_seconds == {0: 0.25, 2: 0.5}
    assert report.probe_seconds == {0: 0.125, 1: 1.0}


def test_a_rerun_replaces_the_probes_of_the_killed_attempt() -> None:
    report = read_events([
        {"t": "attempt"},
        {"t": "record", "k": 0, "r": "{}", "dt": 3.0},
        {"t": "exit", "unit": "probe:1", "killed": "timeout"},
        {"t": "attempt"},
        {"t": "record", "k": 0, "r": "{}", "dt": 0.5},
    ])
    assert report.probe_seconds == {0: 0.5}
    assert report.probes[1].error == ("KeyboardInterrupt", "")
    assert report.killed == [("probe:1", "timeout")]


def test_malformed_durations_count_as_zero_not_as_a_crash() -> None:
    report = read_events([{"t": "done", "i": 0, "outputs": [], "dt": "soon"},
                          {"t": "record", "k": 0, "r": "{}", "dt": True}])
    assert report.cell_seconds == {0: 0.0}
    assert report.probe_seconds == {0: 0.0}
