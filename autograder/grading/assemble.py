"""The autograded notebook: the rebuilt cells with the outputs the run produced, and each
test cell's outputs replaced by the grader's verdict on its checks.

Outputs are sanitised (known fields and display types only, no script) because the
instructor opens these notebooks in a browser.
"""

from __future__ import annotations

import copy
from typing import Any

from autograder.grading.events import RunReport
from autograder.grading.judging import (
    MEASURES_KEY,
    CellVerdict,
    ProbeOutcome,
    cell_measures,
    judge_probe,
    verdict_outputs,
)
from autograder.grading.notebook_file import nbgrader_of
from autograder.grading.prepare import Prepared
from autograder.grading.rebuild import Rebuilt
from autograder.grading.template import Template


def assemble(template: Template, prepared: Prepared, report: RunReport, *,
             language: str) -> tuple[dict[str, Any], list[CellVerdict]]:
    """The autograded notebook and the test-cell verdicts."""
    by_cell: dict[str, CellVerdict] = {
        a.grade_id: CellVerdict(a.grade_id, a.points) for a in template.anchors if a.kind == "test"}
    for k, (grade_id, call) in enumerate(prepared.probes):
        outcome = report.probes.get(k, ProbeOutcome())
        by_cell[grade_id].verdicts.append((call, judge_probe(call, outcome, language=language)))
    cells = copy.deepcopy(prepared.rebuilt.cells)
    skipped = set(prepared.skipped)
    seen_ids: set[str] = set()
    for index, cell in enumerate(cells):
        if not isinstance(cell.get("id"), str) or cell["id"] in seen_ids:
            cell["id"] = f"graded-{index}"  # deterministic: regrading gives the same file
        seen_ids.add(cell["id"])
        if isinstance(cell.get("metadata"), dict):
            cell["metadata"].pop(MEASURES_KEY, None)  # only the grader writes it, below
        if cell["cell_type"] != "code":
            continue
        outputs = report.outputs.get(index)
        grade_id = nbgrader_of(cell).get("grade_id")
        if grade_id in by_cell:  # not run in the notebook: its checks ran as probes
            cell["outputs"] = verdict_outputs(by_cell[grade_id], language=language)
            if measured := cell_measures(by_cell[grade_id]):
                cell.setdefault("metadata", {})[MEASURES_KEY] = measured
        elif index in skipped:
            cell["outputs"] = [dict(SKIPPED_OUTPUT)]
            cell.setdefault("metadata", {})["autograder"] = {"run": False}
        elif outputs is None:
            cell["outputs"] = [_not_run_output(index, report, prepared.rebuilt)]
        else:
            cell["outputs"] = [o for o in outputs if o.get("output_type") in
                               ("stream", "display_data", "execute_result", "error")]
        for output in cell["outputs"]:
            _sanitize_output(output)
    notebook = {
        "cells": cells,
        "metadata": copy.deepcopy(template.metadata),
        "nbformat": 4,
        "nbformat_minor": max(template.nbformat_minor, 5),
    }
    return notebook, list(by_cell.values())


#: the output of a cell the grader left out (its saved outputs are dropped with the rest).
SKIPPED_OUTPUT = {"output_type": "stream", "name": "stdout",
                  "text": "[grader] not run by the grader; no score depends on it.\n"}


def _not_run_output(index: int, report: RunReport, rebuilt: Rebuilt) -> dict[str, Any]:
    unit = f"cell:{index}"
    killed = dict(report.killed)
    why = "it was stopped: " + killed[unit] if unit in killed else "the notebook ended before it"
    if any(e.unit == unit and (e.signal is not None or e.code) for e in report.exits):
        why = "it ended the notebook's process"
    return {"output_type": "stream", "name": "stderr",
            "text": f"[grader] {rebuilt.label(unit)} was skipped: {why}; "
                    "the rest of the notebook was graded without it.\n"}


_SAFE_MIME = ("text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg",
              "image/svg+xml", "application/json", "application/vnd.jupyter.widget-view+json")


def _sanitize_output(output: dict[str, Any]) -> None:
    """Keep only known output fields and display types (no scripts in the instructor's browser)."""
    if "data" in output and isinstance(output["data"], dict):
        output["data"] = {k: v for k, v in output["data"].items() if k in _SAFE_MIME}
        html = output["data"].get("text/html")
        if isinstance(html, str) and "<script" in html.lower():
            output["data"]["text/html"] = html.replace("<script", "&lt;script").replace(
                "<SCRIPT", "&lt;SCRIPT")
        if not isinstance(output.get("metadata"), dict):
            output["metadata"] = {}
    if output.get("output_type") == "stream":
        output["name"] = "stderr" if output.get("name") == "stderr" else "stdout"
        output["text"] = str(output.get("text", ""))
    if output.get("output_type") == "error":
        output["ename"], output["evalue"] = str(output.get("ename")), str(output.get("evalue"))
        output["traceback"] = [str(line) for line in output.get("traceback", [])]
    if output.get("output_type") == "execute_result":
        output["execution_count"] = None
