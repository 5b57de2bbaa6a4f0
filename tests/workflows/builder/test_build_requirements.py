"""Requirements: read from ideas in the user's words, refused when contradictory, each with its checks or reason."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from baton.core.errors import InvalidInputError
from baton.workflows.builder import extract_spec, validate_spec
from baton.workflows.builder._smoke import check_requirements
from baton.workflows.builder.acceptance import attach_checks
from baton.workflows.builder.spec import BuildSpec, RequirementStatus

BASE: dict[str, Any] = {
    "name": "hotel-api",
    "title": "Hotel API",
    "entities": [
        {"name": "room", "fields": [{"name": "label"}, {"name": "capacity", "type": "integer", "min": 1}]},
        {
            "name": "booking",
            "fields": [
                {"name": "check_in", "type": "date"},
                {"name": "check_out", "type": "date"},
                {"name": "status", "type": "enum", "choices": ["requested", "confirmed"]},
            ],
        },
    ],
    "relations": [{"parent": "room", "child": "booking"}],
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


@pytest.mark.parametrize(
    ("changes", "where", "says"),
    [
        (
            {"rules": [{"kind": "limit", "entity": "booking", "parent": "room", "field": "label"}]},
            "rules[0].field",
            "must be a field of type integer",
        ),
        (
            {
                "rules": [
                    {
                        "kind": "transitions",
                        "entity": "booking",
                        "field": "status",
                        "transitions": {"requested": ["gone"]},
                    }
                ]
            },
            "rules[0].transitions.requested",
            "unknown status 'gone'",
        ),
        (
            {"rules": [{"kind": "ordering", "entity": "booking", "before": "check_in", "after": "status"}]},
            "rules[0].after",
            "must be a field of type date or datetime",
        ),
        (
            {"rules": [{"kind": "limit", "entity": "room", "parent": "booking", "field": "capacity"}]},
            "rules[0].parent",
            "does not belong to",
        ),
        (
            {
                "entities": [
                    {"name": "room", "fields": [{"name": "size", "type": "integer", "min": 9, "max": 2}]}
                ],
                "relations": [],
            },
            "entities[0].fields[0].min",
            "greater than max",
        ),
        (
            {
                "entities": [{"name": "room", "fields": [{"name": "size", "type": "string", "min": 1}]}],
                "relations": [],
            },
            "entities[0].fields[0].min",
            "numbers only",
        ),
        (
            {"entities": [{"name": "room", "fields": [{"name": "kind", "type": "enum"}]}], "relations": []},
            "entities[0].fields[0].choices",
            "at least two",
        ),
        (
            {
                "entities": [
                    {
                        "name": "room",
                        "fields": [{"name": "kind", "type": "enum", "choices": ["a", "b"], "default": "c"}],
                    }
                ],
                "relations": [],
            },
            "entities[0].fields[0].default",
            "not one of",
        ),
        (
            {
                "entities": [{"name": "room", "fields": [{"name": "a"}], "unique_together": [["a", "nope"]]}],
                "relations": [],
            },
            "entities[0].unique_together[0]",
            "no field 'nope'",
        ),
        (
            {"queries": [{"kind": "latest", "entity": "booking", "key": "room_id", "by": "status"}]},
            "queries[0].by",
            "date or datetime",
        ),
        (
            {"requirements": [{"id": "R1", "text": "x"}, {"id": "R1", "text": "y"}]},
            "requirements[1].id",
            "unique",
        ),
    ],
)
def test_a_contradictory_spec_is_refused_naming_the_field(
    changes: dict[str, Any], where: str, says: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_spec(_with(**changes))
    assert where in caught.value.fields
    assert says in caught.value.message


def test_a_spec_without_requirements_gets_one_per_feature_each_with_checks() -> None:
    spec = attach_checks(
        validate_spec(
            _with(
                rules=[
                    {"kind": "limit", "entity": "booking", "parent": "room", "field": "capacity"},
                    {"kind": "ordering", "entity": "booking", "before": "check_in", "after": "check_out"},
                ]
            )
        )
    )
    features = {r.implemented_by: r for r in spec.requirements}
    assert {"entity:room", "relation:room>booking", "rule:limit:booking", "rule:ordering:booking"} <= set(
        features
    )
    limit = features["rule:limit:booking"]
    assert limit.status is RequirementStatus.PENDING
    assert [c.expect_status for c in limit.checks][-1] == 409
    assert limit.checks[-1].expect_text == "is full"


def test_jobs_outside_the_functions_stack_are_not_implemented_with_the_reason() -> None:
    spec = attach_checks(
        validate_spec(
            _with(
                stack="functions",
                jobs=[{"name": "purge", "kind": "cleanup", "entity": "booking", "field": "check_out"}],
                requirements=[
                    {"id": "R1", "text": "purge old bookings", "implemented_by": "job:purge"},
                    {"id": "R2", "text": "dance", "implemented_by": "feature:none"},
                ],
            )
        )
    )
    job, unknown = spec.requirements
    assert job.status is RequirementStatus.PENDING and job.checks[-1].expect_status == 404
    assert unknown.status is RequirementStatus.NOT_IMPLEMENTED and "nothing implements it" in (
        unknown.reason or ""
    )


def _features(spec: BuildSpec) -> set[str]:
    return {f.strip() for r in spec.requirements for f in (r.implemented_by or "").split(",")}


def test_the_clinic_idea_gives_relations_in_the_users_words() -> None:
    spec = extract_spec("A clinic API: each pet has an owner and many visits.")
    assert {("owner", "pet"), ("pet", "visit")} <= {(r.parent, r.child) for r in spec.relations}
    # one clause of the user is one requirement, in the user's words, with all it implies
    [clause] = [r for r in spec.requirements if r.text == "each pet has an owner and many visits"]
    assert set((clause.implemented_by or "").split(", ")) == {"relation:owner>pet", "relation:pet>visit"}
    assert all(r.status is not RequirementStatus.NOT_IMPLEMENTED for r in spec.requirements)


def test_priority_and_status_are_enums_and_the_status_has_transitions() -> None:
    spec = extract_spec("A helpdesk: customers open tickets. Tickets have a priority and a status.")
    ticket = spec.entity("ticket")
    priority, status = ticket.field("priority"), ticket.field("status")
    assert priority is not None and priority.choices == ["low", "medium", "high"]
    assert status is not None and status.type.value == "enum" and status.default == status.choices[0]
    assert any(r.kind.value == "transitions" and r.entity == "ticket" for r in spec.rules)
    assert ("customer", "ticket") in {(r.parent, r.child) for r in spec.relations}


def test_a_range_bounds_the_measured_field_and_a_verb_is_no_entity() -> None:
    spec = extract_spec("A book club API where members rate books from 1 to 5")
    bounded = [f for e in spec.entities for f in e.fields if f.min == 1 and f.max == 5]
    assert len(bounded) == 1 and bounded[0].type.value == "integer"
    assert "rate" not in {e.name for e in spec.entities}


def test_fetching_from_outside_is_not_implemented_quoting_the_phrase() -> None:
    spec = extract_spec("A nightly job collects exchange rates from the central bank and stores them")
    assert [e.name for e in spec.entities] == ["exchange_rate"]
    left = [r for r in spec.requirements if r.status is RequirementStatus.NOT_IMPLEMENTED]
    assert len(left) == 1 and "collects exchange rates" in left[0].text
    assert "fetch" in (left[0].reason or "")


def test_capacity_booked_against_becomes_a_limit_and_dates_an_ordering() -> None:
    spec = extract_spec(
        "A hotel booking API: hotels have many rooms. Each room has a capacity. "
        "Guests book rooms with check-in and check-out dates."
    )
    kinds = {(r.kind.value, r.entity) for r in spec.rules}
    assert ("limit", "booking") in kinds and ("ordering", "booking") in kinds
    assert "rule:limit:booking" in _features(spec) and "rule:ordering:booking" in _features(spec)


def test_words_no_rule_understood_are_reported_not_dropped() -> None:
    spec = extract_spec("A recipe API: recipes have tags. Recipes glow in the dark when loved.")
    left = [r for r in spec.requirements if r.status is RequirementStatus.NOT_IMPLEMENTED]
    assert left and "glow" in (left[0].reason or "")


class _Rooms(BaseHTTPRequestHandler):
    """A tiny service on loopback: POST /rooms creates, GET /rooms/{id} reads — and it ignores capacity."""

    rooms: ClassVar[dict[int, dict[str, Any]]] = {}

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        room = {"id": len(self.rooms) + 1, **body}
        self.rooms[room["id"]] = room
        self._send(201, room)

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/rooms":
            self._send(200, {"items": list(self.rooms.values()), "total": len(self.rooms)})
            return
        room = self.rooms.get(int(self.path.rsplit("/", 1)[-1]))
        self._send(200 if room else 404, room or {"detail": "no such room"})

    def log_message(self, *args: object) -> None:
        pass


def test_checks_run_against_a_service_honour_or_fail_with_the_reason() -> None:
    spec = validate_spec(
        {
            "name": "rooms-api",
            "title": "Rooms",
            "entities": [
                {"name": "room", "fields": [{"name": "label"}, {"name": "size", "type": "integer", "max": 9}]}
            ],
            "requirements": [
                {"id": "R1", "text": "keep rooms", "implemented_by": "entity:room"},
                {"id": "R2", "text": "a room's size is at most 9", "implemented_by": "field:room.size"},
                {
                    "id": "R3",
                    "text": "teleport guests",
                    "status": "not_implemented",
                    "reason": "no rule for it",
                },
            ],
        }
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rooms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}") as client:
            kept, bounded, teleport = check_requirements(client, attach_checks(spec))
    finally:
        server.shutdown()
    assert kept.status is RequirementStatus.HONOURED and kept.reason is None
    assert bounded.status is RequirementStatus.FAILED
    assert "refuse size above the maximum 9" in (bounded.reason or "") and "status 201, expected 422" in (
        bounded.reason or ""
    )
    assert teleport.status is RequirementStatus.NOT_IMPLEMENTED and teleport.reason == "no rule for it"


def test_a_failed_checks_reason_is_the_same_on_every_run_though_its_values_are_fresh() -> None:
    """The reason quotes the answer, but as `{uniq}` where a fresh token was sent and `…` where the service
    stamped its own time or request id: a replayed build writes the same BUILD.md."""

    class Stamping(_Rooms):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stamp = {
                "created_at": f"2026-12-04T09:{len(self.rooms):02d}:00Z",
                "request_id": f"{id(body):032x}",
            }
            self._send(201, {"id": 1, **body, **stamp})

    long_label = {"label": "room {uniq}"}
    checks = [
        {
            "name": "refuse a long label",
            "method": "POST",
            "path": "/rooms",
            "body": long_label,
            "expect_status": 422,
        }
    ]
    spec = validate_spec(
        {
            "name": "rooms-api",
            "title": "Rooms",
            "entities": [{"name": "room", "fields": [{"name": "label", "max_length": 5}]}],
            "requirements": [
                {"id": "R1", "text": "labels are short", "implemented_by": "entity:room", "checks": checks}
            ],
        }
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stamping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sent: list[str] = []
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{server.server_port}",
            event_hooks={"request": [lambda request: sent.append(request.content.decode())]},
        ) as client:
            reasons = [check_requirements(client, spec)[0].reason for _ in range(2)]
    finally:
        server.shutdown()
    assert sent[0] != sent[1]  # fresh tokens on each run
    assert reasons[0] == reasons[1]
    assert reasons[0] is not None and '"label": "room {uniq}"' in reasons[0]
    assert '"created_at": "…"' in reasons[0] and '"request_id": "…"' in reasons[0]
    assert reasons[0].startswith("check 1 (refuse a long label: POST /rooms): status 201, expected 422")
