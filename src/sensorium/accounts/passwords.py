"""Password hashing with argon2id (argon2-cffi's defaults: RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sensorium.errors import invalid

MIN_LENGTH = 8
MAX_LENGTH = 1024


class Passwords:
    """Hash and verify; `verify_dummy` spends the same time for an unknown account (no user enumeration
    by timing)."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash("sensorium-dummy-password")

    def hash(self, password: str) -> str:
        check_strength(password)
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        if not stored:
            self.verify_dummy(password)
            return False
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> None:
        try:
            self._hasher.verify(self._dummy, password)
        except VerificationError:
            pass

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


def check_strength(password: str) -> None:
    """VALIDATION_ERROR for a password too short or too long (never echoes the password)."""
    if len(password) < MIN_LENGTH:
        raise invalid(f"The password must have at least {MIN_LENGTH} characters.", param="password")
    if len(password) > MAX_LENGTH:
        raise invalid(f"The password must have at most {MAX_LENGTH} characters.", param="password")
