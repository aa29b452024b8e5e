"""The convolution explorer of 00_cnn_shapes: static under grading, live otherwise, numbers from torch."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nnlab.widgets  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from nnlab.checks.cnn_shapes import measure_receptive_fields  # noqa: E402
from nnlab.widgets import cnn_shapes  # noqa: E402
from nnlab.widgets.cnn_shapes import conv_explorer, conv_geometry  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_static_under_nbgrader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    shown = conv_explorer()
    assert shown.widget is None and shown.figure is not None
    assert "receptive field" in shown.figure.texts[0].get_text()


def test_registered_as_explorer():
    assert nnlab.widgets.conv_explorer is conv_explorer


@pytest.mark.parametrize("in_size,kernel,stride,padding,dilation,layers", [
    (11, 3, 2, 1, 1, 2), (10, 3, 2, 1, 1, 2), (32, 5, 2, 2, 2, 2), (7, 1, 1, 0, 1, 1), (9, 4, 2, 4, 3, 1),
])
def test_output_sizes_are_torchs(in_size, kernel, stride, padding, dilation, layers):
    g = conv_geometry(in_size, kernel, stride, padding, dilation, layers)
    x = torch.zeros(1, 1, in_size)
    for size in g.out_sizes:
        x = F.conv1d(x, torch.zeros(1, 1, kernel), stride=stride, padding=padding, dilation=dilation)
        assert x.shape[-1] == size
    assert g.error is None and len(g.out_sizes) == layers


@pytest.mark.parametrize("kernel,stride,layers", [(3, 1, 3), (3, 2, 3), (5, 2, 2), (2, 3, 3)])
def test_receptive_field_agrees_with_the_checks_measurement(kernel, stride, layers):
    g = conv_geometry(64, kernel, stride, 0, 1, layers, position=0)
    assert g.receptive_field == measure_receptive_fields([("conv", kernel, stride)] * layers)[-1]
    if stride <= kernel:  # windows overlap or touch: no gaps, and no padding here
        assert g.field_pixels == g.receptive_field
    else:
        assert g.field_pixels < g.receptive_field


def test_dilation_leaves_gaps():
    g = conv_geometry(9, 3, 1, 0, 2, 1)
    assert g.receptive_field == 5 and g.field_pixels == 3


def test_padding_counts_in_the_field_at_the_border():
    g = conv_geometry(8, 3, 1, 1, 1, 1, position=0)
    assert g.receptive_field == 3 and g.field_pixels == 2


def test_too_small_input_stops_with_a_message():
    g = conv_geometry(5, 4, 2, 0, 1, 3)
    assert g.out_sizes == [1] and "layer 2: output size < 1" in g.error
    figure = cnn_shapes._draw_conv(5, 4, 2, 0, 1, 3, 0)
    assert any("output size < 1" in ax.get_title() for ax in figure.axes)


def test_position_is_clamped():
    g = conv_geometry(11, 3, 2, 1, 1, 2, position=99)
    assert g.top_field[-1] and g.top_field.sum() == 1


def test_live_controls_redraw(monkeypatch):
    monkeypatch.setattr(nnlab.widgets, "is_static", lambda: False)
    drawn = []
    original = cnn_shapes._draw_conv_into  # what the explorer's persistent figure is redrawn with

    def spy(figure, *axes, **values):
        drawn.append(values)
        return original(figure, *axes, **values)

    monkeypatch.setattr(cnn_shapes, "_draw_conv_into", spy)
    shown = conv_explorer()
    assert shown.widget is not None
    assert set(shown.controls) == {"in_size", "kernel_size", "stride", "padding", "dilation", "layers",
                                   "position"}
    assert drawn[-1]["kernel_size"] == 3
    shown.controls["kernel_size"].value = 5
    assert drawn[-1]["kernel_size"] == 5
    shown.controls["dilation"].value = 2
    assert drawn[-1] == {**drawn[0], "kernel_size": 5, "dilation": 2}
    assert "·" in shown.controls["stride"].description  # bilingual labels
