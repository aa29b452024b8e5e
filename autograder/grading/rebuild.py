"""Rebuild a submitted notebook for grading from its template, detecting tampering.

The graded notebook is built from the assignment's template: every locked
cell (tests, set-up, read-only text) comes from the instructor's notebook,
so an edited, deleted, moved or duplicated test cell changes nothing but
the submission's status (``tampered``, with the reason). The student's own
content is kept: answers in solution cells (matched by cell id, then by
grade id) and any cells they added, in their order after the cell they
followed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from autograder.grading.notebook_file import InvalidSubmission, nbgrader_of, source_of
from autograder.grading.template import CELLS_FACTOR, OUTPUTS_PER_CELL, Template, TemplateCell


@dataclass
class Rebuilt:
    """The notebook to grade and what was found while rebuilding it.

    Attributes:
        cells: the cells to execute and store, locked ones restored.
        tampering: one line per tampered cell (empty if none).
        notes: other remarks for the instructor (not tampering).
    """

    cells: list[dict[str, Any]]
    tampering: list[str]
    notes: list[str]

    def label(self, unit: str) -> str:
        """A unit (``cell:<n>`` or ``probe:<k>``) as the instructor reads it: ``cell 4
        (grade id)`` or ``check #5``."""
        kind, _, number = unit.partition(":")
        if kind == "probe":
            return f"check #{int(number) + 1}"
        cell = self.cells[int(number)] if number.isdigit() and int(number) < len(self.cells) else {}
        grade_id = nbgrader_of(cell).get("grade_id")
        return f"cell {int(number) + 1}" + (f" ({grade_id})" if grade_id else "")


def _plain_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """A student cell as an ordinary, ungraded cell (nbgrader metadata dropped)."""
    out = {"cell_type": cell["cell_type"], "metadata": {}, "source": source_of(cell)}
    if isinstance(cell.get("id"), str):
        out["id"] = cell["id"]
    if cell["cell_type"] == "code":
        out.update(outputs=[], execution_count=None)
    return out


def _fresh(template_cell: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    cell = copy.deepcopy(template_cell)
    cell["source"] = source_of(template_cell) if source is None else source
    if cell["cell_type"] == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def _out_of_order(order: list[str], reference: list[str]) -> list[str]:
    """The fewest ids that must move for ``order`` to follow ``reference`` (complement of an LIS)."""
    rank = {gid: i for i, gid in enumerate(reference)}
    seq = [gid for gid in order if gid in rank]
    best: list[list[str]] = []
    for gid in seq:  # O(n^2) longest increasing subsequence; notebooks have < 200 anchors
        candidates = [b for b in best if rank[b[-1]] < rank[gid]]
        chain = max(candidates, key=len, default=[]) + [gid]
        best.append(chain)
    keep = set(max(best, key=len, default=[]))
    return [gid for gid in seq if gid not in keep]


def check_structure(notebook: dict[str, Any], template: Template) -> None:
    """Refuse a notebook far larger in structure than its assignment (see the caps above).

    Checked before anything runs, in time linear in the number of cells.

    Raises:
        InvalidSubmission: naming the cap, the count found and what to do.
    """
    cells = notebook["cells"]
    if len(cells) > template.max_cells:
        raise InvalidSubmission(
            f"the notebook has {len(cells)} cells; {template.assignment} accepts at most "
            f"{template.max_cells} ({CELLS_FACTOR}× its {template.cell_count}): delete the empty "
            "or extra cells and submit again")
    outputs = 0
    for index, cell in enumerate(cells):
        length = len(source_of(cell))
        if length > template.max_cell_chars:
            raise InvalidSubmission(
                f"cell {index + 1} has {length} characters, more than {template.max_cell_chars}: "
                "keep long data in a file beside the notebook and submit again")
        found = cell.get("outputs")
        outputs += len(found) if isinstance(found, list) else 0
    if outputs > OUTPUTS_PER_CELL * template.max_cells:
        raise InvalidSubmission(
            f"the notebook holds {outputs} outputs, more than {OUTPUTS_PER_CELL * template.max_cells}: "
            "clear the outputs (Edit › Clear Outputs of All Cells), save, and submit again")


def rebuild(notebook: dict[str, Any], template: Template) -> Rebuilt:
    """The notebook to grade: template anchors in order, student answers and extra cells kept.

    Raises:
        InvalidSubmission: when the notebook is beyond the structure caps, or none of the
            assignment's graded cells are present.
    """
    check_structure(notebook, template)
    tampering: list[str] = []
    notes: list[str] = []
    chosen = _choose_anchors(notebook, template, tampering, notes)
    if not chosen:
        raise InvalidSubmission(
            f"does not look like {template.assignment}: none of its {len(template.anchors)} graded "
            "cells are present (a different file, or the cells' metadata was removed)"
        )
    seen_order, segments = _segments(notebook, template, chosen)
    tampering += _anchor_changes(template, chosen)
    moved = _out_of_order(seen_order, [a.grade_id for a in template.anchors])
    if moved:
        tampering.append(f"cells moved: {', '.join(moved)} (graded in the original order)")
    cells = list(segments[None])
    for anchor in template.anchors:
        cells.append(_graded_cell(anchor, chosen.get(anchor.grade_id)))
        cells.extend(segments.get(anchor.grade_id, []))
    return Rebuilt(cells, tampering, notes)


def _choose_anchors(notebook: dict[str, Any], template: Template, tampering: list[str],
                    notes: list[str]) -> dict[str, dict[str, Any]]:
    """Which student cell stands for each anchor (the original cell id preferred); copies of
    a locked cell are tampering, copies of an answer a note."""
    anchors = template.by_id
    by_grade_id: dict[str, list[dict[str, Any]]] = {}
    for cell in notebook["cells"]:
        grade_id = nbgrader_of(cell).get("grade_id")
        if grade_id in anchors:
            by_grade_id.setdefault(grade_id, []).append(cell)
    chosen: dict[str, dict[str, Any]] = {}
    for grade_id, copies in by_grade_id.items():
        original_id = anchors[grade_id].cell.get("id")
        chosen[grade_id] = next((c for c in copies if c.get("id") == original_id), copies[0])
        if len(copies) > 1 and anchors[grade_id].kind in ("test", "locked"):
            tampering.append(f"cell {grade_id} duplicated ({len(copies)} copies)")
        elif len(copies) > 1:
            notes.append(f"answer cell {grade_id} appears {len(copies)} times; "
                         "the original was graded, the copies kept as ordinary cells")
    return chosen


def _segments(notebook: dict[str, Any], template: Template, chosen: dict[str, dict[str, Any]]
              ) -> tuple[list[str], dict[str | None, list[dict[str, Any]]]]:
    """The anchors in the student's order, and the free cells after each (``None``: before
    the first anchor); duplicates of locked cells are dropped."""
    anchors = template.by_id
    seen_order: list[str] = []
    segments: dict[str | None, list[dict[str, Any]]] = {None: []}
    current: str | None = None
    for cell in notebook["cells"]:
        grade_id = nbgrader_of(cell).get("grade_id")
        if grade_id in anchors and chosen.get(grade_id) is cell:
            current = grade_id
            seen_order.append(grade_id)
            segments[grade_id] = []
        elif not (grade_id in anchors and anchors[grade_id].kind in ("test", "locked")):
            segments[current].append(_plain_cell(cell))
    return seen_order, segments


def _anchor_changes(template: Template, chosen: dict[str, dict[str, Any]]) -> list[str]:
    """Tampering with anchors: deleted, edited, retyped, or their grading metadata changed."""
    found = []
    for anchor in template.anchors:
        grade_id, cell = anchor.grade_id, chosen.get(anchor.grade_id)
        locked = anchor.kind in ("test", "locked")
        if cell is None:
            what = "answer" if anchor.kind in ("solution", "answer") else "cell"
            found.append(f"{what} {grade_id} deleted (restored from the assignment)")
            continue
        if locked and source_of(cell) != source_of(anchor.cell):
            found.append(f"{'test cell' if anchor.kind == 'test' else 'locked cell'} "
                         f"{grade_id} edited (original restored)")
        elif locked and cell.get("cell_type") != anchor.cell["cell_type"]:
            found.append(f"cell {grade_id} changed type (original restored)")
        if _without_checksum(nbgrader_of(cell)) != _without_checksum(nbgrader_of(anchor.cell)):
            found.append(f"grading metadata of {grade_id} changed (original restored)")
    return found


def _without_checksum(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != "checksum"}


def _graded_cell(anchor: TemplateCell, student: dict[str, Any] | None) -> dict[str, Any]:
    """An anchor as graded: the student's answer in the template's cell, a test cell with its
    hidden tests, anything else as released."""
    if anchor.kind in ("solution", "answer") and student is not None:
        cell = _fresh(anchor.cell, source_of(student))
        if anchor.kind == "answer" and student.get("cell_type") != "markdown":
            cell["source"] = source_of(student)
        return cell
    if anchor.kind == "test":
        return _fresh(anchor.cell, anchor.source_with_hidden)
    return _fresh(anchor.cell)
