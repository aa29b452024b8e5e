"""An assignment's graded structure: its anchors (cells with a grade id) and their check calls.

Built from the released notebook (what students see) and the source notebook (test cells
with their hidden tests); one template per released edition, all with the same test cells.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.grading.check_calls import CheckCall, parse_test_cell, strip_hidden
from autograder.grading.notebook_file import nbgrader_of, source_of

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


@dataclass
class TemplateCell:
    """A cell of the assignment with a grade id (an anchor)."""

    grade_id: str
    kind: str  # "test", "locked", "solution" (code answer) or "answer" (written)
    cell: dict[str, Any]  # the released cell (what students see)
    source_with_hidden: str  # test cells: the instructor's source, hidden tests included
    points: float
    calls: list[CheckCall] = field(default_factory=list)  # test cells: its check calls, hidden ones included


@dataclass
class Template:
    """An assignment's graded structure, from its release and source notebooks."""

    assignment: str
    anchors: list[TemplateCell]
    metadata: dict[str, Any]
    nbformat_minor: int
    cell_count: int = 0  # cells of the release (for the structure caps)
    longest_source: int = 0  # characters of the release's longest cell
    #: the release's own code, set-up and demonstration cells (not answers, not tests): a
    #: submission's cell with exactly this text is the instructor's (see autograder.grading.cell_needs)
    fixed_sources: frozenset[str] = frozenset()

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
            anchor.calls = parse_test_cell(full, where=f"{assignment}: cell {grade_id}")
        anchors.append(anchor)
    return Template(assignment, anchors, released.get("metadata", {}), released.get("nbformat_minor", 5),
                    cell_count=len(released["cells"]),
                    fixed_sources=frozenset(
                        source_of(c) for c in released["cells"] if c["cell_type"] == "code"
                        and _kind(nbgrader_of(c), "code") == "locked"),
                    longest_source=max((len(source_of(c)) for c in released["cells"]), default=0))
