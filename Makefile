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

demo: $(BIN)/.installed
	$(BIN)/userrep demo

# Two workers, one test file each at a time: most of a test's time is one dbt process on one core.
test: $(BIN)/.installed
	$(BIN)/pytest -q -n 2 --dist loadfile tests

bench: $(BIN)/.installed
	$(BIN)/userrep bench

# Build artefacts and the demo's own root; never a deployment's data (raw/, warehouse/, registry/, ...).
clean:
	rm -rf target logs demo
