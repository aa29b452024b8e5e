"""The hub test's fixtures: a real JupyterHub with the demo class as real Linux accounts.

The class is set up by ``deploy/jupyterhub/setup_class.py`` as `make hub` does, but with its own
account prefix (``nnt-``), a state folder of its own under /var/tmp and free ports, so it never
meets a `make hub` running on the same machine; teardown stops the hub and removes the accounts
and the state. Needs root (it creates accounts) and Debian's Chromium.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "jupyterhub"
ARTIFACTS = ROOT / "test-artifacts" / "hub"
PREFIX = "nnt-"
#: seconds for the hub to answer its login page (measured ~10 s on a loaded 2-core machine).
START_TIMEOUT = 120.0
#: seconds for the hub to stop its servers (measured ~70 s with two services and a user server
#: on a loaded 2-core machine); the teardown's `setup_class.py down` ends what is left.
STOP_TIMEOUT = 10.0

sys.path.insert(0, str(DEPLOY))
from plan import ClassPlan, load_plan  # noqa: E402


@dataclass
class Hub:
    """A running hub: its address, class plan and the accounts' passwords."""

    url: str
    plan: ClassPlan
    passwords: dict[str, str]
    started_in: float

    def setup(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``setup_class.py`` with this hub's prefix, state and port."""
        return _setup(self.plan, *args)


def _free_port_block(size: int = 16) -> int:
    """A port p with p .. p+size-1 all free on loopback (hub, proxy API, services)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size > 65000:
            continue
        try:
            for port in range(base, base + size):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no block of free ports on 127.0.0.1")


def _setup(plan: ClassPlan, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DEPLOY / "setup_class.py"), "--prefix", plan.prefix,
                           "--state", str(plan.state), "--port", str(plan.port), *args],
                          capture_output=True, text=True, timeout=600)


def _wait_for_login_page(url: str, hub: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            pytest.fail(f"the hub exited with {hub.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/hub/login", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the hub did not answer {url}/hub/login in {START_TIMEOUT:.0f} s:\n"
                f"{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen, proxy_pid: Path) -> None:
    """Stop the hub as Ctrl-C does (it stops its servers and proxy); kill it if that hangs."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        if proxy_pid.is_file():  # the proxy the killed hub could not stop
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(proxy_pid.read_text().strip()), signal.SIGTERM)


def _open_to_other_users(*paths: Path) -> list[tuple[Path, int]]:
    """Give o+rx to the folders above ``paths`` that lack it, for the test's duration.

    The accounts import the project from this checkout (as `make hub` documents: install it
    somewhere shared); a clone under a private folder such as ``/root`` would stop the set-up.
    Returns the folders changed with their old modes, to restore.
    """
    changed: list[tuple[Path, int]] = []
    for path in paths:
        for folder in (path, *path.parents):
            mode = folder.stat().st_mode & 0o7777
            if mode & 0o005 != 0o005 and all(f != folder for f, _ in changed):
                changed.append((folder, mode))
                folder.chmod(mode | 0o005)
    return changed


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    """The demo class on a running hub; everything it made is removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the hub test creates Linux accounts: run `make test-hub` as root (CI does)")
    state = Path(tempfile.mkdtemp(prefix="nnlab-hub-test-", dir="/var/tmp"))
    state.chmod(0o755)
    plan = load_plan(DEPLOY / "class.toml", prefix=PREFIX, state=state, port=_free_port_block())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "hub.log"
    process = None
    opened = _open_to_other_users(ROOT / "lib" / "nnlab", Path(sysconfig.get_paths()["purelib"]))
    try:
        made = _setup(plan, "up")
        assert made.returncode == 0, f"setup_class.py up failed:\n{made.stdout}\n{made.stderr}"
        start = time.monotonic()
        with open(log, "w", encoding="utf-8") as out:
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py")],
                cwd=state / "hub", env={**os.environ, "NNLAB_HUB_STATE": str(state)},
                stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{plan.port}"
        _wait_for_login_page(url, process, log)
        started_in = time.monotonic() - start
        passwords = dict(line.split(",", 1) for line in
                         (state / "passwords.txt").read_text(encoding="utf-8").splitlines())
        yield Hub(url, plan, passwords, round(started_in, 2))
    finally:
        if process is not None:
            _stop(process, state / "hub" / "proxy.pid")
        removed = _setup(plan, "down")
        for folder, mode in opened:
            folder.chmod(mode)
        assert removed.returncode == 0, removed.stderr
