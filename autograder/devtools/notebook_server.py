"""Start and stop a JupyterLab or Notebook 7 server for the browser tests and the latency benchmark.

The server runs this interpreter's Jupyter on a free port of 127.0.0.1 with a random
token and fresh per-user folders (config, data, runtime, settings), so nothing of the
user's own Jupyter setup leaks in; :func:`start_server` returns once it answers.

Example::

    with running_server("lab", root, home=tmp / "home") as server:
        page.goto(server.page_url("01_activations/01_activations.ipynb"))
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.environment import path_with_this_python

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
    env["PATH"] = path_with_this_python(env.get("PATH"))
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
