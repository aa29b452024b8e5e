"""The class insight report of the demo class, opened from disk in headless Chromium.

The page must render offline: its images are embedded, its text readable, nothing is fetched.
A full-page screenshot goes to ``test-artifacts/e2e/report-01_activations.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.e2e.conftest import ARTIFACTS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_the_demo_class_report_renders_offline(page, tmp_path: Path) -> None:
    course_dir = tmp_path / "course"
    run_cli("demo", "--assignment", "01_activations", "--course-dir", str(course_dir), "--no-progress",
            timeout=1800)
    run_cli("report", "--course-dir", str(course_dir))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((course_dir / "reports" / "01_activations.html").as_uri())
    page.wait_for_function("() => document.images.length >= 2 && "
                           "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    headings = page.locator("h2").all_inner_texts()
    assert headings[:2] == ["Score distribution", "Statuses"], headings
    assert "What the class misunderstood: commonest failure causes" in headings
    statuses = page.locator("table").nth(0).inner_text()
    for status in ("ok", "timeout", "integrity"):  # the demo's looping and cheating students
        assert status in statuses
    assert page.locator("table").nth(2).locator("tr").count() >= 2  # at least one cause ranked
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-01_activations.png"), full_page=True)
    page.goto((course_dir / "reports" / "index.html").as_uri())
    assert page.locator('a[href="01_activations.html"]').count() == 1
