"""Prepare a submission's run: rebuild its notebook and describe the job for the sandbox.

The job holds the cells to run (every code cell but the tests), the probes (each test
cell's check calls, hidden ones included, sent only when the sandbox asks for them after
the cells have run) and the limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nnlab.checks import codec, get_spec

from autograder.course.settings import Settings
from autograder.grading import cell_needs
from autograder.grading.check_calls import CheckCall
from autograder.grading.notebook_file import nbgrader_of
from autograder.grading.rebuild import Rebuilt, rebuild
from autograder.grading.template import Template


@dataclass
class Prepared:
    """A submission ready to run: its rebuilt cells and the job for the worker."""

    rebuilt: Rebuilt
    job: dict[str, Any]
    probes: list[tuple[str, CheckCall]]  # (grade id, call) per probe index
    skipped: list[int] = field(default_factory=list)  # cells not run: no score depends on them
    every_cell_because: str = ""  # why every cell runs although pruning was asked for ("" otherwise)


def prepare(template: Template, notebook: dict[str, Any], settings: Settings) -> Prepared:
    """Rebuild the notebook and describe the run: every code cell but the tests, then the probes.

    Test cells hold only ``check`` calls (:mod:`~autograder.grading.check_calls` enforces it),
    so running them in the notebook would only repeat, untrusted, what the probes do: they are
    not run there.
    """
    rebuilt = rebuild(notebook, template)
    anchors = template.by_id
    cells = []
    for index, cell in enumerate(rebuilt.cells):
        grade_id = nbgrader_of(cell).get("grade_id")
        if cell["cell_type"] != "code" or grade_id in anchors and anchors[grade_id].kind == "test":
            continue
        cells.append({"index": index, "source": cell["source"]})
    probes = [(a.grade_id, call) for a in template.anchors if a.kind == "test" for call in a.calls]
    skipped, because = [], ""
    if not settings.full:
        cells, skipped, because = _prune(cells, template, probes)
    job = {
        "cells": cells,
        # a check that declares ``inputs`` gets only the data prepared here, never its parameters
        "probes": [{**call.as_job(), "params": codec.encode(get_spec(call.name).payload(call.params))}
                   for _, call in probes],
        "limits": {
            "cell_timeout": settings.cell_timeout,
            "notebook_timeout": settings.notebook_timeout,
            "check_timeout": settings.check_timeout,
            "memory_mb": settings.memory_mb,
            "cpu_seconds": settings.cpu_seconds,
            "max_processes": settings.max_processes,
            "max_output_bytes": settings.max_output_bytes,
            "max_file_bytes": settings.max_file_bytes,
        },
    }
    return Prepared(rebuilt, job, probes, skipped, because)


def _prune(cells: list[dict[str, Any]], template: Template, probes: list[tuple[str, CheckCall]]
           ) -> tuple[list[dict[str, Any]], list[int], str]:
    """(the cells to run, notebook indices of those left out, why none was left out if so)."""
    graded = {name for _, call in probes for name in call.functions.values()}
    fixed = {k for k, cell in enumerate(cells) if cell["source"] in template.fixed_sources}
    needs = cell_needs.analyse([c["source"] for c in cells], graded, fixed=fixed)
    if needs.run is None:
        return cells, [], needs.reason
    return ([c for k, c in enumerate(cells) if k in needs.run],
            [cells[k]["index"] for k in needs.skipped(len(cells))], "")
