"""JupyterHub configuration of the nnlab class: PAM logins for real Linux accounts, one user
server per account, and per course the formgrader as a hub service under its grader account.

It reads the plan ``setup_class.py up`` wrote (``$NNLAB_HUB_STATE/class.json``, default
``/var/lib/nnlab-hub``), so the accounts, groups and ports here are the ones that exist.
Follows nbgrader's documented multi-course set-up (groups ``formgrade-<course>`` for
instructors and graders, ``nbgrader-<course>`` for students, a service named after the course).
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan import BIN, ClassPlan  # noqa: E402

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

STATE = Path(os.environ.get("NNLAB_HUB_STATE", "/var/lib/nnlab-hub"))
if not (STATE / "class.json").is_file():
    raise SystemExit(f"no class in {STATE}: run `sudo make hub` (or setup_class.py up) first")
plan = ClassPlan.from_json({**(data := json.loads((STATE / "class.json").read_text("utf-8"))),
                            "course": data["courses"]})

# --------------------------------------------------------------------------- the hub and proxy
c.JupyterHub.ip = plan.hub_ip
c.JupyterHub.port = plan.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = plan.port + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{plan.port + 2}"
# The pure-Python proxy gives up on a request after tornado's default 20 s and answers 503;
# nbgrader's Validate runs the whole notebook inside one request (01_activations: ~30 s on a
# loaded 2-core machine), so allow 10 minutes.
c.ConfigurableHTTPProxy.command = [str(BIN / "configurable-http-proxy"), "--proxy-timeout=600000"]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "hub" / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'hub' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "hub" / "cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user server it started

# --------------------------------------------------------------------------- who may log in
# PAM checks the Linux password of the account (set by setup_class.py); a real deployment
# plugs in its campus login instead (docs/deploy.md).
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # no systemd-logind session per server
graders = {plan.grader(course) for course in plan.courses}
c.Authenticator.allowed_users = {user for user in plan.accounts() if user not in graders}

# --------------------------------------------------------------------------- user servers
# Each account's server runs as that account (LocalProcessSpawner), so nbgrader records every
# submission under the student's own id. Everything comes from the project's environment.
hub_env = {"PATH": f"{plan.bin}:/usr/local/bin:/usr/bin:/bin",
           "JUPYTER_CONFIG_PATH": str(STATE / "etc" / "jupyter")}
c.Spawner.cmd = [str(plan.bin / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = hub_env
c.Spawner.http_timeout = 120  # a first start on a loaded machine imports a lot
c.Spawner.start_timeout = 120

# --------------------------------------------------------------------------- courses
groups: dict[str, list[str]] = {}
roles: list[dict] = [
    # a user server may do what its owner may (the assignment list asks the hub for the
    # owner's groups to know their courses)
    {"name": "server", "scopes": ["inherit"]},
]
services: list[dict] = []
for course in plan.courses:
    grader = plan.grader(course)
    groups[f"formgrade-{course.id}"] = [*map(plan.user, course.instructors), grader]
    groups[f"nbgrader-{course.id}"] = list(map(plan.user, course.students))
    roles += [
        {"name": f"formgrade-{course.id}", "groups": [f"formgrade-{course.id}"],
         "scopes": [f"access:services!service={course.id}", "list:services",
                    f"read:services!service={course.id}"]},
        {"name": f"nbgrader-{course.id}", "groups": [f"nbgrader-{course.id}"],
         "scopes": ["list:services", f"read:services!service={course.id}"]},
        # the formgrader reads who is in which course (nbgrader's JupyterHubAuthPlugin)
        {"name": f"grader-{course.id}", "services": [course.id],
         "scopes": ["list:users", "read:users", "list:groups", "read:groups"]},
    ]
    services.append({
        "name": course.id,
        "url": f"http://127.0.0.1:{course.service_port}",
        "user": grader,
        "cwd": str(plan.course_root(course)),
        "command": [str(plan.bin / "jupyterhub-singleuser"),
                    # JupyterHub >= 4.1 forbids framing (nbgrader #1870): the formgrader panel
                    # of JupyterLab is an iframe of this same origin, so allow 'self' only.
                    "--ServerApp.tornado_settings="
                    + json.dumps({"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}})],
        "environment": {**plan.grader_environment(course), "JUPYTERHUB_DEFAULT_URL": "/lab"},
        "oauth_no_confirm": True,
    })
c.JupyterHub.load_groups = groups
c.JupyterHub.load_roles = roles
c.JupyterHub.services = services
