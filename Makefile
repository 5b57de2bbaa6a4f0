# Every target creates what it needs on a fresh machine: the virtual environment, checkov (in a
# virtual environment of its own: its pins clash with our test tools) and the system packages.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-dev
CHECKOV := $(VENV)/bin/checkov
IDEA    := A REST API for a small library: books, authors and loans; members borrow books

.PHONY: demo test lint typecheck unit bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(CHECKOV): | $(STAMP)
	test -x .venv-checkov/bin/python || python3 -m venv .venv-checkov
	.venv-checkov/bin/pip install -q 'checkov>=3.2'
	ln -sf "$(CURDIR)/.venv-checkov/bin/checkov" $(CHECKOV)

demo: $(STAMP) $(CHECKOV)
	$(VENV)/bin/baton build "$(IDEA)" --out demo/library-api --force

system-deps:
	./scripts/system-deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP) $(CHECKOV) system-deps
	$(VENV)/bin/pytest --cov --cov-report=term:skip-covered -q

test: lint typecheck unit

bench: $(STAMP) $(CHECKOV)
	$(PY) benchmarks/engine_throughput.py
	$(PY) benchmarks/gateway_overhead.py
	$(PY) benchmarks/season.py
	$(PY) benchmarks/build_time.py
	$(PY) benchmarks/build_fidelity.py
	$(PY) benchmarks/api_load.py

clean:
	rm -rf $(VENV) .venv-checkov .baton demo .pytest_cache .mypy_cache .ruff_cache .coverage
