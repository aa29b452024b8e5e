"""The Chinese edition (assignments-zh/) of every notebook in JupyterLab 4: Run All, explorers,
the Chinese progress summary, no missing glyphs in figures, and nbgrader's Validate button.

Lab only, student view only: the English runs (test_notebooks.py) already cover Notebook 7 and
the full view with the same code; what differs here is the text, the fonts and the language.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from autograder.devtools.browser import open_notebook, run_all
from tests.e2e.conftest import ARTIFACTS, ROOT
from tests.e2e.notebook_page import (
    KNOWN_PAGE_ERRORS,
    cell_errors,
    exercise_explorer,
    explorers,
    full_screenshot,
    rendered_images,
    run_remaining,
    save_and_read,
    widget_fallbacks,
)
from tests.e2e.test_notebooks import RUN_ALL_TIMEOUT, expected_explorers
from tests.notebooks import notebook_ids

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

VIEW = "assignments-zh"
#: the Chinese summary headline, "已通过 N / M 项检查".
_HEADLINE_ZH = re.compile(r"已通过 (\d+) / (\d+) 项检查")
#: what matplotlib prints when a figure's text has a character its fonts lack.
_GLYPH_TROUBLE = ("missing from font", "Glyph", "findfont", "no Chinese font found")
#: seconds for nbgrader's validate (it executes the whole notebook on the server).
VALIDATE_TIMEOUT = 180.0


def _streams(notebook: dict) -> str:
    return "".join(str(o.get("text", "")) for c in notebook["cells"] if c["cell_type"] == "code"
                   for o in c.get("outputs", []))


@pytest.mark.parametrize("name", notebook_ids())
def test_chinese_edition_runs_in_lab(name: str, page, page_errors, server_for, fresh_notebook,
                                     timings) -> None:
    server = server_for("lab")
    path = fresh_notebook(server, VIEW, name)
    open_notebook(page, server, path)
    start = time.monotonic()
    run_all(page, timeout=RUN_ALL_TIMEOUT)
    run_remaining(page, timeout=RUN_ALL_TIMEOUT)
    timings["run_all_with_restarts"] = round(time.monotonic() - start, 2)

    notebook = save_and_read(page, server.root_dir / path)
    unexpected = [e for e in cell_errors(notebook)
                  if e[1] != "NotImplementedError" and "尚未实现" not in e[2]]
    assert not unexpected, f"{name}: cells raised something other than 'not implemented' (尚未实现): " \
                           f"{unexpected}"
    trouble = [t for t in _GLYPH_TROUBLE if t in _streams(notebook)]
    assert not trouble, f"{name}: figure text lacks a font ({trouble}): install fonts-noto-cjk"

    images = rendered_images(page)
    assert images["loaded"] == images["total"] > 0, f"{name}: figures did not load ({images})"
    assert not widget_fallbacks(page), f"{name}: widgets shown as text: {widget_fallbacks(page)}"
    found = explorers(page)
    assert len(found) == expected_explorers(VIEW, name), f"{name}: explorers: {sorted(found)}"
    labels = page.locator(".nnlab-explorer .widget-label").all_inner_texts()
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in labels if label.strip()), labels

    headline = page.locator(".nnlab-summary b").first.text_content() or ""
    match = _HEADLINE_ZH.search(headline)
    assert match and int(match.group(1)) == 0 < int(match.group(2)), f"{name}: summary {headline!r}"
    title = page.locator(".jp-RenderedMarkdown h1").first.text_content() or ""
    assert re.search(r"[\u4e00-\u9fff]", title), f"{name}: title {title!r} is not Chinese"

    problems = {explorer: exercise_explorer(page, element, how="page") for explorer, element in found.items()}
    assert not any(problems.values()), f"{name}: explorers that did not redraw: {problems}"
    full_screenshot(page, ARTIFACTS / f"lab-{VIEW}-{name}.png")
    unknown = [e for e in page_errors if not any(k in e for k in KNOWN_PAGE_ERRORS)]
    assert not unknown, f"{name}: page errors: {unknown}"


def test_validate_button_on_the_chinese_edition(page, page_errors, server_for, fresh_notebook,
                                                timings) -> None:
    """Validate on the blank Chinese release lists every test cell with the Chinese message."""
    name = "00_cnn_shapes"
    server = server_for("lab")
    open_notebook(page, server, fresh_notebook(server, VIEW, name))
    start = time.monotonic()
    page.locator(".validate-button").first.click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=VALIDATE_TIMEOUT * 1000)
    timings["validate"] = round(time.monotonic() - start, 2)
    page.screenshot(path=str(ARTIFACTS / f"validate-lab-{VIEW}.png"))
    text = message.inner_text()
    assert "validation-failed" in (message.get_attribute("class") or ""), text[:2000]
    cells = json.loads((ROOT / VIEW / name / f"{name}.ipynb").read_text("utf-8"))["cells"]
    tests = sum(c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("grade", False)
                for c in cells)
    assert text.count("尚未实现") >= tests, text[:2000]
