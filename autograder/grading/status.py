"""Decide a submission's status from what the sandbox observed and what the rebuild found.

Statuses, most serious first (one per submission, with a one-line reason):

``invalid``        not a notebook, bad JSON, wrong nbformat, none of the graded cells
``missing``        no notebook submitted
``integrity``      the submission replaced grading machinery (numpy/torch comparisons,
                   builtins, nnlab's checks, IPython's display and traceback hooks)
``tampered``       a test or locked cell was edited, deleted, moved or duplicated (graded with
                   the originals restored), or the submission wrote into the grader's channel
``policy``         a graded function called what its exercise forbids (torch in a numpy
                   exercise); that check failed
``crashed``        the process died (``os._exit``, segfault, killed)
``resource_limit`` memory, processes, output size, CPU time or file size cap reached
``timeout``        a cell or check ran past its budget (interrupted; the rest was graded)
``ok``             none of the above
"""

from __future__ import annotations

from autograder.grading.events import RunReport
from autograder.grading.rebuild import Rebuilt

STATUSES = ("invalid", "missing", "integrity", "tampered", "policy", "crashed", "resource_limit", "timeout",
            "ok")

#: exceptions raised in a cell that mean a resource cap was reached.
_MEMORY_ERRORS = {"MemoryError", "_ArrayMemoryError", "OutOfMemoryError"}
_LIMIT_SIGNALS = {"SIGXCPU": "CPU time", "SIGXFSZ": "file size"}


def decide_status(report: RunReport, rebuilt: Rebuilt, *,
                  policy: list[str] | None = None) -> tuple[str, str]:
    """The submission's status and its one-line reason (further findings appended).

    Args:
        report: what the sandbox observed.
        rebuilt: the notebook as graded (its tampering findings).
        policy: the checks that failed because the student's function called what the
            exercise forbids (e.g. torch in a numpy exercise), as messages.
    """
    findings: dict[str, list[str]] = {s: [] for s in STATUSES}
    if report.integrity:
        shown = ", ".join(report.integrity[:6]) + (" …" if len(report.integrity) > 6 else "")
        findings["integrity"].append(f"replaced grading machinery: {shown}")
    findings["tampered"] += rebuilt.tampering
    if report.violations:
        more = len(report.violations) - 3
        findings["tampered"].append("wrote into the grader's channel: " + "; ".join(report.violations[:3])
                                    + (f" (and {more} more)" if more > 0 else ""))
    findings["policy"] += policy or []
    _exit_findings(report, rebuilt, findings)
    _limit_findings(report, rebuilt, findings)
    for unit in dict.fromkeys(report.interrupted):
        findings["timeout"].append(f"{rebuilt.label(unit)} ran past its time budget (interrupted)")
    for status in STATUSES:
        if findings[status]:
            others = [f for s in STATUSES if s != status for f in findings[s]]
            reason = "; ".join(dict.fromkeys(findings[status]))
            if others:
                reason += " | also: " + "; ".join(dict.fromkeys(others))
            return status, reason
    return "ok", "; ".join(rebuilt.notes)


def _exit_findings(report: RunReport, rebuilt: Rebuilt, findings: dict[str, list[str]]) -> None:
    """How each attempt's process ended, as the zygote saw it."""
    for event in report.exits:
        where = f" in {rebuilt.label(event.unit)}" if event.unit else ""
        if event.killed == "output":
            findings["resource_limit"].append(f"output flood{where} (stopped)")
        elif event.killed == "timeout":
            findings["timeout"].append(f"{rebuilt.label(event.unit) if event.unit else 'notebook'} "
                                       "did not stop when interrupted (killed)")
        elif event.signal in _LIMIT_SIGNALS:
            findings["resource_limit"].append(f"{_LIMIT_SIGNALS[event.signal]} limit{where}")
        elif event.signal is not None:
            findings["crashed"].append(f"process killed by {event.signal}{where}")
        elif event.code not in (0, None) or not event.finished:
            findings["crashed"].append(f"process exited with code {event.code}{where}")
    if report.child_errors:
        findings["crashed"].append("the notebook's process failed outside any cell")
    if report.watchdog:
        findings["crashed"].append("the sandbox stopped responding (killed by the grader's watchdog)")


def _limit_findings(report: RunReport, rebuilt: Rebuilt, findings: dict[str, list[str]]) -> None:
    """Resource caps reached: reported by the zygote, or raised in a cell."""
    for what, unit in report.limits:
        label = rebuilt.label(unit) if unit else "the notebook"
        findings["resource_limit"].append(f"{what} limit reached in {label}")
    if report.output_over:
        findings["resource_limit"].append("output size limit reached (output truncated)")
    for index, outputs in report.outputs.items():
        for output in outputs:
            if output.get("output_type") != "error":
                continue
            name, value = str(output.get("ename")), str(output.get("evalue"))
            label = rebuilt.label(f"cell:{index}")
            if name in _MEMORY_ERRORS or "can't allocate memory" in value or "not enough memory" in value:
                findings["resource_limit"].append(f"memory limit in {label}")
            elif name == "BlockingIOError" or "can't start new thread" in value:
                findings["resource_limit"].append(f"process limit in {label}")
            elif name == "OutputLimitExceeded":
                findings["resource_limit"].append(f"output size limit in {label}")
