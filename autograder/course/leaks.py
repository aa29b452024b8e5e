"""What a feedback page must not show: a hidden test's source, parameters or inputs.

A page must not show a hidden test's source line, its parameters (``seed=4242``,
``'shape': (3, 11)``) or its inputs (a few of the values the hidden check gives the
student's function, as numpy or Python would print them). The grader keeps everything
printed during the checks out of the autograded notebook; this check is the last line.
"""

from __future__ import annotations

import html as html_module
import json
import re
from typing import Any

import numpy as np
from nnlab.checks import get_spec

from autograder.grading.check_calls import CheckCall
from autograder.grading.template import Template


def hidden_leaks(html: str, hidden_lines: list[str]) -> list[str]:
    """Hidden-test lines that appear in a feedback page (HTML-escaped or not)."""
    found = []
    for line in hidden_lines:
        text = line.strip()
        if text and (text in html or html_module.escape(text) in html
                     or html_module.escape(text, quote=False) in html):
            found.append(text)
    return found


#: how many distinct values of one hidden input on a page count as showing it.
INPUT_VALUES_SHOWN = 3


def hidden_parameter_texts(template: Template) -> list[str]:
    """Each hidden call's secret parameters as code, a dict or JSON would show them.

    A parameter is secret unless it is the check's default or a visible call of the same
    check uses the same value (``approximate='tanh'`` is in the student's own test cell).
    """
    texts = []
    visible = {(call.name, key, repr(value)) for anchor in template.anchors if anchor.kind == "test"
               for call in anchor.calls if not call.hidden for key, value in call.params.items()}
    for call in _hidden_calls(template):
        defaults = get_spec(call.name).params
        for key, value in call.params.items():
            if key == "hidden" or defaults.get(key) == value or (call.name, key, repr(value)) in visible:
                continue  # a default, or shown by a visible check too: not a secret
            texts += [f"{key}={value!r}", f"'{key}': {value!r}", f'"{key}": {json.dumps(value)}']
    return texts


def hidden_input_values(template: Template) -> list[list[str]]:
    """For each array a hidden check passes to the student: a few of its values as text.

    The inputs are those of the check's own ``run`` step (captured by calling it with a
    stand-in for the student's function); each value is cut after its fourth decimal,
    which both numpy's printing and ``repr`` begin with.
    """
    found = []
    for call in _hidden_calls(template):
        for array in _inputs_of(call):
            values = [float(v) for v in np.ravel(array)[:200] if np.isfinite(v)]
            texts = {_four_decimals(v) for v in values if 0.01 <= abs(v) < 1e4 and v != round(v)}
            if len(texts) >= INPUT_VALUES_SHOWN:
                found.append(sorted(texts)[:12])
    return found


def _hidden_calls(template: Template) -> list[CheckCall]:
    return [call for anchor in template.anchors if anchor.kind == "test"
            for call in anchor.calls if call.hidden]


def _inputs_of(call: CheckCall) -> list[np.ndarray]:
    """The float arrays the check hands the student's functions (first call of each)."""
    spec = get_spec(call.name)
    captured: list[np.ndarray] = []

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        captured.extend(a for a in (*args, *kwargs.values())
                        if isinstance(a, np.ndarray) and a.dtype.kind == "f")
        raise NotImplementedError

    try:
        spec.run({role: stand_in for role in spec.roles}, spec.payload(call.params))
    except Exception:  # noqa: BLE001 - a run step that needs a real answer to go on: inputs so far
        pass
    return captured


def _four_decimals(value: float) -> str:
    text = repr(value)
    point = text.find(".")
    return text[:point + 5] if point >= 0 else text


def output_leaks(notebook: dict[str, Any], *, parameters: list[str],
                 inputs: list[list[str]]) -> list[str]:
    """Hidden parameters and input values shown in a graded notebook's outputs.

    Only outputs are searched: the student's own code may hold any value (``p_drop=0.5``)
    without having learnt it from a hidden test; an output showing one was printed while
    the notebook was graded.
    """
    text = "\n".join(_output_texts(notebook))
    # a whole value only: ``num_steps=100`` in a traceback does not show a hidden ``num_steps=10``
    found = [p for p in parameters if re.search(rf"(?<!\w){re.escape(p)}(?![\w.])", text)]
    for values in inputs:
        shown = [v for v in values if v in text]
        if len(shown) >= INPUT_VALUES_SHOWN:
            found.append(f"hidden input values {', '.join(shown[:3])}")
    return found


def _output_texts(notebook: dict[str, Any]) -> list[str]:
    texts = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
            values = [output.get("text"), output.get("evalue"), *(output.get("traceback") or []),
                      *(output.get("data") or {}).values()]
            for value in values:
                value = "".join(value) if isinstance(value, list) else value
                if isinstance(value, str):
                    texts.append(html_module.unescape(value))
    return texts
