"""Helpers for tests that need a notebook's cells or the solution's functions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"


def notebook_ids() -> list[str]:
    """Every assignment id (a folder of solutions/ holding NAME/NAME.ipynb), sorted."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())


def solution_path(notebook: str) -> Path:
    return SOLUTIONS / notebook / f"{notebook}.ipynb"


def cells(path: Path) -> list[dict[str, Any]]:
    """The cells of a notebook file, sources joined into strings."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        cell = dict(cell)
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
        out.append(cell)
    return out


def nbgrader_meta(cell: dict[str, Any]) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_namespace(notebook: str) -> dict[str, Any]:
    """Run a solution notebook's set-up cells (grade_id ``setup*``) and solution code cells.

    Only those cells run (not demos, plots or tests), with widgets static,
    so tests get the instructor's implementations quickly.
    """
    os.environ.setdefault("NNLAB_STATIC_WIDGETS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict[str, Any] = {"__name__": f"solution_{notebook}"}
    for cell in cells(solution_path(notebook)):
        meta = nbgrader_meta(cell)
        if cell["cell_type"] != "code" or meta.get("grade"):
            continue
        if meta.get("solution") or str(meta.get("grade_id", "")).startswith("setup"):
            exec(compile(cell["source"], f"<{notebook}:{meta.get('grade_id')}>", "exec"), namespace)
    return namespace
