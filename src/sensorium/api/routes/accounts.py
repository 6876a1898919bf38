"""Accounts: sign-up, login and logout (browser sessions), the account, its API keys and usage."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from sensorium.accounts.keys import SESSION_COOKIE
from sensorium.accounts.schemas import (
    AccountInfo,
    CreateKeyRequest,
    Credentials,
    KeyInfo,
    LoginResult,
    NewKey,
    UsageReport,
    UserInfo,
)
from sensorium.accounts.service import unauthorized
from sensorium.api.access import session_cookie
from sensorium.api.deps import PrincipalDep, ServicesDep, UserDep
from sensorium.api.envelope import Envelope, error_responses, ok
from sensorium.errors import ErrorCode, not_found
from sensorium.services import Services

router = APIRouter(tags=["accounts"])
AUTH_ERRORS = (ErrorCode.UNAUTHORIZED, ErrorCode.RATE_LIMITED, ErrorCode.QUOTA_EXCEEDED, ErrorCode.VALIDATION_ERROR)
KeyId = Annotated[str, Path(description="The key's id (from the key list).", pattern=r"^[0-9a-f]{32}$")]


def _require_accounts_mode(services: Services) -> None:
    if services.settings.auth_mode != "accounts":
        raise not_found("Sign-up and login exist only with AUTH_MODE=accounts.")


@router.post(
    "/api/auth/signup", summary="Sign up",
    description="AUTH_MODE=accounts and SIGNUP_ENABLED: create an account (then log in). Passwords: 8+ characters, "
    "stored as argon2id hashes.",
    response_model=Envelope[UserInfo], status_code=201,
    responses=error_responses(ErrorCode.NOT_FOUND, ErrorCode.UNAUTHORIZED, ErrorCode.VALIDATION_ERROR),
)
def signup(body: Credentials, services: ServicesDep) -> dict[str, Any]:
    _require_accounts_mode(services)
    if not services.settings.signup_enabled:
        raise unauthorized("Sign-up is disabled (SIGNUP_ENABLED=false): ask an admin.", status=403)
    return ok("user", services.accounts.create_user(body.email, body.password), processing_time_ms=0.0, model=None)


@router.post(
    "/api/auth/login", summary="Log in",
    description="Starts a session: sets the HttpOnly, SameSite=Lax cookie `sensorium_session` (Secure with "
    "COOKIE_SECURE) with a new id at every login, and returns the CSRF token to send as `X-CSRF-Token` on "
    "every state-changing request. Failed logins are limited per account and per address (429 + Retry-After).",
    response_model=Envelope[LoginResult],
    responses=error_responses(ErrorCode.NOT_FOUND, *AUTH_ERRORS),
)
def login(body: Credentials, request: Request, response: Response, services: ServicesDep) -> dict[str, Any]:
    _require_accounts_mode(services)
    address = request.client.host if request.client else "unknown"
    old = session_cookie({b"cookie": request.headers.get("cookie", "").encode("latin-1")})
    session_id, result = services.accounts.login(body.email, body.password, address, old_session=old or None)
    response.set_cookie(SESSION_COOKIE, session_id, max_age=int(services.settings.session_ttl_hours * 3600),
                        path="/", httponly=True, samesite="lax", secure=services.settings.cookie_secure)
    return ok("login", result, processing_time_ms=0.0, model=None)


@router.post(
    "/api/auth/logout", summary="Log out",
    description="Ends the session (needs the session cookie and `X-CSRF-Token`) and clears the cookie. "
    "NOT_FOUND when accounts are off (AUTH_MODE=off).",
    response_model=Envelope[AccountInfo],
    responses=error_responses(ErrorCode.NOT_FOUND, *AUTH_ERRORS),
)
def logout(request: Request, response: Response, services: ServicesDep, principal: UserDep) -> dict[str, Any]:
    sid = session_cookie({b"cookie": request.headers.get("cookie", "").encode("latin-1")})
    if principal.via == "session" and sid:
        services.accounts.logout(sid)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=services.settings.cookie_secure)
    return ok("account", services.accounts.account(None), processing_time_ms=0.0, model=None)


@router.get(
    "/api/account", summary="Who am I",
    description="The server's AUTH_MODE, the signed-in user with their limits, how the request was "
    "authenticated and (for a session) the CSRF token.",
    response_model=Envelope[AccountInfo], responses=error_responses(*AUTH_ERRORS),
)
def account(services: ServicesDep, principal: PrincipalDep) -> dict[str, Any]:
    return ok("account", services.accounts.account(principal), processing_time_ms=0.0, model=None)


@router.get(
    "/api/account/keys", summary="List my API keys",
    description="Newest first, revoked ones included; keys themselves are never shown again, only their prefix.",
    response_model=Envelope[list[KeyInfo]], responses=error_responses(ErrorCode.NOT_FOUND, *AUTH_ERRORS),
)
def list_keys(services: ServicesDep, principal: UserDep) -> dict[str, Any]:
    return ok("api_keys", services.accounts.list_keys(principal.user_id), processing_time_ms=0.0, model=None)


@router.post(
    "/api/account/keys", summary="Create an API key",
    description="The key (`sk-...`) is in this response only: store it. Send it as `Authorization: Bearer KEY` "
    "or `X-API-Key: KEY`.",
    response_model=Envelope[NewKey], status_code=201,
    responses=error_responses(ErrorCode.NOT_FOUND, *AUTH_ERRORS),
)
def create_key(body: CreateKeyRequest, services: ServicesDep, principal: UserDep) -> dict[str, Any]:
    assert principal.user_id is not None
    return ok("api_key", services.accounts.create_key(principal.user_id, body.name), processing_time_ms=0.0,
              model=None)


@router.delete(
    "/api/account/keys/{key_id}", summary="Revoke an API key",
    description="Revoked at once: requests with it answer 401. Another user's key is NOT_FOUND.",
    response_model=Envelope[KeyInfo], responses=error_responses(ErrorCode.NOT_FOUND, *AUTH_ERRORS),
)
def revoke_key(key_id: KeyId, services: ServicesDep, principal: UserDep) -> dict[str, Any]:
    return ok("api_key", services.accounts.revoke_key(key_id, user_id=principal.user_id), processing_time_ms=0.0,
              model=None)


@router.get(
    "/api/account/usage", summary="My usage and limits",
    description="Today's requests, processing seconds (request wall time + job run time) and upload bytes against "
    "the limits, the last days, and the same per API key. Days are UTC.",
    response_model=Envelope[UsageReport], responses=error_responses(ErrorCode.NOT_FOUND, *AUTH_ERRORS),
)
def usage(services: ServicesDep, principal: UserDep,
          days: Annotated[int, Query(ge=1, le=366, description="How many days to list.")] = 7) -> dict[str, Any]:
    assert principal.user_id is not None
    return ok("usage", services.accounts.usage(principal.user_id, days), processing_time_ms=0.0, model=None)
