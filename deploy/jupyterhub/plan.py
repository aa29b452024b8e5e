"""The hub's class plan: courses, accounts and where things live, read from ``class.toml``.

One place turns the roster into names and paths, so the set-up script, the hub's
configuration and the tests agree on every account, group, folder and port.
"""

from __future__ import annotations

import json
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: the project (solutions/, assignments/, nbgrader_config.py, lib/nnlab).
REPO = Path(__file__).resolve().parents[2]
#: the project's environment: its Python runs the hub (as root) and its proxy.
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Course:
    """One course on the hub.

    Attributes:
        id: nbgrader's ``course_id``; also the hub service and group names.
        title: shown in the assignment list.
        instructors / students: account names without the prefix.
        assignments: released through the exchange by the set-up.
        service_port: loopback port of the course's formgrader service (the hub's port
            + 10 + the course's position, so one port setting moves the whole hub).
    """

    id: str
    title: str
    instructors: tuple[str, ...]
    students: tuple[str, ...]
    assignments: tuple[str, ...]
    service_port: int


@dataclass(frozen=True)
class ClassPlan:
    """Every course of the hub, with the naming rules for accounts and folders."""

    prefix: str
    state: Path
    port: int
    hub_ip: str
    courses: tuple[Course, ...]

    @property
    def exchange(self) -> Path:
        return self.state / "exchange"

    @property
    def bin(self) -> Path:
        """The accounts' programs: ``python``, ``nbgrader``, ``jupyter``, ``jupyterhub-singleuser``."""
        return self.state / "python" / "bin"

    def course(self, course_id: str) -> Course:
        for course in self.courses:
            if course.id == course_id:
                return course
        known = ", ".join(c.id for c in self.courses)
        raise SystemExit(f"unknown course {course_id!r}; the class has: {known}")

    def user(self, name: str) -> str:
        """The Linux account (and hub user) of a roster name."""
        return self.prefix + name

    def grader(self, course: Course) -> str:
        return f"{self.prefix}grader-{course.id}"

    def group(self, course: Course) -> str:
        """The Linux group that may enter the course's exchange folder."""
        return self.prefix + course.id

    def course_root(self, course: Course) -> Path:
        return self.state / "home" / self.grader(course) / course.id

    def accounts(self) -> dict[str, list[str]]:
        """Every Linux account -> its course groups."""
        accounts: dict[str, list[str]] = {}
        for course in self.courses:
            members = [*course.instructors, *course.students]
            for account in [*map(self.user, members), self.grader(course)]:
                accounts.setdefault(account, []).append(self.group(course))
        return accounts

    def grader_environment(self, course: Course) -> dict[str, str]:
        """What the grader account's processes need: the course's settings for nbgrader_config.py."""
        return {"PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
                "JUPYTER_CONFIG_PATH": str(self.state / "etc" / "jupyter"),
                "NNLAB_COURSE_ID": course.id,
                "NNLAB_REPO": str(self.course_root(course)),
                "NNLAB_COURSE_DIR": str(self.course_root(course)),
                "NNLAB_EXCHANGE": str(self.exchange)}

    def to_json(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "state": str(self.state), "port": self.port, "hub_ip": self.hub_ip,
                "courses": [{**vars(c), "instructors": list(c.instructors), "students": list(c.students),
                             "assignments": list(c.assignments)} for c in self.courses]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClassPlan:
        courses = tuple(Course(id=c["id"], title=c.get("title", c["id"]),
                               instructors=tuple(c.get("instructors", ())),
                               students=tuple(c.get("students", ())),
                               assignments=tuple(c.get("assignments", ())),
                               service_port=int(data["port"]) + 10 + index)
                        for index, c in enumerate(data["course"]))
        if not courses:
            raise SystemExit("the class has no [[course]]")
        return cls(prefix=data["prefix"], state=Path(data["state"]), port=int(data["port"]),
                   hub_ip=data.get("hub_ip", "127.0.0.1"), courses=courses)


def load_plan(path: Path, *, prefix: str | None = None, state: Path | None = None,
              port: int | None = None) -> ClassPlan:
    """Read ``class.toml`` (or a ``class.json`` written by the set-up), with overrides."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    if "courses" in data:  # class.json
        data["course"] = data.pop("courses")
    for key, value in (("prefix", prefix), ("state", state), ("port", port)):
        if value is not None:
            data[key] = str(value) if key == "state" else value
    missing = [key for key in ("prefix", "state", "port", "course") if key not in data]
    if missing:
        raise SystemExit(f"{path}: missing {', '.join(missing)}")
    return ClassPlan.from_json(data)
