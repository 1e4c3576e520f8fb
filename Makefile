# One virtual environment in .venv; every target installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0

.PHONY: setup run test test-fast test-gpu fuzz lint typecheck bench clean postgres

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet 'torch==$(TORCH_VERSION)'  # the CPU build (model=mlp)
	$(BIN)/python -m pip install --quiet -e '.[dev,torch]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the package with its dev tools

run: $(STAMP)  ## train the baseline experiment into ./mlflow.db
	$(BIN)/python -m declarative_ml experiment=xgb_baseline

PG_BIN ?= /usr/lib/postgresql/15/bin

postgres:  ## PostgreSQL server binaries for the server tests (Debian's package, as root)
	@test -x $(PG_BIN)/initdb && id postgres >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)

test: $(STAMP) postgres  ## the whole suite, slow and server tests included (what CI runs)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -o addopts="-ra --strict-markers" -p no:cacheprovider

test-fast: $(STAMP)  ## the quick default suite (no slow or server tests)
	$(BIN)/python -m pytest -p no:cacheprovider

test-gpu: $(STAMP)  ## the CUDA tests (skipped without a GPU; they need only torch and scikit-learn)
	$(BIN)/python -m pytest -p no:cacheprovider -m gpu tests/test_torch_cuda.py

fuzz: $(STAMP)  ## fuzz rules and overrides with new random inputs (the suite's are fixed)
	DML_FUZZ=explore DML_FUZZ_EXAMPLES=$(or $(EXAMPLES),2000) $(BIN)/python -m pytest \
		-p no:cacheprovider -o addopts="-ra" tests/test_fuzz.py -k fuzz_

lint: $(STAMP)  ## ruff (lint + format) and the import layers (pyproject's [tool.importlinter])
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy src

bench: $(STAMP)  ## end-to-end speed against hand-written MLflow (prints figures)
	$(BIN)/python benchmarks/bench_run.py --repeats 5

clean:
	rm -rf $(VENV) mlflow.db mlruns mlartifacts outputs multirun
