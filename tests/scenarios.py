"""The grader's scenario class: one submission per attack or fault, named for what it does.

Each scenario starts from the test course's ``mini`` assignment (three
autograded functions, 1 point each, and one written answer) as a student
receives it, and changes it: answers filled in right or wrong, plus an extra
cell or an edit that attacks or breaks the grader. ``expected`` is the status
and automatic score the grader must give.

Placeholders in cell sources, filled in when the class is written:
``{repo}`` (the course repository), ``{course_dir}``, ``{port}`` (a TCP
listener on the host's 127.0.0.1), ``{outside}`` (a host path that must not
be created).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograder import classgen
from autograder.course import Course
from autograder.submission import nbgrader_of

Notebook = dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    """A submission and the verdict it must get.

    Attributes:
        name: the student id, saying what the submission does.
        make: builds the submission (a notebook dict, or raw text/bytes for broken files).
        status: the status the grader must record.
        score: the automatic score it must record (out of 3).
        needs_sandbox: only meaningful with bubblewrap (file and network isolation).
        files: other files placed beside the notebook (name, contents), e.g. ``timestamp.txt``.
    """

    name: str
    make: Callable[[Course], Notebook | str | bytes | None]
    status: str
    score: float
    needs_sandbox: bool = False
    files: tuple[tuple[str, str | bytes], ...] = ()


def _perfect(course: Course) -> Notebook:
    return classgen.perfect(course, "mini")


def _wrong(course: Course) -> Notebook:
    """relu_forward wrong (returns x unchanged), the other two right."""
    notebook = _perfect(course)
    for cell in notebook["cells"]:
        if nbgrader_of(cell).get("grade_id") == "relu_forward":
            cell["source"] = "def relu_forward(x):\n    return x.copy()"
    return notebook


def _extra(base: Callable[[Course], Notebook], source: str, *, at_end: bool = True
           ) -> Callable[[Course], Notebook]:
    return lambda course: classgen.with_cell(base(course), source, after_first_solution=not at_end)


def _edit(base: Callable[[Course], Notebook], change: Callable[[list[dict[str, Any]]], None]
          ) -> Callable[[Course], Notebook]:
    def make(course: Course) -> Notebook:
        notebook = copy.deepcopy(base(course))
        change(notebook["cells"])
        return notebook

    return make


def _index(cells: list[dict[str, Any]], grade_id: str) -> int:
    return next(i for i, c in enumerate(cells) if nbgrader_of(c).get("grade_id") == grade_id)


def _set_source(grade_id: str, source: str) -> Callable[[list[dict[str, Any]]], None]:
    def change(cells: list[dict[str, Any]]) -> None:
        cells[_index(cells, grade_id)]["source"] = source

    return change


def _delete(grade_id: str) -> Callable[[list[dict[str, Any]]], None]:
    return lambda cells: cells.pop(_index(cells, grade_id))


def _duplicate(grade_id: str) -> Callable[[list[dict[str, Any]]], None]:
    def change(cells: list[dict[str, Any]]) -> None:
        i = _index(cells, grade_id)
        twin = copy.deepcopy(cells[i])
        twin["id"] = "pasted-copy"
        cells.insert(i + 1, twin)

    return change


def _move_test_first(cells: list[dict[str, Any]]) -> None:
    i = _index(cells, "test_tanh_forward")
    cells.insert(1, cells.pop(i))


def _old_format(course: Course) -> str:
    return json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                       "worksheets": [{"cells": [{"cell_type": "code", "input": "1 + 1",
                                                  "language": "python", "outputs": []}]}]})


_READ_SECRETS = '''
found = []
for path in ["{repo}/solutions/mini/mini.ipynb", "{course_dir}/gradebook.db",
             "{course_dir}/submitted/correct/mini/mini.ipynb", "{repo}/nbgrader_config.py"]:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        found.append(path)
    except OSError:
        pass
print("READABLE:", found)
'''

_WRITE_OUTSIDE = '''
written = []
for path in ["{outside}", "{repo}/solutions/mini/pwned.txt", "{course_dir}/pwned.txt", "/etc/pwned"]:
    try:
        with open(path, "w") as handle:
            handle.write("pwned")
        written.append(path)
    except OSError:
        pass
print("WRITTEN:", written)
'''

_NETWORK = '''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"leak")
    print("CONNECTED")
except OSError as error:
    print("NO NETWORK:", error)
'''

_WIDGETS = '''
import ipywidgets as widgets
from IPython.display import display
slider = widgets.FloatSlider(value=0.5, min=0, max=1, description="p")
display(widgets.VBox([slider, widgets.Output()]))
widgets.interact(lambda p=0.5: print(p * 2), p=(0.0, 1.0))
from nnlab.widgets import activation_explorer
activation_explorer("relu")
'''

_PATCH_REGISTRY = '''
import dataclasses
from nnlab.checks import spec
for name, item in list(spec._REGISTRY.items()):
    spec._REGISTRY[name] = dataclasses.replace(item, judge=lambda record, params: None)
'''

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("correct", _perfect, "ok", 3),
    Scenario("blank", lambda c: classgen.blank(c, "mini"), "ok", 0),
    Scenario("wrong", _wrong, "ok", 2),
    Scenario("infinite-loop", _extra(_perfect, "while True:\n    pass"), "timeout", 3),
    Scenario("sleep-past-timeout", _extra(_perfect, "import time\ntime.sleep(600)"), "timeout", 3),
    Scenario("loop-ignoring-interrupts", _extra(
        _perfect, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        at_end=False), "timeout", 3),
    Scenario("os-exit", _extra(_perfect, "import os\nos._exit(0)", at_end=False), "crashed", 3),
    Scenario("segfault", _extra(_perfect, "import ctypes\nctypes.string_at(0)", at_end=False),
             "crashed", 3),
    Scenario("memory-bomb", _extra(
        _perfect, "hoard = []\nwhile True:\n    hoard.append(bytearray(50_000_000))"),
        "resource_limit", 3),
    Scenario("fork-bomb", _extra(_perfect, "import os\nwhile True:\n    os.fork()"),
             "resource_limit", 3, needs_sandbox=True),
    Scenario("output-flood", _extra(_perfect, "while True:\n    print('x' * 10_000)"),
             "resource_limit", 3),
    Scenario("edited-test-cell", _edit(_wrong, _set_source("test_relu_forward", "print('all good')")),
             "tampered", 2),
    Scenario("deleted-test-cell", _edit(_wrong, _delete("test_relu_forward")), "tampered", 2),
    Scenario("duplicated-test-cell", _edit(_perfect, _duplicate("test_relu_backward")), "tampered", 3),
    Scenario("moved-test-cell", _edit(_perfect, _move_test_first), "tampered", 3),
    Scenario("deleted-answer-cell", _edit(_perfect, _delete("tanh_forward")), "tampered", 2),
    Scenario("numpy-monkeypatch", _extra(
        _wrong, "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                "np.isclose = lambda a, b, **k: np.ones(np.shape(a), dtype=bool)", at_end=False),
        "integrity", 2),
    Scenario("torch-monkeypatch", _extra(
        _wrong, "import torch\ntorch.allclose = lambda *a, **k: True\n"
                "torch.testing.assert_close = lambda *a, **k: None", at_end=False), "integrity", 2),
    Scenario("patched-check-helper", _extra(
        _wrong, "import nnlab.checks\nnnlab.checks.check = lambda *a, **k: print('✓')\n"
                "check = nnlab.checks.check", at_end=False), "integrity", 2),
    Scenario("patched-comparison", _extra(
        _wrong, "import nnlab.checks.compare as compare\ncompare.expect_close = lambda *a, **k: None",
        at_end=False), "integrity", 2),
    Scenario("patched-check-registry", _extra(_wrong, _PATCH_REGISTRY, at_end=False), "integrity", 2),
    Scenario("patched-traceback-display", _extra(
        _wrong, "ip = get_ipython()\nip._showtraceback = lambda *a, **k: None\n"
                "ip.showtraceback = lambda *a, **k: None", at_end=False), "integrity", 2),
    Scenario("patched-builtins", _extra(
        _wrong, "import builtins\nbuiltins.abs = lambda value: 0\nbuiltins.all = lambda items: True",
        at_end=False), "integrity", 2),
    Scenario("patched-display-publisher", _extra(
        _wrong, "ip = get_ipython()\nip.display_pub.publish = lambda *a, **k: None\n"
                "import sys\nsys.excepthook = lambda *a: None", at_end=False), "integrity", 2),
    Scenario("read-solutions-and-gradebook", _extra(_perfect, _READ_SECRETS), "ok", 3,
             needs_sandbox=True),
    Scenario("write-outside-submission", _extra(_perfect, _WRITE_OUTSIDE), "ok", 3, needs_sandbox=True),
    Scenario("network-access", _extra(_perfect, _NETWORK), "ok", 3, needs_sandbox=True),
    Scenario("input-call", _extra(_perfect, "name = input('Your name? ')"), "ok", 3),
    Scenario("hang-inside-function", _edit(
        _perfect, _set_source("tanh_forward", "def tanh_forward(x):\n    while True:\n        pass")),
        "timeout", 2),
    Scenario("exit-inside-function", _edit(
        _perfect, _set_source("tanh_forward", "def tanh_forward(x):\n    import os\n    os._exit(3)")),
        "crashed", 2),
    Scenario("widgets", _extra(_perfect, _WIDGETS), "ok", 3),
    Scenario("invalid-json", lambda c: '{"cells": [', "invalid", 0),
    Scenario("old-nbformat", _old_format, "invalid", 0),
    Scenario("not-a-notebook", lambda c: bytes(range(256)) * 4, "invalid", 0),
    Scenario("metadata-stripped", _edit(
        _perfect, lambda cells: [cell["metadata"].clear() for cell in cells]), "invalid", 0),
    Scenario("missing", lambda c: None, "missing", 0),
    # timestamp.txt is the student's: read strictly, never a crash, a slow parse or a file lookup
    Scenario("timestamp-zone-path", _perfect, "ok", 3,
             files=(("timestamp.txt", "2024-01-01 00:00:00 ../../../../etc/shadow"),)),
    Scenario("timestamp-long-zone", _perfect, "ok", 3,
             files=(("timestamp.txt", "2024-01-01 00:00:00 " + "A" * 5000),)),
    Scenario("timestamp-600kb-digits", _perfect, "ok", 3, files=(("timestamp.txt", "9" * 600_000),)),
    Scenario("timestamp-words", _perfect, "ok", 3, files=(("timestamp.txt", "yesterday, honest"),)),
    Scenario("timestamp-not-text", _perfect, "ok", 3, files=(("timestamp.txt", b"\xff\xfe\x00 2024"),)),
    Scenario("timestamp-impossible-date", _perfect, "ok", 3,
             files=(("timestamp.txt", "2024-02-31 25:61:00 UTC"),)),
    Scenario("timestamp-valid", _perfect, "ok", 3,
             files=(("timestamp.txt", "2024-01-01 08:00:00.000000 Asia/Shanghai"),)),
)


def write_class(course: Course, course_dir: Any, *, values: dict[str, Any],
                scenarios: tuple[Scenario, ...] = SCENARIOS) -> None:
    """Write every scenario's submission under ``course_dir/submitted``."""
    for scenario in scenarios:
        made = scenario.make(course)
        if made is None:
            (course_dir / "submitted" / scenario.name / "mini").mkdir(parents=True, exist_ok=True)
            continue
        if isinstance(made, dict):
            made = json.loads(_fill(json.dumps(made), values))
        notebook = classgen.write_submission(course_dir, scenario.name, "mini", made)
        for name, contents in scenario.files:
            target = notebook.parent / name
            target.write_bytes(contents if isinstance(contents, bytes) else contents.encode())


def _fill(text: str, values: dict[str, Any]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text
