"""nbgrader configuration of the nnlab course (the repository root is the course).

Authors edit ``solutions/NN/NN.ipynb``; ``make release`` (nbgrader
generate_assignment) writes ``assignments/NN/NN.ipynb`` for students.
Student work, grades and feedback live in git-ignored folders of a course
directory: by default the repository root (``submitted/``, ``autograded/``,
``feedback/``, ``gradebook.db``); ``python -m autograder --course-dir DIR``
and the variable ``NNLAB_COURSE_DIR`` point them elsewhere. ``NNLAB_COURSE_ID`` names the
course (default ``nnlab``) and ``NNLAB_EXCHANGE`` the exchange, as on a JupyterHub where one
grader account per course runs this file (``deploy/jupyterhub/``).
"""

import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

ROOT = os.path.dirname(os.path.abspath(__file__))
COURSE_DIR = os.path.abspath(os.environ.get("NNLAB_COURSE_DIR", ROOT))
os.makedirs(COURSE_DIR, exist_ok=True)

# The course id names the course in the gradebook and in a shared exchange (JupyterHub:
# <exchange>/<course_id>/...); one repository can serve several courses (deploy/jupyterhub/).
c.CourseDirectory.course_id = os.environ.get("NNLAB_COURSE_ID", "nnlab")
c.CourseDirectory.root = ROOT
# The instructor notebooks (with solutions and hidden tests) and the student release.
c.CourseDirectory.source_directory = "solutions"
# The class's edition (NNLAB_LANGUAGE, or [course] language in autograder.toml): nbgrader
# release_assignment publishes assignments/ (en) or assignments-zh/ (zh). `make release` writes
# both editions whatever this says.
from pathlib import Path  # noqa: E402

from autograder.course.layout import EDITIONS  # noqa: E402
from autograder.course.settings import course_language  # noqa: E402

c.CourseDirectory.release_directory = EDITIONS[course_language(Path(COURSE_DIR))]
# nbgrader's own "solution" folder (generate_solution) must not be confused with solutions/.
c.CourseDirectory.solution_directory = os.path.join(COURSE_DIR, "generated_solution")
# Student work and results: git-ignored, in the course directory.
c.CourseDirectory.submitted_directory = os.path.join(COURSE_DIR, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(COURSE_DIR, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(COURSE_DIR, "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_DIR, "gradebook.db")
# The exchange students fetch from and submit to (set NNLAB_EXCHANGE on a shared server).
c.Exchange.root = os.environ.get("NNLAB_EXCHANGE", os.path.join(COURSE_DIR, "exchange"))
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The student release tags demo and test cells "raises-exception", so Run All goes on past
# exercises not done yet (autograder/course/release_tags.py); nbgrader's own steps run first.
from nbgrader.converters import GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = [
    *GenerateAssignment.class_traits()["preprocessors"].default(),
    "autograder.course.release_tags.TagCellsThatMayRaise",
]

# Per-cell timeout (seconds) for nbgrader's own executor (validate, stock autograde).
# python -m autograder grade has its own per-cell and per-notebook budgets (autograder.toml).
c.ExecutePreprocessor.timeout = 30
c.Execute.timeout = 30

# Feedback never contains hidden tests (nbgrader's default keeps them verbatim).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# Late submissions: due dates live in the gradebook (`nbgrader db assignment add NAME
# --duedate="2026-03-01 23:59:00 Asia/Shanghai"`); the penalty is nbgrader's plugin, e.g.
#   c.LateSubmissionPlugin.penalty_method = "zero"        # 'none' (default) or 'zero'
#   c.AssignLatePenalties.plugin_class = "mycourse.late.TenPercentPerDay"
# Both `nbgrader autograde` and `python -m autograder grade` apply them. A class kept outside
# the repository may carry its own settings in COURSE_DIR/nbgrader_config.py, read last.
_CLASS_CONFIG = os.path.join(COURSE_DIR, "nbgrader_config.py")
if COURSE_DIR != ROOT and os.path.isfile(_CLASS_CONFIG):
    load_subconfig(_CLASS_CONFIG)  # noqa: F821 - provided by traitlets when it loads this file
