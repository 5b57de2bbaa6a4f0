"""API keys (admin) and tokens (any key): create, list, revoke; exchange a key for a short-lived JWT."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from baton.observability import get_logger
from baton.server.auth import Principal, admin, viewer
from baton.server.errors import ForbiddenError, LockoutError
from baton.server.models import CreateKey, KeyCreated, KeyOut, Page, TokenOut, TokenRequest, page_of
from baton.server.routes.runs import Limit, Offset, State
from baton.store.keys import (
    ApiKey,
    create_key_txn,
    list_keys,
    lock_active_admin_ids_txn,
    revoke_key_txn,
)
from baton.store.store import Connection

router = APIRouter(tags=["security"])
_log = get_logger("baton.server.keys")


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        name=key.name,
        role=key.role,
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


@router.get("/keys", response_model=Page[KeyOut], summary="List API keys (never their secrets)")
def list_keys_route(
    state: State,
    _: Annotated[Principal, Depends(admin)],
    limit: Limit = 100,
    offset: Offset = 0,
    include_revoked: Annotated[bool, Query(description="also list revoked keys")] = False,
) -> dict[str, Any]:
    with state.store.read() as conn:
        keys = list_keys(conn, include_revoked=include_revoked, limit=limit + 1, offset=offset)
    return page_of([key_out(k) for k in keys], limit, offset)


@router.post(
    "/keys",
    response_model=KeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key; the response is the only time its secret is shown",
)
def create_key_route(
    body: CreateKey, state: State, principal: Annotated[Principal, Depends(admin)]
) -> KeyCreated:
    now = time.time()
    expires_at = now + body.expires_in_days * 86400 if body.expires_in_days else None
    if principal.expires_at is not None:
        # a key made with a short-lived token (or an expiring key) expires with it: a stolen token
        # cannot mint a lasting key
        expires_at = min(expires_at or principal.expires_at, principal.expires_at)
    with state.store.begin() as conn:
        created = create_key_txn(conn, name=body.name, role=body.role, now=now, expires_at=expires_at)
    _log.info("key_created", key_id=created.key.id, role=body.role.value, by=principal.key_id)
    return KeyCreated(**key_out(created.key).model_dump(), key=created.secret)


@router.delete("/keys/{key_id}", response_model=KeyOut, summary="Revoke an API key at once")
def revoke_key_route(
    key_id: Annotated[str, Path(min_length=1, max_length=24)],
    state: State,
    principal: Annotated[Principal, Depends(admin)],
) -> KeyOut:
    now = time.time()
    with state.store.begin() as conn:
        _refuse_lockout(conn, key_id, principal, now=now)
        key = revoke_key_txn(conn, key_id, now=now)
    state.auth.forget(key_id)
    _log.info("key_revoked", key_id=key_id, by=principal.key_id)
    return key_out(key)


_ROTATE = (
    "to rotate it, create another admin key first (POST /keys or `baton keys create NAME --role admin`), "
    "switch to it, then revoke this one"
)


def _refuse_lockout(conn: Connection, key_id: str, principal: Principal, *, now: float) -> None:
    """Refuse to revoke the caller's own key or the last active admin key (409, saying how to rotate)."""
    if key_id == principal.key_id:
        raise LockoutError(
            f"the key {key_id} is the one making this request; revoking it would lock you out",
            hint=_ROTATE,
            details={"key_id": key_id},
        )
    ids = lock_active_admin_ids_txn(conn, now=now)
    if ids == {key_id}:
        raise LockoutError(
            f"the key {key_id} is the last active admin key; revoking it would lock every admin out",
            hint=_ROTATE,
            details={"key_id": key_id},
        )


@router.post(
    "/auth/token",
    response_model=TokenOut,
    summary="Exchange an API key for a short-lived token (JWT) with the key's role",
)
def token_route(
    state: State, principal: Annotated[Principal, Depends(viewer)], body: TokenRequest | None = None
) -> TokenOut:
    if principal.via != "key":
        raise ForbiddenError(
            "a token cannot be exchanged for another token", hint="present the API key to get a new token"
        )
    issued = state.auth.issue_token(principal, ttl=body.ttl_seconds if body else None)
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in, role=principal.role)
