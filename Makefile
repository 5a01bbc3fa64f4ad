# make demo  -> create/refresh .venv, install mlotel, run the demo (no collector needed)
# make test  -> create/refresh .venv, install mlotel + test requirements, run the whole suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test lint format bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip

$(VENV)/.stamp-install: pyproject.toml | $(PY)
	$(PIP) install -e '.[all]' scikit-learn
	touch $@

$(VENV)/.stamp-test: requirements-test.txt $(VENV)/.stamp-install
	$(PIP) install -r requirements-test.txt
	touch $@

demo: $(VENV)/.stamp-install
	$(PY) -m mlotel.cli demo

test: $(VENV)/.stamp-test
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m ruff format --check src tests benchmarks examples
	$(PY) -m pytest

lint: $(VENV)/.stamp-test
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m ruff format --check src tests benchmarks examples

format: $(VENV)/.stamp-test
	$(PY) -m ruff format src tests benchmarks examples
	$(PY) -m ruff check --fix src tests benchmarks examples

bench: $(VENV)/.stamp-test
	$(PY) benchmarks/overhead.py --export all
	$(PY) benchmarks/sketch.py
	$(PY) benchmarks/adapters.py
	$(PY) benchmarks/gpu_tensors.py
	$(PY) benchmarks/faults.py
	$(PY) benchmarks/soak.py

clean:
	rm -rf $(VENV) mlotel-data .pytest_cache
