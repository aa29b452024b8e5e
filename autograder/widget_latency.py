"""Widget latency: how long an explorer takes to redraw after a slider moves, in a real browser.

``measure()`` starts JupyterLab on a temporary copy of the solution notebooks,
opens each one in headless Chromium, runs it, and moves the first enabled
slider of every explorer ``moves`` times. Each sample is the time, in the
browser's clock, from the key press to the moment the explorer's new figure
is loaded (``img.complete`` with a new ``src``): kernel round trip, drawing,
PNG encoding and decoding included.

    >>> from autograder.widget_latency import measure, format_table
    >>> print(format_table(measure(notebooks=["01_activations"], moves=5)))

The browser tests (``tests/e2e``) drive notebooks with the same helpers:
:func:`start_server`, :func:`open_notebook`, :func:`run_all`, :func:`move_slider`,
:func:`watch_output` / :func:`wait_for_change`.

Needs Chromium (``sudo apt-get install chromium``) and the ``playwright`` package,
both imported lazily. ``python -m autograder.widget_latency --help`` runs it directly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

#: the Chromium binary Debian installs (``playwright install`` cannot download browsers offline).
CHROMIUM = os.environ.get("NNLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")

#: app -> (python module that starts it, URL of a notebook under the server root). Lab's
#: ``reset`` drops the saved workspace, which would reopen (and start kernels for) every
#: notebook an earlier page opened.
APPS = {"lab": ("jupyterlab", "lab/tree/{path}?reset"), "notebook": ("notebook", "notebooks/{path}")}

#: variables that would change how the kernel draws: explorers must be live, figures inline.
_KERNEL_VARIABLES = ("MPLBACKEND", "NBGRADER_EXECUTION", "NNLAB_STATIC_WIDGETS")

#: per-user Jupyter folders, each replaced by a fresh one under the server's home.
_JUPYTER_DIRS = {
    "JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
    "IPYTHONDIR": "ipython", "MPLCONFIGDIR": "matplotlib",
    "JUPYTERLAB_SETTINGS_DIR": "settings", "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
}

#: user settings both apps read: no news or update pop-up.
_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


# --------------------------------------------------------------------------- the server

@dataclass
class JupyterServer:
    """A JupyterLab or Notebook 7 server this process started (and alone may stop).

    Attributes:
        app: ``"lab"`` or ``"notebook"``.
        root_dir: the folder the server shows (and its working directory).
        url: ``http://127.0.0.1:PORT``.
        token: the random token that authenticates the browser and API calls.
        process: the server process.
        log_path: where its output goes.
        course_dir: its ``NNLAB_COURSE_DIR`` (nbgrader's gradebook and submissions), or None.
    """

    app: str
    root_dir: Path
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log_path: Path
    course_dir: Path | None = None

    def page_url(self, path: str) -> str:
        """The URL that opens ``path`` (relative to the root) in this app, token included."""
        url = f"{self.url}/{APPS[self.app][1].format(path=path)}"
        return url + ("&" if "?" in url else "?") + f"token={self.token}"

    def api(self, method: str, path: str) -> Any:
        """Call the REST API (``/api/...``); returns the decoded JSON body or None."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel of this server (each holds torch: hundreds of MB)."""
        for kernel in self.api("GET", "/api/kernels") or []:
            try:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
            except urllib.error.HTTPError as error:  # already gone
                if error.code != 404:
                    raise

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """Shut down the kernels, then SIGTERM this server (SIGKILL after ``timeout`` s)."""
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
            except OSError:
                pass
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(home: Path, *, course_dir: Path | None = None) -> dict[str, str]:
    """The server's environment: fresh Jupyter folders under ``home``, this venv first on PATH.

    The kernel is this interpreter's ``python3`` (jupyter_client starts ``python`` as
    ``sys.executable``); lab extensions (widgets, nbgrader) come from ``sys.prefix/share/jupyter``,
    which Jupyter searches whatever ``JUPYTER_DATA_DIR`` says.
    """
    env = {k: v for k, v in os.environ.items() if k not in _KERNEL_VARIABLES}
    for variable, name in _JUPYTER_DIRS.items():
        folder = home / name
        folder.mkdir(parents=True, exist_ok=True)
        env[variable] = str(folder)
    for name, values in _SETTINGS.items():
        path = home / _JUPYTER_DIRS["JUPYTERLAB_SETTINGS_DIR"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    # nbgrader runs `alembic` when it creates a gradebook: it lives beside this Python.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    if course_dir is not None:
        env["NNLAB_COURSE_DIR"] = str(course_dir)
    return env


def start_server(app: str, root_dir: Path, *, home: Path, course_dir: Path | None = None,
                 timeout: float = 120.0) -> JupyterServer:
    """Start ``jupyter lab`` or ``jupyter notebook`` on a free port; return once it answers.

    Args:
        app: ``"lab"`` or ``"notebook"``.
        root_dir: the folder to serve; also the working directory, where nbgrader's
            Validate button looks for ``nbgrader_config.py``.
        home: a folder for the fresh Jupyter config/data/runtime/settings folders and the log.
        course_dir: ``NNLAB_COURSE_DIR`` for nbgrader (gradebook, submissions); None: unset.
        timeout: seconds to wait for ``/api/status``.

    Raises:
        ValueError: for an unknown ``app``.
        RuntimeError: when the server exits or does not answer in time (with its log).
    """
    if app not in APPS:
        raise ValueError(f"unknown app {app!r}; choose one of {', '.join(APPS)}")
    home.mkdir(parents=True, exist_ok=True)
    root_dir.mkdir(parents=True, exist_ok=True)
    env = isolated_env(home, course_dir=course_dir)
    token, port = secrets.token_hex(24), free_port()
    log_path = home / f"{app}-server.log"
    command = [sys.executable, "-m", APPS[app][0], "--no-browser", f"--port={port}",
               f"--ServerApp.token={token}", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.root_dir={root_dir}", "--ServerApp.port_retries=0", "--allow-root"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = JupyterServer(app, root_dir, f"http://127.0.0.1:{port}", token, process, log_path, course_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter {app} exited with {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "/api/status")
            return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"jupyter {app} did not answer within {timeout:.0f} s:\n{server.log_tail()}")


@contextlib.contextmanager
def running_server(app: str, root_dir: Path, *, home: Path,
                   course_dir: Path | None = None) -> Iterator[JupyterServer]:
    server = start_server(app, root_dir, home=home, course_dir=course_dir)
    try:
        yield server
    finally:
        server.stop()


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
                           timeout=timeout * 1000, polling="raf")
    return page.evaluate("() => window.__nnlabWatch.ms")


def _typed_value(state: dict[str, Any]) -> str:
    """A readout value for a slider: halfway to its max (to its min when already at the max)."""
    low, high, now = state["min"], state["max"], state["now"]
    target = (now + high) / 2 if now < high - 1e-9 else (low + now) / 2
    readout = float(state["readout"])
    is_log = not math.isclose(readout, now, rel_tol=0.02, abs_tol=0.02)
    if is_log:
        return f"{10 ** target:.3g}"
    if "." not in state["readout"]:  # an integer slider
        return str(int(now + 1) if now < high else int(now - 1))
    return f"{target:.4g}"


def move_slider(page: Any, slider: Any, *, how: str = "keys", back_to: dict[str, Any] | None = None) -> None:
    """Move a slider as a user would.

    Args:
        how: ``"keys"``: one notch with an arrow key on its handle; ``"page"``: five notches
            with PageUp/PageDown (both JupyterLab only: Notebook 7 takes these keys at document
            level); ``"type"``: type a value halfway to the max (to the min when already at
            the max) into its readout, then Enter (both apps).
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


# --------------------------------------------------------------------------- the benchmark

def copy_notebooks(repo: Path, root: Path, notebooks: Sequence[str], *, view: str = "solutions") -> list[str]:
    """Copy ``repo/view/NN/NN.ipynb`` to ``root/NN/NN.ipynb``; return the paths relative to root."""
    paths = []
    for name in notebooks:
        source = repo / view / name / f"{name}.ipynb"
        if not source.is_file():
            raise ValueError(f"no notebook {source}")
        (root / name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, root / name / f"{name}.ipynb")
        paths.append(f"{name}/{name}.ipynb")
    return paths


def measure(notebooks: Sequence[str] | None = None, *, moves: int = 7, repo: Path = REPO,
            run_timeout: float = 120.0, echo: Any = None, server: JupyterServer | None = None,
            browser: Any = None) -> dict[str, list[float]]:
    """Latency samples per explorer: ms from a slider key press to the redrawn figure.

    Args:
        notebooks: assignment ids (default: every ``solutions/NN/NN.ipynb``).
        moves: slider moves per explorer (each one notch of the first enabled slider,
            towards its max, back when it reaches it).
        repo: the course repository holding ``solutions/``.
        run_timeout: seconds allowed for each notebook's Run All.
        echo: called with a progress line per explorer (e.g. ``print``), or None.
        server: a running JupyterLab :class:`JupyterServer` to use (the notebooks are copied
            under its root); None: start one on a temporary folder and stop it afterwards.
        browser: a Playwright Chromium ``Browser`` to use; None: launch one.

    Returns:
        explorer name (its ``nnlab-explorer-<name>`` class) -> the samples in ms, in order.

    Raises:
        ValueError: an unknown notebook, or a ``server`` that is not JupyterLab.
        RuntimeError: no Chromium, a server that does not start, an explorer that never redraws.
    """
    notebooks = list(notebooks or sorted(p.name for p in (repo / "solutions").iterdir()
                                         if (p / f"{p.name}.ipynb").is_file()))
    if server is not None and server.app != "lab":
        raise ValueError(f"measure needs a JupyterLab server, got {server.app!r}")
    with contextlib.ExitStack() as stack:
        if server is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nnlab-latency-")))
            server = stack.enter_context(running_server("lab", tmp / "root", home=tmp / "home",
                                                        course_dir=tmp / "course"))
        folder = Path(tempfile.mkdtemp(prefix="latency-", dir=server.root_dir))
        paths = [str((folder / p).relative_to(server.root_dir))
                 for p in copy_notebooks(repo, folder, notebooks)]
        if browser is None:
            from playwright.sync_api import sync_playwright

            chromium = require_chromium()
            playwright = stack.enter_context(sync_playwright())
            browser = playwright.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
            stack.callback(browser.close)
        return _measure_notebooks(server, browser, paths, moves=moves, run_timeout=run_timeout, echo=echo)


def _measure_notebooks(server: JupyterServer, browser: Any, paths: Sequence[str], *, moves: int,
                       run_timeout: float, echo: Any) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    for path in paths:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            open_notebook(page, server, path)
            run_all(page, timeout=run_timeout)
            for explorer in page.locator(".nnlab-explorer").all():
                name = explorer_name(explorer)
                results[name] = _measure_explorer(page, explorer, moves=moves)
                if echo:
                    echo(f"{path}: {name}: median {statistics.median(results[name]):.0f} ms")
        finally:
            page.close()
            server.shutdown_kernels()
    return results


def _measure_explorer(page: Any, explorer: Any, *, moves: int) -> list[float]:
    sliders = [s for s in explorer.locator(".widget-slider").all() if not slider_state(s)["disabled"]]
    if not sliders:
        raise RuntimeError(f"explorer {explorer_name(explorer)} has no enabled slider")
    explorer.scroll_into_view_if_needed()
    settle(page)
    samples = []
    for _ in range(moves):
        watch_output(explorer)
        move_slider(page, sliders[0], how="keys")
        ms = wait_for_change(page)
        if ms is None:
            raise RuntimeError(f"explorer {explorer_name(explorer)}: redraw seen without an input event")
        samples.append(ms)
        settle(page)
    return samples


def format_table(results: dict[str, Sequence[float]], *, target_ms: float = 250.0) -> str:
    """A text table: explorer, samples, median, min, max, and whether the median meets the target."""
    header = f"{'explorer':<16} {'n':>3} {'median ms':>10} {'min':>7} {'max':>7}  target ≤ {target_ms:.0f} ms"
    lines = [header, "-" * len(header)]
    for name, samples in results.items():
        median = statistics.median(samples)
        verdict = "ok" if median <= target_ms else "slow"
        lines.append(f"{name:<16} {len(samples):>3} {median:>10.0f} {min(samples):>7.0f} "
                     f"{max(samples):>7.0f}  {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.widget_latency",
                                     description="Median time from a slider move to the redrawn explorer "
                                                 "figure, per explorer, in JupyterLab in headless Chromium.")
    parser.add_argument("notebooks", nargs="*", help="assignment ids (default: all)")
    parser.add_argument("--moves", type=int, default=7, help="slider moves per explorer (default 7)")
    args = parser.parse_args(argv)
    try:
        results = measure(args.notebooks or None, moves=args.moves,
                          echo=lambda line: print(line, file=sys.stderr))
    except (RuntimeError, ValueError) as error:
        print(f"widget latency: {error}", file=sys.stderr)
        return 1
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
