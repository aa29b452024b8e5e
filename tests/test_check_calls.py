"""Reading test cells without running them: hidden blocks, the check calls, and the rules they follow."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nnlab.checks import get_spec

from autograder.grading.check_calls import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    CheckCall,
    CheckCallError,
    parse_test_cell,
    strip_hidden,
)
from tests.notebooks import cells, nbgrader_meta, notebook_ids, solution_path

WHERE = "01_activations: cell test_relu"


def defaults(name: str) -> dict:
    """What a call of check ``name`` with no parameters means: hidden off, the spec's defaults."""
    return {"hidden": False, **get_spec(name).params}


# --- strip_hidden -----------------------------------------------------------------------------


def test_strip_hidden_removes_each_hidden_block_and_its_markers_only() -> None:
    source = "\n".join([
        'check("relu_forward", relu_forward)',
        HIDDEN_BEGIN,
        'check("relu_forward", relu_forward, seed=1, hidden=True)',
        HIDDEN_END,
        'check("relu_backward", relu_backward)',
        "    " + HIDDEN_BEGIN + "  ",
        'check("relu_backward", relu_backward, seed=2, hidden=True)',
        "# a comment inside the hidden block",
        HIDDEN_END,
        "# after",
    ])
    assert strip_hidden(source) == "\n".join([
        'check("relu_forward", relu_forward)',
        'check("relu_backward", relu_backward)',
        "# after",
    ])


def test_strip_hidden_leaves_a_cell_without_hidden_tests_unchanged() -> None:
    source = 'from nnlab.checks import check\ncheck("relu_forward", relu_forward)'
    assert strip_hidden(source) == source


def test_strip_hidden_drops_trailing_blank_lines_left_by_a_final_block() -> None:
    source = f'check("a", f)\n{HIDDEN_BEGIN}\ncheck("a", f, hidden=True)\n{HIDDEN_END}\n'
    assert strip_hidden(source) == 'check("a", f)'


def test_a_marker_mentioned_inside_a_line_is_not_a_marker() -> None:
    source = f'print("{HIDDEN_BEGIN}")\nx = 1'
    assert strip_hidden(source) == source


lines = st.lists(st.text(alphabet="abc xyz()=,#'\"\t", max_size=12), max_size=4)


@given(blocks=st.lists(st.tuples(lines, lines), max_size=4), tail=lines)
def test_strip_hidden_keeps_exactly_the_visible_lines(blocks, tail) -> None:
    source_lines, visible = [], []
    for shown, hidden in blocks:
        source_lines += [*shown, HIDDEN_BEGIN, *hidden, HIDDEN_END]
        visible += shown
    source_lines += tail
    visible += tail
    assert strip_hidden("\n".join(source_lines)) == "\n".join(visible).rstrip("\n")


# --- parse_test_cell: what a test cell may hold -----------------------------------------------


def test_a_plain_check_call_gets_the_default_parameters() -> None:
    (only,) = parse_test_cell('check("relu_forward", my_relu)', where=WHERE)
    assert only == CheckCall("relu_forward", {"function": "my_relu"}, defaults("relu_forward"))
    assert not only.hidden


def test_imports_of_nnlab_and_several_calls_with_hidden_ones_are_read_in_order() -> None:
    source = "\n".join([
        "import nnlab",
        "import nnlab.checks",
        "from nnlab.checks import check",
        'check("relu_forward", relu_forward)',
        HIDDEN_BEGIN,
        'nnlab.checks.check("relu_backward", function=relu_backward, seed=977, shape=(5, 2), hidden=True)',
        HIDDEN_END,
    ])
    first, second = parse_test_cell(source, where=WHERE)
    assert (first.name, first.functions) == ("relu_forward", {"function": "relu_forward"})
    assert not first.hidden
    assert second.name == "relu_backward"
    assert second.functions == {"function": "relu_backward"}
    assert second.params == {**defaults("relu_backward"), "seed": 977, "shape": (5, 2), "hidden": True}
    assert second.hidden
    assert second.as_job() == {"name": "relu_backward", "functions": {"function": "relu_backward"},
                               "params": second.params}


@pytest.mark.parametrize("literal, value", [
    pytest.param("(3, 11)", (3, 11), id="tuple"),
    pytest.param("[3, 11]", [3, 11], id="list"),
    pytest.param("-4", -4, id="negative"),
    pytest.param("{'a': (1, 2.5)}", {"a": (1, 2.5)}, id="dict"),
])
def test_literal_parameters_keep_their_python_type(literal: str, value) -> None:
    (only,) = parse_test_cell(f'check("relu_forward", f, shape={literal})', where=WHERE)
    assert only.params["shape"] == value and type(only.params["shape"]) is type(value)


def test_a_parameter_of_the_check_itself_is_accepted() -> None:
    (only,) = parse_test_cell('check("leaky_relu_forward", f, negative_slope=0.2)', where=WHERE)
    assert only.params == {**defaults("leaky_relu_forward"), "negative_slope": 0.2}


def _error(source: str) -> str:
    with pytest.raises(CheckCallError) as caught:
        parse_test_cell(source, where=WHERE)
    message = str(caught.value)
    assert message.startswith(WHERE)
    return message


@pytest.mark.parametrize("source, line, reason", [
    pytest.param('check("relu_forward", f)\nx = 1', 2, "may only import nnlab and call check",
                 id="assignment"),
    pytest.param('import numpy as np\ncheck("relu_forward", f)', 1, "may only import nnlab",
                 id="import-numpy"),
    pytest.param('from os import system\ncheck("relu_forward", f)', 1, "may only import nnlab",
                 id="from-import"),
    pytest.param('check("relu_forward", f)\nprint("done")', 2, "may only import nnlab", id="other-call"),
    pytest.param('if True:\n    check("relu_forward", f)', 1, "may only import nnlab", id="if-block"),
    pytest.param('\n\ncheck("relu_forward", f, seed=SEED)', 3, "parameter seed must be a literal",
                 id="name-param"),
    pytest.param('check("relu_forward", f, seed=np.int64(3))', 1, "parameter seed must be a literal",
                 id="call-param"),
    pytest.param('check("relu_forward", f, seed=1 + 2)', 1, "parameter seed must be a literal",
                 id="expression-param"),
    pytest.param('check("relu_forward", f, shape={[1]: 2})', 1, "parameter shape must be a literal",
                 id="unhashable-literal"),
    pytest.param('check("relu_sideways", f)', 1, "no check named 'relu_sideways'", id="unknown-check"),
    pytest.param('check("relu_forward", f, sead=1)', 1, "unknown argument 'sead'", id="unknown-param"),
    pytest.param('check("relu_forward", f, **options)', 1, "**kwargs are not allowed", id="kwargs"),
    pytest.param('check("relu_forward", f, g)', 1, "takes 1 function(s)", id="too-many-functions"),
    pytest.param('check("relu_forward", lambda x: x)', 1, "functions must be passed as plain names",
                 id="lambda-function"),
    pytest.param('check("relu_forward", function=module.f)', 1, "function must be a plain name",
                 id="attribute-function"),
    pytest.param('check(name, f)', 1, "first argument of check must be the check's name", id="name-variable"),
    pytest.param('check("relu_forward", seed=1)', 1, "missing function", id="missing-function"),
])
def test_a_cell_breaking_the_rules_is_refused_naming_cell_and_line(source: str, line: int,
                                                                   reason: str) -> None:
    message = _error(source)
    assert f"{WHERE}, line {line}:" in message
    assert reason in message


@pytest.mark.parametrize("source", [
    pytest.param("", id="empty"),
    pytest.param("from nnlab.checks import check\n# nothing checked", id="imports-only"),
    pytest.param(f"{HIDDEN_BEGIN}\n{HIDDEN_END}", id="empty-hidden-block"),
])
def test_a_cell_with_no_check_is_refused(source: str) -> None:
    assert "calls no check" in _error(source)


def test_a_cell_that_is_not_python_is_refused() -> None:
    assert "not valid Python" in _error('check("relu_forward", f')


# --- every real test cell follows the rules ---------------------------------------------------


def _test_cells() -> list:
    found = []
    for notebook in notebook_ids():
        for cell in cells(solution_path(notebook)):
            meta = nbgrader_meta(cell)
            if cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
                found.append(pytest.param(notebook, meta["grade_id"], cell["source"],
                                          id=f"{notebook}:{meta['grade_id']}"))
    return found


@pytest.mark.parametrize("notebook, grade_id, source", _test_cells())
def test_every_test_cell_of_every_solution_notebook_parses(notebook: str, grade_id: str, source: str) -> None:
    plan = parse_test_cell(source, where=f"{notebook}: cell {grade_id}")
    assert plan
    assert all(get_spec(call.name).notebook == notebook for call in plan)
    visible = parse_test_cell(strip_hidden(source), where=notebook) if strip_hidden(source).strip() else []
    assert not any(call.hidden for call in visible)
