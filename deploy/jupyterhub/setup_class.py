"""Set up (or remove) the hub's demo class as real Linux accounts: ``setup_class.py up|down|as-grader``.

nbgrader takes a student's id from the operating-system user, so every student, instructor
and grader is a Linux account of their own (``<prefix><name>``, the prefix keeps them apart
from the machine's users). Run as root::

    python deploy/jupyterhub/setup_class.py up          # users, groups, courses, exchange, release
    python deploy/jupyterhub/setup_class.py as-grader nnlab-demo -- nbgrader collect 01_activations
    python deploy/jupyterhub/setup_class.py down        # remove exactly what `up` made

``up`` is idempotent: run twice, it changes nothing the second time (passwords are kept).
The layout under the state folder (``class.toml``: ``state``)::

    hub/                  the hub's database and cookie secret (root only)
    etc/jupyter/          nbgrader's global config for every hub process (JUPYTER_CONFIG_PATH)
    exchange/<course>/    nbgrader's exchange, one folder per course (see docs/deploy.md)
    home/<user>/          the accounts' homes (0700); a grader's holds the course folder
    class.json            the resolved plan jupyterhub_config.py reads
    passwords.txt         login,password per account (0600)
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan import REPO, ClassPlan, Course, load_plan  # noqa: E402

#: exchange modes: the root is world-writable as nbgrader requires, sticky like /tmp so nobody
#: can remove or rename another course's folder; each course folder belongs to its grader and
#: is closed to everyone outside the course's group.
EXCHANGE_ROOT_MODE = 0o1777
COURSE_MODE = 0o2750      # grader rwx, course group r-x (list released assignments), others none
OUTBOUND_MODE = 0o2750
INBOUND_MODE = 0o3730     # students may only write (no listing); sticky: no removing others' work
FEEDBACK_MODE = 0o2710    # feedback files are found by their hash, never listed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--class", dest="class_file", type=Path,
                        default=Path(__file__).with_name("class.toml"))
    parser.add_argument("--prefix", help="Linux account prefix (overrides class.toml)")
    parser.add_argument("--state", type=Path, help="state folder (overrides class.toml)")
    parser.add_argument("--port", type=int, help="the hub's port (overrides class.toml)")
    sub = parser.add_subparsers(dest="verb", required=True)
    sub.add_parser("up", help="create accounts, courses and exchange; release the assignments")
    sub.add_parser("down", help="remove the accounts and the state folder")
    grader = sub.add_parser("as-grader", help="run a command as a course's grader account")
    grader.add_argument("course")
    grader.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("setup_class.py creates Linux accounts and must run as root (sudo make hub).", file=sys.stderr)
        return 1
    plan = load_plan(args.class_file, prefix=args.prefix, state=args.state, port=args.port)
    if args.verb == "up":
        up(plan)
        print(f"class ready: {len(plan.accounts())} accounts, state in {plan.state}, "
              f"passwords in {plan.state / 'passwords.txt'}")
    elif args.verb == "down":
        down(plan)
        print(f"removed {len(plan.accounts())} accounts and {plan.state}")
    else:
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return as_grader(plan, plan.course(args.course), command).returncode
    return 0


# --------------------------------------------------------------------------- up

def up(plan: ClassPlan) -> None:
    """Create everything the class needs; leave what already exists as it is."""
    _require_readable_environment()
    for folder, mode in ((plan.state, 0o755), (plan.state / "home", 0o755), (plan.state / "hub", 0o700),
                         (plan.state / "etc" / "jupyter", 0o755)):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(mode)
    _ensure_shared_python(plan)
    for course in plan.courses:
        _ensure_group(plan.group(course))
    passwords = _ensure_accounts(plan)
    _write_private(plan.state / "passwords.txt", "".join(f"{u},{p}\n" for u, p in sorted(passwords.items())))
    _write_global_config(plan)
    _ensure_exchange(plan)
    for course in plan.courses:
        _ensure_course_folder(plan, course)
        _release(plan, course)
    (plan.state / "class.json").write_text(json.dumps(plan.to_json(), indent=2) + "\n", encoding="utf-8")


#: commands of the accounts' environment: name -> the module it runs.
PROGRAMS = {"nbgrader": "nbgrader", "jupyter": "jupyter", "alembic": "alembic",
            "jupyterhub-singleuser": "jupyterhub.singleuser"}


def _ensure_shared_python(plan: ClassPlan) -> None:
    """``<state>/python``: the project's Python and packages, runnable by every account.

    The accounts need the very interpreter the project's .venv was built on (the pinned wheels,
    and the same patch release: Debian's 3.11.2 mis-parses soupsieve's possessive quantifiers,
    which breaks nbconvert's HTML export, i.e. feedback). When that interpreter sits where other
    users cannot read it (pyenv under /root), a copy goes to ``<state>/python-base`` with its
    library path pointed at itself (patchelf). ``<state>/python`` is a venv of it whose
    site-packages, etc/ and share/ are links to the project's.
    """
    base = Path(sys.base_prefix).resolve()
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if not _world_readable(base):
        base = _copy_interpreter(base, plan.state / "python-base", version)
    home = plan.state / "python"
    site = home / "lib" / version / "site-packages"
    if not (plan.bin / "python").exists():
        subprocess.run([str(base / "bin" / version), "-m", "venv", "--without-pip", str(home)], check=True)
    if not site.is_symlink():
        shutil.rmtree(site)
        site.symlink_to(Path(sysconfig.get_paths()["purelib"]))
    # Jupyter finds server extensions in <prefix>/etc/jupyter and JupyterLab's extensions in
    # <prefix>/share/jupyter: the project's, too
    for folder in ("etc", "share"):
        if not (home / folder).is_symlink():
            shutil.rmtree(home / folder, ignore_errors=True)
            (home / folder).symlink_to(Path(sys.prefix) / folder)
    for name, module in PROGRAMS.items():
        script = plan.bin / name
        script.write_text(f'#!/bin/sh\nexec "{plan.bin / "python"}" -m {module} "$@"\n', encoding="utf-8")
        script.chmod(0o755)


def _copy_interpreter(base: Path, target: Path, version: str) -> Path:
    """Copy the interpreter at ``base`` (without its site-packages and test suite) to ``target``."""
    if (target / "bin" / version).is_file():
        return target
    if shutil.which("patchelf") is None and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "patchelf"], check=False, capture_output=True)
    if shutil.which("patchelf") is None:
        raise SystemExit(f"the project's Python ({base}) is not readable by other users and patchelf is "
                         "missing to copy it for them: apt-get install patchelf")
    shutil.copytree(base, target, symlinks=True, ignore=lambda folder, names: [
        n for n in names if Path(folder, n) in (base / "lib" / version / "site-packages",
                                                 base / "lib" / version / "test")])
    (target / "lib" / version / "site-packages").mkdir()
    subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/../lib", str(target / "bin" / version)], check=True)
    for path in (target, *target.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o055 if path.is_dir() else 0o044))
    return target


def _world_readable(path: Path) -> bool:
    return all(folder.stat().st_mode & 0o005 == 0o005 for folder in (path, *path.parents))


def _require_readable_environment() -> None:
    """Every account imports the project's packages and nnlab: both must be readable by all."""
    for path in (Path(sysconfig.get_paths()["purelib"]), REPO / "lib" / "nnlab"):
        probe = path
        while probe != probe.parent:
            if not probe.stat().st_mode & 0o005:
                raise SystemExit(f"{probe} is not readable by other users, so the hub's accounts cannot "
                                 f"run {path}. Give it o+rx (chmod o+rx {probe}) or install the project "
                                 "somewhere shared, e.g. under /opt.")
            probe = probe.parent


def _ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", name], check=True)


def _ensure_accounts(plan: ClassPlan) -> dict[str, str]:
    """Create each account (home 0700) with its course groups; return login -> password."""
    known = _read_passwords(plan.state / "passwords.txt")
    passwords: dict[str, str] = {}
    for user, groups in plan.accounts().items():
        home = plan.state / "home" / user
        try:
            pwd.getpwnam(user)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                            "--groups", ",".join(groups), user], check=True)
        else:
            subprocess.run(["usermod", "--append", "--groups", ",".join(groups), user], check=True)
        home.chmod(0o700)
        passwords[user] = known.get(user) or secrets.token_urlsafe(12)
        if user not in known:
            subprocess.run(["chpasswd"], input=f"{user}:{passwords[user]}\n", text=True, check=True)
    return passwords


def _read_passwords(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return dict(line.split(",", 1) for line in path.read_text(encoding="utf-8").splitlines() if "," in line)


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")


def _write_global_config(plan: ClassPlan) -> None:
    """nbgrader's config for every process the hub starts (students, instructors, graders)."""
    (plan.state / "etc" / "jupyter" / "nbgrader_config.py").write_text(
        '"""nbgrader on the nnlab hub (written by deploy/jupyterhub/setup_class.py)."""\n'
        "from nbgrader.auth import JupyterHubAuthPlugin\n\n"
        "c = get_config()  # noqa: F821\n"
        f"c.Exchange.root = {str(plan.exchange)!r}\n"
        "# one exchange, several courses: <root>/<course>/{outbound,inbound,feedback}\n"
        "c.Exchange.path_includes_course = True\n"
        "# a user's courses are their hub groups nbgrader-<course> and formgrade-<course>\n"
        "c.Authenticator.plugin_class = JupyterHubAuthPlugin\n", encoding="utf-8")


def _ensure_exchange(plan: ClassPlan) -> None:
    plan.exchange.mkdir(parents=True, exist_ok=True)
    plan.exchange.chmod(EXCHANGE_ROOT_MODE)
    for course in plan.courses:
        grader = pwd.getpwnam(plan.grader(course))
        gid = grp.getgrnam(plan.group(course)).gr_gid
        folder = plan.exchange / course.id
        for path, mode in ((folder, COURSE_MODE), (folder / "outbound", OUTBOUND_MODE),
                           (folder / "inbound", INBOUND_MODE), (folder / "feedback", FEEDBACK_MODE)):
            path.mkdir(exist_ok=True)
            os.chown(path, grader.pw_uid, gid)
            path.chmod(mode)


def _ensure_course_folder(plan: ClassPlan, course: Course) -> None:
    """The grader's course folder: a copy of the course (config, solutions, release), 0700."""
    root = plan.course_root(course)
    grader = pwd.getpwnam(plan.grader(course))
    if not (root / "nbgrader_config.py").is_file():
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        for folder in ("solutions", "assignments"):
            shutil.copytree(REPO / folder, root / folder, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in (root, *root.rglob("*")):
        os.chown(path, grader.pw_uid, grader.pw_gid)
    root.chmod(0o700)


def _release(plan: ClassPlan, course: Course) -> None:
    """Put the course's assignments in its gradebook and release them through the exchange."""
    for assignment in course.assignments:
        if (plan.exchange / course.id / "outbound" / assignment).is_dir():
            continue
        for command in (["nbgrader", "db", "assignment", "add", assignment],
                        ["nbgrader", "release_assignment", assignment]):
            result = as_grader(plan, course, command, capture=True)
            if result.returncode != 0:
                raise SystemExit(f"{' '.join(command)} as {plan.grader(course)} failed:\n"
                                 f"{result.stdout}{result.stderr}")


# --------------------------------------------------------------------------- as-grader, down

def as_grader(plan: ClassPlan, course: Course, command: list[str], *,
              capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as the course's grader account, in its course folder, with its settings."""
    user = pwd.getpwnam(plan.grader(course))
    env = {"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name, "LANG": "C.UTF-8",
           **plan.grader_environment(course)}
    binary = shutil.which(command[0], path=env["PATH"]) or command[0]
    return subprocess.run([binary, *command[1:]], cwd=plan.course_root(course), env=env, text=True,
                          user=user.pw_uid, group=user.pw_gid,
                          extra_groups=os.getgrouplist(user.pw_name, user.pw_gid),
                          capture_output=capture, check=False)


def down(plan: ClassPlan) -> None:
    """Remove the class's accounts, groups and state folder (nothing else)."""
    for user in plan.accounts():
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        # this account's processes only; userdel refuses while one is left
        for _ in range(40):
            if subprocess.run(["pkill", "-KILL", "-u", user], check=False).returncode == 1:
                break  # none matched
            time.sleep(0.25)
        removed = subprocess.run(["userdel", "--remove", user], check=False, capture_output=True, text=True)
        if removed.returncode not in (0, 12):  # 12: could not remove the home (removed below)
            print(f"userdel {user}: {removed.stderr.strip()}", file=sys.stderr)
    for course in plan.courses:
        try:
            grp.getgrnam(plan.group(course))
        except KeyError:
            continue
        subprocess.run(["groupdel", plan.group(course)], check=False)
    shutil.rmtree(plan.state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
