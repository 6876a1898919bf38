"""The response envelope of every JSON endpoint (DESIGN.md, API conventions)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from sensorium.errors import DESCRIPTIONS, STATUS, ErrorCode, SensoriumError

T = TypeVar("T")


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """A result as JSON-ready Python: pydantic models dumped (also inside lists and dicts)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def ok(type_: str, result: Any, **metadata: Any) -> dict[str, Any]:
    """The success envelope; `result` may be a pydantic model (routes declare `Envelope[Model]`)."""
    return {
        "success": True,
        "data": {"type": type_, "result": plain(result), "metadata": metadata},
        "timestamp": now_iso(),
    }


#: an absolute path (2+ components): only its last component is shown to clients; the API's own
#: paths (`/api/...`, `/v1/...`), which messages name as the next call to make, are kept
_ABS_PATH = re.compile(r"(?<![\w.:/])/(?!api/|v1/)(?:[^\s'\"/<>|]+/)+([^\s'\"/<>|,;)]+)")


def public_message(message: str) -> str:
    """The message with absolute server paths cut to their file name (clients never see server folders)."""
    return _ABS_PATH.sub(r"\1", message)


def error_body(exc: SensoriumError) -> dict[str, Any]:
    error = exc.to_dict()
    error["message"] = public_message(error["message"])
    return {"success": False, "error": error, "timestamp": now_iso()}


# --- models for the OpenAPI schema ---------------------------------------------------
class Metadata(BaseModel):
    processing_time_ms: float = Field(..., description="Wall time spent on the request's analysis.")
    model: str | None = Field(None, description="Model(s) that produced the result.")

    model_config = {"extra": "allow", "protected_namespaces": ()}


class Data(BaseModel, Generic[T]):
    type: str = Field(..., description="What the result is: `image`, `video` or `audio` for the analyses of "
                      "/api/analyze/image, /video and /audio; the endpoint's own type elsewhere, e.g. "
                      "`language_detection`, `sound_search`.")
    result: T
    metadata: Metadata


class Envelope(BaseModel, Generic[T]):
    success: bool = Field(True, description="Always true on success.")
    data: Data[T]
    timestamp: str = Field(..., description="UTC time of the response, ISO 8601.")


class ErrorInfo(BaseModel):
    code: ErrorCode = Field(..., description="Machine-readable error code.")
    message: str = Field(..., description="What went wrong and what to do about it.")
    details: dict[str, Any] | None = Field(None, description="Extra facts (limits, model names...).")


class ErrorEnvelope(BaseModel):
    success: bool = Field(False, description="Always false on error.")
    error: ErrorInfo
    timestamp: str


#: what the API adds to a code's meaning in the OpenAPI description
API_NOTES = {ErrorCode.VALIDATION_ERROR: "Also a malformed request body (a broken multipart form or JSON)."}


def error_responses(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries listing the error codes a route can return."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in codes:
        by_status.setdefault(STATUS[code], []).append(code)
    out: dict[int | str, dict[str, Any]] = {}
    for status, cs in sorted(by_status.items()):
        desc = " | ".join(f"`{c.value}`: {DESCRIPTIONS[c]}" + (f" {API_NOTES[c]}" if c in API_NOTES else "")
                          for c in cs)
        out[status] = {"model": ErrorEnvelope, "description": desc}
    return out


def json_error_responses(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """`error_responses` for a route whose success is not JSON (CSV, ...): the errors still are, and a
    `model` would be documented under the route's own media type."""
    out = error_responses(*codes)
    for entry in out.values():
        entry.pop("model")
        entry["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    return out


COMMON_ERRORS = (ErrorCode.VALIDATION_ERROR,)
UPLOAD_ERRORS = (
    ErrorCode.INVALID_FILE_TYPE,
    ErrorCode.FILE_TOO_LARGE,
    ErrorCode.PROCESSING_FAILED,
    ErrorCode.VALIDATION_ERROR,
    ErrorCode.STORAGE_FULL,
)
ANALYSIS_ERRORS = (
    *UPLOAD_ERRORS,
    ErrorCode.MODEL_NOT_LOADED,
    ErrorCode.TIMEOUT,
    ErrorCode.OUT_OF_MEMORY,
    ErrorCode.SERVICE_UNAVAILABLE,
)
