# dock2uni: `make demo` and `make test` are all a new machine needs.
# Both run `make setup` first, which installs apt packages and the .venv idempotently.

PY      := .venv/bin/python
PYTEST  := .venv/bin/pytest
BUILD   := build

.PHONY: all setup demo test lint libos fixtures bench clean support-matrix fuzz

all: libos

setup:
	@scripts/setup.sh

libos: setup
	@$(MAKE) --no-print-directory -C libos BUILD=$(abspath $(BUILD))/libos

fixtures: setup
	@$(PY) -m fixtures.build all

demo: setup libos
	@scripts/demo.sh

lint: setup
	.venv/bin/ruff check converter tests fixtures bench
	.venv/bin/mypy

test: setup libos fixtures
	$(PYTEST) tests

# The fuzz targets (tests/unit/test_fuzz_*.py) for FUZZ_SECONDS each instead of the
# few seconds `make test` gives them; a crash fails with Hypothesis's minimal input.
FUZZ_SECONDS ?= 120
fuzz: setup libos fixtures
	DOCK2UNI_FUZZ_SECONDS=$(FUZZ_SECONDS) $(PYTEST) -m fuzz --timeout=0 -q tests/unit

support-matrix: setup
	.venv/bin/dock2uni support-matrix --format markdown > docs/support-matrix.md

bench: setup libos fixtures
	$(PY) -m bench.run

clean:
	rm -rf $(BUILD)
