"""Error codes, their HTTP statuses, and the one exception type the code raises."""

from __future__ import annotations

import errno
from enum import Enum
from typing import Any


class ErrorCode(str, Enum):
    INVALID_FILE_TYPE = "INVALID_FILE_TYPE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    PROCESSING_FAILED = "PROCESSING_FAILED"
    MODEL_NOT_LOADED = "MODEL_NOT_LOADED"
    TIMEOUT = "TIMEOUT"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHORIZED = "UNAUTHORIZED"
    RATE_LIMITED = "RATE_LIMITED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    STORAGE_FULL = "STORAGE_FULL"


#: Default HTTP status per code (a raise site may pick another, e.g. 405 for a wrong method).
STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_FILE_TYPE: 415,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.PROCESSING_FAILED: 422,
    ErrorCode.MODEL_NOT_LOADED: 503,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.OUT_OF_MEMORY: 507,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUOTA_EXCEEDED: 429,
    ErrorCode.STORAGE_FULL: 507,
}

#: What each code means, for the OpenAPI docs and the README.
DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.INVALID_FILE_TYPE: "The content is not a supported type (sniffed from bytes, not the name).",
    ErrorCode.FILE_TOO_LARGE: "A file or the request body is over its limit; the upload was cut off there.",
    ErrorCode.PROCESSING_FAILED: "The file was accepted but could not be decoded or analyzed "
                                 "(corrupt, truncated, empty).",
    ErrorCode.MODEL_NOT_LOADED: "A model the request needs is not installed or failed to load; "
                                "the message says what to install.",
    ErrorCode.TIMEOUT: "The analysis took longer than REQUEST_TIMEOUT_SECONDS (use async=true for long media).",
    ErrorCode.OUT_OF_MEMORY: "The analysis ran out of memory.",
    ErrorCode.SERVICE_UNAVAILABLE: "All analysis slots stayed busy for QUEUE_TIMEOUT_SECONDS, or the database "
                                   "cannot answer (PostgreSQL down or restarting, SQLite busy); retry after "
                                   "Retry-After.",
    ErrorCode.VALIDATION_ERROR: "A parameter is missing, malformed or out of range, or a method is not allowed.",
    ErrorCode.NOT_FOUND: "No such route, job, task or resource.",
    ErrorCode.UNAUTHORIZED: "Missing or invalid API key.",
    ErrorCode.RATE_LIMITED: "Too many requests.",
    ErrorCode.QUOTA_EXCEEDED: "The account's quota is used up.",
    ErrorCode.STORAGE_FULL: "The server's data folder is full (no space left, or over a file size limit): "
                            "nothing from the request was kept; retry once space is freed.",
}


class SensoriumError(Exception):
    """The only exception type pipelines and routes raise on purpose."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.status = status or STATUS[self.code]
        self.details = details or {}
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            err["details"] = self.details
        return err

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"SensoriumError({self.code.value}, {self.message!r})"


def invalid(message: str, **details: Any) -> SensoriumError:
    return SensoriumError(ErrorCode.VALIDATION_ERROR, message, details=details or None)


def not_found(message: str) -> SensoriumError:
    return SensoriumError(ErrorCode.NOT_FOUND, message)


def processing_failed(message: str, **details: Any) -> SensoriumError:
    return SensoriumError(ErrorCode.PROCESSING_FAILED, message, details=details or None)


#: OSError numbers that mean "the disk (or the quota, or the file size limit) is full"
_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def storage_full(exc: BaseException) -> SensoriumError | None:
    """STORAGE_FULL when `exc` (or what caused it) is a full disk: an OSError ENOSPC/EFBIG/EDQUOT, or
    SQLite's "database or disk is full"; None otherwise."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        full = (isinstance(cur, OSError) and cur.errno in _FULL) or "database or disk is full" in str(cur)
        if full:
            return SensoriumError(ErrorCode.STORAGE_FULL, "The server's data folder is full "
                                  f"({type(cur).__name__}: {cur.strerror if isinstance(cur, OSError) else 'disk full'})"
                                  "; nothing from this request was kept. Free space on the server and retry.")
        cur = cur.__cause__ or cur.__context__ or getattr(cur, "orig", None)
    return None
