"""Secrets: API keys (`sk-...`), session ids and CSRF tokens. Only SHA-256 digests are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: the browser session cookie (set by /api/auth/login, read by the API middleware and the studio)
SESSION_COOKIE = "sensorium_session"

KEY_PREFIX = "sk-"
#: characters of a key kept in clear to recognise it in lists (`sk-` + 8)
SHOWN_PREFIX = 11


def new_api_key() -> str:
    """A new API key: `sk-` + 32 random bytes, URL-safe base64 (43 characters)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    """A new session id: 32 random bytes, URL-safe base64 (the cookie value)."""
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What is stored for a key or a session id: SHA-256, hex. These secrets are 256-bit random values,
    so a fast hash is enough (no password-style stretching needed)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def shown_prefix(key: str) -> str:
    return key[:SHOWN_PREFIX]


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False if either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))
