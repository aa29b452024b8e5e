"""Numpy exercises must not be answered by calling torch (issue 15, 8), in the self-check too."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nnlab.checks import CheckFailed, Spec, call, check, codec, judge_check, policy, register, run_check
from nnlab.checks.compare import FLOAT64, expect_close
from nnlab.i18n import Text


def relu_numpy(x):
    return np.maximum(x, 0.0)


def relu_torch(x):
    return torch.relu(torch.from_numpy(x)).numpy()


def relu_renamed(x):
    import torch as np_helpers  # a new name does not hide what is called

    return np_helpers.nn.functional.relu(np_helpers.tensor(x)).numpy()


def relu_autograd_backward(dout, x):
    t = torch.from_numpy(x).requires_grad_()
    t.relu().backward(torch.from_numpy(dout))
    return t.grad.numpy()


def test_a_numpy_answer_passes() -> None:
    check("relu_forward", relu_numpy)


@pytest.mark.parametrize(("function", "named"), [
    (relu_torch, "torch.relu"), (relu_renamed, "torch.nn.functional.relu")])
def test_a_torch_answer_fails_in_the_students_own_check_naming_the_function(function, named) -> None:
    with pytest.raises(CheckFailed) as failure:
        check("relu_forward", function)
    message = failure.value.message("en")
    assert named in message and "numpy only" in message
    assert "只能用 numpy" in failure.value.message("zh")


def test_autograd_in_a_backward_exercise_is_torch_too() -> None:
    with pytest.raises(CheckFailed, match="torch.Tensor.backward"):
        check("relu_backward", relu_autograd_backward)


def test_a_hidden_check_names_the_torch_function_as_well() -> None:
    verdict = judge_check("relu_forward", run_check("relu_forward", {"function": relu_torch},
                                                    {"seed": 1, "shape": (2, 3), "hidden": True}),
                          {"seed": 1, "shape": (2, 3), "hidden": True})
    assert verdict.policy and not verdict.passed
    assert verdict.message.startswith("[hidden check relu_forward]") and "torch.relu" in verdict.message


def test_torch_used_outside_the_graded_function_is_not_counted() -> None:
    torch.sigmoid(torch.zeros(2))  # a plot or a demo in another cell
    check("relu_forward", relu_numpy)


def _scale(n: int) -> float:
    """A check's own helper that measures with torch (like initialization's fan_in_std)."""
    return float(torch.ones(max(n, 2), dtype=torch.float64).std() + 1.0)


def _scaled_run(functions, params):
    return {"out": call(functions["function"], np.ones(3), _scale)}


def _allowed_run(functions, params):
    return {"out": call(functions["function"], np.ones(3))}


def _judge_ones(record, params):
    expect_close(record["out"], np.ones(3), what=Text("f"), tol=FLOAT64)


register(Spec("test_policy_scaled", "tests", Text("scaled"), ("function",), _scaled_run, _judge_ones,
              numpy_only=True))
register(Spec("test_policy_allowed", "tests", Text("allowed"), ("function",), _allowed_run, _judge_ones))


def test_what_the_checks_own_helpers_call_is_not_the_students() -> None:
    check("test_policy_scaled", lambda x, scale: x * scale(1) / scale(1))


def test_an_exercise_about_torch_may_call_torch() -> None:
    check("test_policy_allowed", lambda x: torch.from_numpy(x).numpy())


@pytest.mark.parametrize("names", ["torch.relu", [1], ["x" * 200], ["a"] * 6])
def test_a_malformed_policy_report_is_a_malformed_record_not_a_pass(names) -> None:
    record = codec.decode(run_check("relu_forward", {"function": relu_numpy}, {"seed": 0, "shape": (2, 2)}))
    record[policy.RECORD_KEY] = names
    verdict = judge_check("relu_forward", codec.encode(record), {"seed": 0, "shape": (2, 2)})
    assert not verdict.passed and "malformed" in verdict.message
