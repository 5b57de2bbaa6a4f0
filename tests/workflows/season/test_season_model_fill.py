"""With a model configured: rules first, the model only for what they left empty, the same bounds.

The model is the tests' scripted OpenAI-protocol server on loopback (tests/llm/fakeserver.py), reached
through the real gateway and SDK.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from baton.core.states import RunState
from baton.engine import WorkerSettings, run_to_end, start_run
from baton.llm import CallContext, Gateway
from baton.store.runs import run_outputs
from baton.store.store import Store
from baton.workflows.season import SeasonParameterError
from baton.workflows.season.model_fill import extract_parameters_with_model
from llm.conftest import model_server, server, store  # noqa: F401  (the gateway tests' fixtures)
from llm.fakeserver import FakeModelServer, Reply, make_config

TODAY = date(2026, 1, 12)
CALL = CallContext(run_id="run-s", step="parameters")


@pytest.fixture
async def gateway(server: FakeModelServer, store: Store) -> AsyncIterator[Gateway]:  # noqa: F811
    opened = Gateway(make_config(server), store)
    yield opened
    await opened.close()


def _asked(server: FakeModelServer) -> list[dict[str, Any]]:  # noqa: F811
    return [r.body for r in server.received]


def _schema_fields(body: dict[str, Any]) -> set[str]:
    text = json.dumps(body)
    return {name for name in ("forecast_horizon_weeks", "season_start_date", "replenishment_strategy",
                              "dc_holdback_percentage") if name in text}  # fmt: skip


async def test_a_complete_request_never_asks_the_model(gateway: Gateway, server: FakeModelServer) -> None:  # noqa: F811
    found = await extract_parameters_with_model(
        "12 weeks from 2 March 2026, weekly, keep a quarter in the depot",
        gateway=gateway,
        call=CALL,
        today=TODAY,
    )
    assert found.dc_holdback_percentage == 0.25
    assert _asked(server) == []


async def test_the_model_fills_only_what_the_rules_left(gateway: Gateway, server: FakeModelServer) -> None:  # noqa: F811
    server.script("llama-small", Reply.structured({"season_start_date": "2026-03-02"}))
    found = await extract_parameters_with_model(
        "12 weeks from our usual spring launch (first Monday of March), weekly, keep a quarter in the depot",
        gateway=gateway,
        call=CALL,
        today=TODAY,
    )
    assert (found.season_start_date, found.forecast_horizon_weeks) == (date(2026, 3, 2), 12)
    assert found.dc_holdback_percentage == 0.25 and found.replenishment_strategy.value == "weekly"
    bodies = _asked(server)
    assert len(bodies) == 1
    # the question names the missing field, not the ones the rules already read
    assert _schema_fields(bodies[0]) == {"season_start_date"}
    assert "'a quarter' → 25% DC holdback" in found.readings
    assert any(
        line.startswith("season_start_date = 2026-03-02 (filled by the model") for line in found.readings
    )


async def test_a_model_answer_out_of_bounds_is_refused(gateway: Gateway, server: FakeModelServer) -> None:  # noqa: F811
    bad = Reply.structured({"dc_holdback_percentage": 1.5})
    server.script("llama-small", bad, bad)
    with pytest.raises(SeasonParameterError) as caught:
        await extract_parameters_with_model(
            "12 weeks from 2 March 2026, weekly, the usual DC share", gateway=gateway, call=CALL, today=TODAY
        )
    assert "dc_holdback_percentage" in caught.value.fields
    assert "the model answered" in caught.value.message
    assert len(_asked(server)) == 2  # asked again once with the reason, then refused


async def test_a_contradiction_is_refused_before_any_model_is_asked(
    gateway: Gateway,
    server: FakeModelServer,  # noqa: F811
) -> None:
    with pytest.raises(SeasonParameterError, match="contradict"):
        await extract_parameters_with_model(
            "12 weeks, no replenishment, restock weekly", gateway=gateway, call=CALL, today=TODAY
        )
    assert _asked(server) == []


@pytest.mark.slow
async def test_through_the_engine_the_parameters_step_asks_the_model(
    gateway: Gateway,
    server: FakeModelServer,  # noqa: F811
    store: Store,  # noqa: F811
    small_data: Path,
    tmp_path: Path,
) -> None:
    server.script("llama-small", Reply.structured({"season_start_date": "2026-03-02"}))
    request = "8 weeks from the usual spring launch, fortnightly top-ups, one in ten at the DC"
    run_id = start_run(
        store,
        "baton.workflows.season:workflow",
        {"request": request, "data": str(small_data), "out": str(tmp_path / "plan"), "today": "2026-01-12"},
    )
    settings = WorkerSettings(poll_interval=0.05, heartbeat_every=0.5, lease_seconds=30)
    assert await run_to_end(store, run_id, settings, services={"gateway": gateway}) is RunState.SUCCEEDED
    with store.read() as conn:
        parameters = run_outputs(conn, run_id)["parameters"]
    assert parameters["season_start_date"] == "2026-03-02"
    assert parameters["replenishment_strategy"] == "bi-weekly" and parameters["dc_holdback_percentage"] == 0.1
    plan = (tmp_path / "plan" / "PLAN.md").read_text()
    assert "parameters by rules and a model" in plan
    assert "'one in ten' → 10% DC holdback" in plan and "filled by the model" in plan
    assert len(server.received) == 1
