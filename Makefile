# The two commands: `make demo` and `make test`. Each sets up everything it needs
# from a fresh clone on a machine with Python >= 3.11 and make.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
WORKSPACE ?= demo-workspace

.PHONY: demo console test lint typecheck check-migrations install browser lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "migrex needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/migrex demo --workspace $(WORKSPACE)

# The demo, then both nodes stay up with their officers' consoles until Ctrl-C.
console: $(STAMP)
	$(VENV)/bin/migrex demo --workspace $(WORKSPACE) --console

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/unit/core/test_layers.py

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check-migrations: $(STAMP)
	$(VENV)/bin/migrex db check

# The console's browser tests drive Debian's Chromium (a browser download cannot work on a
# closed network) and need Noto to render Armenian and Kazakh; they never skip, so the
# browser is installed here when it is missing (as root, as CI runs).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/noto ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium fonts-noto-core; \
	fi

# The tests run in one process per core (at most four, each with its own PostgreSQL database
# and temporary folders), in about two-thirds of the time one process takes on two cores;
# TEST_WORKERS=0 runs them in this process, as a debugger wants.
TEST_WORKERS ?= auto

test: $(STAMP) browser lint typecheck check-migrations
	$(VENV)/bin/pytest --numprocesses $(TEST_WORKERS) --maxprocesses 4 --dist worksteal

# Regenerates the pinned lock file from pyproject.toml (needs uv).
lock:
	uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache .mypy_cache .ruff_cache
