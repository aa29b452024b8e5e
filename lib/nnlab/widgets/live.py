"""What every explorer shares to redraw fast: one persistent figure, changed in place, sent as PNG.

A redraw that builds a new figure pays for the figure, its axes, ticks and text layout, then
IPython's inline display lays it out twice more (``bbox_inches="tight"``) before encoding a
PNG and sending it base64-encoded through an Output widget. An explorer built on
:class:`View` instead builds its figure once and then only changes its artists
(``set_data``, ``set_text``, patch heights); :func:`render_png` draws it once at fixed
margins with fast PNG compression, and the live explorer sends the bytes to an
``ipywidgets.Image`` (a binary comm message, no base64, no new output).

Figures are made without pyplot (:func:`new_figure`): pyplot would register each one, show
it again at the end of the cell under the inline backend, and keep it until closed.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # matplotlib loads with the first figure, not with this module
    from matplotlib.figure import Figure

#: PNG compression level (zlib 0–9) of live redraws: 1 encodes several times faster than
#: matplotlib's default 6 for a file only slightly larger, which the local kernel sends at once.
PNG_COMPRESSION = 1


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure with an Agg canvas that pyplot does not know about (never shown twice, never leaked)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure


def render_png(figure: Figure) -> bytes:
    """The figure as PNG bytes: one Agg draw at the figure's own margins and dpi, fast compression."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    if isinstance(figure.get_layout_engine(), PlaceHolderLayoutEngine):
        # what a one-off tight_layout() leaves behind: with it savefig draws the figure twice
        figure.set_layout_engine(None)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": PNG_COMPRESSION})
    return buffer.getvalue()


class View:
    """An explorer's figure: built by :meth:`build` on the first draw, changed by :meth:`update`.

    Subclasses set :attr:`figsize` and implement :meth:`build`, which creates the figure's
    axes and artists for the given control values and keeps what :meth:`update` changes
    (on ``self``). The default :meth:`update` clears the figure and builds it again: right
    for a figure whose structure (number of panels, patches) follows the controls, and
    still cheaper than a new figure. ``view.draw`` is the ``draw`` of :func:`nnlab.widgets.explorer`.
    """

    #: the figure size in inches.
    figsize: tuple[float, float] = (9.0, 3.2)

    def __init__(self) -> None:
        self.figure: Figure | None = None

    def draw(self, **values: Any) -> Figure:
        """The figure for these control values: built the first time, updated in place afterwards.

        Torch runs on one thread meanwhile: an explorer's tensors are small, and on a busy
        2-core machine starting and synchronising a thread pool cost up to 15× the work
        (the init explorer's six layers: 200 ms with two threads, 14 ms with one).
        """
        from nnlab.threads import one_thread

        with one_thread():
            if self.figure is None:
                figure = new_figure(self.figsize)
                self.build(figure, **values)
                self.figure = figure  # only once built: a build that raises is tried again next time
            else:
                self.update(**values)
        return self.figure

    def build(self, figure: Figure, **values: Any) -> None:
        """Create the axes and artists of ``figure`` for these values."""
        raise NotImplementedError

    def update(self, **values: Any) -> None:
        """Show new values: by default clear the figure and build it again."""
        assert self.figure is not None
        self.figure.clear()
        self.build(self.figure, **values)
