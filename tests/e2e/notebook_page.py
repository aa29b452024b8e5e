"""What the browser tests look at in an open notebook: errors, figures, widgets, the summary.

The generic driving (open, Run All, sliders) lives in :mod:`autograder.devtools.browser` and the server in
:mod:`autograder.devtools.notebook_server`, which the latency benchmark shares; this module adds what only
tests need.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from autograder.devtools.browser import (
    explorer_name,
    menu_command,
    move_slider,
    prompts,
    settle,
    slider_state,
    wait_for_change,
    wait_until_idle,
    watch_output,
)

#: what a widget looks like when its view failed to render (the text/plain fallback).
WIDGET_FALLBACKS = ("Loading widget", "FloatSlider(", "IntSlider(", "FloatLogSlider(", "Dropdown(",
                    "VBox(children", "HBox(children", "Output(")

#: the page error Notebook 7.6 logs on every load (harmless, see docs/recipes); nothing else is allowed.
KNOWN_PAGE_ERRORS = ("Cannot read properties of undefined (reading 'schema')",)

class RunAllStopped(AssertionError):
    """Run All stopped at a cell that raised, so later cells (the progress summary) never ran."""


_EXECUTED = re.compile(r"\[\d+\]:")
_HEADLINE = re.compile(r"(\d+) of (\d+) checks pass")


def is_executed(prompt: str) -> bool:
    return bool(_EXECUTED.fullmatch(prompt))


def run_remaining(page: Any, *, timeout: float) -> list[int]:
    """After a Run All that stopped at an error, run each remaining cell and all below it.

    Returns:
        The code-cell positions (0-based) of the cells after which execution had stopped.
    """
    stops: list[int] = []
    while True:
        pending = [i for i, prompt in enumerate(prompts(page)) if not is_executed(prompt)]
        if not pending:
            return stops
        first = pending[0]
        if stops and first <= stops[-1]:
            raise AssertionError(f"code cell {first} does not run (Run Selected Cell and All Below "
                                 f"left it at {prompts(page)[first]!r})")
        stops.append(first - 1)
        page.locator(".jp-CodeCell").nth(first).locator(".jp-InputArea-prompt").click()
        # "Run Selected Cell and All Below" is disabled on the notebook's last cell
        page.locator('.lm-MenuBar-item:has-text("Run")').first.click()
        below = page.locator('.lm-Menu-item[data-command="notebook:run-all-below"]').first
        enabled = below.get_attribute("aria-disabled") != "true"
        (below if enabled else page.locator('.lm-Menu-item[data-command="notebook:run-cell"]').first).click()
        page.wait_for_function(
            "(i) => /\\[[\\d*]+\\]:/.test(document.querySelectorAll("
            "'.jp-CodeCell .jp-InputArea-prompt')[i].textContent)", arg=first, timeout=30_000)
        wait_until_idle(page, timeout=timeout)


def save_and_read(page: Any, path: Path, *, timeout: float = 30.0) -> dict[str, Any]:
    """Save the open notebook (File > Save) and return the saved JSON once it has every
    execution count the page shows."""
    shown = [int(p[1:-2]) for p in prompts(page) if is_executed(p)]
    menu_command(page, "File", "docmanager:save")
    deadline = time.monotonic() + timeout
    while True:
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
            saved = [c.get("execution_count") for c in notebook["cells"] if c["cell_type"] == "code"]
            if saved == shown:
                return notebook
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} was not saved with the page's execution counts")
        time.sleep(0.25)


def cell_errors(notebook: dict[str, Any]) -> list[tuple[int, str, str]]:
    """``(code-cell position, ename, first line of evalue)`` of every error output."""
    errors = []
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    for position, cell in enumerate(code_cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append((position, output.get("ename", ""), output.get("evalue", "")))
    return errors


def is_expected_student_error(ename: str, evalue: str) -> bool:
    """A release's only allowed failures: an exercise not written yet, or its check saying so."""
    return ename == "NotImplementedError" or "not implemented yet" in evalue


def saved_images(notebook: dict[str, Any]) -> int:
    """Figures in the notebook's own outputs (not inside widgets): ``image/png`` outputs."""
    return sum("image/png" in output.get("data", {})
               for cell in notebook["cells"] if cell["cell_type"] == "code"
               for output in cell.get("outputs", []))


def rendered_images(page: Any) -> dict[str, int]:
    """Counts of figures: ``total``, ``loaded`` (complete, naturalWidth > 0), ``in_widgets``
    (inside an ipywidgets Output). A figure is a ``.jp-RenderedImage img`` (a cell's own output)
    or an ``img.widget-image`` in an Output (an explorer's figure, an ipywidgets Image)."""
    return page.evaluate("""() => {
        const images = [...document.querySelectorAll('.jp-NotebookPanel .jp-RenderedImage img, '
                                                     + '.jp-NotebookPanel .widget-output img.widget-image')];
        return {
            total: images.length,
            loaded: images.filter(i => i.complete && i.naturalWidth > 0).length,
            in_widgets: images.filter(i => i.closest('.widget-output') !== null).length,
        };
    }""")


def widget_fallbacks(page: Any) -> list[str]:
    """The fallback texts of widgets that did not render, found in any cell output."""
    text = page.evaluate("() => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]"
                         ".map(o => o.textContent).join('\\n')")
    return [marker for marker in WIDGET_FALLBACKS if marker in text]


def summary_counts(page: Any) -> tuple[int, int]:
    """``(passed, total)`` from the ``.nnlab-summary`` headline "N of M checks pass"."""
    summaries = page.locator(".nnlab-summary")
    assert summaries.count() == 1, f"expected one .nnlab-summary, found {summaries.count()}"
    headline = summaries.first.locator("b").first.text_content() or ""
    match = _HEADLINE.search(headline)
    assert match, f"summary headline {headline!r} does not read 'N of M checks pass'"
    return int(match.group(1)), int(match.group(2))


def exercise_explorer(page: Any, explorer: Any, *, how: str, timeout: float = 30.0) -> list[str]:
    """Move every enabled slider one step and back, then pick another option in every
    drop-down; each change must redraw the figure. Sliders disabled at first (an activation
    without a parameter) are tried again once the drop-downs have changed.

    Returns:
        Problems, e.g. ``"slider 'stride · 步长': no new figure within 30 s"`` (empty: all redrew).
    """
    problems: list[str] = []
    explorer.scroll_into_view_if_needed()

    def expect_redraw(what: str, action: Any) -> None:
        settle(page, timeout=timeout)
        watch_output(explorer)
        action()
        try:
            wait_for_change(page, timeout=timeout)
        except Exception:  # playwright's TimeoutError: report it and go on with the others
            problems.append(f"{what}: no new figure within {timeout:.0f} s (the value changed to "
                            f"{_readouts(explorer)}; a draw error in the kernel leaves the old figure)")

    def move_enabled_sliders(done: set[int], *, wait_enabled: float) -> None:
        settle(page, timeout=timeout)
        for index, slider in enumerate(explorer.locator(".widget-slider").all()):
            if index in done or not _enabled(page, slider, within=wait_enabled):
                continue
            done.add(index)
            before = slider_state(slider)
            label = before["label"]
            expect_redraw(f"slider {label!r}", lambda s=slider: move_slider(page, s, how=how))
            # back to where it was, so each slider is tried from the notebook's defaults
            expect_redraw(f"slider {label!r} (back)",
                          lambda s=slider, b=before: move_slider(page, s, how=how, back_to=b))

    moved: set[int] = set()
    move_enabled_sliders(moved, wait_enabled=0)
    for menu in explorer.locator(".widget-dropdown select").all():
        options = menu.evaluate("(s) => [...s.options].map(o => o.label)")
        current = menu.evaluate("(s) => s.options[s.selectedIndex].label")
        choice = next(o for o in reversed(options) if o != current)
        label = menu.evaluate("(s) => s.closest('.widget-dropdown').querySelector('.widget-label')"
                              ".textContent.trim()")
        expect_redraw(f"drop-down {label!r} → {choice!r}", lambda m=menu, c=choice: m.select_option(label=c))
    total = explorer.locator(".widget-slider").count()
    if len(moved) < total:
        move_enabled_sliders(moved, wait_enabled=10.0)
    settle(page, timeout=timeout)
    if len(moved) < total:
        problems.append(f"{total - len(moved)} of {total} sliders stayed disabled")
    return problems


def _readouts(explorer: Any) -> str:
    return ", ".join(f"{s['label']}={s['readout']}"
                     for s in map(slider_state, explorer.locator(".widget-slider").all()))


def _enabled(page: Any, slider: Any, *, within: float) -> bool:
    """Whether the slider is enabled, waiting up to ``within`` seconds for it to become so."""
    deadline = time.monotonic() + within
    while slider_state(slider)["disabled"]:
        if time.monotonic() >= deadline:
            return False
        page.wait_for_timeout(200)
    return True


def explorers(page: Any) -> dict[str, Any]:
    """Explorer name -> its ``.nnlab-explorer`` element."""
    return {explorer_name(e): e for e in page.locator(".nnlab-explorer").all()}


def full_screenshot(page: Any, path: Path, *, max_height: int = 40_000) -> None:
    """A screenshot of the whole notebook: the window is made as tall as the notebook
    (JupyterLab scrolls inside its own panel, so a plain full-page shot shows one screen).
    Off-screen cells have estimated heights until they render, so this grows until stable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    measure = """() => {
        const panel = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')
            || document.querySelector('.jp-NotebookPanel .jp-Notebook');
        if (!panel) return window.innerHeight;
        panel.scrollTop = 0;
        const cells = panel.querySelectorAll('.jp-Cell');
        const last = cells.length ? cells[cells.length - 1].getBoundingClientRect().bottom : 0;
        // the last cell's bottom, plus the window around the panel (not Lab's scroll-past-end space)
        return last + (window.innerHeight - panel.getBoundingClientRect().bottom);
    }"""
    try:
        height = viewport["height"]
        for _ in range(5):
            wanted = min(int(page.evaluate(measure)) + 40, max_height)
            if abs(wanted - height) < 40:
                break
            height = wanted
            page.set_viewport_size({"width": viewport["width"], "height": height})
            page.wait_for_timeout(400)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)
