"""One rule for the names that become folders: student ids, assignment names, imported files.

A student id or an assignment name is used three ways at once: as a path
component (``submitted/<student>/<assignment>/``), as a glob nbgrader expands
(``autograded/<student>/<assignment>``, with ``*`` meaning everyone), and as
the name of a folder the grader deletes before writing it again. So it must
be exactly one plain component: anything that could climb out (``..``,
separators), expand (``*?[]``), split nbgrader's comma-separated lists, or
hide in a terminal (control and format characters) is refused, here and
nowhere else. The command line, ``import`` and the walk of ``submitted/``
all ask these functions.
"""

from __future__ import annotations

import unicodedata

#: characters nbgrader would read as a glob or list separator, and path separators.
_FORBIDDEN = frozenset("/\\*?[],")
#: invisible characters: controls, formatting (e.g. U+202E right-to-left override), separators.
_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
#: most file systems allow 255 bytes per name.
MAX_NAME_BYTES = 255


def component_problem(name: str) -> str | None:
    """Why ``name`` is not a single, plain path component (``None`` if it is).

    Used for file names inside a submission (``data [1].csv`` is fine) and as the base of
    :func:`identifier_problem`.
    """
    if not isinstance(name, str):
        return "it is not text"
    if not name:
        return "it is empty"
    if name in (".", ".."):
        return f"{name!r} names a folder relative to another, not a folder of its own"
    separators = sorted({c for c in name if c in "/\\"} | ({"NUL"} if "\0" in name else set()))
    if separators:
        return f"it contains {' and '.join(map(repr, separators))} (a path, not a name)"
    invisible = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in _INVISIBLE})
    if invisible:
        return f"it contains control or invisible characters ({', '.join(invisible[:3])})"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"it is longer than {MAX_NAME_BYTES} bytes"
    return None


def identifier_problem(value: str) -> str | None:
    """Why ``value`` cannot be a student id or an assignment name (``None`` if it can)."""
    problem = component_problem(value)
    if problem:
        return problem
    if value.startswith("."):
        return "it starts with '.' (a hidden folder)"
    if value != value.strip():
        return "it starts or ends with white space"
    special = sorted({c for c in value if c in _FORBIDDEN})
    if special:
        return (f"it contains {' '.join(special)} (nbgrader reads * ? [ ] as a pattern "
                "and , as a list)")
    return None


def explain(value: object, *, what: str, problem: str) -> str:
    """The one-line message for a refused name: what, why, and what to do."""
    return (f"{what} {value!r} is not allowed: {problem}; a {what} must be a single folder "
            "name such as 'alice' or 's001'")
