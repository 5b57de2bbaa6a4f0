"""API keys of `baton serve`: created with a role, stored hashed, shown once, revocable, with expiry.

A key reads ``baton_<id>_<secret>``. The id is public (listings, logs, rate limits); only the SHA-256 of
the secret is stored. Secrets have 256 bits of entropy, so a fast hash is enough: there is nothing to
guess, only a leaked database to make useless.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from baton.core.errors import InvalidInputError, NotFoundError
from baton.store.schema import api_keys

KEY_PREFIX = "baton_"


class Role(StrEnum):
    VIEWER = "viewer"  # reads runs, events, costs, workflows and agents
    OPERATOR = "operator"  # also starts, cancels, resumes runs and approves, rejects, retries tasks
    ADMIN = "admin"  # also manages API keys and settings

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        """Whether a holder of this role may do what ``needed`` may (roles are ordered)."""
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: Role
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None

    def active(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # the whole key (``baton_<id>_<secret>``): shown once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _to_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def create_key_txn(
    conn: Connection, *, name: str, role: Role, now: float, expires_at: float | None = None
) -> CreatedKey:
    """Store a new key; the returned ``secret`` is the only time the whole key is known."""
    if not name.strip():
        raise InvalidInputError("an API key needs a name", fields={"name": "empty"})
    if expires_at is not None and expires_at <= now:
        raise InvalidInputError(
            "an API key's expiry must be in the future", fields={"expires_at": "in the past"}
        )
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(api_keys).values(
            id=key_id,
            name=name.strip(),
            role=role.value,
            secret_hash=_hash(secret),
            created_at=now,
            expires_at=expires_at,
        )
    )
    key = ApiKey(key_id, name.strip(), role, now, expires_at, None, None)
    return CreatedKey(key=key, secret=f"{KEY_PREFIX}{key_id}_{secret}")


def split_key(presented: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a string shaped like a key, else None."""
    if not presented.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = presented[len(KEY_PREFIX) :].partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


def verify_key(conn: Connection, presented: str, *, now: float) -> ApiKey | None:
    """The active key that ``presented`` is, or None (unknown, wrong secret, revoked or expired)."""
    parts = split_key(presented)
    if parts is None:
        return None
    key_id, secret = parts
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    key = _to_key(row)
    return key if key.active(now) else None


def touch_key_txn(conn: Connection, key_id: str, *, now: float) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))


def list_keys(
    conn: Connection, *, include_revoked: bool = False, limit: int = 100, offset: int = 0
) -> list[ApiKey]:
    query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id).limit(limit).offset(offset)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    return [_to_key(row) for row in conn.execute(query)]


def get_key(conn: Connection, key_id: str) -> ApiKey:
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise NotFoundError(
            f"no API key with id {key_id!r}",
            hint="list keys with `baton keys list`",
            details={"key_id": key_id},
        )
    return _to_key(row)


def revoke_key_txn(conn: Connection, key_id: str, *, now: float) -> ApiKey:
    """Revoke a key at once; revoking a revoked key changes nothing."""
    get_key(conn, key_id)
    conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return get_key(conn, key_id)


def count_active_keys(conn: Connection, *, now: float) -> int:
    query = select(func.count()).where(
        api_keys.c.revoked_at.is_(None),
        (api_keys.c.expires_at.is_(None)) | (api_keys.c.expires_at > now),
    )
    return int(conn.execute(query).scalar() or 0)


def lock_active_admin_ids_txn(conn: Connection, *, now: float) -> set[str]:
    """The ids of the active admin keys, locked until the transaction ends: two concurrent revocations
    then see each other's result (PostgreSQL; SQLite's write transaction already serialises them)."""
    query = (
        select(api_keys.c.id)
        .where(
            api_keys.c.role == Role.ADMIN.value,
            api_keys.c.revoked_at.is_(None),
            (api_keys.c.expires_at.is_(None)) | (api_keys.c.expires_at > now),
        )
        .with_for_update()
    )
    return {row.id for row in conn.execute(query)}


def key_not_revoked(conn: Connection, key_id: str) -> bool:
    """Whether the key exists and is not revoked: one primary-key read."""
    row = conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.id == key_id)).first()
    return row is not None and row.revoked_at is None
