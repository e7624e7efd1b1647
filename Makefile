# Two commands on a fresh machine: `make demo` and `make test`. Each builds its own venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

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

# Both engines (the Spark tests need Java 17+ on the PATH), on two workers with one test file
# each at a time: most of a test's time is one single-threaded dbt process.
test: $(BIN)/.installed-spark
	$(BIN)/pytest -q -n 2 --dist loadfile tests

bench: $(BIN)/.installed
	$(BIN)/userrep bench

# Build artefacts and the demo's own root; never a deployment's data (raw/, warehouse/, registry/, ...).
clean:
	rm -rf target logs demo
