# Thin wrapper over the Python entry point (python -m helpers ...). `make help` lists the targets.
SHELL := /bin/bash
PY    := .venv/bin/python
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export RAYON_NUM_THREADS := 1
export NUMBA_NUM_THREADS := 1
export PYTHONHASHSEED := 6640
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help all setup system venv kernel data build run matrix list findings index test test-fast bench lab lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

all: setup  ## THE MAIN JOB: set up, fetch data, build the panel, execute every notebook, write reports/
	$(PY) -m helpers all

setup: system venv  ## install system packages (chromium, offline topojson/mathjax) and the Python venv

system:  ## Debian chromium + npm assets for offline static figures (idempotent)
	bash tools/install_system_deps.sh

venv: .venv/.installed  ## the Python virtual environment with pinned dependencies

.venv/.installed: pyproject.toml
	@command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv==0.13.8 || true
	@if command -v uv >/dev/null 2>&1; then \
	  uv venv -q --allow-existing .venv --python python3.11 && uv pip install -q --compile-bytecode --python $(PY) -e '.[dev]'; \
	else \
	  python3 -m venv .venv && $(PY) -m pip install -q -e '.[dev]'; \
	fi
	touch $@

kernel: venv  ## register the venv as Jupyter kernel "treaty-effects" (JupyterLab, VS Code, system Jupyter)
	$(PY) -m ipykernel install --user --name treaty-effects --display-name "Python (treaty-effects)"

data: venv  ## fetch every raw file (mirror or origin URL) into data/raw and verify sha256
	$(PY) -m helpers data

build: data  ## build data/processed (panel, ratifications, dictionary) via notebooks/00_build_panel.ipynb
	$(PY) -m helpers build

run: venv  ## execute every notebook (defaults + params/*.yml) into reports/
	$(PY) -m helpers run

matrix: venv  ## the treaty-effects matrix (notebook 08): every instrument x outcome, four estimators, on Dask
	$(PY) -m helpers matrix

list: venv  ## list the notebooks, their parameters (default, valid values) and the parameter sets
	$(PY) -m helpers list

findings: venv  ## collect the generated findings into reports/findings.{json,md} and README's results block
	$(PY) -m helpers findings --readme

index: venv  ## write reports/index.html
	$(PY) -m helpers index

test: setup build lint  ## THE TEST COMMAND: lint, then unit, data, bad-input and notebook (nbval) tests
	$(PY) -m pytest tests notebooks --nbval-lax -p no:cacheprovider

test-fast: venv  ## unit tests only (no notebook execution)
	$(PY) -m pytest tests -q -m "not slow"

bench: venv  ## benchmarks: spec curve (engine vs pyfixest vs statsmodels); matrix, notebook rerun, main job (1, 2 workers)
	$(PY) -m helpers bench --main-job

lab: kernel  ## open JupyterLab on the collection (pick the kernel "Python (treaty-effects)")
	$(PY) -m jupyter lab notebooks/

lint: venv  ## house rules: ruff check, ruff format --check, import contracts (lint-imports)
	$(PY) -m ruff check src tests notebooks
	$(PY) -m ruff format --check src tests notebooks
	.venv/bin/lint-imports --no-cache --no-logo  # contracts: [tool.importlinter] in pyproject.toml

clean:  ## remove generated outputs (keeps data/raw and the venv)
	rm -rf reports data/processed/*.parquet data/processed/*.csv data/processed/examples
