"""Request and response shapes of accounts, keys, sessions and usage (API, CLI and the studio)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

Role = Literal["user", "admin"]


@dataclass(frozen=True)
class Principal:
    """Who a request is authenticated as. `via`: `key` (an API key), `session` (a browser cookie) or
    `admin-key` (one of the static API_KEYS: an operator, no user row)."""

    user_id: str | None
    email: str | None
    role: Role
    via: Literal["key", "session", "admin-key"]
    key_id: str | None = None
    csrf_token: str | None = None
    subject: str = ""  # what quotas and rate limits count against

    @property
    def admin(self) -> bool:
        return self.role == "admin"


class Credentials(BaseModel):
    email: str = Field(..., min_length=3, max_length=320, description="E-mail address or user name "
                       "(case-insensitive).")
    password: str = Field(..., min_length=1, max_length=1024, description="At least 8 characters.")


class QuotaLimits(BaseModel):
    requests_per_day: int = Field(..., description="API requests per UTC day (0 = unlimited).")
    processing_seconds_per_day: float = Field(..., description="Request wall time plus job run time per UTC "
                                              "day, seconds (0 = unlimited).")
    upload_bytes_per_day: int = Field(..., description="Request body bytes per UTC day (0 = unlimited).")
    requests_per_minute: int = Field(..., description="Rate limit (0 = unlimited).")


class UserInfo(BaseModel):
    id: str
    email: str
    role: Role
    created_at: str | None = None
    limits: QuotaLimits | None = Field(None, description="The user's effective limits.")


class AccountInfo(BaseModel):
    auth_mode: Literal["off", "apikey", "accounts"] = Field(..., description="The server's AUTH_MODE.")
    user: UserInfo | None = Field(None, description="Who you are (null with AUTH_MODE=off or an operator key).")
    via: str | None = Field(None, description="How this request was authenticated: key, session, admin-key.")
    csrf_token: str | None = Field(None, description="With a session: the token to send as `X-CSRF-Token` on "
                                   "every POST, PUT, PATCH and DELETE.")


class LoginResult(BaseModel):
    user: UserInfo
    csrf_token: str = Field(..., description="Send it as `X-CSRF-Token` on state-changing requests.")
    expires_at: str = Field(..., description="When the session ends (UTC, ISO 8601).")


class KeyInfo(BaseModel):
    id: str = Field(..., description="The key's id (to revoke it).")
    name: str = Field("", description="Your label for the key.")
    prefix: str = Field(..., description="The key's first characters, to recognise it.")
    user_id: str
    created_at: str | None = None
    last_used_at: str | None = Field(None, description="Last request made with it (UTC).")
    revoked_at: str | None = Field(None, description="When it was revoked; null while active.")


class NewKey(BaseModel):
    key: str = Field(..., description="The API key. Shown this once only: store it now.")
    info: KeyInfo


class CreateKeyRequest(BaseModel):
    name: str = Field("", max_length=100, description="A label, e.g. the program that will use it.")


class UsageDay(BaseModel):
    day: str = Field(..., description="UTC day, YYYY-MM-DD.")
    requests: int
    processing_seconds: float
    upload_bytes: int


class KeyUsage(BaseModel):
    key_id: str
    days: list[UsageDay]


class UsageReport(BaseModel):
    user_id: str
    today: UsageDay = Field(..., description="Today's counters (what the quotas apply to).")
    limits: QuotaLimits
    days: list[UsageDay] = Field(..., description="The last days with any use, newest first.")
    keys: list[KeyUsage] = Field(default_factory=list, description="The same counters per API key.")
