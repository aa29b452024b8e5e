# nnlab: every target creates .venv from the pinned requirements when it is missing.
# Quick start: `make demo` (grade a demo class) and `make test`.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.nnlab-installed

.PHONY: setup test test-quick test-e2e test-hub hub hub-down hub-setup demo lab release bench lint clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    $(VENV)/bin/nbstripout --install --python $(abspath $(PY)); \
	    git config filter.nbstripout.clean '"$(abspath $(PY))" -m nbstripout --keep-id'; \
	fi
	@touch $(STAMP)

# The multi-user hub's extra pins (jupyterhub, its proxy), on top of the project's environment.
HUB_STAMP := $(VENV)/.nnlab-hub-installed
HUB_STATE ?= /var/lib/nnlab-hub

hub-setup: $(HUB_STAMP)

$(HUB_STAMP): $(STAMP) deploy/jupyterhub/requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q -r deploy/jupyterhub/requirements.txt
	@touch $(HUB_STAMP)

# Everything CI runs except the browser tests (those are `make test-e2e`).
test: setup
	$(PY) -m pytest -n 2 --dist loadgroup

# Unit tests only: seconds.
test-quick: setup
	$(PY) -m pytest -m "not slow and not e2e and not hub"

# JupyterLab 4 and Notebook 7 in headless Chromium (needs /usr/bin/chromium).
test-e2e: setup
	$(PY) -m pytest -m e2e -p no:xdist

# JupyterHub with the demo class (deploy/jupyterhub/class.toml) as real Linux accounts, in the
# foreground: Ctrl-C stops it and every server it started. Needs root (it creates accounts).
# State lives in $(HUB_STATE); `make hub-down` removes the accounts and the state.
hub: hub-setup
	@test "$$(id -u)" -eq 0 || { echo "make hub creates Linux accounts: run it as root (sudo make hub)"; exit 1; }
	$(PY) deploy/jupyterhub/setup_class.py --state $(HUB_STATE) up
	cd $(HUB_STATE)/hub && NNLAB_HUB_STATE=$(HUB_STATE) $(abspath $(VENV))/bin/jupyterhub \
	    -f $(abspath deploy/jupyterhub/jupyterhub_config.py)

hub-down: hub-setup
	$(PY) deploy/jupyterhub/setup_class.py --state $(HUB_STATE) down

# The class on JupyterHub in headless Chromium, through the hub's login page (root: it creates
# and removes its own accounts, prefix nnt-, state in a temporary folder).
test-hub: hub-setup
	$(PY) -m pytest -m hub -p no:xdist

demo: setup
	$(PY) -m autograder demo

lab: setup
	$(VENV)/bin/jupyter lab assignments/

# Both student editions: assignments/ (English) and assignments-zh/ (Chinese, from i18n/zh/).
release: setup
	$(PY) -m autograder release

bench: setup
	$(PY) -m autograder bench

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
