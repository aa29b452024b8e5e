"""Submission times: ``timestamp.txt`` read strictly, as nbgrader means it, and never trusted blindly.

nbgrader's exchange writes ``timestamp.txt`` beside a submission
(``Exchange.timestamp_format``, by default ``%Y-%m-%d %H:%M:%S.%f %Z``) and
``nbgrader autograde`` parses it with ``nbgrader.utils.parse_utc``, which hands
the text to dateutil: a third word is looked up as a time-zone *file*
(``2024-01-01 00:00:00 ../../etc/shadow``), a 5,000-character zone name raises
``OSError``, and 600 KB of digits take seconds. A student controls that file.

Here the text is bounded (:data:`MAX_CHARS`) and must match the shapes nbgrader
writes or accepts: a date, a time with optional fraction, and optionally an ISO
offset (``+08:00``, ``Z``), an integer number of seconds, or a zone name from the
system's IANA database (``UTC``, ``Asia/Shanghai``). Only then is it given to
nbgrader's own ``parse_utc``, so every accepted timestamp means exactly what it
means to nbgrader. Anything else is a :class:`Stamp` with no time and a reason:
the submission is graded as nbgrader grades one without ``timestamp.txt`` (no
late penalty), and the reason is recorded and reported.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

#: the longest timestamp accepted; nbgrader's own format needs at most 26 + 1 + a zone name.
MAX_CHARS = 64
#: the file nbgrader reads a submission's time from.
FILENAME = "timestamp.txt"

_DATE_TIME = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
_SHAPE = re.compile(
    rf"(?P<stamp>{_DATE_TIME})"
    r"(?:(?P<offset>Z|[+-]\d{2}:?\d{2})|"
    r" (?P<seconds>[+-]?\d{1,5})|"
    r" (?P<zone>[A-Za-z][A-Za-z0-9_+-]{0,29}(?:/[A-Za-z0-9_+-]{1,30}){0,2}))?"
)


class TimestampError(ValueError):
    """A timestamp that is not one nbgrader writes; the message says what is wrong."""


@dataclass(frozen=True)
class Stamp:
    """A submission's time as read from ``timestamp.txt``.

    Attributes:
        when: the time in UTC without tzinfo (as nbgrader stores it), or None.
        problem: why the file was not used ("" when it was, or when there is none).
        present: whether the submission had a ``timestamp.txt`` at all.
    """

    when: datetime | None
    problem: str = ""
    present: bool = False


@functools.cache
def _zones() -> frozenset[str]:
    """IANA zone names of this system (read once: listing them takes ~0.4 s)."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC", "GMT"}


def parse_timestamp(text: str) -> datetime:
    """The UTC time of a timestamp nbgrader would write, parsed by nbgrader itself.

    Args:
        text: the stripped contents of ``timestamp.txt``.

    Returns:
        A naive datetime in UTC, exactly what ``nbgrader.utils.parse_utc`` returns.

    Raises:
        TimestampError: the text is too long, not of nbgrader's shape, names an unknown zone,
            or is not a real date.
    """
    if len(text) > MAX_CHARS:
        raise TimestampError(f"{len(text)} characters; a timestamp has at most {MAX_CHARS}")
    found = _SHAPE.fullmatch(text)
    if found is None:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise TimestampError(f"{shown!r} is not of the form YYYY-MM-DD HH:MM:SS[.ffffff] [ZONE]")
    if found.group("zone") and found.group("zone") not in _zones():
        raise TimestampError(f"unknown time zone {found.group('zone')!r} (use UTC, an IANA name "
                             "such as Asia/Shanghai, or an offset such as +08:00)")
    if found.group("seconds") and abs(int(found.group("seconds"))) >= 86_400:
        raise TimestampError(f"offset of {found.group('seconds')} seconds is a day or more")
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except (ValueError, OverflowError) as error:
        raise TimestampError(f"{text!r} is not a real time ({error})") from None


def read_timestamp(folder: Path) -> Stamp:
    """The submission time in ``folder/timestamp.txt``; never raises for what the file contains.

    An empty file counts as none, as in nbgrader (``CourseDirectory.get_existing_timestamp``).
    """
    path = folder / FILENAME
    if path.is_symlink():
        return Stamp(None, f"{FILENAME} is a link (not followed); graded as if it had no time",
                     present=True)
    if not path.exists():
        return Stamp(None)
    if not path.is_file():
        return Stamp(None, f"{FILENAME} is not a regular file", present=True)
    try:
        with path.open("rb") as handle:
            raw = handle.read(4 * MAX_CHARS + 1)
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Stamp(None, f"{FILENAME} is not UTF-8 text; graded as if it had no time", present=True)
    except OSError as error:
        return Stamp(None, f"{FILENAME} could not be read ({error.strerror})", present=True)
    if not text:
        return Stamp(None, f"{FILENAME} is empty; graded as if it had no time", present=True)
    if len(raw) > 4 * MAX_CHARS:
        return Stamp(None, f"{FILENAME} ignored: more than {4 * MAX_CHARS} bytes; a timestamp has at "
                     f"most {MAX_CHARS} characters; graded as if it had no time", present=True)
    try:
        return Stamp(parse_timestamp(text), present=True)
    except TimestampError as error:
        return Stamp(None, f"{FILENAME} ignored: {error}; graded as if it had no time", present=True)


def format_timestamp(when: datetime) -> str:
    """``when`` (UTC) as nbgrader's exchange writes it (``%Y-%m-%d %H:%M:%S.%f %Z`` in UTC)."""
    return when.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"
