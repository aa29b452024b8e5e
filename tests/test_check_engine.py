"""The check engine: binding a test cell's arguments, calling student code, judging, messages, progress.

Uses the real ReLU checks of 01_activations with small right and wrong
implementations, and a throwaway check registered for one test at a time.
"""

from __future__ import annotations

import itertools
import warnings

import nnlab
import numpy as np
import pytest
import torch
from nnlab.checks import (
    CheckFailed,
    Spec,
    call,
    check,
    codec,
    get_spec,
    judge_check,
    reset,
    run_check,
    summary,
)
from nnlab.checks.compare import FLOAT64, Region, Tolerance, expect_close
from nnlab.checks.spec import _REGISTRY, register
from nnlab.checks.statistics import expect_within
from nnlab.i18n import LANGUAGES, Text, get_language, set_language

X = np.array([-2.0, -0.5, 0.5, 3.0])  # off ReLU's kink
RELU = np.array([0.0, 0.0, 0.5, 3.0])  # max(x, 0) written out for X
REGIONS = [Region(Text("where x < 0", "x < 0 处"), X < 0, Text("negative inputs are wrong.")),
           Region(Text("where x > 0", "x > 0 处"), X > 0)]
WHAT = Text("relu_forward: output", "relu_forward：输出")


def relu_forward_right(x):
    return np.maximum(x, 0.0)


def relu_forward_wrong(x):
    return x.copy()  # forgot to zero the negatives


def relu_backward_right(dout, x):
    return dout * (x > 0)


def relu_backward_wrong(dout, x):
    return dout.copy()  # passes gradient through negative inputs too


def student_raises(x):
    total = x.sum()
    raise ValueError(f"boom {total:.0f}")


STUDENT_RAISE_LINE = student_raises.__code__.co_firstlineno + 2


@pytest.fixture(autouse=True)
def clean_state():
    """Every test starts and ends in English with no recorded results."""
    reset()
    yield
    reset()
    set_language("en")


_names = itertools.count()


@pytest.fixture
def throwaway() -> Spec:
    """A check ``test_engine_double_N`` of ``double(x) == 2 x``; its judge crashes when ``crash=True``."""
    name = f"test_engine_double_{next(_names)}"

    def inputs(p) -> np.ndarray:
        return np.random.default_rng(p["seed"]).standard_normal(p["n"])

    def run(functions, p):
        return {"y": call(functions["double"], inputs(p))}

    def judge(record, p):
        if p["crash"]:
            raise ZeroDivisionError("the checker divided by zero")
        expect_close(record["y"], inputs(p) + inputs(p), what=Text(f"{name}: y", f"{name}：y"))

    spec = register(Spec(name, "test_engine_notebook", Text(f"{name} doubles", f"{name} 乘以二"),
                         ("double",), run, judge, {"seed": 0, "n": 5, "crash": False}))
    yield spec
    _REGISTRY.pop(name, None)


def failure_of(result, expected=RELU, **options) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught:
        expect_close(result, expected, what=WHAT, **options)
    return caught.value


# --- Spec.bind --------------------------------------------------------------------------------


def test_bind_splits_functions_from_parameters_and_fills_defaults(throwaway: Spec) -> None:
    bound, params = throwaway.bind((), {"double": relu_forward_right, "seed": 3})
    assert bound == {"double": relu_forward_right}
    assert params == {"hidden": False, "seed": 3, "n": 5, "crash": False}
    assert throwaway.params["seed"] == 0  # the defaults themselves are untouched


def test_bind_refuses_more_functions_than_roles(throwaway: Spec) -> None:
    with pytest.raises(TypeError, match=r"takes 1 function\(s\) \(double\), got 2"):
        throwaway.bind((relu_forward_right, relu_forward_wrong), {})


def test_bind_names_an_unknown_argument_and_every_allowed_one(throwaway: Spec) -> None:
    with pytest.raises(TypeError) as caught:
        throwaway.bind((relu_forward_right,), {"sed": 1})
    message = str(caught.value)
    assert "'sed'" in message
    allowed = message.split("allowed:")[1]
    for name in [*throwaway.roles, "hidden", *throwaway.params]:
        assert name in allowed


def test_bind_reports_a_missing_function(throwaway: Spec) -> None:
    with pytest.raises(TypeError, match="missing double"):
        throwaway.bind((), {"seed": 1})


def test_bind_refuses_a_function_given_by_position_and_by_name(throwaway: Spec) -> None:
    with pytest.raises(TypeError, match="double given twice"):
        throwaway.bind((relu_forward_right,), {"double": relu_forward_right})


def test_register_refuses_a_second_check_with_the_same_name(throwaway: Spec) -> None:
    clash = Spec(throwaway.name, "elsewhere", Text("other"), ("f",), throwaway.run, throwaway.judge)
    with pytest.raises(ValueError, match="already registered"):
        register(clash)
    assert register(throwaway) is throwaway  # registering the same spec again is harmless


# --- call -------------------------------------------------------------------------------------


def test_call_records_the_returned_value_and_no_error_or_warning() -> None:
    record = call(relu_forward_right, X)
    assert set(record) == {"value"}
    np.testing.assert_array_equal(record["value"], RELU)


def test_call_records_an_error_with_type_message_and_the_student_line() -> None:
    record = call(student_raises, np.ones(3))
    kind, message, where = record["error"]
    assert (kind, message) == ("ValueError", "boom 3")
    assert where.startswith(f"line {STUDENT_RAISE_LINE}:")
    assert 'raise ValueError(f"boom {total:.0f}")' in where
    assert "value" not in record


def test_call_points_at_the_student_line_when_numpy_raises_inside_it() -> None:
    def matmul_wrong(x):
        return x @ np.ones((7, 7))

    kind, _, where = call(matmul_wrong, np.ones((2, 3)))["error"]
    assert kind == "ValueError"
    assert where.startswith(f"line {matmul_wrong.__code__.co_firstlineno + 1}:")


def test_call_shortens_long_error_messages() -> None:
    def chatty(x):
        raise RuntimeError("x" * 10_000)

    assert 0 < len(call(chatty, X)["error"][1]) <= 500


def test_call_of_something_not_callable_is_a_recorded_type_error() -> None:
    kind, message, _ = call(None, X)["error"]
    assert kind == "TypeError" and "not callable" in message


def test_call_records_numpy_overflow_warnings_and_leaves_numpy_settings_alone() -> None:
    before = np.geterr()
    record = call(np.exp, np.array([1000.0, 1.0]))
    assert np.geterr() == before
    assert any("overflow" in w for w in record["warnings"])
    assert np.isinf(record["value"][0])


def test_call_records_python_warnings_once_each() -> None:
    def noisy(x):
        for _ in range(3):
            warnings.warn("check your input", stacklevel=1)
        return x

    assert call(noisy, X)["warnings"] == ["check your input"]


def test_call_copies_array_arguments_so_mutation_cannot_leak_into_later_calls() -> None:
    seen = []

    def negate_in_place(x, extra):
        seen.append((x.copy(), list(extra["items"])))
        x *= -1
        extra["items"].append(99)
        return x

    x, extra = X.copy(), {"items": [1]}
    call(negate_in_place, x, extra=extra)
    call(negate_in_place, x, extra=extra)
    np.testing.assert_array_equal(x, X)
    assert extra == {"items": [1]}
    assert all(np.array_equal(a, X) and items == [1] for a, items in seen)


# --- expect_close -----------------------------------------------------------------------------


def test_expect_close_returns_the_students_array_when_it_matches() -> None:
    np.testing.assert_array_equal(expect_close(call(relu_forward_right, X), RELU, what=WHAT), RELU)


def test_expect_close_accepts_differences_within_tolerance_only() -> None:
    tol = Tolerance(rtol=1e-7, atol=1e-7)
    inside = RELU + tol.atol / 2
    expect_close({"value": inside}, RELU, what=WHAT, tol=tol)
    with pytest.raises(CheckFailed):
        expect_close({"value": RELU + 10 * tol.atol}, RELU, what=WHAT, tol=tol)


def test_expect_close_accepts_a_scalar_for_a_0d_reference() -> None:
    expect_close({"value": 2.5}, np.array(2.5), what=WHAT)
    expect_close({"value": np.float64(2.5)}, np.array(2.5), what=WHAT)


def test_a_stub_is_reported_as_not_implemented_with_the_next_step() -> None:
    def stub(x):
        raise NotImplementedError()

    failure = failure_of(call(stub, X))
    assert str(failure).startswith("relu_forward: output: not implemented yet")
    assert "replace `raise NotImplementedError`" in str(failure)
    assert "Likely cause" not in str(failure)


def test_an_error_is_reported_with_its_type_message_and_line() -> None:
    message = str(failure_of(call(student_raises, X)))
    assert "raised ValueError" in message
    assert "boom" in message and f"line {STUDENT_RAISE_LINE}" in message


@pytest.mark.parametrize("function, got", [
    pytest.param(lambda x: list(x), "got list", id="list"),
    pytest.param(lambda x: None, "got NoneType", id="missing-return"),
    pytest.param(lambda x: (x, x), "got tuple", id="tuple"),
])
def test_a_value_of_the_wrong_type_is_named(function, got: str) -> None:
    message = str(failure_of(call(function, X)))
    assert "returned the wrong type" in message and got in message


def test_a_torch_tensor_is_named_as_such() -> None:
    record = codec.decode(codec.encode(call(lambda x: torch.relu(torch.from_numpy(x)), X)))
    message = str(failure_of(record))
    assert "returned a torch.Tensor, expected a numpy array" in message
    assert "tensor.numpy()" in message


def test_a_wrong_shape_gives_both_shapes() -> None:
    message = str(failure_of(call(lambda x: np.maximum(x, 0)[:, None], X)))
    assert "has the wrong shape" in message
    assert f"expected {RELU.shape}, got {(len(X), 1)}" in message


def test_a_wrong_dtype_gives_both_dtypes() -> None:
    message = str(failure_of(call(lambda x: np.maximum(x, 0).astype(np.float32), X)))
    assert "has the wrong dtype" in message and "expected float64, got float32" in message


def test_nan_where_the_reference_is_finite_is_counted_and_located() -> None:
    record = call(lambda x: np.where(x < 0, np.nan, np.maximum(x, 0)), X)
    message = str(failure_of(record, regions=REGIONS))
    assert "contains NaN or infinity" in message
    assert f"{int((X < 0).sum())} of {X.size} values" in message
    assert "all where x < 0" in message


def test_differences_inside_one_region_are_attributed_to_it_with_its_cause() -> None:
    failure = failure_of(call(relu_forward_wrong, X), regions=REGIONS)
    negatives = int((X < 0).sum())
    assert "values differ from torch" in str(failure)
    expected = f"{negatives} of {X.size} values differ — all where x < 0 ({negatives} of {negatives}"
    assert expected in str(failure)
    assert failure.cause == REGIONS[0].cause


def test_differences_across_regions_name_where_most_are_and_keep_the_general_cause() -> None:
    got = RELU.copy()
    got[[0, 1, 3]] += 1.0  # two differences where x < 0, one where x > 0
    general = Text("check the formula.")
    failure = failure_of({"value": got}, regions=REGIONS, cause=general)
    assert "3 of 4 values differ — 2 of these where x < 0" in str(failure)
    assert failure.cause == general


def test_the_message_never_contains_the_reference_values() -> None:
    reference = np.array([0.0, 0.0, 0.123456789, 3.987654321])
    message = str(failure_of({"value": reference + 1.0}, expected=reference))
    assert "0.123456789" not in message and "3.987654321" not in message


def test_right_values_computed_with_warnings_fail_unless_warnings_are_allowed() -> None:
    record = {"value": RELU.copy(), "warnings": ["overflow encountered in exp"]}
    message = str(failure_of(record))
    assert "is correct but numpy warned" in message and "overflow encountered in exp" in message
    np.testing.assert_array_equal(expect_close(record, RELU, what=WHAT, allow_warnings=True), RELU)


# --- expect_within ----------------------------------------------------------------------------


@pytest.mark.parametrize("statistic, bands, passes", [
    pytest.param(10.0, 5.0, True, id="at-expectation"),
    pytest.param(10.0 + 4.99 * 0.1, 5.0, True, id="inside-band-above"),
    pytest.param(10.0 - 4.99 * 0.1, 5.0, True, id="inside-band-below"),
    pytest.param(10.0 + 5.01 * 0.1, 5.0, False, id="outside-band-above"),
    pytest.param(10.0 - 5.01 * 0.1, 5.0, False, id="outside-band-below"),
    pytest.param(10.0 + 5.01 * 0.1, 6.0, True, id="wider-band"),
    pytest.param(float("nan"), 5.0, False, id="nan"),
    pytest.param(float("inf"), 1e9, False, id="inf"),
])
def test_expect_within_allows_the_stated_number_of_standard_errors(statistic, bands, passes) -> None:
    def judge():
        expect_within(statistic, 10.0, stderr=0.1, bands=bands, what=Text("dropout: mean"),
                      statistic_name=Text("mean of the mask"))

    if passes:
        judge()
    else:
        with pytest.raises(CheckFailed) as caught:
            judge()
        assert "is statistically off" in str(caught.value)
        assert "mean of the mask" in str(caught.value) and "standard error" in str(caught.value)


# --- judge_check ------------------------------------------------------------------------------


def params_of(name: str, **changes) -> dict:
    return get_spec(name).bind((), {**changes, "function": None})[1]


@pytest.mark.parametrize("record", [
    pytest.param("{not json", id="not-json"),
    pytest.param("[1, 2]", id="not-a-mapping"),
    pytest.param('{"__evil__": 1}', id="unknown-tag"),
    pytest.param("[" * 5000 + "]" * 5000, id="nested-too-deeply"),
])
def test_judge_check_turns_a_malformed_record_into_a_failed_verdict(record: str) -> None:
    verdict = judge_check("relu_forward", record, params_of("relu_forward"))
    assert not verdict.passed and not verdict.internal
    assert verdict.message.startswith("relu_forward: could not be checked: its result was malformed")


def test_judge_check_reports_a_crashing_checker_as_internal(throwaway: Spec) -> None:
    _, params = throwaway.bind((), {"double": None, "crash": True})
    verdict = judge_check(throwaway.name, run_check(throwaway.name, {"double": lambda x: 2 * x}, params),
                          params)
    assert not verdict.passed and verdict.internal
    assert "ZeroDivisionError" in verdict.message and "tell your instructor" in verdict.message


@pytest.mark.parametrize("function, passed", [
    pytest.param(relu_forward_right, True, id="right"),
    pytest.param(relu_forward_wrong, False, id="wrong"),
])
def test_run_then_judge_decides_like_check(function, passed: bool) -> None:
    params = params_of("relu_forward")
    verdict = judge_check("relu_forward", run_check("relu_forward", {"function": function}, params), params)
    assert verdict.passed is passed and not verdict.internal
    assert (verdict.message == "") is passed


def test_a_hidden_check_keeps_what_and_cause_but_not_the_numbers() -> None:
    visible_params, hidden_params = params_of("relu_backward"), params_of("relu_backward", hidden=True)
    functions = {"function": relu_backward_wrong}
    visible = judge_check("relu_backward", run_check("relu_backward", functions, visible_params),
                          visible_params)
    hidden = judge_check("relu_backward", run_check("relu_backward", functions, hidden_params),
                         hidden_params)
    assert not visible.passed and not hidden.passed
    assert visible.failure.detail is not None
    assert visible.failure.detail.render("en") in visible.message
    assert visible.failure.detail.render("en") not in hidden.message
    assert hidden.message.startswith(
        "[hidden check relu_backward] relu_backward: dx: values differ from torch")
    assert "Likely cause: ReLU passes no gradient through negative inputs" in hidden.message


# --- languages --------------------------------------------------------------------------------


def test_messages_render_in_chinese_after_set_language_zh() -> None:
    set_language("zh")
    assert get_language() == "zh"
    with pytest.raises(CheckFailed) as caught:
        check("relu_forward", relu_forward_wrong)
    message = str(caught.value)
    assert "与 torch 的结果不一致" in message and "可能原因" in message and "下一步" in message
    assert "values differ" not in message
    assert "values differ from torch" in caught.value.message("en")


@pytest.mark.parametrize("language", ["fr", "EN", ""])
def test_an_unknown_language_is_refused_naming_the_allowed_ones(language: str) -> None:
    with pytest.raises(ValueError) as caught:
        set_language(language)
    for allowed in LANGUAGES:
        assert allowed in str(caught.value)
    assert get_language() == "en"


def test_nnlab_exports_set_language() -> None:
    nnlab.set_language("zh")
    assert get_language() == "zh"


# --- check and summary ------------------------------------------------------------------------


def test_check_prints_one_tick_line_on_success(capsys) -> None:
    check("relu_forward", relu_forward_right)
    assert capsys.readouterr().out == f"✓ {get_spec('relu_forward').title}\n"


def test_check_accepts_functions_by_role_name(capsys) -> None:
    check("relu_backward", function=relu_backward_right, seed=5, shape=(2, 3))
    assert capsys.readouterr().out.startswith("✓ ")


def test_check_raises_an_assertion_error_explaining_the_failure(capsys) -> None:
    with pytest.raises(AssertionError) as caught:
        check("relu_backward", relu_backward_wrong)
    assert isinstance(caught.value, CheckFailed)
    assert str(caught.value).startswith("relu_backward: dx: values differ from torch")
    assert "all where x < 0" in str(caught.value)
    assert capsys.readouterr().out == ""


def test_check_refuses_a_malformed_test_cell() -> None:
    with pytest.raises(KeyError, match="no check named 'relu_sideways'"):
        check("relu_sideways", relu_forward_right)
    with pytest.raises(TypeError, match="unknown argument 'sead'"):
        check("relu_forward", relu_forward_right, sead=1)


def statuses(notebook: str) -> dict[str, str]:
    return {name: status for _, name, status in summary(notebook).rows}


def test_summary_counts_pass_fail_and_not_run_for_a_notebook() -> None:
    expected_names = {name for name, spec in nnlab.checks.registry().items()
                      if spec.notebook == "01_activations"}
    assert set(statuses("01_activations").values()) == {"not run"}
    check("relu_forward", relu_forward_right)
    with pytest.raises(CheckFailed):
        check("relu_backward", relu_backward_wrong)
    result = summary("01_activations")
    assert {name for _, name, _ in result.rows} == expected_names
    assert (result.passed, result.total) == (1, len(expected_names))
    states = statuses("01_activations")
    assert states.pop("relu_forward") == "pass" and states.pop("relu_backward") == "fail"
    assert set(states.values()) == {"not run"}
    assert str(result).startswith(f"1 of {len(expected_names)} checks pass")


def test_rerunning_a_check_after_a_fix_flips_it_to_pass() -> None:
    with pytest.raises(CheckFailed):
        check("relu_backward", relu_backward_wrong)
    assert statuses("01_activations")["relu_backward"] == "fail"
    check("relu_backward", relu_backward_right)
    assert statuses("01_activations")["relu_backward"] == "pass"


def test_a_check_passes_in_the_summary_only_when_every_parameter_set_passes(throwaway: Spec) -> None:
    check(throwaway.name, lambda x: 2 * x, seed=1)
    assert statuses(throwaway.notebook) == {throwaway.name: "pass"}
    with pytest.raises(CheckFailed):
        check(throwaway.name, lambda x: 3 * x, seed=2)
    assert statuses(throwaway.notebook) == {throwaway.name: "fail"}
    check(throwaway.name, lambda x: x + x, seed=2)
    assert statuses(throwaway.notebook) == {throwaway.name: "pass"}


def test_hidden_checks_do_not_count_in_the_summary(throwaway: Spec) -> None:
    with pytest.raises(CheckFailed) as caught:
        check(throwaway.name, lambda x: 3 * x, hidden=True)
    assert str(caught.value).startswith(f"[hidden check {throwaway.name}]")
    assert statuses(throwaway.notebook) == {throwaway.name: "not run"}


def test_summary_without_a_notebook_lists_only_notebooks_that_ran(throwaway: Spec) -> None:
    check(throwaway.name, lambda x: 2 * x)
    assert {nb for nb, _, _ in summary().rows} == {throwaway.notebook}
    reset()
    assert summary().rows == []


def test_summary_headline_follows_the_language(throwaway: Spec) -> None:
    check(throwaway.name, lambda x: 2 * x)
    set_language("zh")
    assert str(summary(throwaway.notebook)).startswith("已通过 1 / 1 项检查")
    assert "<code>" + throwaway.name + "</code>" in summary(throwaway.notebook)._repr_html_()


def test_float64_tolerance_is_torchs_float64_default() -> None:
    # torch.testing.assert_close uses rtol 1e-7, atol 1e-7 for float64
    a = torch.tensor([1.0], dtype=torch.float64)
    torch.testing.assert_close(a * (1 + 0.5 * FLOAT64.rtol), a)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(a * (1 + 3 * FLOAT64.rtol) + 3 * FLOAT64.atol, a)
