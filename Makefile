# Two commands on a fresh machine: `make demo` and `make test`. Each builds its own venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-spark bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -e '.[dev]'
	@# pip compiles one file at a time; this uses every core, and skips the packages' own test
	@# suites, which nothing imports. A file that does not compile would fail only when imported.
	$(BIN)/python -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib > /dev/null || true
	touch $@

# the Spark engine's packages (about 500 MB); `make demo` runs on DuckDB and does not need them
$(BIN)/.installed-spark: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/userrep demo

# Two workers, one test file each at a time (most of a test's time is one single-threaded dbt process),
# in the order tests/conftest.py gives them: the longest files first, not the files with most tests.
test: $(BIN)/.installed
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "not spark" tests

# The Spark engine's parity tests (Java 17+ on the PATH): Spark and DuckDB give the same tables.
test-spark: $(BIN)/.installed-spark
	$(BIN)/pytest -q -m spark tests

bench: $(BIN)/.installed
	$(BIN)/userrep bench

# Build artefacts and the demo's own root; never a deployment's data (raw/, warehouse/, registry/, ...).
clean:
	rm -rf target logs demo
