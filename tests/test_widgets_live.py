"""The explorers' persistent figures (nnlab.widgets.live): a redraw in place shows what a new figure shows.

Each explorer's View is drawn with one setting, then moved to another; its pixels must be
those of a View drawn with the second setting from scratch (margins aligned first: a
one-off tight_layout is laid out for the first setting's labels).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no window, no display needed

import io  # noqa: E402
import os  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from nnlab.data import load_shapes  # noqa: E402
from nnlab.widgets import (  # noqa: E402
    activations,
    augmentation,
    capstone,
    cnn_shapes,
    initialization,
    preprocessing,
    regularization,
    tuning,
)
from nnlab.widgets.live import View, encode_png, render_png  # noqa: E402


def _images() -> np.ndarray:
    return load_shapes(num_train=24, num_val=8, num_test=8, seed=0).X_train


def _viewer() -> View:
    X = _images()
    statistics = preprocessing._check_inputs(X, None, None, None)
    return preprocessing._ViewerView(preprocessing._ViewerData(X, statistics, None))


#: explorer -> (a new View, first setting, second setting); the second moves the bench's slider
#: and, where the figure's structure depends on a control, that control too.
CASES: dict[str, tuple[Callable[[], View], dict[str, Any], dict[str, Any]]] = {
    "activations": (activations._ActivationView, dict(activation="sigmoid", parameter=0.0, x_range=10.0),
                    dict(activation="elu", parameter=0.5, x_range=4.0)),
    "conv": (cnn_shapes._ConvView, dict(in_size=11, kernel_size=3, stride=2, padding=1, dilation=1, layers=2,
                                        position=1),
             dict(in_size=14, kernel_size=3, stride=1, padding=2, dilation=2, layers=3, position=4)),
    "conv, smaller": (cnn_shapes._ConvView, dict(in_size=14, kernel_size=3, stride=1, padding=2, dilation=2,
                                                 layers=3, position=4),
                      dict(in_size=9, kernel_size=3, stride=2, padding=1, dilation=1, layers=2, position=1)),
    "preprocessing, same method": (_viewer, dict(index=0, method="channel_mean_std", histogram="image"),
                                   dict(index=5, method="channel_mean_std", histogram="dataset")),
    "preprocessing, new method": (_viewer, dict(index=0, method="channel_mean_std", histogram="image"),
                                  dict(index=5, method="mean_image", histogram="image")),
    "initialization, same depth": (initialization._InitView,
                                   dict(activation="tanh", scale_mode="fixed", weight_scale=0.14, depth=6),
                                   dict(activation="relu", scale_mode="kaiming", weight_scale=0.14, depth=6)),
    "initialization, new depth": (initialization._InitView,
                                  dict(activation="tanh", scale_mode="fixed", weight_scale=0.14, depth=6),
                                  dict(activation="tanh", scale_mode="fixed", weight_scale=0.5, depth=8)),
    "dropout": (regularization._DropoutView, dict(p_drop=0.5, mode="inverted"),
                dict(p_drop=0.2, mode="no test-time scaling (wrong)")),
    "augmentation": (lambda: augmentation._AugmentationView(augmentation._as_images(_images())),
                     dict(index=0, augmentation="random crop", parameter=0.5),
                     dict(index=3, augmentation="cutout", parameter=0.3)),
    "lr": (tuning._RunView, dict(lr=1e-2, weight_decay=1e-4, num_epochs=3),
           dict(lr=0.3, weight_decay=1e-3, num_epochs=4)),
    "hard_shapes": (capstone._ScenesView, dict(texture=True, occlusion=0.3, colour_shift=True, noise_std=0.1),
                    dict(texture=False, occlusion=0.0, colour_shift=False, noise_std=0.2)),
}


def _pixels(figure: Any) -> np.ndarray:
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba()).copy()


@pytest.mark.parametrize("name", CASES)
def test_a_redraw_in_place_shows_what_a_new_figure_shows(name: str) -> None:
    make, first, second = CASES[name]
    moved = make()
    moved.draw(**first)
    updated = moved.draw(**second)
    fresh = make().draw(**second)
    assert updated.get_size_inches().tolist() == fresh.get_size_inches().tolist()
    pars = fresh.subplotpars
    updated.subplots_adjust(left=pars.left, right=pars.right, bottom=pars.bottom, top=pars.top,
                            wspace=pars.wspace, hspace=pars.hspace)
    before, after = _pixels(make().draw(**first)), _pixels(updated)
    assert not np.array_equal(before, after), "the second setting must change the figure"
    np.testing.assert_array_equal(after, _pixels(fresh))


def test_render_png_draws_the_figure_once() -> None:
    view = activations._ActivationView()  # laid out by a one-off tight_layout
    figure = view.draw(activation="tanh", parameter=0.0, x_range=5.0)
    draws = []
    figure.canvas.mpl_connect("draw_event", lambda event: draws.append(event))
    png = render_png(figure)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(draws) == 1


def test_live_explorer_sends_png_bytes_to_one_image_widget(live, monkeypatch) -> None:
    import IPython.display
    import ipywidgets

    displayed: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **kwargs: displayed.extend(objects))
    result = regularization.dropout_explorer()
    (image,) = [o for o in displayed if isinstance(o, ipywidgets.Image)]
    first, png = live[-1], image.value
    result.controls["p_drop"].value = 0.3
    assert live[-1] is first and "p_drop = 0.30" in first.axes[0].get_title()  # the same figure, updated
    assert bytes(image.value) != bytes(png) and bytes(image.value).startswith(b"\x89PNG\r\n\x1a\n")
    assert [o for o in displayed if isinstance(o, ipywidgets.Image)] == [image]  # shown once, then updated


class _Fails(View):
    """Draws a title, and raises for a negative value (as an explorer's compute may)."""

    def build(self, figure: Any, value: float) -> None:
        if value < 0:
            raise ValueError("value must be ≥ 0")
        figure.subplots().set_title(f"value {value}")


def test_a_failed_redraw_says_why_and_the_next_one_shows_the_image_again(live, monkeypatch, capsys) -> None:
    import IPython.display
    import ipywidgets
    from nnlab.widgets import Slider, explorer

    displayed: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **kwargs: displayed.extend(objects))
    result = explorer(_Fails().draw, {"value": Slider(1.0, -1.0, 2.0, 0.5, "value")}, name="fails")
    result.controls["value"].value = -0.5
    assert "cannot draw these settings: ValueError: value must be ≥ 0" in capsys.readouterr().out
    result.controls["value"].value = 2.0
    assert live[-1].axes[0].get_title() == "value 2.0"
    images = [o for o in displayed if isinstance(o, ipywidgets.Image)]
    assert len(images) == 2 and images[0] is images[1]  # shown again after the message replaced it


@pytest.mark.slow
def test_under_grading_a_fresh_kernel_shows_the_explorer_as_a_png() -> None:
    """The explorers' figures bypass pyplot; the static path must still load the inline backend,
    or IPython shows nothing but "<Figure size …>" when no cell has drawn through pyplot yet."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("from nnlab.widgets import dropout_explorer\n"
                                                "explorer = dropout_explorer()")]
    # the kernel's environment under the grader (autograder/grading/isolation.py)
    env = {**os.environ, "NBGRADER_EXECUTION": "autograde",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute(env=env)
    (output,) = notebook.cells[0].outputs
    assert output.output_type == "display_data" and "image/png" in output.data


# --- the canvas's text cache ------------------------------------------------------------------

def _plain_agg_pixels(make: Callable[[], View], values: dict[str, Any]) -> np.ndarray:
    """The same View drawn on matplotlib's own Agg canvas (no text cache)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = make().draw(**values)
    FigureCanvasAgg(figure)
    return _pixels(figure)


def _ink(pixels: np.ndarray, level: int) -> np.ndarray:
    """Pixels darker than ``level`` (0–255): text, lines, markers."""
    return pixels[..., :3].astype(int).sum(axis=-1) < 3 * level


def _grown(mask: np.ndarray) -> np.ndarray:
    """``mask`` and every pixel next to it (8-neighbourhood)."""
    padded = np.pad(mask, 1)
    height, width = mask.shape
    return np.logical_or.reduce([padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width]
                                 for dy in (-1, 0, 1) for dx in (-1, 0, 1)])


@pytest.mark.parametrize("name", ["dropout", "conv", "lr"])
def test_cached_texts_are_drawn_where_agg_draws_them(name: str) -> None:
    """A cached text sits at a whole pixel, Agg's glyphs at fractions of one: every clearly dark
    pixel of either image lies within one pixel of a dark pixel of the other (no label missing
    or moved). Two levels, as an edge pixel may land just either side of one threshold."""
    make, first, _ = CASES[name]
    cached, plain = _pixels(make().draw(**first)), _plain_agg_pixels(make, first)
    assert _ink(plain, 96).sum() > 1000  # the comparison has text and lines to compare
    for one, other in ((cached, plain), (plain, cached)):
        assert not (_ink(one, 96) & ~_grown(_ink(other, 160))).any()


def test_a_redraw_rasterizes_only_the_texts_it_has_not_drawn_before() -> None:
    view = regularization._DropoutView()
    figure = view.draw(p_drop=0.5, mode="inverted")
    render_png(figure)
    texts = figure.canvas.texts
    known = len(texts)
    assert known > 20  # ticks, labels, legends and titles
    render_png(figure)
    assert len(texts) == known
    figure.axes[1].set_title("a title never drawn before", fontsize=9)
    before = _pixels(figure)
    assert len(texts) == known + 1
    figure.axes[1].set_title("another title", fontsize=9)
    assert not np.array_equal(before, _pixels(figure)) and len(texts) == known + 2


def test_texts_are_laid_out_as_on_matplotlibs_own_canvas() -> None:
    """The canvas hands matplotlib each font's height metrics from a cache: every text's layout
    (box, lines, offsets) must be what matplotlib computes on its own Agg canvas, to the bit."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from nnlab.widgets.live import new_figure

    texts = [dict(s="tick 0.5"), dict(s="two\nlines", fontsize=14, linespacing=1.5),
             dict(s="rotated", rotation=30, fontsize=7), dict(s="serif", family="serif", fontsize=11),
             dict(s="$x^2$ math", fontsize=9), dict(s="bold\nmonospace", family="monospace", weight="bold")]
    for dpi in (72, 100):
        ours, plain = new_figure((4.0, 3.0)), Figure(figsize=(4.0, 3.0))
        FigureCanvasAgg(plain)
        for figure in (ours, plain):
            figure.set_dpi(dpi)
        renderers = ours.canvas.get_renderer(), plain.canvas.get_renderer()
        assert hasattr(renderers[0], "_get_font_height_metrics")  # the cache is in use
        for options in texts:
            laid_out = [figure.text(0.5, 0.5, **options)._get_layout(renderer)
                        for figure, renderer in zip((ours, plain), renderers, strict=True)]
            assert repr(laid_out[0]) == repr(laid_out[1]), options


def test_render_png_gives_savefigs_pixels() -> None:
    """RGB when opaque, RGBA otherwise: the picture of matplotlib's own PNG either way."""
    from PIL import Image

    make, first, _ = CASES["dropout"]
    figure = make().draw(**first)
    for facecolor in ("white", (1.0, 1.0, 1.0, 0.0)):
        figure.set_facecolor(facecolor)
        ours = Image.open(io.BytesIO(render_png(figure)))
        saved = io.BytesIO()
        figure.savefig(saved, format="png")
        theirs = np.asarray(Image.open(saved).convert("RGBA"))
        assert ours.mode == ("RGB" if facecolor == "white" else "RGBA")
        np.testing.assert_array_equal(np.asarray(ours.convert("RGBA")), theirs)


def test_encode_png_is_lossless_for_any_pixels() -> None:
    """Random pixels (every byte value, differences that wrap modulo 256), odd sizes, one row:
    Pillow's decoder, which checks every chunk's CRC and the stream's checksum, reads them back."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for shape, opaque in (((37, 53, 4), False), ((37, 53, 4), True), ((1, 9, 4), False), ((64, 1, 4), True)):
        pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
        if opaque:
            pixels[..., 3] = 255
        decoded = Image.open(io.BytesIO(encode_png(pixels)))
        decoded.load()
        assert decoded.mode == ("RGB" if opaque else "RGBA") and decoded.size == (shape[1], shape[0])
        np.testing.assert_array_equal(np.asarray(decoded.convert("RGBA")), pixels)
    for wrong in (np.zeros((4, 4, 3), dtype=np.uint8), np.zeros((4, 16), dtype=np.uint8),
                  np.zeros((4, 4, 4), dtype=np.float32)):
        with pytest.raises(ValueError, match=r"\(H, W, 4\) uint8"):
            encode_png(wrong)


def test_a_text_larger_than_its_first_canvas_is_measured_and_drawn_whole(monkeypatch) -> None:
    """With glyphs assumed a twentieth of an em wide every text overflows its first canvas; the
    measured second drawing must give the same picture."""
    from nnlab.widgets import texts

    make, first, _ = CASES["dropout"]
    expected = _pixels(make().draw(**first))
    monkeypatch.setattr(texts, "GLYPH_EMS", 0.05)
    monkeypatch.setattr(texts, "LINE_EMS", 0.1)
    np.testing.assert_array_equal(_pixels(make().draw(**first)), expected)


def _line_alpha(draw: Callable[[Any, Any], Any], *, antialiased: bool = True) -> tuple[np.ndarray, Any]:
    """The alpha of a line of text drawn by ``draw(renderer, gc)`` on a transparent 400 × 200 canvas."""
    from matplotlib.backends.backend_agg import RendererAgg

    renderer = RendererAgg(400, 200, 100)
    gc = renderer.new_gc()
    gc.set_foreground("black")
    gc.set_antialiased(antialiased)
    result = draw(renderer, gc)
    return np.asarray(renderer.buffer_rgba())[..., 3].astype(float), result


def _centroid(alpha: np.ndarray) -> np.ndarray:
    rows, columns = np.indices(alpha.shape)
    return np.array([(columns * alpha).sum(), (rows * alpha).sum()]) / alpha.sum()


@pytest.mark.parametrize("x", [150.0, 150.3, 150.5, 150.8])
@pytest.mark.parametrize("text, size, at_once", [
    ("R: mean +0.12, std 0.25", 7, True), ("image 17 (circle)", 9, True), ("p = 0.35", 12, True),
    ("0", 10, False), ("\u22120.5", 10, False), ("Wave", 14, False)])
def test_a_new_text_is_drawn_as_agg_draws_it(text: str, size: float, at_once: bool, x: float) -> None:
    """A horizontal line drawn as one bitmap sits at the whole pixel nearest to where matplotlib's
    own glyph-by-glyph drawing puts it, and says how far that is: shifted back by that much, its
    ink's centre is Agg's to a tenth of a pixel (antialiased edges place a centre that finely),
    and it has the same ink. A line whose bitmap would place its first glyph a pixel off the
    others is not drawn (None): matplotlib draws it."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties
    from nnlab.widgets.texts import draw_line_at_once

    prop = FontProperties(size=size)
    theirs, _ = _line_alpha(lambda renderer, gc: RendererAgg.draw_text(renderer, gc, x, 100.0, text, prop, 0))
    ours, shift = _line_alpha(lambda renderer, gc: draw_line_at_once(renderer, gc, x, 100.0, text, prop,
                                                                     None))
    if not at_once:
        assert shift is None and not ours.any()
        return
    assert all(abs(value) <= 0.5 for value in shift)
    np.testing.assert_allclose(_centroid(ours) + shift, _centroid(theirs), atol=0.1)
    assert abs(ours.sum() - theirs.sum()) <= 0.01 * theirs.sum()


def test_a_line_measured_by_the_canvas_is_drawn_from_its_bitmap_once() -> None:
    """Measuring a text renders its line on the way; drawing it then uses that bitmap (the same
    pixels as laying it out again), once, and only for the antialiasing it was rendered with."""
    from matplotlib.font_manager import FontProperties
    from nnlab.widgets import live, texts

    renderer = live.new_figure((4.0, 2.0)).canvas.get_renderer()
    prop, text = FontProperties(size=9), "a line measured first"
    key = texts.line_key(text, prop, renderer.dpi)

    def draw(renderer, gc):
        return texts.draw_line_at_once(renderer, gc, 120.3, 90.0, text, prop, None)

    laid_out_again, _ = _line_alpha(draw)
    renderer.get_text_width_height_descent(text, prop, False)
    assert key in texts.MEASURED_LINES
    reused, _ = _line_alpha(draw)
    assert key not in texts.MEASURED_LINES
    np.testing.assert_array_equal(reused, laid_out_again)
    renderer.get_text_width_height_descent(text, prop, False)
    aliased, _ = _line_alpha(draw, antialiased=False)
    assert set(np.unique(aliased)) == {0.0, 255.0}  # rendered again, without antialiasing
    assert renderer.get_text_width_height_descent(text, prop, False) == pytest.approx(
        super(type(renderer), renderer).get_text_width_height_descent(text, prop, False))
