# nbgrad's developer commands. Two of them do all set-up on a fresh machine:
#   make lab    venv + nbgrad[notebook], then JupyterLab on notebooks/
#   make test   venv + nbgrad[test], then the notebook check, pytest on tests/ and nbval on notebooks/
# Every target creates the venv ($(VENV)) and installs what it needs on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION := 2.13.0
# Extra arguments for pip when installing torch, e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
# (PyPI's Linux torch wheel pulls the multi-GB CUDA build).
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=
LAB_ARGS ?=
BENCH_ARGS ?=
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg

.PHONY: lab test torch bench lint format gpu-check gpu-wheels clean

lab: $(VENV)/.installed-notebook
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

test: $(VENV)/.installed-test
	$(BIN)/python scripts/check_notebooks.py notebooks notebooks/sanitize.cfg
	@if command -v node >/dev/null; then node --test widgets/test/; else echo "node not found: widget front-end tests skipped"; fi
	$(BIN)/python -m pytest tests notebooks nbgrad --doctest-modules $(NBVAL) $(PYTEST_ARGS)

# Optional: the PyTorch parity tests and the benchmark's torch column skip without it.
torch: $(VENV)/.installed-torch

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .

# On a GPU machine, from the source tree, with CuPy, torch and pytest already there (no network, no venv).
gpu-check:
	bash benchmarks/gpu_check.sh

# Test dependencies the GPU machine's image lacks, for gpu_check.sh to install offline (its python3 is 3.12).
GPU_PYTHON_VERSION ?= 3.12
gpu-wheels: | $(BIN)/python
	$(BIN)/python -m pip download --no-deps --only-binary=:all: --python-version $(GPU_PYTHON_VERSION) \
		-d shared/wheels hypothesis sortedcontainers safetensors

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache benchmarks/results

# The one rule that creates the venv; everything else depends on it.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per extra (notebook, test, dev): reinstalled when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[$*]'
	touch $@

$(VENV)/.installed-torch: | $(BIN)/python
	$(BIN)/python -m pip install 'torch==$(TORCH_VERSION)' $(TORCH_PIP_ARGS)
	touch $@
