# Quick start: `make run` (the demo) and `make test` (the suite). Both build .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

## run: start the sandbox, workers and beat (Procfile) and enqueue a demo
run: $(STAMP)
	$(PY) -m mxit_tasks.devtools.with_redis -- $(PY) -m mxit_tasks.devtools.run_demo

## test: the whole suite against a real Redis (started here if none answers)
test: $(STAMP)
	$(PY) -m mxit_tasks.devtools.with_redis -- $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) -m mxit_tasks.devtools.with_redis -- $(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
