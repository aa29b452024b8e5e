"""Fold the events a worker reported for one submission into a :class:`RunReport`.

One handler per message kind of :mod:`autograder.sandbox.protocol` (a dispatch on types): the
last attempt's outputs and probes win, kills and channel violations accumulate, and
integrity is the union of every point it was checked at in the last attempt (after the
cells, after each probe, at the end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autograder.grading.judging import ProbeOutcome
from autograder.sandbox import protocol


@dataclass
class RunReport:
    """The worker's events boiled down."""

    outputs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    cell_seconds: dict[int, float] = field(default_factory=dict)
    probe_seconds: dict[int, float] = field(default_factory=dict)  # test cells, run as probes
    errors: dict[int, str | None] = field(default_factory=dict)
    probes: dict[int, ProbeOutcome] = field(default_factory=dict)
    interrupted: list[str] = field(default_factory=list)
    killed: list[tuple[str, str]] = field(default_factory=list)  # (unit, why)
    exits: list[protocol.Exit] = field(default_factory=list)
    integrity: list[str] = field(default_factory=list)  # replaced machinery, in the last attempt
    violations: list[str] = field(default_factory=list)  # what the child wrote out of turn
    limits: list[tuple[str, str | None]] = field(default_factory=list)  # (what, unit)
    child_errors: list[str] = field(default_factory=list)
    output_over: bool = False
    skipped_files: list[str] = field(default_factory=list)
    watchdog: bool = False


def _on_attempt(report: RunReport, event: protocol.Attempt) -> None:
    report.probes.clear()
    report.probe_seconds.clear()
    report.integrity = []


def _on_cell(report: RunReport, event: protocol.CellResult) -> None:
    report.outputs[event.index] = event.outputs
    report.errors[event.index] = event.error
    report.output_over |= event.over
    report.cell_seconds[event.index] = event.dt


def _on_probe(report: RunReport, event: protocol.ProbeResult) -> None:
    if event.record is not None:
        report.probes[event.k] = ProbeOutcome(record=event.record)
    else:
        report.probes[event.k] = ProbeOutcome(error=(str(event.ename), event.evalue or ""))
    report.probe_seconds[event.k] = event.dt


def _on_integrity(report: RunReport, event: protocol.IntegrityResult) -> None:
    report.integrity = sorted({*report.integrity, *event.changes})


def _on_exit(report: RunReport, event: protocol.Exit) -> None:
    report.exits.append(event)
    if event.killed:
        report.killed.append((str(event.unit), event.killed))


def _on_violation(report: RunReport, event: protocol.Violation) -> None:
    where = f" (during {event.unit})" if event.unit else ""
    report.violations.append(event.reason + where)


_HANDLERS: dict[type, Any] = {
    protocol.Attempt: _on_attempt,
    protocol.CellResult: _on_cell,
    protocol.ProbeResult: _on_probe,
    protocol.IntegrityResult: _on_integrity,
    protocol.Exit: _on_exit,
    protocol.Violation: _on_violation,
    protocol.Interrupted: lambda r, e: r.interrupted.append(e.unit) if e.unit else None,
    protocol.Limit: lambda r, e: r.limits.append((e.what, e.unit)),
    protocol.ChildError: lambda r, e: r.child_errors.append(e.trace[-500:]),
    protocol.SkippedFiles: lambda r, e: setattr(r, "skipped_files", list(e.files)),
}


def read_events(events: list[protocol.Message], *, watchdog: bool = False) -> RunReport:
    """Fold a worker's events: the last attempt's outputs win; kills and violations accumulate."""
    report = RunReport(watchdog=watchdog)
    for event in events:
        handler = _HANDLERS.get(type(event))
        if handler is not None:  # Ready, JobEnd: nothing to record
            handler(report, event)
    for unit, why in report.killed:
        kind, _, number = unit.partition(":")
        if kind == "probe" and int(number) not in report.probes:
            reason = "KeyboardInterrupt" if why == "timeout" else f"killed ({why})"
            report.probes[int(number)] = ProbeOutcome(error=(reason, ""))
    return report
