"""A release-time nbgrader preprocessor: Run All goes on past exercises not done yet.

JupyterLab and Notebook 7 stop "Run All" at the first cell that raises,
so in a fresh release the first demo that calls an unimplemented function
would hide every later figure, explorer and the progress summary. Cells
tagged ``raises-exception`` may fail without stopping the run. The release
tags every code cell except set-up and solution cells; the instructor's
notebooks in ``solutions/`` stay untagged, so an error there still stops.
"""

from __future__ import annotations

from typing import Any

from nbgrader.preprocessors import NbGraderPreprocessor

TAG = "raises-exception"


class TagCellsThatMayRaise(NbGraderPreprocessor):
    """Tag demo and test cells ``raises-exception`` in the student release."""

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        grader = cell.metadata.get("nbgrader", {})
        is_setup = str(grader.get("grade_id", "")).startswith("setup")
        if cell.cell_type == "code" and not grader.get("solution") and not is_setup:
            tags = list(cell.metadata.get("tags", []))
            if TAG not in tags:
                cell.metadata["tags"] = [*tags, TAG]
        return cell, resources
