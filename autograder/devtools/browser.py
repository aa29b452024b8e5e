"""Drive a notebook in headless Chromium as a user would: open it, Run All, move sliders.

The helpers take Playwright objects (``page``, locators) and a running
:class:`~autograder.devtools.notebook_server.JupyterServer`: :func:`open_notebook`, :func:`run_all`,
:func:`move_slider`, :func:`watch_output` / :func:`wait_for_change`. The benchmark
(:mod:`autograder.devtools.widget_latency`) and the browser tests (``tests/e2e``) share them.

Needs Chromium (``sudo apt-get install chromium``), which the caller launches with Playwright
(:func:`require_chromium`, :data:`CHROMIUM_ARGS`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from autograder.devtools.notebook_server import JupyterServer

#: the Chromium binary Debian installs (``playwright install`` cannot download browsers offline).
CHROMIUM = os.environ.get("NNLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")


def require_chromium() -> str:
    """The Chromium binary, or RuntimeError saying how to install it."""
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: `sudo apt-get install chromium` "
                           "(or point NNLAB_CHROMIUM at a Chromium binary)")
    return CHROMIUM


# --------------------------------------------------------------------------- driving a notebook

_KERNEL_READY = """() => {
    const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
    const kernel = document.querySelector('.jp-KernelName');
    return status !== null && status.dataset.status === 'idle'
        && kernel !== null && kernel.textContent.trim() !== '' && !/No Kernel/.test(kernel.textContent);
}"""

_PROMPTS = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim())"""


def open_notebook(page: Any, server: JupyterServer, path: str, *, timeout: float = 90.0) -> None:
    """Open ``path`` and wait until its kernel is really ready.

    The execution indicator says idle before a kernel exists (a Run All sent then is
    silently dropped), so readiness also needs a kernel name other than "No Kernel".
    """
    page.goto(server.page_url(path), timeout=timeout * 1000)
    page.locator(".jp-NotebookPanel").first.wait_for(timeout=timeout * 1000)
    wait_for_kernel(page, timeout=timeout)


def wait_for_kernel(page: Any, *, timeout: float = 60.0) -> None:
    page.wait_for_function(_KERNEL_READY, timeout=timeout * 1000)


def prompts(page: Any) -> list[str]:
    """The input prompt of every code cell: ``"[3]:"``, ``"[*]:"`` or ``"[ ]:"``."""
    return page.evaluate(_PROMPTS)


def menu_command(page: Any, menu: str, command: str) -> None:
    """Click a main-menu entry by its command id (e.g. ``"Run"``, ``"runmenu:run-all"``)."""
    page.locator(f'.lm-MenuBar-item:has-text("{menu}")').first.click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').first.click()


def wait_until_idle(page: Any, *, timeout: float) -> list[str]:
    """Wait until no cell is queued or running and the kernel is idle; return the prompts."""
    page.wait_for_function(
        "() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        " const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];"
        " return s && s.dataset.status === 'idle' && !p.some(e => e.textContent.includes('*')); }",
        timeout=timeout * 1000, polling=250)
    return prompts(page)


def run_all(page: Any, *, timeout: float = 60.0) -> list[str]:
    """Run > Run All Cells, then wait until execution stops; return the prompts.

    Execution stops early when a cell raises (Jupyter skips the queued cells,
    which keep a ``[ ]:`` prompt) unless the cell is tagged ``raises-exception``.
    """
    before = prompts(page)
    menu_command(page, "Run", "runmenu:run-all")
    # the prompts turn to [*] as the cells are queued; wait for that before waiting for idle
    page.wait_for_function(
        "(before) => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
        ".map(e => e.textContent.trim()); return p.some(t => t.includes('*'))"
        " || p.join() !== before.join(); }",
        arg=before, timeout=timeout * 1000, polling=100)
    return wait_until_idle(page, timeout=timeout)


# --------------------------------------------------------------------------- explorers

_WATCH = """(root) => {
    const out = root.querySelector('.widget-output');
    const signature = () => [...out.querySelectorAll('img')].map(i => i.src).join('\\n');
    const state = {before: signature(), t0: null, ms: null, changed: false};
    const mark = (event) => { state.t0 = event.timeStamp; };
    const events = ['keydown', 'pointerup', 'change'];
    const check = () => {
        if (state.changed) return;
        const images = [...out.querySelectorAll('img')];
        const now = images.map(i => i.src).join('\\n');
        if (now === '' || now === state.before) return;
        if (state.t0 === null) { state.before = now; return; }  // an earlier change, not ours
        if (images.every(i => i.complete && i.naturalWidth > 0)) {
            state.changed = true;
            state.ms = state.t0 === null ? null : performance.now() - state.t0;
            observer.disconnect();
            events.forEach(type => document.removeEventListener(type, mark, true));
        } else {
            images.forEach(i => i.addEventListener('load', check, {once: true}));
        }
    };
    const observer = new MutationObserver(check);
    observer.observe(out, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    events.forEach(type => document.addEventListener(type, mark, true));
    window.__nnlabWatch = state;
    return state.before.length;
}"""

_SLIDER_STATE = """(slider) => {
    const handle = slider.querySelector('.noUi-handle');
    const target = slider.querySelector('.noUi-target');
    const readout = slider.querySelector('.widget-readout');
    return {
        disabled: target === null || target.hasAttribute('disabled'),
        min: parseFloat(handle.getAttribute('aria-valuemin')),
        max: parseFloat(handle.getAttribute('aria-valuemax')),
        now: parseFloat(handle.getAttribute('aria-valuenow')),
        readout: readout ? readout.textContent.trim() : '',
        label: (slider.querySelector('.widget-label') || {textContent: ''}).textContent.trim(),
    };
}"""


def explorer_name(explorer: Any) -> str:
    """``"conv"`` for an element with the CSS class ``nnlab-explorer-conv``."""
    classes = explorer.get_attribute("class").split()
    names = [c.removeprefix("nnlab-explorer-") for c in classes if c.startswith("nnlab-explorer-")]
    return names[0] if names else "?"


def slider_state(slider: Any) -> dict[str, Any]:
    """``disabled``, ``min``/``max``/``now`` (exponents for log sliders), ``readout``, ``label``."""
    return slider.evaluate(_SLIDER_STATE)


def watch_output(explorer: Any) -> None:
    """Start watching the explorer's output for a new, loaded figure (see :func:`wait_for_change`)."""
    explorer.evaluate(_WATCH)


def wait_for_change(page: Any, *, timeout: float = 30.0) -> float | None:
    """Wait for the watched output to show a new loaded figure; return ms since the last input event."""
    page.wait_for_function("() => window.__nnlabWatch && window.__nnlabWatch.changed",
                           timeout=timeout * 1000, polling=50)
    return page.evaluate("() => window.__nnlabWatch.ms")


def _typed_value(state: dict[str, Any]) -> str:
    """A readout value for a slider: halfway to the end farther from its value (for a log slider
    in powers of ten), so a few notches away (never the one notch an arrow key moves)."""
    low, high, now = state["min"], state["max"], state["now"]
    far = high if high - now >= now - low else low
    target = (now + far) / 2
    readout = float(state["readout"])
    is_log = not math.isclose(readout, now, rel_tol=0.02, abs_tol=0.02)
    if is_log:
        return f"{10 ** target:.3g}"
    if "." not in state["readout"]:  # an integer slider
        return str(int(round(target)) if round(target) != round(now) else int(far))
    return f"{target:.4g}"


def move_slider(page: Any, slider: Any, *, how: str = "keys", back_to: dict[str, Any] | None = None) -> None:
    """Move a slider as a user would.

    Args:
        how: ``"keys"``: one notch with an arrow key on its handle; ``"page"``: five notches
            with PageUp/PageDown (both JupyterLab only: Notebook 7 takes these keys at document
            level); ``"type"``: type a value halfway to the end farther from the slider's value
            into its readout, then Enter (both apps).
        back_to: a :func:`slider_state` taken before a move: go back to that value by typing
            its readout (keys could not: a move clamped at the max does not reverse).

    Raises:
        ValueError: for an unknown ``how``.
    """
    if how not in ("keys", "page", "type"):
        raise ValueError(f"unknown how={how!r}; use 'keys', 'page' or 'type'")
    state = slider_state(slider)
    if how == "type" or back_to is not None:
        slider.locator(".widget-readout").click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type(_typed_value(state) if back_to is None else back_to["readout"])
        page.keyboard.press("Enter")
    else:
        up = state["now"] < state["max"] - 1e-9
        keys = {"keys": ("ArrowRight", "ArrowLeft"), "page": ("PageUp", "PageDown")}[how]
        slider.locator(".noUi-handle").focus()
        page.keyboard.press(keys[0] if up else keys[1])


def settle(page: Any, *, timeout: float = 30.0) -> None:
    """Wait until the kernel is idle again (a redraw may trigger another one)."""
    page.wait_for_function(
        "() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        " return s && s.dataset.status === 'idle'; }", timeout=timeout * 1000, polling=100)
    page.wait_for_timeout(150)
