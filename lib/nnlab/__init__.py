"""nnlab: the helper library of the *Training Neural Networks* workbook.

Students import it from every notebook. It holds the check engine
(:mod:`nnlab.checks`), numerical gradients (:mod:`nnlab.gradcheck`), the
embedded dataset (:mod:`nnlab.data`), plots, widgets and seeding helpers.
It never contains an answer: references are torch calls or measurements.
"""

from nnlab import i18n
from nnlab.i18n import get_language

__all__ = ["get_language", "set_language", "__version__"]
__version__ = "0.1.0"


def set_language(language: str) -> None:
    """Messages, summaries and figure text in ``language`` (``"en"`` or ``"zh"``).

    For Chinese a CJK font for figures is picked now, or a one-time note says what to install.

    Raises:
        ValueError: for any other value.
    """
    i18n.set_language(language)
    if language == "zh":
        from nnlab.fonts import figure_text

        figure_text(i18n.Text("", "中文"))
