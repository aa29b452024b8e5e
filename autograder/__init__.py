"""The nnlab instructor pipeline around nbgrader: release, sandboxed grading, export, feedback.

``python -m autograder --help`` lists the verbs. The functions behind them
take keyword-only options and are what tests call.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
