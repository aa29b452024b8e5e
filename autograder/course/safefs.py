"""Reading and removing course files without following links.

A submission is a folder someone else made. Its notebook, or the folder
itself, may be a symbolic link to the instructor's solutions, a hard link to
a file elsewhere on the same disk, or a FIFO that blocks whoever opens it;
graded as found, the grader would read the instructor's notebook and copy it
into ``autograded/`` and ``feedback/``. So the grader looks at every path
below the course folder with ``lstat`` (never through a link), reads files
through ``O_NOFOLLOW`` descriptors it has checked, and removes a folder only
when every component from the course folder down is a real directory.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder.course.layout import Course, CourseError

_KINDS = ((stat.S_ISREG, "a file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


class FileRefused(ValueError):
    """A file the grader will not read; the message says why and what to do."""


class FileTooLarge(FileRefused):
    """A plain file over the caller's size limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the file is {size} bytes, more than {limit}")
        self.size, self.limit = size, limit


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "an unknown kind of file")


def file_problem(info: os.stat_result, shown: str) -> str | None:
    """Why a file with this ``lstat`` may not be read (a link, special, or hard-linked file)."""
    if stat.S_ISLNK(info.st_mode):
        return f"{shown} is a symbolic link (links are not followed; submit the file itself)"
    if not stat.S_ISREG(info.st_mode):
        return f"{shown} is {_kind(info.st_mode)}, not a file"
    if info.st_nlink > 1:
        return (f"{shown} is a hard link ({info.st_nlink} names for one file, which may be "
                "anywhere on the disk); submit a copy of the file")
    return None


def is_plain_file(path: Path) -> bool:
    """A regular file, not a link, with one name (safe to read and copy)."""
    try:
        return file_problem(path.lstat(), str(path)) is None
    except OSError:
        return False


def _components(root: Path, path: Path) -> Iterator[Path]:
    """Every path from just below ``root`` down to ``path`` (``path`` must be lexically inside)."""
    relative = path.relative_to(root)  # ValueError when outside
    if ".." in relative.parts:
        raise ValueError(f"{path} climbs out of {root}")
    current = root
    for part in relative.parts:
        current = current / part
        yield current


def link_problem(root: Path, path: Path, *, expect: str, shown_from: Path | None = None) -> str | None:
    """Why ``path`` (below ``root``) cannot be used without following a link; ``None`` if it can.

    Every folder between ``root`` and ``path`` must be a real directory; ``path`` itself a real
    directory (``expect="dir"``) or a plain file (``expect="file"``, see :func:`file_problem`).
    A path that does not exist is no problem here (the caller reports it as missing). Paths in
    the message are relative to ``shown_from`` (default: ``root``'s parent).
    """
    try:
        parts = list(_components(root, path))
    except ValueError:
        return f"{path} is outside {root}"
    for index, current in enumerate(parts):
        shown = str(current.relative_to(shown_from or root.parent))
        try:
            info = current.lstat()
        except FileNotFoundError:
            return None
        except OSError as error:
            return f"{shown} cannot be examined ({error.strerror})"
        last = index == len(parts) - 1
        if last and expect == "file":
            return file_problem(info, shown)
        if stat.S_ISLNK(info.st_mode):
            return f"{shown} is a symbolic link (links are not followed; submit the folder itself)"
        if not stat.S_ISDIR(info.st_mode):
            return f"{shown} is {_kind(info.st_mode)}, not a folder"
    return None


@dataclass(frozen=True)
class FolderFiles:
    """What is below a folder, walked once with ``lstat`` (links never followed).

    Attributes:
        plain: regular files with one name, as relative paths in path order (safe to read).
        refused: links (to files or folders), special files and hard-linked files, sorted.
        folders: real sub-folders, as relative paths.
    """

    plain: list[str]
    refused: list[str]
    folders: list[str]


def folder_files(folder: Path) -> FolderFiles:
    """The one walk of a submission's files: what to copy, read or fingerprint, and what not."""
    plain, refused, folders = [], [], []
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(top, name)
            relative = str(path.relative_to(folder))
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                folders.append(relative)
            elif file_problem(info, name):
                refused.append(relative)
            else:
                plain.append(relative)
    return FolderFiles(sorted(plain, key=lambda name: Path(name).parts), sorted(refused),
                       sorted(folders))


def copy_plain_files(source: Path, target: Path, *, skip: str = "") -> list[str]:
    """Copy ``source``'s folders and plain files (except ``skip``) to ``target``; return the
    relative paths refused (links, special and hard-linked files), which are not copied."""
    target.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return []
    found = folder_files(source)
    for name in found.folders:
        (target / name).mkdir(parents=True, exist_ok=True)
    for name in found.plain:
        if name != skip:
            shutil.copyfile(source / name, target / name, follow_symlinks=False)
    return found.refused


def submission_problem(course: Course, student: str, assignment: str) -> str | None:
    """Why a submission folder must be refused (``invalid``) before anything is read from it.

    Refused: the student's folder, the assignment folder or the notebook being a link or a
    special file, and any hard-linked file in the folder (the sandbox would read through it).
    Links *beside* the notebook are not a reason: they are skipped when the folder is copied.
    """
    folder = course.submitted_dir(student, assignment)
    root = course.course_dir / "submitted"
    problem = (link_problem(root, folder, expect="dir")
               or link_problem(root, folder / f"{assignment}.ipynb", expect="file"))
    if problem is None and folder.is_dir():
        linked = [name for name in folder_files(folder).refused if _is_hard_link(folder / name)]
        if linked:
            problem = file_problem(
                (folder / linked[0]).lstat(), str((folder / linked[0]).relative_to(root.parent)))
    return problem


def _is_hard_link(path: Path) -> bool:
    info = path.lstat()
    return stat.S_ISREG(info.st_mode) and info.st_nlink > 1


def read_plain_file(path: Path, *, limit: int) -> bytes:
    """The bytes of ``path``, opened without following a link and checked before reading.

    ``O_NONBLOCK`` makes opening a FIFO return at once (it is then refused, never read).

    Raises:
        OSError: the file cannot be opened.
        FileRefused: it is a link, a special or a hard-linked file.
        FileTooLarge: it is larger than ``limit`` bytes.
    """
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        if path.is_symlink():
            raise FileRefused(file_problem(path.lstat(), path.name)) from None
        raise
    with os.fdopen(handle, "rb") as stream:
        info = os.fstat(stream.fileno())
        problem = file_problem(info, path.name)
        if problem:
            raise FileRefused(problem)
        if info.st_size > limit:
            raise FileTooLarge(info.st_size, limit)
        data = stream.read(limit + 1)
        if len(data) > limit:  # grew since fstat
            raise FileTooLarge(len(data), limit)
        return data


def remove_tree(path: Path, course: Course) -> None:
    """Delete ``path`` (a folder or file of the course folder), never anything outside it.

    Raises:
        CourseError: ``path`` is not inside the course folder, or a folder on the way to it is
            a link (removing through it would delete files elsewhere).
    """
    root = course.course_dir
    try:
        parts = list(_components(root, path))
    except ValueError:
        raise CourseError(f"refusing to remove {path}: it is not inside the course folder "
                          f"{root}") from None
    for current in parts[:-1]:
        if current.is_symlink() or current.exists() and not current.is_dir():
            raise CourseError(f"refusing to remove {path}: {current} is a link or not a folder; "
                              "move it out of the course folder and run again")
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)  # fd-based on Linux: never follows links inside the tree
