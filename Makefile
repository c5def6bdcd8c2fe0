# make demo   - the main job: train a mini zoo offline, analyse it, write a report
# make test   - install (once) and run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test test-fast lint format demo bench docs-figures clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[tf,dev]"
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy vae_passive
	$(BIN)/vulture  # dead code; settings in pyproject.toml's [tool.vulture]

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install
	$(BIN)/vae-passive demo --out demo-output

bench: install
	$(BIN)/python benchmarks/encode.py
	$(BIN)/python benchmarks/analyze_one.py
	$(BIN)/python benchmarks/api_import.py

docs-figures: install
	$(BIN)/python benchmarks/render_doc_figures.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
