"""A submitted notebook as a file: read strictly, refused with a reason a student can act on.

Also the two accessors every stage uses on a cell of untrusted JSON: its source as one
string and its nbgrader metadata (``{}`` when absent or malformed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autograder.course.safefs import FileRefused, FileTooLarge, read_plain_file

#: a submitted notebook larger than this is refused (invalid).
MAX_NOTEBOOK_BYTES = 50_000_000


class InvalidSubmission(ValueError):
    """The file cannot be graded; the message is the one-line reason."""


def source_of(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def nbgrader_of(cell: dict[str, Any]) -> dict[str, Any]:
    meta = cell.get("metadata")
    grader = meta.get("nbgrader") if isinstance(meta, dict) else None
    return grader if isinstance(grader, dict) else {}


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
