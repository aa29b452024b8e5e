"""Which cells grading needs (autograder.grading.cell_needs), on hand-written notebooks.

Each case is a list of cell sources; by default every cell is the instructor's (``fixed``)
unless listed in ``student``. The expected set is worked out by hand from the rules in the
module docstring, not from the code.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from autograder.grading.cell_needs import analyse

SETUP = "import numpy as np\nimport torch\nfrom nnlab.seeding import seed_everything\n"


def run(cells: list[str], graded: set[str], *, student: set[int] = frozenset()) -> set[int] | None:
    needs = analyse(cells, graded, fixed=set(range(len(cells))) - set(student))
    return None if needs.run is None else set(needs.run)


def reason(cells: list[str], graded: set[str]) -> str:
    needs = analyse(cells, graded, fixed=set(range(len(cells))))
    assert needs.run is None, f"expected a fallback, got {needs.run}"
    return needs.reason


# --- what grading needs ---------------------------------------------------------------------------

def test_a_demonstration_cell_that_only_calls_the_graded_function_is_left_out() -> None:
    cells = [SETUP, "def relu(x):\n    return np.maximum(x, 0)", "print(relu(np.arange(3)))"]
    assert run(cells, {"relu"}) == {0, 1}


def test_reach_is_transitive_through_functions_globals_and_classes() -> None:
    cells = [SETUP,
             "SCALE = 2.0",
             "class Scaler:\n    def apply(self, x):\n        return np.asarray(x) * SCALE",
             "def helper(x):\n    return Scaler().apply(x)",
             "def graded(x):\n    return helper(x) + 1",
             "unused = 3"]
    assert run(cells, {"graded"}) == {0, 1, 2, 3, 4}


def test_decorators_default_arguments_and_class_bodies_are_needed_when_they_run_at_definition() -> None:
    cells = [SETUP,
             "def deco(f):\n    return np.vectorize(f)",
             "LIMIT = 5",
             "BASE = 1",
             "@deco\ndef graded(x, limit=LIMIT):\n    return x",
             "class Holder:\n    start = BASE\n",
             "def uses_holder():\n    return Holder.start"]
    assert run(cells, {"graded", "uses_holder"}) == {0, 1, 2, 3, 4, 5, 6}


def test_annotations_run_at_definition_and_pull_in_what_they_name() -> None:
    """``def f(m: nn.Module) -> Tensor`` reads ``nn`` and ``Tensor`` when the def runs: left out,
    their cells would turn a stub's NotImplementedError into a NameError at the definition."""
    cells = ["import torch.nn as nn",
             "from torch import Tensor",
             "Count = int",
             "def graded(model: nn.Module, *rest: Count) -> Tensor:\n    raise NotImplementedError()",
             "def shown(k: int = 1) -> None:\n    print(k)"]
    assert run(cells, {"graded"}) == {0, 1, 2, 3}


@pytest.mark.parametrize("change", [
    pytest.param("table.append(9)", id="method-call"),
    pytest.param("table[0] = 9", id="item-assignment"),
    pytest.param("del table[0]", id="item-deletion"),
    pytest.param("table += [9]", id="augmented"),
    pytest.param("alias = table\nalias.append(9)", id="through-an-alias"),
    pytest.param("for row in [table]:\n    row.append(9)", id="through-a-loop-variable"),
    pytest.param("grow(table)", id="a-function-changing-its-parameter"),
    pytest.param("grow_global()", id="a-function-changing-the-global"),
    pytest.param("table = [9]", id="rebinding"),
    pytest.param("del table", id="deletion"),
])
def test_a_cell_that_may_change_what_a_graded_function_reads_runs(change: str) -> None:
    cells = [SETUP, "table = [1, 2]",
             "def grow(rows):\n    rows.append(0)\n\ndef grow_global():\n    table.append(0)",
             "def graded(i):\n    return np.asarray(table)[i]",
             change]
    helpers = {2} if "grow" in change else set()  # the cell calls them: they must be defined
    assert run(cells, {"graded"}) == {0, 1, 3, 4} | helpers


def test_reading_or_copying_a_needed_global_does_not_make_a_cell_needed() -> None:
    cells = [SETUP, "table = np.ones(3)", "def graded():\n    return table.sum()",
             "copy = table * 2\nprint(table.mean(), copy)"]
    assert run(cells, {"graded"}) == {0, 1, 2}


def test_a_loop_variable_reused_in_a_later_cell_is_a_new_object_there() -> None:
    cells = [SETUP, "def graded(x):\n    return np.abs(x)",
             "for f in [graded]:\n    print(f(1))",
             "plots = []\nfor f in ['a', 'b']:\n    plots.append(f)"]
    assert run(cells, {"graded"}) == {0, 1}


def test_a_function_assigning_a_global_makes_the_cells_calling_it_run() -> None:
    cells = [SETUP, "counter = 0",
             "def bump():\n    global counter\n    counter += 1",
             "def graded():\n    return np.float64(counter)",
             "bump()"]
    assert run(cells, {"graded"}) == {0, 1, 2, 3, 4}


def test_the_students_own_cells_always_run_and_pull_in_what_they_read() -> None:
    cells = [SETUP, "data = np.arange(5)", "def graded(x):\n    return np.abs(x)",
             "while True:\n    pass  # scratch", "print(data)"]
    assert run(cells, {"graded"}, student={3, 4}) == {0, 1, 2, 3, 4}


def test_a_cell_that_does_not_compile_changes_nothing_and_is_left_out() -> None:
    cells = [SETUP, "def graded(x):\n    return np.abs(x)", "print((1, 2"]
    assert run(cells, {"graded"}) == {0, 1}


def test_a_library_call_that_sets_global_state_makes_its_cell_run() -> None:
    cells = [SETUP, "def graded(x):\n    return np.abs(x)", "torch.set_default_dtype(torch.float64)",
             "np.seterr(all='raise')", "print('just a demo')",
             "def configure():\n    torch.set_num_threads(4)", "configure()  # sets state through a function",
             "torch.set_num_threads(1)  # what the grader's sandbox already set"]
    assert run(cells, {"graded"}) == {0, 1, 2, 3, 5, 6}


def test_binding_a_name_to_part_of_a_needed_object_changes_nothing() -> None:
    """A loop variable or a new name for part of a needed object is a new name, not a change:
    only what a cell does *to* the object makes it run."""
    cells = [SETUP, "TABLE = [['a', 1], ['b', 2]]",
             "def graded():\n    return np.asarray([v for _, v in TABLE])",
             "first = TABLE[0]\nfor name, value in TABLE:\n    print(name.upper(), value, first)",
             "for row in TABLE:\n    row.append(0)", "last = TABLE[-1]\nlast.append(2)"]
    assert run(cells, {"graded"}) == {0, 1, 2, 4, 5}


def test_storing_a_library_call_result_stores_no_module() -> None:
    cells = [SETUP, "from math import sqrt", "def graded(x):\n    return np.sqrt(x)",
             "results = {}\nresults['a'] = sqrt(2)\nresults['b'] = np.zeros(2)\nresults['b'][0] = 1"]
    assert run(cells, {"graded"}) == {0, 2}


@pytest.mark.parametrize("build, needed", [
    pytest.param("def build(c):\n    return [c['w'] * 2]", False, id="a-result-without-its-argument"),
    pytest.param("def build(c):\n    return c", True, id="a-result-that-is-its-argument"),
])
def test_an_argument_through_a_notebook_functions_result_is_changed_only_if_returned(build: str,
                                                                                     needed: bool) -> None:
    cells = [SETUP, "config = {'w': 2}", build, "def train(model):\n    model.append(1)",
             "def graded():\n    return np.float64(config['w'])", "train(build(config))"]
    assert (5 in run(cells, {"graded"})) is needed


def test_torch_functions_that_draw_are_told_from_those_that_do_not() -> None:
    cells = [SETUP, "import torch.nn.functional as F", "print(torch.rand(2))",
             "x = F.avg_pool2d(torch.ones(1, 1, 2, 2), 2)", "y = F.dropout(torch.ones(3), 0.5)",
             "def graded():\n    return np.float64(y.sum())"]
    assert run(cells, {"graded"}) == {0, 1, 2, 4, 5}  # cell 2's draws reach y through F.dropout


def test_a_change_after_the_last_reader_is_left_out() -> None:
    """The probes run after every cell and read only what graded functions reach; a cell that
    changes an object only cells before it read cannot change what they saw."""
    cells = [SETUP, "rng = np.random.default_rng(0)\nW = rng.standard_normal(3)",
             "def graded(x):\n    return x * W",
             "print(rng.standard_normal(2))  # draws: changes rng, read only by cell 2"]
    assert run(cells, {"graded"}) == {0, 1, 2}


def test_a_name_bound_earlier_in_the_same_cell_hides_its_older_bindings() -> None:
    """``plots = []`` then ``plots.append(…)`` in one cell changes the new list only: the older
    ``plots`` (an alias of a needed object) cannot be the one appended to."""
    cells = [SETUP, "table = [1, 2]", "plots = table",
             "def graded():\n    return np.asarray(table)",
             "plots = []\nplots.append(3)"]
    assert run(cells, {"graded"}) == {0, 1, 3}
    maybe = "if len(table) > 5:\n    plots = []\nplots.append(4)  # may still be the alias of table"
    assert run([*cells, maybe], {"graded"}) == {0, 1, 2, 3, 4, 5}


def _random_notebook(trial: int, *, may_be_same: bool) -> tuple[list[str], dict[int, str], dict[str, bool]]:
    """Twelve lists that come to reference one another; then one cell per list changing it.

    Returns the cells, position -> the list its cell changes, and for each change whether it
    truly changes what ``graded`` reads (the graded list reaches the changed one, computed here
    by running the references as Python would build them)."""
    pick = random.Random(trial)
    names = [f"v{i}" for i in range(12)]
    cells = [SETUP, ", ".join(names) + " = " + ", ".join(f"[{i}]" for i in range(12))]
    edges: dict[str, set[str]] = {name: set() for name in names}
    for _ in range(14):
        holder, first, second = pick.sample(names, 3)
        if may_be_same and pick.random() < 0.5:  # np.asarray(a list of lists) may be that very list
            cells.append(f"alias = np.asarray({holder})\nalias.append([{first}, {second}])")
        else:
            cells.append(f"{holder}.append([{first}, {second}])")
        edges[holder] |= {first, second}
    target = pick.choice(names)
    cells.append(f"def graded():\n    return np.asarray({target}[0])")
    reached, todo = {target}, [target]
    while todo:
        for following in edges[todo.pop()] - reached:
            reached.add(following)
            todo.append(following)
    changes = {len(cells) + i: name for i, name in enumerate(names)}
    cells += [f"{name}[0] = 1" for name in names]
    return cells, changes, {name: name in reached for name in names}


def test_a_change_runs_exactly_when_the_graded_object_references_what_it_changes() -> None:
    """Appending ``[b, c]`` to ``a`` makes ``a`` reference ``b`` and ``c``, not the reverse: a
    change to ``b`` matters to a reader of ``a``; appending to ``a`` does not change ``b``."""
    mismatches = []
    for trial in range(60):
        cells, changes, matters = _random_notebook(trial, may_be_same=False)
        needed = run(cells, {"graded"})
        mismatches += [(trial, name) for position, name in changes.items()
                       if matters[name] != (position in needed)]
    assert mismatches == []


def test_every_change_that_matters_runs_through_any_chain_of_aliases() -> None:
    """Library results that may be their argument join regions, however the joins come: no
    change the graded object can see is ever left out (random notebooks)."""
    missed = []
    for trial in range(60):
        cells, changes, matters = _random_notebook(trial, may_be_same=True)
        needed = run(cells, {"graded"})
        missed += [(trial, name) for position, name in changes.items()
                   if matters[name] and position not in needed]
    assert missed == []


# --- random state ---------------------------------------------------------------------------------

def test_a_cell_drawing_from_a_generator_a_later_running_cell_draws_from_runs() -> None:
    cells = [SETUP, "print(np.random.rand(3))", "W = np.random.randn(2, 2)",
             "def graded(x):\n    return x @ W"]
    assert run(cells, {"graded"}) == {0, 1, 2, 3}


def test_seeding_first_cuts_the_dependence_on_earlier_draws() -> None:
    cells = [SETUP, "print(torch.rand(3))", "torch.manual_seed(1)\nW = torch.randn(2, 2)",
             "def graded(x):\n    return x @ W"]
    assert run(cells, {"graded"}) == {0, 2, 3}


def test_a_cell_drawing_only_from_its_own_generator_is_left_out() -> None:
    cells = [SETUP, "print(np.random.default_rng(0).normal(size=3))",
             "torch.manual_seed(0)\nW = torch.randn(2, 2)", "def graded(x):\n    return x @ W"]
    assert run(cells, {"graded"}) == {0, 2, 3}


def test_nnlab_draws_from_no_global_generator_but_torchs() -> None:
    """library_draws counts an nnlab call as drawing from torch's generator only: keep it true."""
    library = Path(__file__).resolve().parents[1] / "lib" / "nnlab"
    legacy = re.compile(r"np\.random\.(?!default_rng|Generator|SeedSequence)[a-z_]+\(|^\s*import random\b|"
                        r"^\s*from random import", re.M)
    offenders = [p.relative_to(library).as_posix() for p in library.rglob("*.py")
                 if legacy.search(p.read_text(encoding="utf-8")) and p.name != "seeding.py"]
    assert offenders == []


# --- when unsure, every cell runs -----------------------------------------------------------------

@pytest.mark.parametrize("source, what", [
    pytest.param("exec('x = 1')", "exec", id="exec"),
    pytest.param("y = eval('1 + 1')", "eval", id="eval"),
    pytest.param("globals()['graded'] = print", "globals", id="globals"),
    pytest.param("vars()['x'] = 1", "vars", id="vars"),
    pytest.param("setattr(np, 'allclose', print)", "setattr", id="setattr"),
    pytest.param("from math import *", "star import", id="star-import"),
    pytest.param("%timeit graded(1)", "IPython syntax", id="magic"),
    pytest.param("!ls", "IPython syntax", id="shell-command"),
    pytest.param("%run other.py", "IPython syntax", id="run"),
    pytest.param("np.allclose = lambda *a, **k: True", "np", id="module-attribute"),
    pytest.param("torch.Tensor.__eq__ = lambda a, b: True", "torch", id="class-of-a-module"),
    pytest.param("la = np.linalg\nla.norm = abs", "np", id="through-an-alias-of-a-module"),
    pytest.param("def patch(m):\n    m.allclose = print\npatch(np)", "np", id="handed-to-a-patcher"),
    pytest.param("mods = [np]\nmods[0].allclose = print", "np", id="through-a-container"),
    pytest.param("held = []\nheld.append(np.linalg)\nouter = {'k': held}\nouter['k'][0].norm = abs", "np",
                 id="through-stored-containers"),
    pytest.param("import builtins", "builtins", id="builtins"),
    pytest.param("import sys\nsys.modules['numpy'] = None", "sys", id="sys-modules"),
    pytest.param("import ctypes", "ctypes", id="ctypes"),
    pytest.param("x = __builtins__", "__builtins__", id="dunder-builtins"),
    pytest.param("f = graded.__globals__", "__globals__", id="function-globals"),
    pytest.param("open('weights.txt', 'w').write('1')", "open", id="files"),
    pytest.param("np.save('w.npy', np.ones(2))", "save", id="saved-arrays"),
])
def test_what_the_analysis_cannot_follow_makes_every_cell_run(source: str, what: str) -> None:
    cells = [SETUP, "def graded(x):\n    return np.allclose(x, x)", source]
    assert what in reason(cells, {"graded"})


def test_a_graded_function_patching_a_module_when_called_makes_every_cell_run() -> None:
    cells = [SETUP, "def graded(x):\n    np.allclose = lambda *a, **k: True\n    return x", "graded(1)"]
    assert "np" in reason(cells, {"graded"})


def test_the_fallback_names_the_cell() -> None:
    cells = [SETUP, "def graded(x):\n    return x", "print(1)", "exec('1')"]
    assert reason(cells, {"graded"}).startswith("cell 4:")
