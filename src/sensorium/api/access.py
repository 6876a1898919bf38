"""Authentication, CSRF, quotas and ownership for AUTH_MODE apikey | accounts (docs/accounts.md).

For every guarded request the middleware finds the principal (an API key in `Authorization: Bearer`
or `X-API-Key`; with AUTH_MODE=accounts also the session cookie, whose state-changing requests must
carry `X-CSRF-Token`), counts the request against the principal's quotas in the database (refusing it
with 429 RATE_LIMITED or QUOTA_EXCEEDED + Retry-After), runs it *as* that user (`store/ownership.py`:
new jobs and tasks are theirs, other users' read as NOT_FOUND), and afterwards adds the request's wall
time and body bytes to the user's usage. Secrets are never logged.
"""

from __future__ import annotations

import logging
import time
from http.cookies import CookieError, SimpleCookie

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sensorium.accounts.keys import SESSION_COOKIE, same
from sensorium.accounts.schemas import Principal
from sensorium.accounts.service import AccountService, unauthorized
from sensorium.api.middleware import OPEN_PATHS, deny
from sensorium.config import Settings
from sensorium.errors import SensoriumError
from sensorium.store.database import unavailable_reason
from sensorium.store.ownership import Actor, acting_as

log = logging.getLogger(__name__)

CSRF_HEADER = b"x-csrf-token"
#: reachable without credentials (sign-up and login are throttled by the failed-login limits)
PUBLIC_PATHS = ("/api/auth/signup", "/api/auth/login")
#: the web studio's pages answer for themselves (they read the session through AccountService)
UNGUARDED_PREFIXES = ("/studio",)
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def request_key(headers: dict[bytes, bytes]) -> str:
    """The API key of a request: `X-API-Key`, else `Authorization: Bearer KEY`; empty if none."""
    auth = headers.get(b"authorization", b"").decode("latin-1")
    return headers.get(b"x-api-key", b"").decode("latin-1").strip() or (
        auth[7:].strip() if auth.lower().startswith("bearer ") else "")


def session_cookie(headers: dict[bytes, bytes]) -> str:
    raw = headers.get(b"cookie", b"").decode("latin-1")
    if not raw:
        return ""
    try:
        morsel = SimpleCookie(raw).get(SESSION_COOKIE)
    except CookieError:
        return ""
    return morsel.value if morsel is not None else ""


def is_guarded(method: str, path: str) -> bool:
    return not (method == "OPTIONS" or path == "/" or path.startswith(OPEN_PATHS) or path in PUBLIC_PATHS
                or path.startswith(UNGUARDED_PREFIXES))


class AuthMiddleware:
    """AUTH_MODE apikey | accounts: who is calling, may they, and what did it cost (see the module doc)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def _principal(self, scope: Scope) -> Principal:
        accounts = scope["app"].state.services.accounts
        headers = dict(scope.get("headers") or [])
        key = request_key(headers)
        if key:
            principal = await anyio.to_thread.run_sync(accounts.principal_for_key, key)
            if principal is None:
                raise unauthorized("The API key is not valid (unknown or revoked).")
            return principal
        sid = session_cookie(headers) if self.settings.auth_mode == "accounts" else ""
        if sid:
            principal = await anyio.to_thread.run_sync(accounts.principal_for_session, sid)
            if principal is None:
                raise unauthorized("The session has ended: log in again (POST /api/auth/login).")
            if scope.get("method") in STATE_CHANGING and not same(
                    headers.get(CSRF_HEADER, b"").decode("latin-1"), principal.csrf_token):
                raise unauthorized("Missing or wrong `X-CSRF-Token` header (the token login returned).",
                                   status=403)
            return principal
        hint = " or log in (POST /api/auth/login)" if self.settings.auth_mode == "accounts" else ""
        raise unauthorized("A valid API key is required: send `Authorization: Bearer KEY` or "
                           f"`X-API-Key: KEY`{hint}.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not is_guarded(scope.get("method", ""), path):
            await self.app(scope, receive, send)
            return
        accounts = scope["app"].state.services.accounts
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        try:
            principal = await self._principal(scope)
            await anyio.to_thread.run_sync(accounts.admit, principal, int(declared) if declared.isdigit() else 0)
        except SensoriumError as exc:
            await deny(send, path, exc)
            return
        scope.setdefault("state", {})["principal"] = principal
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        start = time.perf_counter()
        streaming: list[float] = []  # an event stream is charged up to its first byte, not while followed

        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start" and any(
                    k.lower() == b"content-type" and v.startswith(b"text/event-stream")
                    for k, v in message.get("headers") or []):
                streaming.append(time.perf_counter())
            await send(message)

        try:
            with acting_as(Actor(principal.user_id, principal.admin)):
                await self.app(scope, counting_receive, watching_send)
        finally:
            elapsed = (streaming[0] if streaming else time.perf_counter()) - start
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_record, accounts, principal, elapsed, received)


def _record(accounts: AccountService, principal: Principal, seconds: float, upload_bytes: int) -> None:
    """Count the request; with the database unreachable the answer has gone out already: log, don't raise."""
    try:
        accounts.record(principal, seconds, upload_bytes)
    except Exception as exc:
        if unavailable_reason(exc) is None:
            raise
        log.warning("usage of a request not counted: the database is unavailable (%s)", exc)
