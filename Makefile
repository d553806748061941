# The two quick-start commands: `make train` (set up, train the bundled example: accuracy and a
# loss plot) and `make test` (set up, run every test). Each creates its own virtual environment in .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# PyTorch is the test oracle only (a CPU build; never needed at run time)
TORCH := torch==2.13.0

.PHONY: train demo test system-deps bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-train: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[train]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]" $(TORCH)
	touch $@

# The main job: an MLP on scikit-learn's bundled digits (no download), to runs/digits-mlp/
train: $(VENV)/.installed-train
	$(BIN)/python -m retrograd train digits-mlp --no-progress

# Fit a tiny MLP to sin(x) with plain gradient descent: the autograd engine on its own
demo: $(VENV)/.installed-train
	$(BIN)/python -m retrograd demo

# Graphviz's `dot` renders graph pictures; without it only the SVG/PNG tests skip (saying so)
system-deps:
	@command -v dot >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq graphviz) >/dev/null 2>&1; } || \
	  echo "note: could not install graphviz (dot); its rendering tests will skip"

# The op and layer tests (those marked on_devices) again, with array-api-strict standing in for
# CuPy behind `cuda`: any call outside the array API standard fails here, on a machine without a GPU
STANDIN_TESTS := $(shell grep -l "pytest.mark.on_devices" tests/test_*.py) tests/test_cuda.py

test: $(VENV)/.installed-test system-deps
	$(BIN)/python -m ruff check retrograd tests benchmarks examples
	$(BIN)/python -m pytest -n 2 tests
	$(BIN)/python -m pytest -n 2 --cuda-standin $(STANDIN_TESTS)

# The five training workloads against PyTorch (a few minutes); docs/performance.md explains the table
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/compare.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
