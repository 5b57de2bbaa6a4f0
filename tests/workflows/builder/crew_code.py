"""The code the scripted coder writes in the crew's end-to-end tests (crew_files/): a scheduled fetch of
exchange rates from an HTTP source — tested against a local stub server in the generated project's own
tests — and a "latest rate per currency" endpoint. It passes a generated project's gate as is (checked:
ruff, ruff format, mypy --strict, pytest with coverage, ruff S)."""

import json
from pathlib import Path
from typing import Any

from crew_support import ARCHITECT_MODEL, CODER_MODEL, FakeModelServer, Reply

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

IDEA = (
    "A service that every hour fetches exchange rates from a source and stores them; "
    "GET the latest rate per currency"
)


def architect_spec() -> dict[str, Any]:
    return {
        "name": "rates-service",
        "title": "Rates Service",
        "description": "Exchange rates fetched every hour; the latest rate per currency.",
        "stack": "fastapi",
        "entities": [
            {"name": "currency", "fields": [{"name": "code", "max_length": 8}, {"name": "label"}]},
        ],
        "assumptions": ["the source answers a JSON object {currency: rate}"],
        "requirements": [
            {"id": "R1", "text": "keep currencies", "implemented_by": "entity:currency"},
            {
                "id": "R2",
                "text": "every hour, fetch exchange rates from a source; GET the latest rate per currency",
            },
        ],
    }


def finish(status: str = "implemented", note: str = "", checks: list[dict[str, Any]] | None = None) -> Reply:
    claim: dict[str, Any] = {"id": "R2", "status": status, "note": note}
    if checks is not None:
        claim["checks"] = checks
    return Reply.tool(
        "finish", {"summary": "scheduled fetch and latest-per-currency endpoint", "requirements": [claim]}
    )


LATEST_CHECKS = [
    {
        "name": "latest per currency",
        "method": "GET",
        "path": "/rates/latest",
        "expect_status": 200,
        "expect_count": 0,
    }
]


def write_feature(tests: str = RATES_TESTS) -> list[Reply]:
    return [
        Reply.tool("write_file", {"path": "app/rates.py", "content": RATES_MODULE}),
        Reply.tool("replace_in_file", {"path": "app/main.py", "old": IMPORT_OLD, "new": IMPORT_NEW}),
        Reply.tool("replace_in_file", {"path": "app/main.py", "old": ROUTER_OLD, "new": ROUTER_NEW}),
        Reply.tool("write_file", {"path": "tests/test_rates.py", "content": tests}),
    ]


def script_green_build(server: FakeModelServer) -> None:
    """The architect's spec, a coder session that ends green in one round, and the reviewer's answer."""
    server.script(ARCHITECT_MODEL, Reply.text("```json\n" + json.dumps(architect_spec(), indent=2) + "\n```"))
    server.script(
        CODER_MODEL,
        Reply.tool("list_files", {"path": "."}),
        Reply.tool("read_file", {"path": "app/main.py"}),
        *write_feature(),
        Reply.tool("run_checks"),
        Reply.tool("call_service", {"method": "GET", "path": "/rates/latest"}),
        finish(note="app/rates.py: fetch_rates + schedule; GET /rates/latest", checks=LATEST_CHECKS),
    )
    review = {
        "verdict": "approve",
        "findings": [
            {"severity": "low", "file": "app/rates.py", "issue": "the source URL should come from settings"}
        ],
    }
    server.script(ARCHITECT_MODEL, Reply.structured(review))
