# Two commands on a fresh machine: `make demo` and `make test`. Each builds its own venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-spark bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# the Spark engine's packages (about 500 MB); `make demo` runs on DuckDB and does not need them
$(BIN)/.installed-spark: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/userrep demo

# Two workers, one test file each at a time: most of a test's time is one single-threaded dbt process.
test: $(BIN)/.installed
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not spark" tests

# The Spark engine's parity tests (Java 17+ on the PATH): Spark and DuckDB give the same tables.
test-spark: $(BIN)/.installed-spark
	$(BIN)/pytest -q -m spark tests

bench: $(BIN)/.installed
	$(BIN)/userrep bench

# Build artefacts and the demo's own root; never a deployment's data (raw/, warehouse/, registry/, ...).
clean:
	rm -rf target logs demo
