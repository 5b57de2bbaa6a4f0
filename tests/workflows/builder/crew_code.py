"""The code the scripted coder writes in the crew's end-to-end tests (crew_files/): a scheduled fetch of
exchange rates from an HTTP source — tested against a local stub server in the generated project's own
tests — and a "latest rate per currency" endpoint. It passes a generated project's gate as is (checked:
ruff, ruff format, mypy --strict, pytest with coverage, ruff S)."""

from pathlib import Path

_FILES = Path(__file__).parent / "crew_files"

RATES_MODULE = (_FILES / "rates.py.txt").read_text(encoding="utf-8")
RATES_TESTS = (_FILES / "test_rates.py.txt").read_text(encoding="utf-8")

# The same tests with a wrong expectation: the gate goes red until it is fixed.
FIX_OLD = '[("EUR", 1.1), ("GBP", 1.3)]'
FIX_NEW = '[("EUR", 1.2), ("GBP", 1.3)]'
BROKEN_TESTS = RATES_TESTS.replace(FIX_NEW, FIX_OLD)
assert BROKEN_TESTS != RATES_TESTS

IMPORT_OLD = "from app.database import create_db_engine"
IMPORT_NEW = "from app import rates\nfrom app.database import create_db_engine"
ROUTER_OLD = "    app.include_router(health.router)\n"
ROUTER_NEW = "    app.include_router(health.router)\n    app.include_router(rates.router)\n"
