"""Who is calling: API keys and short-lived JWTs, roles, and the per-key rate limit.

A request carries ``Authorization: Bearer <API key or token>`` or ``X-API-Key: <API key>``; streams,
which browsers open without headers, may pass ``?token=`` instead. Tokens are HS256 JWTs issued for a
key (``POST /auth/token``); they name their signing key (``kid``) so the signing secret can rotate
without downtime: the first configured key signs, every configured key verifies. A token stops working
when its key is revoked (at once, on every server sharing the store), not only when it expires. Open
streams check their credentials again every ``stream_recheck_seconds``.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import jwt
from fastapi import Request, Security, WebSocket
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from baton.core.errors import NotFoundError
from baton.server.errors import ForbiddenError, RateLimitedError, UnauthenticatedError
from baton.server.middleware import route_label
from baton.server.ratelimit import RateLimiter
from baton.server.settings import ServerSettings
from baton.store.keys import ApiKey, Role, get_key, key_not_revoked, split_key, touch_key_txn, verify_key
from baton.store.store import Store

ISSUER = "baton"
_AUTH_FAILURES = "<authentication failures>"

bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer", description="An API key or a token")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey")
# Streams only: browsers open EventSource and WebSocket connections without custom headers.
query_token_scheme = APIKeyQuery(name="token", auto_error=False, scheme_name="queryToken")


@dataclass(frozen=True)
class Principal:
    key_id: str
    name: str
    role: Role
    via: str  # "key" or "token"
    expires_at: float | None = None  # the token's (or key's) expiry: keys it creates may not outlive it


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    expires_at: float


class Authenticator:
    """Checks credentials against the store, with a short cache so a busy key costs no query per request."""

    def __init__(self, store: Store, settings: ServerSettings) -> None:
        if not settings.signing_keys:
            raise ValueError("the server needs at least one signing key")
        self.store = store
        self.settings = settings
        self.limiter = RateLimiter(per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
        self.failures = RateLimiter(
            per_minute=settings.auth_failures_per_minute, burst=settings.auth_failure_burst
        )
        self._by_secret: dict[str, tuple[float, ApiKey | None]] = {}
        self._by_id: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    # -- credentials -----------------------------------------------------------------------------

    async def authenticate(self, presented: str) -> Principal | None:
        """The principal ``presented`` (an API key or a token) stands for, or None."""
        if split_key(presented) is not None:
            key = await self._key_for_secret(presented)
            return Principal(key.id, key.name, key.role, "key", expires_at=key.expires_at) if key else None
        claims = self._decode(presented)
        if claims is None:
            return None
        key = await self._key_by_id(str(claims.get("sub", "")))
        if key is None:
            return None
        # The token's role can only narrow the key's current role, never widen it.
        role = min(Role(str(claims["role"])), key.role, key=lambda r: r.rank)
        return Principal(key.id, key.name, role, "token", expires_at=float(str(claims["exp"])))

    def issue_token(self, principal: Principal, *, ttl: int | None = None) -> IssuedToken:
        ttl = min(ttl or self.settings.token_ttl_seconds, self.settings.token_ttl_seconds)
        now = time.time()
        signing = self.settings.signing_keys[0]
        claims = {
            "iss": ISSUER,
            "sub": principal.key_id,
            "role": principal.role.value,
            "iat": int(now),
            "exp": int(now) + ttl,
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, signing.secret, algorithm="HS256", headers={"kid": signing.kid})
        return IssuedToken(token=token, expires_in=ttl, expires_at=now + ttl)

    def _decode(self, token: str) -> dict[str, object] | None:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        for signing in self.settings.signing_keys:
            if signing.kid != kid:
                continue
            try:
                claims: dict[str, object] = jwt.decode(
                    token,
                    signing.secret,
                    algorithms=["HS256"],
                    issuer=ISSUER,
                    options={"require": ["exp", "iat", "sub", "iss"]},
                )
            except jwt.PyJWTError:
                return None
            return claims if claims.get("role") in {r.value for r in Role} else None
        return None

    async def _key_for_secret(self, presented: str) -> ApiKey | None:
        digest = hashlib.sha256(presented.encode()).hexdigest()
        now = time.monotonic()
        cached = self._by_secret.get(digest)
        if cached is not None and now - cached[0] < self.settings.key_cache_seconds:
            if cached[1] is None or not cached[1].active(time.time()):
                return None
            return cached[1] if await self._not_revoked(cached[1].id) else None
        key = await run_in_threadpool(self._verify_and_touch, presented)
        with self._lock:
            if len(self._by_secret) > 10_000:
                self._by_secret.clear()
            self._by_secret[digest] = (now, key)
        return key

    def _verify_and_touch(self, presented: str) -> ApiKey | None:
        now = time.time()
        with self.store.read() as conn:
            key = verify_key(conn, presented, now=now)
        if key is not None:
            with self.store.begin() as conn:
                touch_key_txn(conn, key.id, now=now)
        return key

    async def _key_by_id(self, key_id: str) -> ApiKey | None:
        now = time.monotonic()
        cached = self._by_id.get(key_id)
        if cached is not None and now - cached[0] < self.settings.key_cache_seconds:
            key = cached[1]
            if key is not None and key.active(time.time()) and not await self._not_revoked(key.id):
                return None
        else:
            key = await run_in_threadpool(self._load_key, key_id)
            with self._lock:
                if len(self._by_id) > 10_000:
                    self._by_id.clear()
                self._by_id[key_id] = (now, key)
        return key if key is not None and key.active(time.time()) else None

    async def _not_revoked(self, key_id: str) -> bool:
        """One primary-key read on a cache hit: a key revoked by any server sharing the store (or by
        `baton keys revoke`) stops working at once here too. The cache still saves the hash and the write."""

        def read() -> bool:
            with self.store.read() as conn:
                return key_not_revoked(conn, key_id)

        if self.store.dialect == "sqlite":  # a short local read: a thread hop costs more than it saves
            return read()
        return await run_in_threadpool(read)

    def _load_key(self, key_id: str) -> ApiKey | None:
        try:
            with self.store.read() as conn:
                return get_key(conn, key_id)
        except NotFoundError:
            return None

    def forget(self, key_id: str) -> None:
        """Drop cached verdicts about a key (after revoking it here, so it stops working at once)."""
        with self._lock:
            self._by_id.pop(key_id, None)
            self._by_secret = {d: v for d, v in self._by_secret.items() if v[1] is None or v[1].id != key_id}

    # -- checks ----------------------------------------------------------------------------------

    def _failed(self, client: str) -> None:
        # Not refused here: this request already gets its 401; the next one from the address sees the wait.
        self.failures.take(client, _AUTH_FAILURES)

    async def check(self, presented: str | None, needed: Role, *, route: str, client: str = "") -> Principal:
        """The caller, if its credentials are valid, its role suffices and its rate limit allows.

        Failed authentications are counted per client address: past the limit the address gets 429s
        (with Retry-After), whatever it presents, until its bucket refills."""
        wait = self.failures.waiting(client, _AUTH_FAILURES)
        if wait > 0:
            raise RateLimitedError(f"too many failed authentications from {client}", retry_after=wait)
        if not presented:
            self._failed(client)
            raise UnauthenticatedError(
                "this endpoint needs credentials",
                hint="send `Authorization: Bearer <API key or token>` (create a key with `baton keys create`)",
            )
        principal = await self.authenticate(presented)
        if principal is None:
            self._failed(client)
            raise UnauthenticatedError(
                "the credentials are not valid (unknown, revoked or expired)",
                hint="create a new key with `baton keys create`, or get a new token",
            )
        if not principal.role.allows(needed):
            raise ForbiddenError(
                f"this endpoint needs the role {needed.value}; the key {principal.key_id} has {principal.role.value}",
                details={"needed": needed.value, "role": principal.role.value},
            )
        wait = self.limiter.take(principal.key_id, route)
        if wait > 0:
            raise RateLimitedError(
                f"too many requests to {route} for key {principal.key_id}", retry_after=wait
            )
        return principal


def client_address(request: Request | WebSocket) -> str:
    """The caller's address (the proxy's forwarded one when ``--proxy-headers`` trusts it)."""
    return request.client.host if request.client else ""


def presented_credentials(
    bearer: HTTPAuthorizationCredentials | None, api_key: str | None, query_token: str | None = None
) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return api_key or query_token or None


RoleDependency = Callable[..., Awaitable[Principal]]


def require(role: Role) -> RoleDependency:
    """A FastAPI dependency that admits callers with at least ``role`` (its ``role`` attribute says which)."""

    async def dependency(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
        api_key: str | None = Security(api_key_scheme),
    ) -> Principal:
        authenticator: Authenticator = request.app.state.auth
        presented = presented_credentials(bearer, api_key)
        return await authenticator.check(
            presented, role, route=route_label(request.scope), client=client_address(request)
        )

    dependency.role = role  # type: ignore[attr-defined]
    return dependency


def require_stream(role: Role) -> RoleDependency:
    """Like :func:`require`, also accepting ``?token=`` (EventSource and WebSocket cannot send headers)."""

    async def dependency(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
        api_key: str | None = Security(api_key_scheme),
        query_token: str | None = Security(query_token_scheme),
    ) -> Principal:
        authenticator: Authenticator = request.app.state.auth
        presented = presented_credentials(bearer, api_key, query_token)
        return await authenticator.check(
            presented, role, route=route_label(request.scope), client=client_address(request)
        )

    dependency.role = role  # type: ignore[attr-defined]
    return dependency


viewer = require(Role.VIEWER)
operator = require(Role.OPERATOR)
admin = require(Role.ADMIN)
