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

A scenario about the submission's files rather than its cells (links, FIFOs,
an LMS download) has an ``arrange`` step that builds the folder itself.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course.layout import Course
from autograder.devtools import classgen
from autograder.grading.judging import MEASURES_KEY
from autograder.grading.notebook_file import nbgrader_of

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
        arrange: builds the submission folder ``submitted/<name>/mini/`` itself (``make`` is
            then unused); called with the course, that folder and the placeholder values.
        files: other files placed beside the notebook (name, contents), e.g. ``timestamp.txt``.
    """

    name: str
    make: Callable[[Course], Notebook | str | bytes | None]
    status: str
    score: float
    needs_sandbox: bool = False
    arrange: Callable[[Course, Path, dict[str, Any]], None] | None = None
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

# --- submissions that are links, special files or LMS downloads (arrange steps) ------------------


def _link(which: str, target: str) -> Callable[[Course, Path, dict[str, Any]], None]:
    """The student's notebook, assignment folder or own folder is a symbolic link to ``target``."""
    def arrange(course: Course, folder: Path, values: dict[str, Any]) -> None:
        path = {"notebook": folder / "mini.ipynb", "folder": folder, "student": folder.parent}[which]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(_fill(target, values))

    return arrange


def _outside_copy(course: Course, values: dict[str, Any], name: str) -> Path:
    """A copy of the instructor's notebook outside the course folder, on the same disk."""
    path = Path(values["outside"]).parent / name
    path.write_bytes(course.source_notebook("mini").read_bytes())
    return path


def _hard_link(beside: bool) -> Callable[[Course, Path, dict[str, Any]], None]:
    """The notebook (or a file beside a perfect one) is a hard link to the instructor's notebook."""
    def arrange(course: Course, folder: Path, values: dict[str, Any]) -> None:
        target = _outside_copy(course, values, f"hard-link-target-{folder.parent.name}.ipynb")
        folder.mkdir(parents=True)
        if beside:
            (folder / "mini.ipynb").write_text(json.dumps(_perfect(course)), encoding="utf-8")
        os.link(target, folder / ("data.txt" if beside else "mini.ipynb"))

    return arrange


def _fifo(course: Course, folder: Path, values: dict[str, Any]) -> None:
    """The notebook is a named pipe: opening it for reading would block the grader."""
    folder.mkdir(parents=True)
    os.mkfifo(folder / "mini.ipynb")


def _symlink_beside(course: Course, folder: Path, values: dict[str, Any]) -> None:
    """A perfect notebook, and beside it a link to the instructor's (skipped, not a refusal)."""
    folder.mkdir(parents=True)
    (folder / "mini.ipynb").write_text(json.dumps(_perfect(course)), encoding="utf-8")
    (folder / "notes.txt").symlink_to(Path(values["repo"]) / "solutions" / "mini" / "mini.ipynb")


def _with_empty_cells(count: int | None) -> Callable[[Course], str]:
    """A perfect notebook plus ``count`` empty code cells (``None``: up to the cell cap exactly)."""
    def make(course: Course) -> str:
        notebook = _perfect(course)
        extra = 5 * 10 - len(notebook["cells"]) if count is None else count  # mini's cap: 5 × 10 cells
        notebook["cells"] += [{"cell_type": "code", "execution_count": None, "metadata": {},
                               "outputs": [], "source": ""} for _ in range(extra)]
        return json.dumps(notebook)

    return make


def _saved_outputs(count: int) -> Callable[[Course], Notebook]:
    def make(course: Course) -> Notebook:
        notebook = classgen.with_cell(_perfect(course), "print('.')")
        cell = next(c for c in notebook["cells"] if c.get("source") == "print('.')")
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ".\n"}] * count
        return notebook

    return make


def _lms_import(entries: dict[str, tuple[int, str]]) -> Callable[[Course, Path, dict[str, Any]], None]:
    """Import a zip of ``name: (unix file type, data)`` entries with the real ``import`` command.

    ``{perfect}`` in data is the perfect notebook. The command's output is kept in
    ``import-<student>.log`` of the course folder; a traceback fails the class at once.
    """
    def arrange(course: Course, folder: Path, values: dict[str, Any]) -> None:
        course_dir = folder.parent.parent.parent
        archive = course_dir.parent / f"{folder.parent.name}.zip"
        with zipfile.ZipFile(archive, "w") as bundle:
            for name, (kind, data) in entries.items():
                info = zipfile.ZipInfo(name)
                info.create_system, info.external_attr = 3, (kind | 0o644) << 16
                bundle.writestr(info, data.replace("{perfect}", json.dumps(_perfect(course))))
        result = subprocess.run(
            [sys.executable, "-m", "autograder", "import", "mini", str(archive), "--course-dir",
             str(course_dir)], capture_output=True, text=True, timeout=300,
            env={**os.environ, "NNLAB_REPO": str(values["repo"])})
        (course_dir / f"import-{folder.parent.name}.log").write_text(result.stdout + result.stderr)
        assert "Traceback" not in result.stderr, result.stderr

    return arrange

# issue 15, 1a: patch numpy, then claim over the channel that nothing was replaced
_FORGE_INTEGRITY = '''
import json, os, threading, time
import numpy as np
np.allclose = lambda *a, **k: True
def forge(kind, **fields):
    try:
        os.write(3, (json.dumps({"t": kind, **fields}) + "\\n").encode())
    except OSError:
        pass
forge("integrity", changes=[])
forge("integrity_report", token="guess", changes=[])
def keep_forging():
    for _ in range(100):
        forge("integrity_report", token="guess", changes=[])
        forge("finished", token="guess", changes=[])
        time.sleep(0.02)
threading.Thread(target=keep_forging, daemon=True).start()
'''

# issue 15, 1b: look for the hidden checks' parameters and inputs, and smuggle them into outputs
_SMUGGLE_HIDDEN = '''
import gc, json, os, threading
def hidden_things():
    found = []
    for obj in gc.get_objects():  # type(), not isinstance(): no attribute of obj is looked up
        if type(obj) is dict and type(obj.get("probes")) is list \
                or type(obj).__name__ in ("RunProbe", "Probes"):
            found.append(repr(obj)[:300])
    return found
print("FOUND BEFORE CHECKS:", hidden_things())
seen = threading.Event()
def smuggle():
    while True:
        things = hidden_things()
        if things:
            outputs = [{"output_type": "stream", "name": "stdout", "text": "SMUGGLED " + " ".join(things)}]
            for index in range(12):
                os.write(3, (json.dumps({"t": "cell_done", "token": "?", "index": index, "outputs": outputs,
                                          "error": None, "over": False, "dt": 0.0}) + "\\n").encode())
            print("SMUGGLED", things)
            seen.set()
            return
threading.Thread(target=smuggle, daemon=True).start()
_tanh = tanh_forward
def tanh_forward(x):
    seen.wait(2)
    print("INPUT", x.tolist())
    return _tanh(x)
'''

# issue 15, 7: a thread patches numpy while the checks run (after the last cell)
_LATE_PATCH = '''
import threading
import numpy as np
called, patched = threading.Event(), threading.Event()
def patch_later():
    called.wait()
    np.allclose = lambda *a, **k: True
    patched.set()
threading.Thread(target=patch_later, daemon=True).start()
_tanh = tanh_forward
def tanh_forward(x):
    called.set()
    patched.wait(2)
    return _tanh(x)
'''

# issue 15, 8: numpy exercises answered by calling torch (renamed, and through autograd)
_TORCH_ANSWERS = '''
import torch as np_helpers
def relu_forward(x):
    return np_helpers.relu(np_helpers.from_numpy(x)).numpy()
def relu_backward(dout, x):
    t = np_helpers.from_numpy(x).requires_grad_()
    t.relu().backward(np_helpers.from_numpy(dout))
    return t.grad.numpy()
'''

# torch used outside the graded functions (a demo): allowed
_TORCH_DEMO = '''
import torch
print("demo:", torch.sigmoid(torch.tensor([0.0])).item(), relu_forward(np.array([-1.0, 2.0])))
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
    # np.zeros takes its pages from calloc untouched, the way a student's np.zeros((n, n)) does: the
    # address-space cap, not how fast a busy machine can fill pages, decides (a bytearray loop filling
    # 768 MB took 0.6 s idle, 1.4 s with four busy processes, and past the 3 s cell budget in CI)
    Scenario("memory-bomb", _extra(
        _perfect, "import numpy as np\nhoard = []\nwhile True:\n    hoard.append(np.zeros(50_000_000))"),
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
    # links and special files: refused, nothing read through them (the instructor's notebook
    # would otherwise be graded and copied into autograded/ and feedback/)
    Scenario("notebook-links-to-solution", _perfect, "invalid", 0,
             arrange=_link("notebook", "{repo}/solutions/mini/mini.ipynb")),
    Scenario("folder-links-to-solution", _perfect, "invalid", 0,
             arrange=_link("folder", "{repo}/solutions/mini")),
    Scenario("student-folder-links-to-solutions", _perfect, "invalid", 0,
             arrange=_link("student", "{repo}/solutions")),
    Scenario("notebook-hard-linked-outside", _perfect, "invalid", 0, arrange=_hard_link(beside=False)),
    Scenario("hard-link-beside-notebook", _perfect, "invalid", 0, arrange=_hard_link(beside=True)),
    Scenario("notebook-is-a-fifo", _perfect, "invalid", 0, arrange=_fifo),
    Scenario("symlink-beside-notebook", _perfect, "ok", 3, arrange=_symlink_beside),
    # structure caps, relative to the release (mini: 10 cells, so at most 50)
    Scenario("200k-empty-cells", _with_empty_cells(200_000), "invalid", 0),
    Scenario("cells-at-the-cap", _with_empty_cells(None), "ok", 3),
    Scenario("huge-cell-source", _extra(_perfect, "x = 1\n" * 20_000), "invalid", 0),
    Scenario("saved-output-flood", _saved_outputs(600), "invalid", 0),
    # LMS downloads through `import`: a link entry is refused (so no notebook), "." entries and a
    # Moodle student named ".." are reported and nothing is written outside submitted/
    Scenario("lms-symlink-entry", _perfect, "missing", 0, arrange=_lms_import({
        "lms-symlink-entry/mini.ipynb": (stat.S_IFLNK, "../../../solutions/mini/mini.ipynb"),
        "lms-symlink-entry/notes.txt": (stat.S_IFREG, "my notes")})),
    Scenario("lms-dot-entries", _perfect, "ok", 3, arrange=_lms_import({
        "lms-dot-entries/.": (stat.S_IFREG, "{perfect}"),
        ".._7_assignsubmission_file_/mini.ipynb": (stat.S_IFREG, "{perfect}"),
        "lms-dot-entries/mini.ipynb": (stat.S_IFREG, "{perfect}")})),
    # issue 15: the grading channel, integrity at every judging point, the torch policy
    Scenario("forged-integrity-line", _extra(_wrong, _FORGE_INTEGRITY, at_end=False), "integrity", 2),
    Scenario("smuggled-hidden-inputs", _extra(_perfect, _SMUGGLE_HIDDEN), "tampered", 3),
    Scenario("malformed-channel-line", _extra(
        _perfect, "import os\nos.write(3, b'{\"t\": \"interrupted\", \"unit\": \"probe:x\"}\\n')\n"
                  "os.write(3, bytes(range(256)) + b'\\n')"), "tampered", 3),
    Scenario("late-numpy-patch-thread", _extra(_wrong, _LATE_PATCH), "integrity", 2),
    Scenario("torch-answers", _extra(_perfect, _TORCH_ANSWERS), "policy", 1),
    Scenario("torch-in-a-demo-cell", _extra(_perfect, _TORCH_DEMO), "ok", 3),
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
        if scenario.arrange is not None:
            scenario.arrange(course, Path(course_dir) / "submitted" / scenario.name / "mini", values)
            continue
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


# --- issue 10: 06's predict scored on a hidden split whose labels never enter the sandbox -----------
# Each is the perfect 06 submission with its `predict` cell replaced: whatever it finds or guesses,
# it must earn no accuracy points (both test_predict_* cells 0) and keep every other point.

CAPSTONE = "06_putting_it_together"

_HUNT_FRAMES = '''
def predict(X):
    """Looks for the hidden split's seed or labels in every caller's frame and the whole heap."""
    import gc, sys
    from nnlab.data import hidden_test_split
    frame, seen = sys._getframe(1), []
    while frame is not None:
        seen += list(frame.f_locals.values())
        frame = frame.f_back
    seen += [o for o in gc.get_objects() if isinstance(o, dict)]
    for value in seen:
        if isinstance(value, dict) and value.get("secret_seed") is not None:
            return hidden_test_split(value["secret_seed"], len(X))[1]
        if isinstance(value, dict) and isinstance(value.get("y"), np.ndarray) and len(value["y"]) == len(X):
            return value["y"]
    return np.zeros(len(X), dtype=np.int64)
'''

_GUESS_SEEDS = '''
def predict(X):
    """Regenerates splits from guessed seeds and copies the labels of one whose images match."""
    from nnlab.data import hidden_test_split, load_hard_shapes
    for seed in (0, 1, 2, 42):  # a few guesses fit the check's time; tests/test_checks_capstone tries 30
        public = load_hard_shapes(num_train=0, num_val=len(X), seed=seed)
        for images, labels in (hidden_test_split(seed, len(X)), (public.X_val, public.y_val)):
            if np.abs(images[:2] - X[:2]).max() < 0.01:
                return labels
    return np.zeros(len(X), dtype=np.int64)
'''

_CONSTANT = "def predict(X):\n    return np.full(len(X), 3, dtype=np.int64)\n"
_RANDOM = "def predict(X):\n    return np.random.default_rng(0).integers(0, 6, len(X))\n"


@dataclass(frozen=True)
class PredictScenario:
    """A 06 submission whose ``predict`` is ``source``; it must score no accuracy points."""

    name: str
    source: str
    forged_measures: bool = False  # also writes a high accuracy into its test cells' metadata


PREDICT_SCENARIOS = (
    PredictScenario("predict-hunts-frames-and-heap", _HUNT_FRAMES),
    PredictScenario("predict-guesses-seeds", _GUESS_SEEDS),
    PredictScenario("predict-constant", _CONSTANT),
    PredictScenario("predict-random", _RANDOM),
    PredictScenario("predict-constant-forged-measures", _CONSTANT, forged_measures=True),
)


def write_predict_class(course: Course, course_dir: Path) -> None:
    """The perfect 06 submission as ``perfect``, and one per :data:`PREDICT_SCENARIOS`."""
    classgen.write_submission(course_dir, "perfect", CAPSTONE, classgen.perfect(course, CAPSTONE))
    for scenario in PREDICT_SCENARIOS:
        notebook = classgen.perfect(course, CAPSTONE)
        for cell in notebook["cells"]:
            grade_id = nbgrader_of(cell).get("grade_id")
            if grade_id == "predict":
                cell["source"] = scenario.source
            if scenario.forged_measures and str(grade_id).startswith("test_predict_"):
                cell["metadata"][MEASURES_KEY] = [{"check": "predict", "hidden": True,
                                                   "measures": {"accuracy": 0.99}}] * 2
        classgen.write_submission(course_dir, scenario.name, CAPSTONE, notebook)
