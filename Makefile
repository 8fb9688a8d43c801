# The two commands: `make demo` and `make test`. Each installs what it needs.
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: install demo test lint typecheck bench clean

install:
	./scripts/install.sh

demo: install
	$(BIN)/flexfleet demo $(ARGS)

test: install
	# The import contracts (pyproject.toml, [tool.importlinter]): a broken layer fails the run.
	$(BIN)/lint-imports
	# The protocol is the contract between every part: its own tests must cover all of it.
	$(BIN)/python -m pytest -q tests/protocol --cov=protocol --cov-report=term-missing --cov-fail-under=100
	# Two workers (pytest-xdist), one a core: most integration tests wait on brokers and processes,
	# so the two overlap well; PYTEST_WORKERS=0 runs everything in this process.
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS) --ignore=tests/protocol

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
