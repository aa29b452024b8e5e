"""What grading one submission produced: its status, reason, scores and graded notebook.

Plain data, sent between processes (a Dask worker returns it as :meth:`Outcome.to_plain`)
and recorded in the gradebook (:mod:`autograder.course.gradebook`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """The result of grading one submission."""

    student: str
    assignment: str
    status: str
    reason: str
    digest: str
    notebook: dict[str, Any] | None = None
    scores: dict[str, float] = field(default_factory=dict)  # test cell grade id -> points earned
    max_auto: float = 0.0
    max_manual: float = 0.0
    seconds: float = 0.0  # wall time of the whole submission (rebuild, run, judge)
    cell_seconds: float = 0.0  # time inside the notebook's own cells, test cells (probes) included: the floor

    @property
    def auto_score(self) -> float:
        return sum(self.scores.values())

    def to_plain(self) -> dict[str, Any]:
        """A plain-data copy (for sending between processes)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> Outcome:
        return cls(**data)
