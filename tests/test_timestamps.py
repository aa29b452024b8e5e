"""Reading ``timestamp.txt`` strictly: nbgrader's meaning for what nbgrader writes, a reason otherwise."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import dateutil.tz
import pytest
from nbgrader.utils import parse_utc

from autograder.course.timestamps import MAX_CHARS, TimestampError, parse_timestamp, read_timestamp

#: shapes nbgrader writes (Exchange.timestamp_format "%Y-%m-%d %H:%M:%S.%f %Z") or accepts.
VALID = [
    "2026-03-01 23:59:00.123456 UTC",
    "2026-03-01 23:59:00 UTC",
    "2026-03-01 23:59:00",
    "2026-03-01 23:59:00 Asia/Shanghai",
    "2026-03-01 23:59:00 America/Argentina/Buenos_Aires",
    "2026-03-01 23:59:00 3600",  # nbgrader reads an integer as seconds east of UTC
    "2026-03-01T23:59:00+08:00",
    "2026-03-01 23:59:00Z",
    "2026-03-01 23:59:00 GMT",
]


@pytest.mark.parametrize("text", VALID)
def test_what_nbgrader_writes_means_what_it_means_to_nbgrader(text: str) -> None:
    assert parse_timestamp(text) == parse_utc(text)


def test_a_zone_is_converted_to_utc() -> None:
    assert parse_timestamp("2026-03-02 07:59:00 Asia/Shanghai") == datetime(2026, 3, 1, 23, 59)


@pytest.mark.parametrize("text, reason", [
    ("2024-01-01 00:00:00 ../../../../etc/shadow", "not of the form"),
    ("2024-01-01 00:00:00 /etc/passwd", "not of the form"),
    ("2024-01-01 00:00:00 " + "A" * 5000, f"at most {MAX_CHARS}"),
    ("9" * 600_000, f"at most {MAX_CHARS}"),
    ("tomorrow", "not of the form"),
    ("2024-01-01", "not of the form"),
    ("2024-01-01 00:00:00 Mars/Olympus_Mons", "unknown time zone"),
    ("2024-01-01 00:00:00 CST", "unknown time zone"),  # dateutil would silently read it as UTC
    ("2024-01-01 00:00:00 99999", "a day or more"),
    ("2024-13-01 00:00:00", "not a real time"),
    ("2024-02-30 00:00:00 UTC", "not a real time"),
])
def test_anything_else_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(TimestampError, match=reason):
        parse_timestamp(text)


def test_a_refused_zone_is_never_looked_up(monkeypatch) -> None:
    """dateutil.tz.gettz opens files named by the zone: it must not see a student's path."""
    seen: list[str] = []
    monkeypatch.setattr(dateutil.tz, "gettz", lambda name=None: seen.append(name))
    with pytest.raises(TimestampError):
        parse_timestamp("2024-01-01 00:00:00 ../../../../etc/shadow")
    assert seen == []


def test_huge_files_cost_nothing(tmp_path: Path) -> None:
    (tmp_path / "timestamp.txt").write_text("9" * 600_000)
    started = time.perf_counter()
    stamp = read_timestamp(tmp_path)
    elapsed = time.perf_counter() - started
    assert stamp.when is None and "at most" in stamp.problem
    # nbgrader's parse of the same text took 17 s; reading 257 bytes and one regex takes < 1 ms
    # (the bound leaves room for a loaded machine)
    assert elapsed < 0.5


@pytest.mark.parametrize("contents, expected", [
    (None, (None, "", False)),
    (b"", (None, "empty", True)),
    (b"  \n", (None, "empty", True)),
    (b"\xff\xfe 2024", (None, "not UTF-8", True)),
    (b"2026-03-01 23:59:00 UTC\n", (datetime(2026, 3, 1, 23, 59), "", True)),
    (b"garbage", (None, "graded as if it had no time", True)),
])
def test_reading_the_file_never_raises(tmp_path: Path, contents: bytes | None, expected: tuple) -> None:
    if contents is not None:
        (tmp_path / "timestamp.txt").write_bytes(contents)
    stamp = read_timestamp(tmp_path)
    when, words, present = expected
    assert stamp.when == when and stamp.present == present
    assert words in stamp.problem if words else stamp.problem == ""


def test_a_linked_timestamp_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("2026-03-01 23:59:00 UTC")
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "timestamp.txt").symlink_to(target)
    stamp = read_timestamp(folder)
    assert stamp.when is None and "link" in stamp.problem
