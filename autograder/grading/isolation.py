"""The sandbox a submission runs in: bubblewrap namespaces plus resource limits.

With bubblewrap (``apt-get install bubblewrap``) a grading worker sees a
minimal read-only system (``/usr``, ``/etc``, the Python installation,
``nnlab`` and the sandbox side of the grader, :mod:`autograder.sandbox`, only), an empty ``/tmp`` and
working folder of bounded size, its own inbox read-only, no network, and
its own process, IPC and host-name namespaces. The course repository,
``solutions/``, the gradebook and other students' folders do not exist in
it. When the grader runs as root, each submission additionally runs as an
unprivileged user id of its own, so the process cap applies.

Without bubblewrap the grader can still apply the resource limits, but
nothing hides files or the network: :func:`choose` says so, and the grader
prints that warning before grading (never silently).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: where things appear inside the sandbox.
INBOX = "/inbox"
WORKDIR = "/home/student"
TMP = "/tmp"
PRIVATE = "/var/lib/grader"  # the zygote's own caches (matplotlib, IPython)

#: size caps of the sandbox's writable folders.
WORKDIR_BYTES = 512 * 2**20
TMP_BYTES = 256 * 2**20

#: user ids submissions run as when the grader is root: one per worker, distinct across grader
#: processes (the process cap counts per user id, so concurrent graders must not share one).
UID_BASE = 200_000
UIDS_PER_GRADER = 64


def submission_uid(worker_index: int, grader_pid: int | None = None) -> int:
    """The user id worker ``worker_index`` of this grader process runs submissions as."""
    pid = os.getpid() if grader_pid is None else grader_pid
    return UID_BASE + (pid % 100_000) * UIDS_PER_GRADER + worker_index % UIDS_PER_GRADER


@dataclass(frozen=True)
class Isolation:
    """How workers will be isolated on this machine.

    Attributes:
        kind: ``"bwrap"`` or ``"none"``.
        warning: what is missing and how to fix it ("" when fully isolated).
        drop_privileges: submissions run as a separate user id (grader is root).
    """

    kind: str
    warning: str
    drop_privileges: bool


def bwrap_works() -> bool:
    """True when bubblewrap is installed and can create the namespaces we need."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    try:
        probe = subprocess.run(
            [bwrap, *_unshare(), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"],
            capture_output=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _unshare() -> list[str]:
    flags = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if os.getuid() != 0:
        flags.insert(0, "--unshare-user")
    return flags


def choose(requested: str = "auto") -> Isolation:
    """Decide the isolation for ``requested`` (``auto``, ``bwrap`` or ``none``).

    Raises:
        RuntimeError: when ``bwrap`` is required but does not work here.
    """
    root = os.getuid() == 0
    readable = all(_world_readable(Path(p)) for p in (sys.base_prefix, sys.prefix))
    no_uid = "" if root else (
        " The grader is not root, so submissions share your user id: the process cap counts "
        "your other processes too."
    )
    unprivileged = "" if not root or readable else (
        " Python is installed where other users cannot read it, so submissions run as root and "
        "the process cap does not apply.")
    if requested == "none":
        return Isolation("none", "sandbox disabled (sandbox = 'none'): submissions can read "
                           "your files and use the network; only resource limits apply."
                           + (no_uid or unprivileged), root and readable)
    if bwrap_works():
        return Isolation("bwrap", no_uid.strip(), root)
    message = ("bubblewrap is not available (install it: apt-get install bubblewrap), so "
               "submissions can read your files and use the network; only resource limits apply.")
    if requested == "bwrap":
        raise RuntimeError(message.replace("so submissions", "and sandbox = 'bwrap' requires it:"
                                           " submissions"))
    return Isolation("none", message + (no_uid or unprivileged), root and readable)


def _world_readable(path: Path) -> bool:
    """True when every folder up to ``path`` lets other users in (mode o+x)."""
    path = path.resolve()
    for folder in [path, *path.parents]:
        try:
            if not folder.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _package_paths() -> list[Path]:
    """What the zygote imports of this repository: ``nnlab``, and of ``autograder`` only its
    ``sandbox`` package (with the package's own ``__init__``); the grader's code stays outside."""
    import nnlab

    import autograder
    from autograder import sandbox

    return [Path(nnlab.__file__).resolve().parent, Path(autograder.__file__).resolve(),
            Path(sandbox.__file__).resolve().parent]


def _system_dirs() -> list[Path]:
    dirs = [Path(p) for p in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc")]
    dirs += [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()]
    # site-packages may live outside the prefix (a link to a shared environment, as the JupyterHub
    # deployment's accounts use): bind where it really is, unless a bound folder holds it already
    for site_dir in site.getsitepackages():
        real = Path(site_dir).resolve()
        if not any(real.is_relative_to(d) for d in dirs):
            dirs.append(real)
    return [d for d in dirs if d.exists()]


def _ancestors(paths: list[Path]) -> list[str]:
    """Folders to create (world-readable) so the bound paths are reachable as another user."""
    out: list[str] = []
    for path in paths:
        for parent in reversed(path.parents):
            text = str(parent)
            if text != "/" and text not in out:
                out.append(text)
    return out


def command(kind: str, inbox: Path, *, python: str = sys.executable) -> list[str]:
    """The command that starts a worker's zygote (see :mod:`autograder.sandbox.zygote`)."""
    zygote = [python, "-I", "-m", "autograder.sandbox.zygote"]
    if kind != "bwrap":
        return zygote
    system = _system_dirs()
    packages = _package_paths()
    args = ["bwrap", *_unshare(), "--die-with-parent", "--new-session", "--hostname", "grader",
            "--proc", "/proc", "--dev", "/dev",
            # the writable folders first: a Python installed under /tmp is bound over them below
            "--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", TMP,
            "--perms", "0755", "--size", str(WORKDIR_BYTES), "--tmpfs", WORKDIR,
            "--perms", "0700", "--tmpfs", PRIVATE]
    for folder in _ancestors([p for p in system + packages if p.parent != Path("/")]):
        args += ["--perms", "0755", "--dir", folder]
    for path in system + packages:
        args += ["--ro-bind", str(path), str(path)]
    args += ["--ro-bind", str(inbox), INBOX, "--chdir", WORKDIR]
    return args + ["--", *zygote]


def environment(kind: str, host_private: Path) -> dict[str, str]:
    """The zygote's environment: nothing inherited but what Python needs."""
    private = PRIVATE if kind == "bwrap" else str(host_private)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "NBGRADER_EXECUTION": "autograde",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": f"{private}/matplotlib",
        "IPYTHONDIR": f"{private}/ipython",
        "JUPYTER_PLATFORM_DIRS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "HOME": private,
    }
    if "NNLAB_REPO" in os.environ and kind != "bwrap":
        env["NNLAB_REPO"] = os.environ["NNLAB_REPO"]
    return env


def paths(kind: str, inbox: Path, host_work: Path, host_tmp: Path) -> dict[str, str]:
    """Inbox, working folder and /tmp as the zygote sees them."""
    if kind == "bwrap":
        return {"inbox": INBOX, "workdir": WORKDIR, "tmp": TMP}
    return {"inbox": str(inbox), "workdir": str(host_work), "tmp": str(host_tmp)}
