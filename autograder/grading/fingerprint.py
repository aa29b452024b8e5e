"""Fingerprints: of an assignment's notebooks, and of one submission against that assignment.

A submission whose fingerprint equals the one recorded when it was last graded to completion
is skipped, so a killed run can be started again. A submission refused unread (a link) gets a
fingerprint made of the reason, since nothing may be read through it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from autograder.course.layout import Course
from autograder.course.safefs import folder_files
from autograder.grading.assignment import released_editions


def template_digest(course: Course, assignment: str) -> str:
    """The assignment's source notebook and every released edition, hashed together."""
    digest = hashlib.sha256()
    for path in (course.source_notebook(assignment), *released_editions(course, assignment).values()):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def submission_digest(folder: Path, template_digest: str) -> str:
    """A submission folder's plain files (names and contents) and the assignment's version."""
    digest = hashlib.sha256(template_digest.encode())
    if folder.is_dir():
        for name in folder_files(folder).plain:
            digest.update(name.encode() + b"\0")
            digest.update(hashlib.sha256((folder / name).read_bytes()).digest())
    return digest.hexdigest()


def refusal_digest(template_digest: str, reason: str) -> str:
    """The fingerprint of a submission refused unread: an unchanged refusal is skipped too."""
    return hashlib.sha256(f"{template_digest}\0refused\0{reason}".encode()).hexdigest()
