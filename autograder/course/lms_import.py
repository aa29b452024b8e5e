"""Import a zip of submissions downloaded from an LMS into ``submitted/<student>/<assignment>/``.

Like ``nbgrader zip_collect``, each file's name is matched against the
layouts LMSs produce, mapped to a student id (through a roster when the LMS
uses its own names or ids), and copied into place. Nothing is overwritten
silently: a file an earlier import or ``nbgrader collect`` put in place is
moved to ``import-backups/<time>/`` in the course folder and reported before a
different one takes its place. Every file that cannot be placed is reported
with the reason.

Layouts recognised (file names inside the zip):

- Canvas: ``<login>_<userid>_<submissionid>_<filename>`` (``_late_`` allowed after the login)
- Moodle: ``<Full Name>_<id>_assignsubmission_file_/<filename>``
- Blackboard: ``<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>[_<filename>]``, and the
  attempt's receipt ``..._attempt_<time>.txt`` (kept as ``blackboard_receipt_<time>.txt``)
  and the attempt time, written as the submission's ``timestamp.txt``
- plain folders: ``<student>/<filename>``

Only the LMS dates a submission: a student's own file named ``timestamp.txt``
is kept as ``student-timestamp.txt`` and reported, never used as the time.
The LMS's name and id of each imported student are recorded
(:mod:`autograder.course.identities`) so ``export --format canvas|moodle`` maps grades back.
"""

from __future__ import annotations

import csv
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from autograder.course.identifiers import component_problem, explain, identifier_problem
from autograder.course.identities import Identity, record_identities
from autograder.course.layout import Course, CourseError
from autograder.course.safefs import is_plain_file, link_problem

#: refuse archives that would unpack to more than this (zip bombs).
MAX_TOTAL_BYTES = 2_000_000_000
MAX_FILE_BYTES = 200_000_000

LAYOUTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("moodle", re.compile(r"^(?P<name>[^/]+?)_(?P<lms_id>\d+)_assignsubmission_\w+_/(?P<file>[^/]+)$")),
    ("canvas", re.compile(r"^(?P<name>[a-z0-9.\-]+?)(?:_late)?_(?P<lms_id>\d+)_\d+_(?P<file>[^/]+)$")),
    ("blackboard", re.compile(
        r"^.+?_(?P<name>[^_/]+)_attempt_(?P<time>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)"
        r"(?:_(?P<file>[^/]+)|(?P<receipt>\.txt))?$")),
    ("folders", re.compile(r"^(?P<name>[^/]+)/(?P<file>[^/]+)$")),
)


@dataclass
class ImportResult:
    """What an import placed, and every file it could not place with the reason."""

    imported: list[tuple[str, Path]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    replaced: list[tuple[Path, Path]] = field(default_factory=list)  # (file, where the old one went)
    set_aside: list[tuple[str, Path]] = field(default_factory=list)  # (member, where it was kept)


def _read_roster(path: Path) -> dict[str, str]:
    """LMS name or id (lower-case) -> student id."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if "student_id" not in columns or not columns & {"lms_name", "lms_id"}:
            raise CourseError(f"{path}: a roster needs the columns student_id and lms_name or lms_id "
                              f"(found: {', '.join(sorted(columns)) or 'none'})")
        mapping = {}
        for row in reader:
            for key in ("lms_name", "lms_id"):
                if row.get(key):
                    mapping[row[key].strip().lower()] = row["student_id"].strip()
        return mapping


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _student_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip()).strip("_").lower()


def import_zip(*, assignment: str, archive: str | Path, course_dir: str | Path | None = None,
               roster: str | Path | None = None) -> ImportResult:
    """Place an LMS download's files as nbgrader submissions.

    Raises:
        CourseError: when the archive is unreadable, unsafe or too large, or the roster is malformed.
    """
    course = Course.at(course_dir)
    course.require_assignment(assignment)
    mapping = _read_roster(Path(roster)) if roster else None
    try:
        bundle = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as error:
        raise CourseError(f"{archive}: not a readable zip file ({error})") from None
    with bundle:
        members = [m for m in bundle.infolist() if not m.is_dir()]
        if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
            raise CourseError(f"{archive}: unpacks to more than {MAX_TOTAL_BYTES} bytes; refused")
        run = _Import(course, assignment, mapping, bundle,
                      course.course_dir / "import-backups" / datetime.now().strftime("%Y%m%d-%H%M%S-%f"))
        for member in members:
            run.take(member)
    record_identities(course, run.identities)
    return run.result


@dataclass
class _Import:
    """One import under way: what it placed so far, for whom, and what it refused."""

    course: Course
    assignment: str
    mapping: dict[str, str] | None  # the roster: LMS name or id -> student id
    bundle: zipfile.ZipFile
    backups: Path
    result: ImportResult = field(default_factory=ImportResult)
    placed: dict[str, tuple[str, str]] = field(default_factory=dict)  # student -> (member, time)
    identities: dict[str, Identity] = field(default_factory=dict)  # student -> LMS name and id
    written: set[Path] = field(default_factory=set)  # by this import (a later attempt may replace)

    def take(self, member: zipfile.ZipInfo) -> None:
        """Place one archive entry, or say in ``result.problems`` why not."""
        name = member.filename
        match = self._match(member)
        if match is None:
            return
        layout, found = match
        student = self._student(name, layout, found)
        if student is None:
            return
        filename = _not_a_timestamp(found.groupdict().get("file") or (
            f"blackboard_receipt_{found.group('time')}.txt" if found.groupdict().get("receipt")
            else f"{self.assignment}.ipynb"))
        data = self.bundle.read(member)
        if filename.endswith(".ipynb"):
            filename = f"{self.assignment}.ipynb"
            if not self._first_notebook(name, student, found, data):
                return
        folder = self.course.submitted_dir(student, self.assignment)
        if (problem := link_problem(self.course.course_dir / "submitted", folder, expect="dir")):
            self.result.problems.append(f"{name}: not imported for {student}: {problem}")
            return
        self._write(name, folder, filename, data, found)
        if filename.endswith(".ipynb"):  # a later attempt replaces the earlier one's entry
            self.result.imported = [entry for entry in self.result.imported if entry[0] != student]
            self.result.imported.append((student, folder / filename))
            if layout != "folders":  # plain folders carry no LMS identity
                self.identities[student] = _identity(layout, found)

    def _match(self, member: zipfile.ZipInfo) -> tuple[str, re.Match[str]] | None:
        """The entry's LMS layout and name parts; None (with the problem noted) if refused."""
        name = member.filename
        if not _safe(name):  # before the dot-file skip: "..\\x" looks like one
            self.result.problems.append(f"{name}: unsafe path in the archive (skipped)")
            return None
        problem = _member_problem(member)
        if problem:
            self.result.problems.append(f"{name}: {problem} (skipped)")
            return None
        if name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith("."):
            return None
        if member.file_size > MAX_FILE_BYTES:
            self.result.problems.append(f"{name}: larger than {MAX_FILE_BYTES} bytes (skipped)")
            return None
        match = next(((layout, m) for layout, pattern in LAYOUTS if (m := pattern.match(name))), None)
        if match is None:
            self.result.problems.append(f"{name}: does not match any known LMS file name layout")
        return match

    def _student(self, name: str, layout: str, found: re.Match[str]) -> str | None:
        """The student id an entry belongs to (through the roster if there is one)."""
        keys = [k for k in (found.group("lms_id") if "lms_id" in found.groupdict() else None,
                            found.group("name")) if k]
        if self.mapping is not None:
            student = next((self.mapping[k.lower()] for k in keys if k.lower() in self.mapping), None)
            if student is None:
                self.result.problems.append(f"{name}: no roster entry for {' / '.join(keys)} ({layout})")
                return None
        else:
            student = _student_id(found.group("name"))
        if (problem := identifier_problem(student)):
            self.result.problems.append(f"{name}: {explain(student, what='student id', problem=problem)} "
                                        "(skipped)")
            return None
        return student

    def _first_notebook(self, name: str, student: str, found: re.Match[str], data: bytes) -> bool:
        """False for an earlier attempt than the notebook already placed for ``student``."""
        when = found.groupdict().get("time") or ""
        if student in self.placed and self.placed[student][1] >= when:
            self.result.problems.append(
                f"{name}: a second notebook for {student} (kept {self.placed[student][0]})")
            return False
        self.placed[student] = (name, when)
        try:
            json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self.result.problems.append(f"{name}: imported for {student}, but it is not valid "
                                        "notebook JSON (it will be graded as invalid)")
        return True

    def _write(self, name: str, folder: Path, filename: str, data: bytes, found: re.Match[str]) -> None:
        """The file, and the LMS's submission time as ``timestamp.txt`` when it gives one."""
        folder.mkdir(parents=True, exist_ok=True)
        _place(folder / filename, data, self.course, self.backups, self.written, self.result)
        if filename == STUDENT_TIMESTAMP:
            self.result.set_aside.append((name, folder / filename))
        lms_time = _lms_time(found)
        if lms_time:
            _place(folder / "timestamp.txt", lms_time.encode(), self.course, self.backups, self.written,
                   self.result)


def _member_problem(member: zipfile.ZipInfo) -> str | None:
    """Why an archive entry is refused: a link or special file, or a name part like ``.``."""
    kind = stat.S_IFMT(member.external_attr >> 16)  # Unix file type, 0 when the zip has none
    if kind == stat.S_IFLNK:
        return "a symbolic link in the archive, not a file (refused; nothing is read through it)"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "a special file in the archive, not a regular file (refused)"
    for part in member.filename.split("/"):
        problem = component_problem(part)
        if problem:
            return f"unsafe path in the archive: {problem}"
    return None


#: what a student's own file called ``timestamp.txt`` is renamed to: only the LMS says when.
STUDENT_TIMESTAMP = "student-timestamp.txt"


def _not_a_timestamp(filename: str) -> str:
    """A student's ``timestamp.txt`` kept under another name, so it can never date the submission."""
    return STUDENT_TIMESTAMP if filename.strip().lower() == "timestamp.txt" else filename


def _lms_time(found: re.Match[str]) -> str | None:
    """The LMS's own submission time from the file name (Blackboard), as ``timestamp.txt`` text."""
    if not found.groupdict().get("time"):
        return None
    stamp = datetime.strptime(found.group("time"), "%Y-%m-%d-%H-%M-%S")
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def _identity(layout: str, found: re.Match[str]) -> Identity:
    """Who the LMS says submitted: its name and id for the student, to export grades back."""
    return Identity(layout, found.group("name"), found.groupdict().get("lms_id") or "")


def _place(target: Path, data: bytes, course: Course, backups: Path, written: set[Path],
           result: ImportResult) -> None:
    """Write ``target``; a different file already there (not from this import) is moved to ``backups``.

    A link or hard-linked file already at ``target`` is moved aside by name (the link itself,
    never what it points to), so writing cannot reach a file outside the submission.
    """
    if target not in written and os.path.lexists(target) and (
            not is_plain_file(target) or target.read_bytes() != data):
        backup = backups / target.relative_to(course.course_dir / "submitted")
        backup.parent.mkdir(parents=True, exist_ok=True)
        target.replace(backup)
        result.replaced.append((target, backup))
    handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    written.add(target)
