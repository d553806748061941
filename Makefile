# The two quick-start commands: `make demo` (set up, run the main job) and `make test`
# (set up, run every test). Each creates its own virtual environment in .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# PyTorch is the test oracle only (a CPU build; never needed at run time)
TORCH := torch==2.13.0

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]" $(TORCH)
	touch $@

demo: $(VENV)/.installed
	$(BIN)/python -m retrograd demo

test: $(VENV)/.installed-test
	$(BIN)/python -m ruff check retrograd tests benchmarks
	$(BIN)/python -m pytest -n 2 tests

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/op_overhead.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
