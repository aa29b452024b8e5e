# nnlab: every target creates .venv from the pinned requirements when it is missing.
# Quick start: `make demo` (grade a demo class) and `make test`.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.nnlab-installed

.PHONY: setup test test-quick test-e2e demo lab release bench lint clean

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

# Everything CI runs except the browser tests (those are `make test-e2e`).
test: setup
	$(PY) -m pytest -n 2 --dist loadgroup

# Unit tests only: seconds.
test-quick: setup
	$(PY) -m pytest -m "not slow"

# JupyterLab 4 and Notebook 7 in headless Chromium (needs /usr/bin/chromium).
test-e2e: setup
	$(PY) -m pytest -m e2e -p no:xdist

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
