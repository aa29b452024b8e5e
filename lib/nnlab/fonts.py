"""Chinese text in figures: find an installed CJK font, or fall back to English labels.

matplotlib's bundled DejaVu Sans has no CJK glyphs: Chinese titles would show
as empty boxes with a "Glyph … missing from font" warning. When the language
is Chinese, :func:`use_cjk_font` looks for an installed Noto Sans CJK,
WenQuanYi or Source Han font through matplotlib's font manager and lists it
after DejaVu Sans in ``font.family``, so Latin text keeps its look and
Chinese characters fall back to the CJK font (matplotlib ≥ 3.6 falls back
glyph by glyph along that list). Without
one, :func:`figure_text` keeps figure text English and says once which
package to install. Introduced for the Chinese edition of every notebook.
"""

from __future__ import annotations

import functools

from nnlab.i18n import Text, get_language

#: CJK families, preferred first (simplified Chinese variants before the others).
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Serif CJK SC", "Source Han Sans",
    "Noto Sans CJK JP", "Noto Sans CJK TC",
)

_NO_FONT_NOTE = ("nnlab: no Chinese font found for figures, so figure text stays English. "
                 "Install one (Debian/Ubuntu: sudo apt-get install fonts-noto-cjk or fonts-wqy-zenhei; "
                 "conda: conda install -c conda-forge font-ttf-noto-cjk) and restart the kernel.")


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed CJK font matplotlib can use, or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


@functools.lru_cache(maxsize=1)
def _note_missing_font() -> None:
    print(_NO_FONT_NOTE)


def use_cjk_font() -> bool:
    """Let matplotlib draw Chinese (DejaVu Sans first, the CJK font for what it lacks).

    Returns:
        True when a CJK font is installed and now in matplotlib's sans-serif list.
    """
    family = cjk_font()
    if family is None:
        return False
    import logging

    import matplotlib

    # WenQuanYi Zen Hei's regular face is registered with weight 500, so every lookup of
    # weight "normal" logs "Failed to find font weight normal ... now using 500" (harmless:
    # 500 is the face wanted) into the notebook; keep only real font errors
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    # concrete families, not the generic "sans-serif": matplotlib falls back along this list
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", family]
    return True


def figure_text(text: Text) -> str:
    """``text`` for a figure: Chinese when the language is Chinese and a CJK font is installed.

    Without a font the English is used and a one-time note says what to install.
    """
    if get_language() != "zh" or not text.zh:
        return text.en
    if use_cjk_font():
        return text.zh
    _note_missing_font()
    return text.en


def figure_words(english: str, chinese: str) -> str:
    """:func:`figure_text` of a pair written in place (the explorers' labels)."""
    return figure_text(Text(english, chinese))
