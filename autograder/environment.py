"""The ``PATH`` of the processes the grader and its tools start: this Python's folder first.

nbgrader runs the ``alembic`` command when it creates a gradebook, and a Jupyter server
starts kernels and finds ``jupyter-*`` commands by ``PATH``: the ones installed beside this
Python must be found even when its virtual environment is not activated. One function, called
where a process is started or nbgrader is run; importing a module never changes ``PATH``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def path_with_this_python(path: str | None) -> str:
    """``path`` (a ``PATH`` value) with this Python's ``bin`` folder first, added once."""
    folder = str(Path(sys.executable).parent)
    rest = [p for p in (path or "").split(os.pathsep) if p and p != folder]
    return os.pathsep.join([folder, *rest])
