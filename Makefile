# Two entry points, both self-installing on a fresh machine:
#   make run    start the dashboard (embedded SQLite in the user data directory)
#   make test   install, check the layering contract, run the whole test suite offscreen
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench screenshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py $(ARGS)

test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks $(ARGS)

screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/teamdash gui --screenshot docs/main-window.png --size 1600x1000

clean:
	rm -rf $(VENV) .pytest_cache .import_linter_cache
