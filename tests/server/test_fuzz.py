"""Schemathesis fuzzes the whole API, from its own OpenAPI schema, against a real server: no 5xx, and every
response matches the schema. Bounded: a fixed number of examples per operation, no shrinking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from baton.store.keys import Role
from baton.store.store import Store

from .conftest import RunningServer, running_server

EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    store = Store.open(f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'baton.db'}")
    with running_server(store, run_worker=False, max_body_bytes=100_000) as running:
        operator = running.client(Role.ADMIN)
        operator.post("/runs", json={"workflow": "gated"})  # something to find, list and act on
        yield running
    store.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: RunningServer) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(fuzzed_server.url + "/openapi.json")
    # The live stream never ends by design; it is tested in test_streams.
    return schema.exclude(path="/runs/{run_id}/events/stream")


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


def test_api_never_fails_and_always_keeps_its_schema(
    api_schema: schemathesis.BaseSchema, fuzzed_server: RunningServer
) -> None:
    headers = {"Authorization": f"Bearer {fuzzed_server.keys[Role.ADMIN]}"}
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=fuzzed_server.url, headers=headers, checks=CHECKS)

        try:
            fuzz()
        except Exception as error:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
    # The key routes were fuzzed with the admin key; aimed at that key itself, DELETE is refused (409, as
    # documented), never a lock-out.
    revoke = next(op for op in operations if op.method.upper() == "DELETE" and op.path == "/keys/{key_id}")
    own_id = fuzzed_server.keys[Role.ADMIN].split("_")[1]
    response = revoke.Case(path_parameters={"key_id": own_id}).call_and_validate(
        base_url=fuzzed_server.url, headers=headers, checks=CHECKS
    )
    assert response.status_code == 409
    assert httpx.get(fuzzed_server.url + "/keys", headers=headers).status_code == 200
    requests = [
        line
        for line in httpx.get(fuzzed_server.url + "/metrics").text.splitlines()
        if line.startswith("baton_http_requests_total{")
    ]
    sent = sum(float(line.rsplit(" ", 1)[1]) for line in requests)
    assert sent >= 3 * len(operations)  # the fuzzer really called the server
    assert not any('status="5' in line for line in requests)
