"""What every explorer shares to redraw fast: one persistent figure, changed in place, sent as PNG.

A redraw that builds a new figure pays for the figure, its axes, ticks and text layout, then
IPython's inline display lays it out twice more (``bbox_inches="tight"``) before encoding a
PNG and sending it base64-encoded through an Output widget. An explorer built on
:class:`View` instead builds its figure once and then only changes its artists
(``set_data``, ``set_text``, patch heights); :func:`render_png` draws it once at fixed
margins and :func:`encode_png` makes the PNG in one pass, and the live explorer sends the bytes
to an ``ipywidgets.Image`` (a binary comm message, no base64, no new output).

Figures are made without pyplot (:func:`new_figure`): pyplot would register each one, show
it again at the end of the cell under the inline backend, and keep it until closed. Their canvas
keeps each text it has drawn as a small image (:class:`_TextCachingRenderer`): tick labels,
axis labels and legends repeat from one redraw to the next, and laying out and rasterizing
their glyphs was half of a redraw. A text not drawn before (a new value in a legend or title)
is drawn the way :mod:`nnlab.widgets.texts` describes.
"""

from __future__ import annotations

import struct
import zlib
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # matplotlib loads with the first figure, not with this module
    import numpy as np
    from matplotlib.figure import Figure

#: PNG compression level (zlib 0–9) of live redraws: 1 deflates several times faster than
#: matplotlib's default 6 for a file only slightly larger, which the local kernel sends at once.
PNG_COMPRESSION = 1


#: texts a figure's canvas keeps as images (an explorer shows a few dozen at a time).
TEXT_CACHE_SIZE = 2048


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure with an Agg canvas that pyplot does not know about (never shown twice, never leaked)
    and that draws each text it has drawn before from a cached image."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    _canvas_class()(figure)
    return figure


def _canvas_class() -> type:
    """The Agg canvas whose renderer caches texts (classes made once, on the first figure)."""
    global _CANVAS
    if _CANVAS is None:
        _CANVAS = _make_canvas_class()
    return _CANVAS


_CANVAS: type | None = None


def _make_canvas_class() -> type:
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    from nnlab.widgets import texts as drawing

    class _TextCachingRenderer(RendererAgg):
        """Agg, but a text drawn before (same string, font, angle, colour) is copied from its image.

        A text is rasterized once, on a transparent canvas of its own, at a whole-pixel
        position; later draws composite that image (``draw_image``, the route of Agg's own
        filters), so a label may sit up to half a pixel from where Agg would put its glyphs.
        """

        def __init__(self, width: float, height: float, dpi: float, texts: OrderedDict) -> None:
            super().__init__(width, height, dpi)
            self.texts = texts

        def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
            if ismath == "TeX" or not s:
                return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            key = (s, ismath, angle, hash(prop), tuple(gc.get_rgb()), gc.get_alpha(), gc.get_forced_alpha(),
                   gc.get_antialiased(), self.dpi, drawing.text_options(mtext))
            if key in self.texts:
                self.texts.move_to_end(key)
            else:
                self.texts[key] = drawing.text_image(self, gc, s, prop, angle, ismath, mtext)
                if len(self.texts) > TEXT_CACHE_SIZE:
                    self.texts.popitem(last=False)
            image, left, top = self.texts[key]
            if image is not None:
                composite = self.new_gc()
                composite.copy_properties(gc)  # the text's clipping
                composite.set_alpha(1.0)  # its alpha is in the image already
                bottom = int(self.height) - (round(y + top) + image.shape[0])  # y is downwards here
                self._renderer.draw_image(composite, round(x + left), bottom, image[::-1])
                composite.restore()
            return None

        def _get_font_height_metrics(self, prop):  # asked for by matplotlib 3.11's Text._get_layout
            return drawing.font_height_metrics(prop, self.dpi)

        def get_text_width_height_descent(self, s, prop, ismath):
            if ismath:
                return super().get_text_width_height_descent(s, prop, ismath)
            return drawing.measure_line(self, s, prop)  # and keeps the bitmap rendered on the way

    class _TextCachingCanvas(FigureCanvasAgg):
        def get_renderer(self) -> RendererAgg:
            width, height = self.get_width_height(physical=True)
            key = width, height, self.figure.dpi
            if getattr(self, "_lastKey", None) != key:  # as FigureCanvasAgg, one text cache a canvas
                self.texts = getattr(self, "texts", OrderedDict())
                self.renderer = _TextCachingRenderer(width, height, self.figure.dpi, self.texts)
                self._lastKey = key
            return self.renderer

    return _TextCachingCanvas


def render_png(figure: Figure) -> bytes:
    """The figure as PNG bytes: one Agg draw at the figure's own margins and dpi, encoded by
    :func:`encode_png`."""
    import numpy as np
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    if isinstance(figure.get_layout_engine(), PlaceHolderLayoutEngine):
        # what a one-off tight_layout() leaves behind: with it a draw lays the figure out again
        figure.set_layout_engine(None)
    figure.canvas.draw()
    return encode_png(np.asarray(figure.canvas.buffer_rgba()))


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of ``(H, W, 4)`` uint8 RGBA pixels: RGB when every pixel is opaque (a browser
    then paints the picture without blending it), 8 bits per channel, not interlaced.

    Every row gets PNG's "up" filter (its difference with the row above, which turns a plot's flat
    areas and vertical lines into zeros) in one numpy subtraction, and the rows are deflated in one
    call. Pillow, the usual encoder, tries each filter on each row: for a 1000 × 620 figure it took
    16 ms, this 8 ms, for a file a sixth larger.
    """
    import numpy as np

    if pixels.ndim != 3 or pixels.shape[2] != 4 or pixels.dtype != np.uint8:
        raise ValueError(f"encode_png: expected (H, W, 4) uint8 pixels, got {pixels.shape} {pixels.dtype}")
    height, width, _ = pixels.shape
    opaque = bool(pixels[..., 3].min() == 255)
    channels = 3 if opaque else 4
    flat = np.empty((height, width, channels), dtype=np.uint8)
    for channel in range(channels):  # a channel at a time: 6× faster than copying pixels[..., :3]
        flat[..., channel] = pixels[..., channel]
    flat = flat.reshape(height, width * channels)
    rows = np.empty((height, 1 + width * channels), dtype=np.uint8)
    rows[:, 0] = 2  # filter type 2, "up" (PNG specification, section 9.2)
    rows[0, 1:] = flat[0]  # the first row's "above" is zeros
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])  # modulo 256, as the filter is defined
    colour = 2 if opaque else 6  # RGB, RGBA
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"".join((_PNG_SIGNATURE, _png_chunk(b"IHDR", header),
                     _png_chunk(b"IDAT", zlib.compress(rows, PNG_COMPRESSION)), _png_chunk(b"IEND", b"")))


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, type, data, and the CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


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
