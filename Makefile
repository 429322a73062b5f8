# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs and no more:
# `make setup` (and so `make demo`) the runtime only, `make test` and `make lint` also the test tools (.[dev]).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev
# torch==2.13.* resolves to the CPU wheel on our machines. Elsewhere choose the build with the wheel index, e.g.
# `make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu` (CPU only) or .../whl/cu128 (CUDA 12.8).
TORCH_INDEX ?=

.PHONY: setup setup-dev demo test bench lint clean

setup: $(RUNTIME_STAMP)

setup-dev: $(DEV_STAMP)

# pip's own cache makes re-runs cheap.
$(RUNTIME_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.13.*" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e .
	touch $@

# Test tools (pytest, pytest-xdist for its two workers, ruff, siren-pytorch for the SIREN comparison, ray for the
# Ray executor's tests, tensorboard for --log tensorboard's).
$(DEV_STAMP): $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

demo: setup
	$(VENV)/bin/nstr fit astronaut --max-seconds 90

# -n 2: pytest-xdist's two workers, one per core (each test file stays in one worker, so a module's fixtures are
# built once); the developer loop is `.venv/bin/pytest -m "not slow" -n 2 tests`.
test: setup-dev
	$(PY) -m pytest -q -n 2 --dist loadfile tests

# The standard suites, then BENCHMARKS.md from every result on disk. Run on an otherwise idle machine
# (bench perf compares against siren-pytorch, a dev package).
bench: setup-dev
	$(VENV)/bin/nstr bench perf
	$(VENV)/bin/nstr bench table1
	$(VENV)/bin/nstr bench budget
	$(VENV)/bin/nstr bench ablation --workers 2
	$(VENV)/bin/nstr bench ablation-steps --workers 2
	$(VENV)/bin/nstr bench paper-model --workers 2
	$(VENV)/bin/nstr bench directions
	$(VENV)/bin/nstr bench dinr
	$(VENV)/bin/nstr bench dinr-steps
	$(VENV)/bin/nstr bench audio --workers 2
	$(VENV)/bin/nstr bench audio-steps --workers 2
	$(VENV)/bin/nstr bench sdf --workers 2
	$(VENV)/bin/nstr bench sdf-steps --workers 2
	$(VENV)/bin/nstr bench nerf --workers 2
	$(VENV)/bin/nstr bench nerf-steps --workers 2
	$(VENV)/bin/nstr bench compactness
	$(VENV)/bin/nstr bench kodak
	$(VENV)/bin/nstr bench kodak-models
	$(VENV)/bin/nstr bench lego --workers 2
	$(VENV)/bin/nstr bench lego-steps --workers 2
	$(VENV)/bin/nstr bench report

lint: setup-dev
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
