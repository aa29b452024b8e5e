"""Interactive explorers (ipywidgets + matplotlib) that never block grading.

Each explorer is a set of controls and a ``draw(**values) -> Figure``
function. In a live notebook it shows the controls above an output area
that redraws on every change. Under nbgrader (``NBGRADER_EXECUTION`` is
set), when ``NNLAB_STATIC_WIDGETS`` is set, or outside a Jupyter kernel, it
draws one static figure with the default values instead: no event loop,
nothing waits for input.

Notebooks use the ready-made explorers (``activation_explorer`` in
01_activations, …); :func:`explorer` builds new ones. Control labels are
written ``"english · 中文"``: the English edition shows both, the Chinese
edition (``nnlab.set_language("zh")``) the Chinese part. Figure text goes
through :func:`nnlab.fonts.figure_text` (Chinese when a CJK font is installed).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Choice", "Explorer", "Slider", "explorer", "is_static",
    # ready-made explorers, one module per notebook (loaded on first use)
    "activation_explorer", "conv_explorer", "preprocessing_viewer", "init_explorer",
    "dropout_explorer", "augmentation_previewer", "lr_explorer", "hard_shapes_explorer",
]

#: explorer name -> the module (one per notebook) that defines it.
EXPLORER_MODULES = {
    "conv_explorer": "nnlab.widgets.cnn_shapes",
    "activation_explorer": "nnlab.widgets.activations",
    "activation_curve": "nnlab.widgets.activations",
    "preprocessing_viewer": "nnlab.widgets.preprocessing",
    "init_explorer": "nnlab.widgets.initialization",
    "dropout_explorer": "nnlab.widgets.regularization",
    "augmentation_previewer": "nnlab.widgets.augmentation",
    "lr_explorer": "nnlab.widgets.tuning",
    "hard_shapes_explorer": "nnlab.widgets.capstone",
}


@dataclass(frozen=True)
class Slider:
    """A numeric control.

    Attributes:
        value: the initial (and static-mode) value.
        min, max: the range; for ``log=True`` the values themselves (not exponents).
        step: the increment (for ``log=True``: in powers of ten).
        label: shown next to the slider.
        integer: use whole numbers.
        log: a log-scale slider (learning rates, weight scales).
    """

    value: float
    min: float
    max: float
    step: float
    label: str
    integer: bool = False
    log: bool = False


@dataclass(frozen=True)
class Choice:
    """A drop-down of options (``(label, value)`` pairs or plain values)."""

    value: Any
    options: tuple[Any, ...]
    label: str


Control = Slider | Choice


def is_static() -> bool:
    """True when explorers must draw a static figure (grading, tests, no kernel)."""
    if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("NNLAB_STATIC_WIDGETS"):
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    return shell is None or getattr(shell, "kernel", None) is None


def control_label(label: str) -> str:
    """The label shown for ``"english · 中文"``: all of it, or the Chinese part in Chinese."""
    from nnlab.i18n import get_language

    english, sep, chinese = label.partition(" · ")
    return chinese if sep and get_language() == "zh" else label


def _make_widget(name: str, control: Control) -> Any:
    import ipywidgets as w

    style = {"description_width": "initial"}
    layout = w.Layout(width="28em")
    if isinstance(control, Choice):
        options = [(control_label(o[0]), o[1]) if isinstance(o, tuple) else o for o in control.options]
        return w.Dropdown(options=options, value=control.value,
                          description=control_label(control.label), style=style, layout=layout)
    if control.log:
        return w.FloatLogSlider(value=control.value, base=10, min=math.log10(control.min),
                                max=math.log10(control.max), step=control.step,
                                description=control_label(control.label), continuous_update=False,
                                style=style, layout=layout, readout_format=".2g")
    cls = w.IntSlider if control.integer else w.FloatSlider
    return cls(value=control.value, min=control.min, max=control.max, step=control.step,
               description=control_label(control.label), continuous_update=False, style=style, layout=layout)


class Explorer:
    """What :func:`explorer` returns: already displayed, so showing it again does nothing.

    Attributes:
        name: the explorer's identifier.
        widget: the ``ipywidgets.VBox`` in a live notebook, else None.
        figure: the static Figure when drawn non-interactively, else None.
        controls: control name -> ipywidget (live mode only).
        image: the ``ipywidgets.Image`` showing each redraw's PNG (live mode only).
        ahead: the :class:`~nnlab.widgets.prefetch.RenderAhead` of an explorer made with
            ``ahead=True`` (live mode only).
    """

    def __init__(self, name: str, widget: Any = None, figure: Any = None,
                 controls: Mapping[str, Any] | None = None, image: Any = None, ahead: Any = None) -> None:
        self.name, self.widget, self.figure = name, widget, figure
        self.controls = dict(controls or {})
        self.image, self.ahead = image, ahead

    def _ipython_display_(self) -> None:
        """Displayed once when created; a second display would duplicate it."""

    def __repr__(self) -> str:
        return f"<explorer {self.name} ({'static' if self.widget is None else 'live'})>"


def explorer(
    draw: Callable[..., Any],
    controls: Mapping[str, Control],
    *,
    name: str,
    ahead: bool = False,
) -> Explorer:
    """Show ``draw(**values)`` with a control per keyword.

    Args:
        draw: returns a matplotlib Figure for the given control values.
        controls: keyword name -> :class:`Slider` or :class:`Choice`.
        name: a short identifier (CSS class ``nnlab-explorer-<name>``, used by
            browser tests and the latency benchmark).
        ahead: after a slider move, render the figure one notch further in a background
            thread (:class:`nnlab.widgets.prefetch.RenderAhead`), so that stepping a slider
            answers at once. Only for a ``draw`` that is a pure function of the values: no
            global random state, nothing shared with the notebook's own cells.

    Returns:
        An :class:`Explorer` (already displayed).
    """
    defaults = {key: control.value for key, control in controls.items()}
    if is_static():
        import matplotlib.pyplot as plt
        from IPython.display import display

        # our figures bypass pyplot: creating one through it loads the notebook's backend, which
        # tells IPython how to show a Figure (inline: as a PNG; else only "<Figure size …>")
        plt.close(plt.figure())
        figure = draw(**defaults)
        display(figure)
        plt.close(figure)  # a pyplot figure would be shown again at the end of the cell
        return Explorer(name, figure=figure)

    import ipywidgets as w
    from IPython.display import display

    widgets = {key: _make_widget(key, control) for key, control in controls.items()}
    output = w.Output()
    redraw = _live_redraw(draw, output, dict(controls) if ahead else None, name)
    for widget in widgets.values():
        widget.observe(lambda change: redraw(**{k: v.value for k, v in widgets.items()}),
                       names="value")
    redraw(**defaults)
    box = w.VBox([w.HBox(list(widgets.values()), layout=w.Layout(flex_flow="row wrap")), output])
    box.add_class("nnlab-explorer")
    box.add_class(f"nnlab-explorer-{name}")
    display(box)
    return Explorer(name, widget=box, controls=widgets, image=redraw.image, ahead=redraw.ahead)


def _live_redraw(draw: Callable[..., Any], output: Any, ahead: dict[str, Control] | None = None,
                 name: str = "") -> Callable[..., None]:
    """A callback that draws ``draw(**values)`` into an Image widget shown in ``output``.

    The Image widget is displayed once; each redraw only replaces its PNG bytes (one binary
    comm message), which is what keeps a slider move under 100 ms (see
    :mod:`nnlab.widgets.live`). An error replaces the image by a message saying what failed.
    With ``ahead`` (the controls), the PNGs come from a :class:`~nnlab.widgets.prefetch.RenderAhead`,
    told about each move after it is shown.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    from nnlab.widgets.live import render_png
    from nnlab.widgets.prefetch import MOVES, RenderAhead

    def render(values: dict[str, Any]) -> bytes:
        figure = draw(**values)
        png = render_png(figure)
        plt.close(figure)  # a no-op for a View's figure; frees a pyplot figure from a plain draw
        return png

    image = w.Image(format="png")
    shown: dict[str, Any] = {"image": False, "values": None}
    renderer = RenderAhead(render, ahead, name) if ahead is not None else None

    def redraw(**values: Any) -> None:
        try:
            with MOVES.answering():  # background work (rendering or training ahead) waits
                image.value = render(values) if renderer is None else renderer.png(values)
        except Exception as error:  # say so in the output: an exception in a callback is invisible
            with output:
                output.clear_output(wait=True)
                print(f"cannot draw these settings: {type(error).__name__}: {error}")
            shown["image"] = False
            return
        if not shown["image"]:
            with output:
                output.clear_output(wait=True)
                display(image)
            shown["image"] = True
        if renderer is not None and shown["values"] is not None:  # a move, not the first draw
            renderer.moved(values, shown["values"])
        shown["values"] = values

    redraw.image, redraw.ahead = image, renderer  # type: ignore[attr-defined]
    return redraw


def __getattr__(name: str) -> Any:
    """Ready-made explorers live in one module per notebook; load them on first use."""
    if name in EXPLORER_MODULES:
        import importlib

        return getattr(importlib.import_module(EXPLORER_MODULES[name]), name)
    raise AttributeError(f"module 'nnlab.widgets' has no attribute {name!r}")
