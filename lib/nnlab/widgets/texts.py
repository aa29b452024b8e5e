"""How the explorers' canvas draws a text it has not drawn before (:mod:`nnlab.widgets.live`).

A new text is drawn once on a small transparent canvas of its own (:func:`text_image`) and kept
as an image. matplotlib 3.11 shapes each string and renders and blends it glyph by glyph from
Python; a horizontal line is drawn here as one FreeType bitmap instead where that bitmap is
exact (:func:`draw_line_at_once`), from the rendering done while matplotlib measured it
(:func:`measure_line`): laying a string out is most of drawing it.
"""

from __future__ import annotations

import math
import threading
from typing import Any

#: the canvas a text is first drawn on: each glyph at most this many ems wide, a line at most
#: this many ems above or below the anchor (wider or taller texts are measured and drawn again).
GLYPH_EMS, LINE_EMS = 1.0, 2.0
#: lines measured and not yet drawn that are kept (the oldest is dropped first).
MEASURED_LINES_KEPT = 2048


def measure_line(renderer: Any, s: str, prop: Any) -> tuple[float, float, float]:
    """``RendererAgg.get_text_width_height_descent`` of a plain (not math) text: its width,
    height and descent in pixels; its bitmap, rendered on the way, is kept for drawing it."""
    font = renderer._prepare_font(prop)
    key = line_key(s, prop, renderer.dpi)
    bitmap = line_bitmap(font, s, key[3], key[4], {})
    with _MEASURED_LINES_LOCK:  # explorers also draw in background threads (RenderAhead)
        MEASURED_LINES[key] = bitmap
        if len(MEASURED_LINES) > MEASURED_LINES_KEPT:
            del MEASURED_LINES[next(iter(MEASURED_LINES))]
    width, height = font.get_width_height()
    return width / 64.0, height / 64.0, font.get_descent() / 64.0


def text_image(renderer: Any, gc: Any, s: str, prop: Any, angle: float, ismath: Any, mtext: Any,
               reach: tuple[int, int] | None = None) -> tuple:
    """(a text's RGBA pixels drawn alone at a whole-pixel anchor, their left and top offset from
    the anchor), or (None, 0, 0) for a text without pixels. The offsets are whole pixels, plus,
    for a line drawn at once, the fraction of a pixel it was drawn off by (the canvas rounds the
    sum, once).

    The text is drawn on a canvas reaching ``reach`` pixels (x, y) from the anchor each way: by
    default a bound from its length (no glyph is wider than an em, nor a line taller than two);
    a text that touches that canvas's edge (math, an unusual font) is drawn again on one its
    measured size fits.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import RendererAgg

    cos, sin = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    if reach is None:
        em = prop.get_size_in_points() * renderer.dpi / 72
        along, across = (len(s) + 2) * GLYPH_EMS * em, LINE_EMS * em
    else:
        along, across = reach
    width = math.ceil(cos * along + sin * across) + 4
    height = math.ceil(sin * along + cos * across) + 4
    own = RendererAgg(2 * width, 2 * height, renderer.dpi)
    plain = own.new_gc()
    plain.copy_properties(gc)
    plain.set_clip_rectangle(None)
    plain.set_clip_path(None)
    shift = None
    if angle == 0 and not ismath:
        shift = draw_line_at_once(own, plain, width, height, s, prop, mtext)
    if shift is None:
        RendererAgg.draw_text(own, plain, width, height, s, prop, angle, ismath, mtext)
        shift = (0.0, 0.0)
    plain.restore()
    pixels = np.asarray(own.buffer_rgba())
    rows = np.flatnonzero(pixels[..., 3].any(axis=1))
    columns = np.flatnonzero(pixels[..., 3].any(axis=0))
    if rows.size == 0:
        return None, 0, 0
    if reach is None and (rows[0] == 0 or columns[0] == 0 or rows[-1] == 2 * height - 1
                          or columns[-1] == 2 * width - 1):
        measured_width, measured_height, descent = renderer.get_text_width_height_descent(s, prop, ismath)
        size = math.ceil(measured_width + measured_height + descent)
        return text_image(renderer, gc, s, prop, angle, ismath, mtext, reach=(size, size))
    image = pixels[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1].copy()
    return image, int(columns[0]) - width + shift[0], int(rows[0]) - height + shift[1]


def draw_line_at_once(renderer: Any, gc: Any, x: float, y: float, s: str, prop: Any,
                       mtext: Any) -> tuple[float, float] | None:
    """Draw a horizontal line of text as one bitmap where that bitmap is exact: FreeType lays
    the string out and renders every glyph into it (``set_text``, ``draw_glyphs_to_bitmap``),
    Agg blends it once, at the whole pixel nearest to where it belongs. Returns where it belongs
    minus where it was drawn (x, y; each within half a pixel), or None, drawing nothing.

    This is how matplotlib drew text before 3.11, which instead shapes the string and renders
    and blends glyph by glyph from Python (a numpy matrix product per glyph): 3.6 ms against
    1.1 ms for a 23-character legend label. The bitmap places each glyph at a whole pixel
    relative to the string's left edge; when that edge is not on a pixel (``"0"``, ``"1.5"``:
    lines without a space, mostly ticks, drawn once and cached) the first glyph lands a pixel
    off the others, so those return None and take matplotlib's path, as rotated text does
    (``test_a_new_text_is_drawn_as_agg_draws_it`` checks where the ink lands).
    """
    options = text_settings(mtext)
    key = line_key(s, prop, renderer.dpi)
    with _MEASURED_LINES_LOCK:
        measured = MEASURED_LINES.pop(key, _UNMEASURED)
    unusual = key[4] != gc.get_antialiased() or any(value is not None for value in options.values())
    if measured is _UNMEASURED or unusual:
        measured = line_bitmap(renderer._prepare_font(prop), s, key[3], gc.get_antialiased(), options)
    if measured is None:
        return None
    bitmap, top, descent = measured
    # 26.6 fixed point; y is downwards, and draw_text_image's y is the bitmap's bottom side
    exact_y = y + (top + descent) / 64
    renderer._renderer.draw_text_image(bitmap, round(x), round(exact_y) + 1, 0.0, gc)
    return x - round(x), exact_y - round(exact_y)


def line_bitmap(font: Any, s: str, flags: Any, antialiased: bool, options: dict[str, Any]) -> tuple | None:
    """(the bitmap of a laid-out line, its top offset, its descent), or None when its left edge is
    not on a whole pixel; ``font`` is left holding the laid-out line."""
    font.set_text(s, 0.0, flags=flags, **options)
    left, top = font.get_bitmap_offset()
    if left % 64 or top % 64:
        return None
    font.draw_glyphs_to_bitmap(antialiased=antialiased)
    return font.get_image().copy(), top, font.get_descent()


#: plain lines measured and rendered by the canvas, until they are drawn: :func:`line_bitmap`'s
#: result by :func:`line_key`.
MEASURED_LINES: dict[tuple, tuple | None] = {}
_MEASURED_LINES_LOCK = threading.Lock()
_UNMEASURED = object()


def line_key(s: str, prop: Any, dpi: float) -> tuple:
    """What the bitmap of a plain line depends on: text, font, dpi, hinting, antialiasing (as
    matplotlib's Text sets it by default)."""
    import matplotlib
    from matplotlib.backends.backend_agg import get_hinting_flag

    return s, hash(prop), dpi, get_hinting_flag(), bool(matplotlib.rcParams["text.antialiased"])


FONT_METRICS: dict[tuple[int, float], tuple[float | None, float | None, float | None]] = {}


def font_height_metrics(prop: Any, dpi: float) -> tuple[float | None, float | None, float | None]:
    """A font's (ascent, descent, line gap) in pixels, for matplotlib's text layout.

    matplotlib 3.11's ``Text._get_layout`` asks a renderer that has a ``_get_font_height_metrics``
    method, and otherwise looks the font up and reads three of its tables for every text it lays
    out (a fifth of a redraw): the same numbers, once per font, size and dpi here. Those are
    what it computes from the font's tables (OS/2, else hhea), or Nones for a font without them
    (matplotlib then measures the text "lp" instead).
    """
    key = (hash(prop), dpi)
    if key not in FONT_METRICS:
        FONT_METRICS[key] = _font_height_metrics(prop, dpi)
    return FONT_METRICS[key]


def _font_height_metrics(prop: Any, dpi: float) -> tuple[float | None, float | None, float | None]:
    from matplotlib.font_manager import fontManager, get_font

    font = get_font(fontManager._find_fonts_by_props(prop))
    for table_name, gap, ascent, descent in (("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
                                             ("hhea", "lineGap", "ascent", "descent")):
        table = font.get_sfnt_table(table_name)
        if table is not None:
            scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * prop.get_size_in_points() * dpi / 72
            return table[ascent] * scale, -table[descent] * scale, table[gap] * scale
    return None, None, None


def text_settings(mtext: Any) -> dict[str, Any]:
    """What else of a Text artist changes its glyphs, as matplotlib's own ``draw_text`` passes it
    to FreeType: ``features`` and ``language`` (newer matplotlib; none without a Text)."""
    return {option: getattr(mtext, getter)() for option, getter in
            (("features", "get_fontfeatures"), ("language", "get_language")) if hasattr(mtext, getter)}


def text_options(mtext: Any) -> tuple:
    """:func:`text_settings` as part of a cache key."""
    return tuple(str(value) for value in text_settings(mtext).values())
