"""nnlab: the helper library of the *Training Neural Networks* workbook.

Students import it from every notebook. It holds the check engine
(:mod:`nnlab.checks`), numerical gradients (:mod:`nnlab.gradcheck`), the
embedded dataset (:mod:`nnlab.data`), plots, widgets and seeding helpers.
It never contains an answer: references are torch calls or measurements.
"""

from nnlab.i18n import get_language, set_language

__all__ = ["get_language", "set_language", "__version__"]
__version__ = "0.1.0"
