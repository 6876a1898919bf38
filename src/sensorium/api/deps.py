"""Typed FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sensorium.accounts.schemas import Principal
from sensorium.config import Settings
from sensorium.errors import invalid, not_found
from sensorium.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_settings(request: Request) -> Settings:
    return request.app.state.services.settings


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(request: Request) -> Principal | None:
    """Who the request is authenticated as (set by `api/access.AuthMiddleware`); None with AUTH_MODE=off
    and on public paths."""
    return getattr(request.state, "principal", None)


def get_user_principal(request: Request) -> Principal:
    """The signed-in user (a key or a session); NOT_FOUND with AUTH_MODE=off (no accounts), VALIDATION_ERROR
    for an operator key (API_KEYS has no account)."""
    principal = get_principal(request)
    if principal is None:
        raise not_found("Accounts are off (AUTH_MODE=off): there is no account to show. See docs/accounts.md.")
    if principal.user_id is None:
        raise invalid("An operator key (API_KEYS) has no account; use `sensorium users` and `sensorium keys`.")
    return principal


PrincipalDep = Annotated[Principal | None, Depends(get_principal)]
UserDep = Annotated[Principal, Depends(get_user_principal)]
