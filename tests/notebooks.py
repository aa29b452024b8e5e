"""Helpers for tests that need a notebook's cells, its test cells' checks, the solution's
functions or a whole notebook run in a Jupyter kernel."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograder.grading.check_calls import CheckCall
    from autograder.grading.template import Template, TemplateCell

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"


def notebook_ids() -> list[str]:
    """Every assignment id (a folder of solutions/ holding NAME/NAME.ipynb), sorted."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())


def solution_path(notebook: str) -> Path:
    return SOLUTIONS / notebook / f"{notebook}.ipynb"


def release_path(notebook: str) -> Path:
    return ASSIGNMENTS / notebook / f"{notebook}.ipynb"


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


# --- the test cells' check calls, as the grader reads them ----------------------------------------

@functools.cache
def _template(notebook: str) -> Template:
    from autograder.grading.template import load_template

    return load_template(release_path(notebook), solution_path(notebook), notebook)


def check_cells(notebook: str) -> list[TemplateCell]:
    """The notebook's test cells as the grader plans them: ``.grade_id``, ``.source_with_hidden``
    (the instructor's source) and ``.calls`` (its check calls, hidden ones included)."""
    return [anchor for anchor in _template(notebook).anchors if anchor.kind == "test"]


def check_calls(notebook: str) -> list[CheckCall]:
    """Every ``check(...)`` call of the notebook's test cells, in order: ``.name``, ``.functions``
    (role -> variable name) and ``.params`` (defaults filled in, ``hidden`` included)."""
    return [call for cell in check_cells(notebook) for call in cell.calls]


def call_ids(calls: Iterable[CheckCall]) -> list[str]:
    """Test ids for a parametrization over check calls: ``name-visible-3``, ``name-hidden-4``."""
    return [f"{c.name}-{'hidden' if c.hidden else 'visible'}-{i}" for i, c in enumerate(calls)]


def run_check_call(namespace: dict[str, Any], call: CheckCall) -> None:
    """Run one test-cell call on the functions of ``namespace`` (raises ``CheckFailed`` on failure)."""
    from nnlab.checks import check

    check(call.name, **{role: namespace[name] for role, name in call.functions.items()}, **call.params)


def registered_checks(notebook: str) -> set[str]:
    """The names of the checks registered for the notebook."""
    from nnlab.checks import registry

    return {name for name, spec in registry().items() if spec.notebook == notebook}


def one_test_cell_per_check(notebook: str, checks: Iterable[str]) -> dict[str, list[CheckCall]]:
    """Assert the notebook has one test cell ``test_NAME`` per check of ``checks`` (and no other),
    each importing ``check`` first, with a visible call and at least two hidden calls whose seeds
    differ from every visible one; return the calls by check name."""
    seen = {}
    for cell in check_cells(notebook):
        name = cell.grade_id.removeprefix("test_")
        assert {call.name for call in cell.calls} == {name}, cell.grade_id
        visible = [call.params for call in cell.calls if not call.hidden]
        hidden = [call.params for call in cell.calls if call.hidden]
        assert visible and len(hidden) >= 2, cell.grade_id
        for params in hidden:  # hidden calls use other inputs than every visible one
            assert params.get("seed", 0) not in {v.get("seed", 0) for v in visible}, cell.grade_id
        assert cell.source_with_hidden.splitlines()[0] == "from nnlab.checks import check"
        seen[name] = cell.calls
    assert set(seen) == set(checks)
    return seen


# --- whole notebooks in a Jupyter kernel --------------------------------------------------------

@functools.cache
def execute_notebook(path: Path, *, allow_errors: bool) -> Any:
    """Run a notebook top to bottom in a ``python3`` Jupyter kernel as nbgrader's autograder does
    (``NBGRADER_EXECUTION=autograde`` in the kernel's environment, 120 s per cell, in the
    notebook's folder); return the executed ``nbformat`` notebook.

    Cached by path: tests that look at the same run share one execution (do not modify it).
    Raises ``nbclient.exceptions.CellExecutionError`` on the first error unless ``allow_errors``.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env={**os.environ, "NBGRADER_EXECUTION": "autograde"})
    return notebook


def error_outputs(notebook: Any) -> list[tuple[dict[str, Any], Any]]:
    """``(nbgrader metadata of the cell, error output)`` of every error an executed notebook shows."""
    return [(nbgrader_meta(cell), output) for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.output_type == "error"]


def check_fails(name: str, function: Any, match: str, **params: Any) -> str:
    """Run ``check(name, function, **params)``, expect it to fail with ``match``; the message."""
    import pytest
    from nnlab.checks import check

    with pytest.raises(AssertionError, match=match) as caught:
        check(name, function, **params)
    return str(caught.value)
