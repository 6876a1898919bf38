"""Receiving uploaded files: sniffed type, per-type limits, sanitized names, cleaned up always.

The request body as a whole is already cut off at the route's limit by `BodyLimitMiddleware`
while it streams in; here each file is copied (in chunks) into the request's `Workspace` under a
sanitized name, its type is sniffed from its bytes, and its kind's limit is applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import UploadFile

from sensorium.config import MB, Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.sniff import HEAD_BYTES, MediaInfo, describe, sniff_bytes, unsupported_message
from sensorium.store.files import Workspace, sanitize_filename

CHUNK = 1024 * 1024


@dataclass
class StoredUpload:
    path: Path
    filename: str  # sanitized original name, for display
    size: int
    info: MediaInfo


async def receive_upload(
    upload: UploadFile | None,
    workspace: Workspace,
    settings: Settings,
    allowed: Iterable[str] = ("image", "video", "audio"),
    *,
    field: str = "file",
    formats: Iterable[str] | None = None,
) -> StoredUpload:
    """Store one upload in `workspace` after checking its content type and size.

    allowed: media kinds accepted (image/video/audio); formats: optionally narrower (e.g. {"jpeg"}).
    """
    allowed = tuple(allowed)
    if upload is None or not isinstance(upload, UploadFile):
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Missing file field {field!r}.",
                             details={"param": field})
    name = sanitize_filename(upload.filename)
    dest = workspace.new_path(name)
    size = 0
    kind: str | None = None
    limit = int(settings.max_upload_size_mb * MB)
    with open(dest, "wb") as out:
        while True:
            chunk = await upload.read(CHUNK)
            if not chunk:
                break
            if kind is None:
                guess = sniff_bytes(chunk[:HEAD_BYTES])
                if guess is None or guess[0] not in allowed:
                    raise SensoriumError(
                        ErrorCode.INVALID_FILE_TYPE,
                        f"{field} {name!r}: " + unsupported_message(allowed),  # type: ignore[arg-type]
                        details={"param": field},
                    )
                kind = guess[0]
                limit = settings.limit_bytes(kind)
            size += len(chunk)
            if size > limit:
                raise SensoriumError(
                    ErrorCode.FILE_TOO_LARGE,
                    f"{field} {name!r} exceeds the {limit / MB:.0f} MB limit for {kind} files.",
                    details={"param": field, "limit_bytes": limit},
                )
            out.write(chunk)
    if size == 0:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, f"{field} {name!r} is empty (0 bytes).",
                             details={"param": field})
    info = describe(dest)
    if info.kind not in allowed:
        raise SensoriumError(
            ErrorCode.INVALID_FILE_TYPE,
            f"{field} {name!r} is {info.kind} ({info.format}); expected " + " or ".join(allowed) + ".",
            details={"param": field},
        )
    if formats is not None and info.format not in set(formats):
        raise SensoriumError(
            ErrorCode.INVALID_FILE_TYPE,
            f"{field} {name!r} is {info.format.upper()}; only {', '.join(f.upper() for f in formats)} accepted.",
            details={"param": field},
        )
    if info.duration is not None and info.duration > settings.max_media_duration_seconds:
        raise SensoriumError(
            ErrorCode.VALIDATION_ERROR,
            f"{field} {name!r} lasts {info.duration:.0f}s; the limit is "
            f"{settings.max_media_duration_seconds:.0f}s.",
        )
    return StoredUpload(path=dest, filename=name, size=size, info=info)
