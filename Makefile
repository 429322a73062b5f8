# Two commands for a newcomer: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test bench lint clean

setup: $(STAMP)

# torch==2.13.* resolves to the CPU wheel on our machines; pip's own cache makes re-runs cheap.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.13.*"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/nstr fit astronaut --max-seconds 90

test: setup
	$(PY) -m pytest -q tests

# The standard suites, then BENCHMARKS.md from every result on disk. Run on an otherwise idle machine.
bench: setup
	$(VENV)/bin/nstr bench perf
	$(VENV)/bin/nstr bench table1
	$(VENV)/bin/nstr bench budget
	$(VENV)/bin/nstr bench ablation --workers 2
	$(VENV)/bin/nstr bench dinr --workers 2
	$(VENV)/bin/nstr bench audio --workers 2
	$(VENV)/bin/nstr bench sdf --workers 2
	$(VENV)/bin/nstr bench nerf --workers 2
	$(VENV)/bin/nstr bench report

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
