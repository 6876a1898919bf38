"""Files on disk: sanitized names and self-cleaning workspaces."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from pathlib import Path

_UNSAFE = re.compile(r"[^\w. -]+")  # unicode letters/digits, dot, space, dash
#: File systems limit a name to 255 *bytes*; stored names get a short prefix, so keep 120 bytes of UTF-8.
MAX_NAME_BYTES = 120


def sanitize_filename(name: str | None, default: str = "upload") -> str:
    """A name that is safe as one path component: no folders, no `..`, no control characters.

    The original name is only ever used for display and for the suffix; stored files get this.
    """
    if not name:
        return default
    name = unicodedata.normalize("NFKC", str(name))
    name = name.replace("\\", "/").split("/")[-1]  # drop any folder part, either separator
    name = "".join(ch for ch in name if ch.isprintable())
    name = _UNSAFE.sub("_", name).strip(" .")
    name = re.sub(r"\.{2,}", ".", name)
    if not name or name in {".", ".."}:
        return default
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        if not (dot and len(ext.encode("utf-8")) <= 10):
            stem, ext = name, ""
        keep = MAX_NAME_BYTES - (len(ext.encode("utf-8")) + 1 if ext else 0)
        stem = stem.encode("utf-8")[:keep].decode("utf-8", errors="ignore")  # never cut a character in two
        name = f"{stem}.{ext}" if ext else stem
    return name


class Workspace:
    """A private temporary folder, removed with everything in it on exit (errors included)."""

    def __init__(self, parent: Path, prefix: str = "req-") -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        self._n = 0

    def new_path(self, name: str | None = None) -> Path:
        """A fresh path inside the workspace; the name is sanitized and made unique."""
        self._n += 1
        safe = sanitize_filename(name, default=f"file-{uuid.uuid4().hex[:8]}")
        return self.path / f"{self._n:03d}-{safe}"

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def write_atomic(path: Path, data: bytes) -> Path:
    """Write `data` to `path` all or nothing: a hidden part file renamed into place; on any error (a full
    disk) the part file is removed and `path` does not exist, so no half-written file is ever served."""
    part = path.with_name(f".{path.name}.part")
    try:
        with open(part, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
