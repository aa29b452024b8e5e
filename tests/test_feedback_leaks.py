"""The feedback leak check finds hidden tests' parameters and inputs in outputs (issue 15, 1b)."""

from __future__ import annotations

import numpy as np
import pytest
from nnlab.checks.activations import make_x

from autograder.course.leaks import hidden_input_values, hidden_parameter_texts, output_leaks
from autograder.grading.assignment import load_assignment


@pytest.fixture(scope="module")
def mini(test_course):
    return load_assignment(test_course, "mini")


def _notebook(*texts: str, source: str = "") -> dict:
    outputs = [{"output_type": "stream", "name": "stdout", "text": t} for t in texts]
    return {"cells": [{"cell_type": "code", "source": source, "outputs": outputs}]}


def test_the_hidden_calls_parameters_are_known(mini) -> None:
    texts = hidden_parameter_texts(mini)
    assert "seed=4242" in texts and "'shape': (3, 11)" in texts and '"seed": 31337' in texts
    assert not any("hidden" in t for t in texts)


def test_a_printed_parameter_is_a_leak(mini) -> None:
    leaks = output_leaks(_notebook("params: {'seed': 4242, 'shape': (3, 11)}"),
                         parameters=hidden_parameter_texts(mini), inputs=hidden_input_values(mini))
    assert "'seed': 4242" in leaks


def test_a_printed_hidden_input_is_a_leak_however_it_is_formatted(mini) -> None:
    x = make_x({"seed": 4242, "shape": (3, 11)})  # hidden relu_forward's input, regenerated here
    parameters, inputs = hidden_parameter_texts(mini), hidden_input_values(mini)
    for shown in (str(x), repr(x.tolist()), np.array2string(x, precision=6)):
        assert output_leaks(_notebook(shown), parameters=parameters, inputs=inputs), shown


def test_the_students_own_code_and_the_visible_inputs_are_not_leaks(mini) -> None:
    visible = make_x({"seed": 0, "shape": (4, 5)})
    assert output_leaks(_notebook(str(visible), "all good", source="check(seed=4242)"),
                        parameters=hidden_parameter_texts(mini), inputs=hidden_input_values(mini)) == []


def test_a_longer_value_that_starts_like_a_hidden_one_is_not_a_leak() -> None:
    """06's demo code calls ``fit(..., patience=10)`` and a hidden check uses ``patience=1``."""
    parameters = ["patience=1", "'seed': 5"]
    traceback = "fit(final_model, patience=10, seed=1)\nrun({'seed': 51})\nrate patience=1.5"
    assert output_leaks(_notebook(traceback), parameters=parameters, inputs=[]) == []
    shown = output_leaks(_notebook("early_stopping(patience=1)", "{'seed': 5}"), parameters=parameters,
                         inputs=[])
    assert shown == parameters
