# Every target creates what it needs on a fresh machine: the virtual environment, checkov (in a
# virtual environment of its own: its pins clash with our test tools) and the system packages.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-dev
CHECKOV := $(VENV)/bin/checkov
BASELINE ?= main
IDEA    := A REST API for a small library: books, authors and loans; members borrow books

.PHONY: demo test lint typecheck unit bench soak system-deps clean image test-deploy deploy-deps

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
	$(VENV)/bin/pytest --cov --cov-report=term:skip-covered -q --ignore=tests/deploy

test: lint typecheck unit

# Many trials of the many-worker races on a real PostgreSQL (CI runs a few of each in `make unit`).
soak: $(STAMP) system-deps
	BATON_SOAK=1 $(VENV)/bin/pytest -q tests/engine/test_many_workers.py

bench: $(STAMP) $(CHECKOV)
	$(PY) benchmarks/engine_throughput.py --baseline $(BASELINE)
	$(PY) benchmarks/gateway_overhead.py
	$(PY) benchmarks/season.py
	$(PY) benchmarks/build_time.py
	$(PY) benchmarks/build_fidelity.py
	$(PY) benchmarks/build_crew.py
	$(PY) benchmarks/api_load.py
	$(PY) benchmarks/scale_out.py
	$(PY) benchmarks/auth_check.py

# The container image (Dockerfile): runtime -> baton:VERSION and baton:latest, full -> baton:VERSION-full.
# Uses the Docker engine in DOCKER_HOST; makes debian:bookworm-slim from Debian's packages when it
# cannot be pulled.
image:
	./scripts/image.sh

# Debian's Docker engine, docker-compose, promtool and debootstrap; kubernetes-validate from PyPI.
deploy-deps: $(STAMP) $(CHECKOV)
	./scripts/system-deps.sh deploy
	$(PY) -m pip install -q 'kubernetes-validate>=1.30'

# Real containers: a private dockerd (started and stopped by the tests), the base and baton's image built
# here, migrate/server/worker containers against PostgreSQL, compose, promtool, kustomize + validation.
test-deploy: deploy-deps
	BATON_DEPLOY_TESTS=1 $(VENV)/bin/pytest -q -p no:cacheprovider --timeout 1800 tests/deploy

clean:
	rm -rf $(VENV) .venv-checkov .baton demo .pytest_cache .mypy_cache .ruff_cache .coverage
