# Two entry points, both self-installing on a fresh machine:
#   make run    start the dashboard (embedded SQLite in the user data directory)
#   make test   install, lint, type-check, run the whole test suite offscreen
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock

.PHONY: run test test-shifted-clock test-postgres lint typecheck lock bench screenshot clean

# Every package comes from the lock file (versions and hashes of the whole tree); the
# project itself is installed editable on top, without resolving anything again.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip<26'
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing a pin in pyproject.toml: the lock follows (tests/test_packaging.py checks).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --extra test --extra dev --extra postgres --extra encryption --generate-hashes \
		--strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml

run: $(STAMP)
	$(BIN)/python main.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The import-linter contracts run inside the suite (tests/test_layering.py); mypy checks
# teamdash and ui (pyproject.toml [tool.mypy]: strict on a growing list of modules).
test: lint typecheck $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite under a system clock moved to the last day of the month a year from now, just
# before midnight (libfaketime): the app's one clock keeps every test independent of the date.
SHIFTED_CLOCK ?= $(shell date -d "$$(date +%Y-%m-01) +13 months -1 day" +%F) 23:58:00
test-shifted-clock: $(STAMP)
	QT_QPA_PLATFORM=offscreen faketime '$(SHIFTED_CLOCK)' \
		$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# Every database-facing test again on PostgreSQL: a throwaway server (.ci/postgres.sh) is
# started in a temporary folder and stopped on exit, whatever happens. Without PostgreSQL
# installed this fails (apt-get install -y postgresql); set TEAMDASH_TEST_DATABASE to use
# a server of your own instead (the user must be allowed to create databases).
test-postgres: $(STAMP)
	@set -e; \
	if [ -n "$$TEAMDASH_TEST_DATABASE" ]; then \
		QT_QPA_PLATFORM=offscreen TEAMDASH_REQUIRE_POSTGRES=1 $(BIN)/python -m pytest -q -p no:cacheprovider --postgres-only $(PYTEST_ARGS); \
		exit; \
	fi; \
	dir=$$(mktemp -d /tmp/teamdash-pg.XXXXXX); \
	trap '.ci/postgres.sh stop "$$dir" >/dev/null 2>&1 || true; rm -rf "$$dir"' EXIT; \
	url=$$(.ci/postgres.sh start "$$dir"); \
	echo "PostgreSQL test server: $$url"; \
	QT_QPA_PLATFORM=offscreen TEAMDASH_TEST_DATABASE=$$url TEAMDASH_TEST_POSTGRES_DIR=$$dir TEAMDASH_REQUIRE_POSTGRES=1 \
		$(BIN)/python -m pytest -q -p no:cacheprovider --postgres-only $(PYTEST_ARGS)

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks $(ARGS)

screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/teamdash gui --screenshot docs/main-window.png --size 1600x1000

clean:
	rm -rf $(VENV) .pytest_cache .import_linter_cache .mypy_cache .ruff_cache
