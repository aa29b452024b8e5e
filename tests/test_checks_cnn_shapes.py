"""Checks of 00_cnn_shapes: the solution passes every check cell; plausible mistakes fail clearly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from nnlab.checks import check, judge_check, run_check
from nnlab.checks import cnn_shapes as cs
from torch import nn

from tests.notebooks import call_ids, check_calls, release_path, run_check_call

NOTEBOOK = "00_cnn_shapes"


CALLS = check_calls(NOTEBOOK)


def test_every_exercise_has_visible_and_hidden_checks():
    names = {call.name for call in CALLS}
    assert names == {"conv_output_size", "conv_transpose_output_size", "receptive_fields",
                     "alexnet_layer_shapes", "build_alexnet", "count_parameters"}
    for name in names:
        hidden = [c for c in CALLS if c.name == name and c.hidden]
        visible = [c for c in CALLS if c.name == name and not c.hidden]
        assert visible and len(hidden) >= 2, name


@pytest.mark.parametrize("call", CALLS, ids=call_ids(CALLS))
def test_solution_passes(ns, call):
    run_check_call(ns, call)


def _fails(name: str, function, match: str, **options) -> str:
    with pytest.raises(AssertionError, match=match) as info:
        check(name, function, **options)
    return str(info.value)


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("name", ["conv_output_size", "conv_transpose_output_size", "receptive_fields",
                                  "alexnet_layer_shapes", "build_alexnet", "count_parameters"])
def test_stub_says_not_implemented(name):
    _fails(name, _not_implemented, f"{name}: not implemented yet")


# --- conv_output_size -----------------------------------------------------------------------

def test_setting_draws_cover_every_kind():
    for options in [{"seed": 0, "cases": 40}] + [c.params for c in CALLS if c.name == "conv_output_size"]:
        cases = cs.conv_cases({"seed": options.get("seed", 0), "cases": options.get("cases", 40)})
        floored = [cs.conv_len(**{**c, "in_size": c["in_size"] - 1}) == cs.conv_len(**c) for c in cases]
        assert sum(floored) >= 5
        assert sum(c["dilation"] > 1 for c in cases) >= 5
        assert sum(c["padding"] > 0 for c in cases) >= 5
        assert all(cs.conv_len(**c) >= 1 for c in cases)


def test_conv_output_size_ceil_is_blamed_on_flooring():
    def ceil(in_size, kernel_size, stride=1, padding=0, dilation=1):
        return math.ceil((in_size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

    message = _fails("conv_output_size", ceil, "output sizes differ from torch")
    assert "division by stride is not exact" in message and "floors" in message
    assert "e.g. conv_output_size(in_size=" in message


def test_conv_output_size_true_division_is_blamed_on_flooring():
    def divide(in_size, kernel_size, stride=1, padding=0, dilation=1):
        return (in_size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1

    message = _fails("conv_output_size", divide, "differ from torch")
    assert "//" in message


def test_conv_output_size_without_padding():
    def no_padding(in_size, kernel_size, stride=1, padding=0, dilation=1):
        return (in_size - dilation * (kernel_size - 1) - 1) // stride + 1

    _fails("conv_output_size", no_padding, "with padding > 0.*\n.*both")


def test_conv_output_size_without_dilation():
    def no_dilation(in_size, kernel_size, stride=1, padding=0, dilation=1):
        return (in_size + 2 * padding - (kernel_size - 1) - 1) // stride + 1

    _fails("conv_output_size", no_dilation, "with dilation > 1")


def test_conv_output_size_float_result_with_right_value():
    def floats(in_size, kernel_size, stride=1, padding=0, dilation=1):
        return np.floor((in_size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

    _fails("conv_output_size", floats, "returned a float, expected an int")


def test_conv_output_size_renamed_parameter():
    def renamed(size, kernel_size, stride=1, padding=0, dilation=1):
        return 1

    _fails("conv_output_size", renamed, "raised TypeError(.|\n)*signature")


def test_hidden_message_leaves_out_the_setting():
    def ceil(in_size, kernel_size, stride=1, padding=0, dilation=1):
        return math.ceil((in_size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

    message = _fails("conv_output_size", ceil, r"\[hidden check conv_output_size\]",
                     seed=101, cases=60, hidden=True)
    assert "in_size=" not in message and "e.g." not in message
    assert "floors" in message  # the cause stays


def test_chinese_message(chinese):
    def no_padding(in_size, kernel_size, stride=1, padding=0, dilation=1):
        return (in_size - dilation * (kernel_size - 1) - 1) // stride + 1

    message = _fails("conv_output_size", no_padding, "输出尺寸与 torch 不一致")
    assert "可能原因" in message and "两侧" in message


# --- conv_transpose_output_size ------------------------------------------------------------

def _transpose(op_factor=1, pad_factor=2, use_dilation=True):
    def f(in_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
        d = dilation if use_dilation else 1
        return (in_size - 1) * stride - pad_factor * padding + d * (kernel_size - 1) \
            + op_factor * output_padding + 1
    return f


def test_transpose_cases_cover_every_kind():
    for options in [c.params for c in CALLS if c.name == "conv_transpose_output_size"]:
        cases = cs.transpose_cases({"seed": options.get("seed", 0), "cases": options.get("cases", 40)})
        for key, low in (("output_padding", 0), ("padding", 0), ("dilation", 1), ("stride", 1)):
            assert sum(c[key] > low for c in cases) >= 5, key


@pytest.mark.parametrize("wrong,match", [
    (_transpose(op_factor=0), "with output_padding > 0(.|\n)*one\\* side"),
    (_transpose(op_factor=2), "with output_padding > 0"),
    (_transpose(pad_factor=1), "with padding > 0(.|\n)*removes"),
    (_transpose(use_dilation=False), "with dilation > 1"),
], ids=["no-output-padding", "output-padding-twice", "padding-once", "no-dilation"])
def test_transpose_mistakes(wrong, match):
    _fails("conv_transpose_output_size", wrong, match)


def test_transpose_confused_with_conv(ns):
    def conv_formula(in_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
        return ns["conv_output_size"](in_size, kernel_size, stride, padding, dilation)

    _fails("conv_transpose_output_size", conv_formula, "output sizes differ(.|\n)*Likely cause")


# --- receptive_fields ----------------------------------------------------------------------

def test_measured_receptive_fields_match_known_networks():
    alexnet = [("conv", 11, 4), ("pool", 3, 2), ("conv", 5, 1), ("pool", 3, 2),
               ("conv", 3, 1), ("conv", 3, 1), ("conv", 3, 1), ("pool", 3, 2)]
    assert cs.measure_receptive_fields(alexnet) == [11, 19, 51, 67, 99, 131, 163, 195]
    assert cs.measure_receptive_fields([("conv", 3, 1)] * 3) == [3, 5, 7]
    assert cs.measure_receptive_fields([("conv", 1, 2), ("conv", 2, 1)]) == [1, 3]  # taps with a gap


def test_stacks_have_pooling_and_strides():
    for options in [c.params for c in CALLS if c.name == "receptive_fields"]:
        p = {"seed": options.get("seed", 0), "stacks": options.get("stacks", 4),
             "layers": options.get("layers", 6)}
        layers = [layer for stack in cs.layer_stacks(p) for layer in stack]
        assert any(kind == "pool" for kind, _, _ in layers)
        assert sum(s > 1 for _, _, s in layers) >= 3


def _rf(include_own_stride=False, use_strides=True, minus_one=True):
    def f(layers):
        out, field, jump = [], 1, 1
        for k, s in layers:
            if include_own_stride and use_strides:
                jump *= s
            field += (k - (1 if minus_one else 0)) * (jump if use_strides else 1)
            if not include_own_stride and use_strides:
                jump *= s
            out.append(field)
        return out
    return f


def test_receptive_fields_own_stride_included():
    _fails("receptive_fields", _rf(include_own_stride=True),
           "measured with autograd(.|\n)*(own stride|before l)")


def test_receptive_fields_strides_ignored():
    _fails("receptive_fields", _rf(use_strides=False), "product of the strides")


def test_receptive_fields_off_by_one():
    _fails("receptive_fields", _rf(minus_one=False), "after layer 1 expected(.|\n)*first layer")


def test_receptive_fields_returns_only_the_last(ns):
    _fails("receptive_fields", lambda layers: ns["receptive_fields"](layers)[-1], "list of ints")


def test_receptive_fields_wrong_length(ns):
    _fails("receptive_fields", lambda layers: [1] + ns["receptive_fields"](layers),
           "one receptive field per layer")


# --- alexnet_layer_shapes ------------------------------------------------------------------

def test_measured_alexnet_matches_the_lecture():
    assert cs.measure_caffe_alexnet(227) == [
        ("conv1", 96, 55, 55), ("pool1", 96, 27, 27), ("conv2", 256, 27, 27), ("pool2", 256, 13, 13),
        ("conv3", 384, 13, 13), ("conv4", 384, 13, 13), ("conv5", 256, 13, 13), ("pool3", 256, 6, 6)]


def test_alexnet_hidden_sizes_differ_from_227():
    for options in [c.params for c in CALLS if c.name == "alexnet_layer_shapes" and c.hidden]:
        assert cs.measure_caffe_alexnet(options["input_size"]) != cs.measure_caffe_alexnet(227)


def test_alexnet_hard_coded_227_fails_hidden(ns):
    fixed = ns["alexnet_layer_shapes"](227)
    _fails("alexnet_layer_shapes", lambda input_size=227: fixed, r"\[hidden check",
           input_size=255, hidden=True)


def test_alexnet_pooling_rounded_up(ns):
    def ceil_pools(input_size=227):
        shapes, c, h = [], 3, input_size
        for name, kind, channels, k, s, p in cs.CAFFE_ALEXNET:
            h = (h + 2 * p - k) // s + 1 if kind == "conv" else math.ceil((h - k) / s) + 1
            c = channels or c
            shapes.append((name, c, h, h))
        return shapes

    _fails("alexnet_layer_shapes", ceil_pools, "pool1: has the wrong height(.|\n)*max pooling",
           input_size=231)


def test_alexnet_conv2_without_padding(ns):
    def no_pad(input_size=227):
        shapes = ns["alexnet_layer_shapes"](input_size)
        return [(n, c, h - 4, w - 4) if n == "conv2" else (n, c, h, w) for n, c, h, w in shapes]

    _fails("alexnet_layer_shapes", no_pad, "conv2: has the wrong height(.|\n)*pad 2")


def test_alexnet_with_norm_layers(ns):
    def with_norm(input_size=227):
        shapes = ns["alexnet_layer_shapes"](input_size)
        return shapes[:2] + [("norm1", *shapes[1][1:])] + shapes[2:]

    _fails("alexnet_layer_shapes", with_norm, "should list 8 layers(.|\n)*NORM")


def test_alexnet_pool_channels(ns):
    def pool_channels(input_size=227):
        shapes = ns["alexnet_layer_shapes"](input_size)
        return [(n, 1 if n.startswith("pool") else c, h, w) for n, c, h, w in shapes]

    _fails("alexnet_layer_shapes", pool_channels, "pool1: has the wrong number of channels")


# --- build_alexnet -------------------------------------------------------------------------

def _alexnet(num_classes=1000, dropout=0.5, *, channels=(64, 192, 384, 256, 256), flatten=True,
             relu_after_fc6=True, fixed_classes=None, keep=False):
    c1, c2, c3, c4, c5 = channels
    p = 1 - dropout if keep else dropout
    features = [nn.Conv2d(3, c1, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(c1, c2, 5, padding=2),
                nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(), nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(),
                nn.MaxPool2d(3, 2), nn.AdaptiveAvgPool2d((6, 6))]
    head = [nn.Dropout(p), nn.Linear(c5 * 36, 4096)] + ([nn.ReLU()] if relu_after_fc6 else []) + [
        nn.Dropout(p), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, fixed_classes or num_classes)]
    return nn.Sequential(*features, *([nn.Flatten()] if flatten else []), *head)


def test_reference_alexnet_has_torchvisions_parameter_count():
    # torchvision's published figure for AlexNet with 1000 classes; the check computes it from layers.
    layers = cs.torchvision_alexnet_layers(1000, 0.5)
    assert sum(q.numel() for m in layers for q in m.parameters()) == 61_100_840


def test_build_alexnet_test_helper_is_right():
    check("build_alexnet", _alexnet, num_classes=10, dropout=0.3)


@pytest.mark.parametrize("factory,options,match", [
    (lambda num_classes=1000, dropout=0.5: _alexnet(num_classes, dropout, keep=True),
     {"num_classes": 10, "dropout": 0.3}, "Dropout\\) has the wrong p(.|\n)*keep probability"),
    (lambda num_classes=1000, dropout=0.5: _alexnet(num_classes, dropout, channels=(96, 256, 384, 384, 256)),
     {}, "layer 1 \\(Conv2d\\) has other settings"),
    (lambda num_classes=1000, dropout=0.5: _alexnet(num_classes, dropout, flatten=False),
     {}, "build_alexnet: forward pass: raised RuntimeError(.|\n)*flatten"),
    (lambda num_classes=1000, dropout=0.5: _alexnet(num_classes, dropout, relu_after_fc6=False),
     {}, "has other layers(.|\n)*layer 17: expected ReLU, got Dropout"),
    (lambda num_classes=1000, dropout=0.5: _alexnet(num_classes, dropout, fixed_classes=1000),
     {"num_classes": 37, "dropout": 0.25}, "layer 21 \\(Linear\\) has other settings(.|\n)*num_classes"),
    (lambda num_classes=1000, dropout=0.5: "AlexNet", {}, "should return a torch.nn.Module"),
], ids=["keep-probability", "caffe-channels", "no-flatten", "missing-relu", "fixed-classes", "not-a-module"])
def test_build_alexnet_mistakes(factory, options, match):
    _fails("build_alexnet", factory, match, **options)


def test_build_alexnet_frozen_layer():
    def frozen(num_classes=1000, dropout=0.5):
        model = _alexnet(num_classes, dropout)
        model[0].requires_grad_(False)
        return model

    _fails("build_alexnet", frozen, "trainable parameters(.|\n)*requires_grad=False")


def test_build_alexnet_is_built_on_the_meta_device_and_run_on_zeros_when_it_can_be():
    """Shapes are all the check reads: an ordinary model is built once, on ``meta`` (no
    initialization), and runs with zeroed CPU weights that keep their requires_grad."""
    built, seen = [], []

    def recorded(num_classes=1000, dropout=0.5):
        model = _alexnet(num_classes, dropout)
        model[0].requires_grad_(False)
        model.register_forward_hook(lambda module, args, out: seen.append(
            (next(module.parameters()).device.type, float(module[-1].weight.abs().sum()))))
        built.append(next(model.parameters()).device.type)
        return model

    _fails("build_alexnet", recorded, "trainable parameters(.|\n)*requires_grad=False",
           num_classes=10, dropout=0.3)
    assert built == ["meta"] and seen == [("cpu", 0.0)]


class _Guarded(nn.Module):
    """Data-dependent code in forward: fine on the CPU, impossible on ``meta``."""

    def __init__(self, num_classes, dropout):
        super().__init__()
        self.net = _alexnet(num_classes, dropout)

    def forward(self, x):
        if not bool(torch.isfinite(x).all()):
            raise ValueError("non-finite input")
        return self.net(x)


_PREBUILT = {}


def _prebuilt(num_classes=1000, dropout=0.5):
    """A model built once on the CPU and returned again (the meta input cannot flow through it)."""
    with torch.device("cpu"):
        return _PREBUILT.setdefault((num_classes, dropout), _alexnet(num_classes, dropout))


@pytest.mark.parametrize("factory", [lambda num_classes=1000, dropout=0.5: _Guarded(num_classes, dropout),
                                     _prebuilt], ids=["data-dependent-forward", "built-on-the-cpu"])
def test_build_alexnet_that_only_runs_on_the_cpu_passes(factory):
    check("build_alexnet", factory, num_classes=10, dropout=0.3)


def test_build_alexnet_forward_errors_are_the_cpus_own():
    model = _alexnet(1000, 0.5, flatten=False).eval()
    with pytest.raises(RuntimeError) as on_the_cpu:
        model(torch.zeros(2, 3, 224, 224))  # the check's default batch and size
    message = _fails("build_alexnet", lambda num_classes=1000, dropout=0.5: _alexnet(
        num_classes, dropout, flatten=False), "forward pass: raised RuntimeError")
    assert str(on_the_cpu.value) in message


# --- count_parameters ----------------------------------------------------------------------

def test_random_models_have_frozen_shared_and_buffers():
    for options in [c.params for c in CALLS if c.name == "count_parameters"]:
        models = cs.random_models({"seed": options.get("seed", 0), "models": options.get("models", 4)})
        assert any(not q.requires_grad for q in models[0].parameters())
        assert any(len(list(m.parameters())) < len(list(m.named_parameters(remove_duplicate=False)))
                   for m in models)
        assert any(len(list(m.buffers())) for m in models)


@pytest.mark.parametrize("wrong,match", [
    (lambda model: sum(q.numel() for q in model.parameters()), "frozen"),
    (lambda model: len(list(model.parameters())), "numel"),
    (lambda model: sum(t.numel() for t in model.state_dict().values()), "state_dict"),
    (lambda model: sum(q.numel() for _, q in model.named_parameters(remove_duplicate=False)
                       if q.requires_grad), "used twice"),
    (lambda model: float(sum(q.numel() for q in model.parameters() if q.requires_grad)),
     "should return an int"),
], ids=["counts-frozen", "counts-tensors", "state-dict", "shared-twice", "float"])
def test_count_parameters_mistakes(wrong, match):
    _fails("count_parameters", wrong, match)


def test_count_parameters_accepts_numpy_and_tensor_ints():
    check("count_parameters", lambda m: np.int64(sum(q.numel() for q in m.parameters() if q.requires_grad)))


def test_run_and_judge_apart(ns):
    """The grader's split: the record travels as text; a tampered record cannot pass."""
    params = {"hidden": False, "seed": 0, "cases": 40}
    record = run_check("conv_output_size", {"function": ns["conv_output_size"]}, params)
    assert judge_check("conv_output_size", record, params).passed
    assert not judge_check("conv_output_size", record, {**params, "seed": 1}).passed


# --- the release ---------------------------------------------------------------------------

def test_release_holds_no_hidden_seed():
    """Besides the nbgrader markers (tests/test_course_notebooks.py): no hidden test's seed."""
    assert "seed=101" not in release_path(NOTEBOOK).read_text(encoding="utf-8")
