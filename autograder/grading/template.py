"""Read a submitted notebook and rebuild it for grading, detecting tampering.

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
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.course.safefs import FileRefused, FileTooLarge, read_plain_file
from autograder.grading.check_calls import CheckCall, parse_test_cell, strip_hidden

#: a submitted notebook larger than this is refused (invalid).
MAX_NOTEBOOK_BYTES = 50_000_000

# Structure caps, relative to the released notebook. The byte cap alone let through a notebook
# of 200,000 empty cells (18 MB): it graded "ok", and nbgrader's feedback for three such
# students took 338 s and 3.7 GB. A student adds scratch cells and writes answers, but not
# five times the assignment's cells, nor 100,000 characters in one cell.
#: at most this many times the release's cell count (and at least MIN_CELLS).
CELLS_FACTOR = 5
MIN_CELLS = 50
#: a cell's source may be this long, or 10 times the release's longest cell if that is more.
MIN_CELL_CHARS = 100_000
#: outputs in the whole notebook, per allowed cell (saved outputs are not graded, only parsed).
OUTPUTS_PER_CELL = 10


class InvalidSubmission(ValueError):
    """The file cannot be graded; the message is the one-line reason."""


def source_of(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def nbgrader_of(cell: dict[str, Any]) -> dict[str, Any]:
    meta = cell.get("metadata")
    grader = meta.get("nbgrader") if isinstance(meta, dict) else None
    return grader if isinstance(grader, dict) else {}


@dataclass
class TemplateCell:
    """A cell of the assignment with a grade id (an anchor)."""

    grade_id: str
    kind: str  # "test", "locked", "solution" (code answer) or "answer" (written)
    cell: dict[str, Any]  # the released cell (what students see)
    source_with_hidden: str  # test cells: the instructor's source, hidden tests included
    points: float
    plan: list[CheckCall] = field(default_factory=list)


@dataclass
class Template:
    """An assignment's graded structure, from its release and source notebooks."""

    assignment: str
    anchors: list[TemplateCell]
    metadata: dict[str, Any]
    nbformat_minor: int
    cell_count: int = 0  # cells of the release (for the structure caps)
    longest_source: int = 0  # characters of the release's longest cell

    @property
    def max_cells(self) -> int:
        return max(CELLS_FACTOR * self.cell_count, MIN_CELLS)

    @property
    def max_cell_chars(self) -> int:
        return max(10 * self.longest_source, MIN_CELL_CHARS)

    #: the other student editions (language -> template): same test cells, translated text
    editions: dict[str, Template] = field(default_factory=dict)

    @property
    def language(self) -> str:
        """The edition's language, from its notebook metadata (``nnlab.language``)."""
        return edition_language(self.metadata)

    def edition_for(self, notebook: dict[str, Any]) -> Template:
        """The edition a submission was made from (by its metadata; English by default).

        A Chinese submission is compared with the Chinese release, so its translated
        locked cells are not reported as tampered; its test cells, grade ids and points
        are the same as in every edition.
        """
        metadata = notebook.get("metadata")
        language = edition_language(metadata if isinstance(metadata, dict) else {})
        return self.editions.get(language, self)

    @property
    def by_id(self) -> dict[str, TemplateCell]:
        return {a.grade_id: a for a in self.anchors}

    @property
    def max_auto(self) -> float:
        return sum(a.points for a in self.anchors if a.kind == "test")

    @property
    def max_manual(self) -> float:
        return sum(a.points for a in self.anchors if a.kind == "answer")

    def hidden_texts(self) -> list[str]:
        """The hidden-test lines of every test cell (for leak tests)."""
        texts = []
        for anchor in self.anchors:
            visible = set(strip_hidden(anchor.source_with_hidden).splitlines())
            texts += [line for line in anchor.source_with_hidden.splitlines()
                      if line.strip() and line not in visible and "HIDDEN TESTS" not in line]
        return texts


def edition_language(metadata: dict[str, Any]) -> str:
    """``metadata["nnlab"]["language"]`` of a notebook, ``"en"`` when absent or malformed."""
    nnlab = metadata.get("nnlab")
    language = nnlab.get("language") if isinstance(nnlab, dict) else None
    return language if isinstance(language, str) else "en"


def _kind(meta: dict[str, Any], cell_type: str) -> str:
    if meta.get("grade") and not meta.get("solution"):
        return "test" if cell_type == "code" else "locked"
    if meta.get("solution"):
        return "solution" if cell_type == "code" else "answer"
    return "locked"


def load_template(release: Path, source: Path, assignment: str) -> Template:
    """The template of an assignment from its release and source notebooks."""
    released = json.loads(release.read_text(encoding="utf-8"))
    sources = {
        nbgrader_of(c).get("grade_id"): source_of(c)
        for c in json.loads(source.read_text(encoding="utf-8"))["cells"]
        if nbgrader_of(c).get("grade_id")
    }
    anchors = []
    for cell in released["cells"]:
        meta = nbgrader_of(cell)
        grade_id = meta.get("grade_id")
        if not grade_id:
            continue
        kind = _kind(meta, cell["cell_type"])
        full = sources.get(grade_id, source_of(cell))
        anchor = TemplateCell(grade_id, kind, cell, full, float(meta.get("points") or 0))
        if kind == "test":
            anchor.plan = parse_test_cell(full, where=f"{assignment}: cell {grade_id}")
        anchors.append(anchor)
    return Template(assignment, anchors, released.get("metadata", {}), released.get("nbformat_minor", 5),
                    cell_count=len(released["cells"]),
                    longest_source=max((len(source_of(c)) for c in released["cells"]), default=0))


def read_notebook(path: Path) -> dict[str, Any]:
    """Load and validate a submitted notebook's JSON structure.

    The file is opened without following links and must be a plain file (not a link, FIFO or
    hard link): the grader never reads another file through a submission.

    Raises:
        InvalidSubmission: with a one-line reason a student can act on.
    """
    try:
        raw = read_plain_file(path, limit=MAX_NOTEBOOK_BYTES)
    except OSError as error:
        raise InvalidSubmission(f"cannot read the notebook ({error.strerror})") from None
    except FileTooLarge as error:
        raise InvalidSubmission(f"notebook is {error.size} bytes, more than {MAX_NOTEBOOK_BYTES}; "
                                "clear the outputs and submit again") from None
    except FileRefused as error:
        raise InvalidSubmission(str(error)) from None
    try:
        notebook = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidSubmission("not a notebook: the file is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise InvalidSubmission(f"not a notebook: invalid JSON at line {error.lineno} "
                                f"column {error.colno} ({error.msg})") from None
    if not isinstance(notebook, dict) or "cells" not in notebook and "worksheets" not in notebook:
        raise InvalidSubmission("not a notebook: no cells")
    major = notebook.get("nbformat")
    if major != 4:
        raise InvalidSubmission(
            f"notebook format {major!r} is not supported (expected 4); open the file in "
            "JupyterLab, save it, and submit again"
        )
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise InvalidSubmission("not a notebook: 'cells' is not a list")
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise InvalidSubmission(f"cell {index + 1} is malformed (no valid cell_type)")
        source = cell.get("source", "")
        if not (isinstance(source, str) or
                isinstance(source, list) and all(isinstance(s, str) for s in source)):
            raise InvalidSubmission(f"cell {index + 1} is malformed (source is not text)")
    return notebook


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
    anchors = template.by_id
    template_ids = [a.grade_id for a in template.anchors]
    tampering: list[str] = []
    notes: list[str] = []
    chosen: dict[str, dict[str, Any]] = {}
    seen_order: list[str] = []
    segments: dict[str | None, list[dict[str, Any]]] = {None: []}
    current: str | None = None

    # first pass: which student cell stands for each anchor (prefer the original cell id)
    by_grade_id: dict[str, list[dict[str, Any]]] = {}
    for cell in notebook["cells"]:
        grade_id = nbgrader_of(cell).get("grade_id")
        if grade_id in anchors:
            by_grade_id.setdefault(grade_id, []).append(cell)
    for grade_id, copies in by_grade_id.items():
        original_id = anchors[grade_id].cell.get("id")
        match = next((c for c in copies if c.get("id") == original_id), copies[0])
        chosen[grade_id] = match
        if len(copies) > 1:
            kind = anchors[grade_id].kind
            if kind in ("test", "locked"):
                tampering.append(f"cell {grade_id} duplicated ({len(copies)} copies)")
            else:
                notes.append(f"answer cell {grade_id} appears {len(copies)} times; "
                             "the original was graded, the copies kept as ordinary cells")
    if not chosen:
        raise InvalidSubmission(
            f"does not look like {template.assignment}: none of its {len(template_ids)} graded "
            "cells are present (a different file, or the cells' metadata was removed)"
        )

    # second pass: segments of free cells after each anchor, in the student's order
    for cell in notebook["cells"]:
        grade_id = nbgrader_of(cell).get("grade_id")
        if grade_id in anchors and chosen.get(grade_id) is cell:
            current = grade_id
            seen_order.append(grade_id)
            segments[grade_id] = []
            continue
        if grade_id in anchors and anchors[grade_id].kind in ("test", "locked"):
            continue  # a duplicate of a locked cell: dropped (reported above)
        segments[current].append(_plain_cell(cell))

    for grade_id in template_ids:
        anchor = anchors[grade_id]
        cell = chosen.get(grade_id)
        if cell is None:
            what = "answer" if anchor.kind in ("solution", "answer") else "cell"
            tampering.append(f"{what} {grade_id} deleted (restored from the assignment)")
            continue
        if anchor.kind in ("test", "locked") and source_of(cell) != source_of(anchor.cell):
            tampering.append(f"{'test cell' if anchor.kind == 'test' else 'locked cell'} "
                             f"{grade_id} edited (original restored)")
        elif anchor.kind in ("test", "locked") and cell.get("cell_type") != anchor.cell["cell_type"]:
            tampering.append(f"cell {grade_id} changed type (original restored)")
        if nbgrader_of(cell) != nbgrader_of(anchor.cell) \
                and {k: v for k, v in nbgrader_of(cell).items() if k != "checksum"} != \
                {k: v for k, v in nbgrader_of(anchor.cell).items() if k != "checksum"}:
            tampering.append(f"grading metadata of {grade_id} changed (original restored)")
    moved = _out_of_order(seen_order, template_ids)
    if moved:
        tampering.append(f"cells moved: {', '.join(moved)} (graded in the original order)")

    cells = list(segments[None])
    for anchor in template.anchors:
        student = chosen.get(anchor.grade_id)
        if anchor.kind in ("solution", "answer") and student is not None:
            cell = _fresh(anchor.cell, source_of(student))
            if anchor.kind == "answer" and student.get("cell_type") != "markdown":
                cell["source"] = source_of(student)
        elif anchor.kind == "test":
            cell = _fresh(anchor.cell, anchor.source_with_hidden)
        else:
            cell = _fresh(anchor.cell)
        cells.append(cell)
        cells.extend(segments.get(anchor.grade_id, []))
    return Rebuilt(cells, tampering, notes)
