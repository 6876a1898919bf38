"""`sensorium models pull`: download model files, resumably, and verify their sha256.

Files come from their publishers' canonical locations (see `models/manifest.py`) or, when a mirror
is given (MODEL_MIRROR_URL or `--mirror URL`), from `URL/<path>` with the same layout as the cache
(`URL/yolox-nano/yolox_nano.onnx`, `URL/yamnet/yamnet.tflite`, ...). Each file is written to
`<MODEL_CACHE_DIR>/<path>.part`, continued with an HTTP Range request after an interruption (in
the same run after a dropped connection, or by running the command again), and renamed into place
only when its size and sha256 match a pinned value. A mismatch removes the `.part` and is an error
that names both digests.

Nothing else in Sensorium downloads, except when ALLOW_DOWNLOADS=true lets the resolver call this
module for a model that is missing when first used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from sensorium import __version__
from sensorium.models.manifest import BUNDLES, Bundle, RemoteFile, bundle

log = logging.getLogger(__name__)

CHUNK = 1 << 20
SUMS_FILE = "SHA256SUMS"


class PullError(Exception):
    """A download that cannot complete (unknown name, HTTP error, wrong sha256, ...)."""


class _Retry(Exception):
    """A transient failure: try again (resuming from the .part)."""


class _Missing(Exception):
    """The source answered 404."""


class PullProgress(Protocol):
    def start(self, label: str, total: int | None, done: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def finish(self) -> None: ...


class _Silent:
    def start(self, label: str, total: int | None, done: int) -> None:
        log.info("downloading %s (%s bytes, %d already here)", label, total, done)

    def advance(self, nbytes: int) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class FileResult:
    path: str  # relative to the cache
    status: str  # downloaded | resumed | present | skipped
    size: int = 0
    sha256: str | None = None
    origin: str | None = None  # which pin matched: reference | published
    source: str | None = None  # the URL it came from
    note: str = ""


@dataclass
class BundleResult:
    name: str
    folder: Path
    files: list[FileResult] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def resolve_names(names: Iterable[str] | None) -> list[Bundle]:
    """Bundles for `names` (registry names or aliases); the default set when none are given."""
    wanted = [n for n in (names or []) if n.strip()]
    if not wanted:
        return [b for b in BUNDLES if b.default]
    out: list[Bundle] = []
    unknown: list[str] = []
    for name in wanted:
        b = bundle(name)
        if b is None:
            unknown.append(name)
        elif b not in out:
            out.append(b)
    if unknown:
        known = ", ".join(b.name for b in BUNDLES)
        raise PullError(f"No downloadable model called {', '.join(map(repr, unknown))} (known: {known}).")
    return out


def normalize_mirror(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise PullError(f"Mirror URL must start with http:// or https:// (got {url!r}).")
    return url.rstrip("/") + "/"


class Puller:
    """Downloads bundles into `cache_dir` (one httpx client, reused)."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        mirror: str | None = None,
        progress: PullProgress | None = None,
        client: httpx.Client | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 60.0,
    ) -> None:
        self.cache_dir = cache_dir
        self.mirror = normalize_mirror(mirror)
        self.progress = progress or _Silent()
        self.retries = retries
        self.backoff = backoff
        self._own_client = client is None
        self.client = client or httpx.Client(
            follow_redirects=True,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 20.0)),
            headers={"User-Agent": f"sensorium/{__version__}", "Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Puller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- bundles -----------------------------------------------------------------------
    def pull(self, b: Bundle) -> BundleResult:
        result = BundleResult(b.name, self.cache_dir / b.folder)
        try:
            for f in b.files:
                result.files.append(self.fetch(f))
        except PullError as exc:
            result.error = str(exc)
            return result
        if b.exclusive:
            self._remove_strays(b)
        self._write_sums(b, result)
        return result

    def pull_all(self, bundles: Sequence[Bundle]) -> list[BundleResult]:
        return [self.pull(b) for b in bundles]

    def _remove_strays(self, b: Bundle) -> None:
        """A CTranslate2 folder holds exactly its files (e.g. no vocabulary.json of another conversion)."""
        keep = {f.name for f in b.files} | {SUMS_FILE}
        for p in (self.cache_dir / b.folder).iterdir():
            if p.is_file() and p.name not in keep and not p.name.endswith(".part"):
                log.info("removing %s (not part of %s)", p, b.name)
                p.unlink()

    def _write_sums(self, b: Bundle, result: BundleResult) -> None:
        """Record what was verified, `sha256sum -c` style."""
        lines = [f"{r.sha256}  {r.path.rsplit('/', 1)[-1]}" for r in result.files if r.sha256]
        if lines:
            (self.cache_dir / b.folder / SUMS_FILE).write_text("\n".join(lines) + "\n")

    # -- files -------------------------------------------------------------------------
    def source(self, f: RemoteFile) -> str | None:
        return self.mirror + f.path if self.mirror else f.url

    def _match(self, path: Path, f: RemoteFile) -> tuple[str, str | None]:
        """(sha256, matching pin's origin or None)."""
        digest = sha256_file(path)
        origin = next((p.origin for p in f.pins if p.sha256 == digest), None)
        return digest, origin

    def fetch(self, f: RemoteFile) -> FileResult:
        dest = self.cache_dir / f.path
        part = dest.with_name(dest.name + ".part")
        if dest.is_file() and dest.stat().st_size in f.sizes:
            digest, origin = self._match(dest, f)
            if origin:
                return FileResult(f.path, "present", dest.stat().st_size, digest, origin)
        url = self.source(f)
        if url is None:
            if f.optional:
                return FileResult(f.path, "skipped", note="only available from a mirror")
            raise PullError(f"{f.path}: no source (set MODEL_MIRROR_URL or pass --mirror URL).")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if part.is_file() and part.stat().st_size in f.sizes and self._match(part, f)[1]:
            resumed = True  # a complete .part left by an interrupted run (before the rename)
        else:
            try:
                resumed = self._download_with_retries(url, part, f)
            except _Missing:
                if f.optional:
                    return FileResult(f.path, "skipped", source=url, note="not on the mirror")
                raise PullError(f"{f.path}: not found at {url} (HTTP 404).") from None
        size = part.stat().st_size
        digest, origin = self._match(part, f)
        if origin is None:
            part.unlink(missing_ok=True)
            expected = " or ".join(f"{p.sha256} ({p.size} bytes)" for p in f.pins)
            raise PullError(
                f"{f.path}: sha256 mismatch: expected {expected}, got {digest} ({size} bytes) from "
                f"{url}. The download was removed; check the source (or the mirror's copy)."
            )
        os.replace(part, dest)
        return FileResult(f.path, "resumed" if resumed else "downloaded", size, digest, origin, url)

    def _download_with_retries(self, url: str, part: Path, f: RemoteFile) -> bool:
        resumed = False
        attempt = 0
        while True:
            try:
                resumed = self._download(url, part, f) or resumed
                return resumed
            except (httpx.TransportError, _Retry) as exc:
                attempt += 1
                kept = part.stat().st_size if part.exists() else 0
                if attempt > self.retries:
                    raise PullError(
                        f"{f.path}: download from {url} failed after {attempt} attempts ({exc}). "
                        f"{kept} bytes are kept in {part.name}: run the command again to resume."
                    ) from exc
                log.warning("%s: %s; resuming from byte %d (attempt %d)", f.path, exc, kept, attempt + 1)
                resumed = resumed or kept > 0
                time.sleep(self.backoff * attempt)
            finally:
                self.progress.finish()

    def _download(self, url: str, part: Path, f: RemoteFile) -> bool:
        """One GET (ranged when a .part exists). True when it continued a partial file."""
        limit = max(f.sizes)
        have = part.stat().st_size if part.exists() else 0
        if have > limit:
            part.unlink()
            have = 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with self.client.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 416 and have:  # the .part is not a prefix of what is served
                part.unlink()
                raise _Retry("range not satisfiable; starting again")
            if resp.status_code == 404:
                raise _Missing(url)
            if resp.status_code >= 500 or resp.status_code == 429:
                raise _Retry(f"HTTP {resp.status_code}")
            if resp.status_code not in (200, 206):
                raise PullError(f"{f.path}: HTTP {resp.status_code} from {url}.")
            if resp.status_code == 206 and not _range_starts_at(resp, have):
                raise PullError(f"{f.path}: {url} answered a range other than the one asked for.")
            continuing = resp.status_code == 206 and have > 0
            if not continuing:
                have = 0
            length = resp.headers.get("content-length")
            total = have + int(length) if length and length.isdigit() else None
            if total is not None and total > limit:
                raise PullError(f"{f.path}: {url} serves {total} bytes, more than expected ({limit}).")
            self.progress.start(f.path, total or limit, have)
            written = have
            with open(part, "ab" if continuing else "wb") as out:
                for chunk in resp.iter_bytes():  # as received: a drop loses nothing already here
                    written += len(chunk)
                    if written > limit:
                        out.close()
                        part.unlink()
                        raise PullError(f"{f.path}: {url} sent more than the expected {limit} bytes.")
                    out.write(chunk)
                    self.progress.advance(len(chunk))
        return continuing


def _range_starts_at(resp: httpx.Response, start: int) -> bool:
    value = resp.headers.get("content-range", "")  # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0]) == start
    except (IndexError, ValueError):
        return False


def pull_models(
    cache_dir: Path,
    names: Iterable[str] | None = None,
    *,
    mirror: str | None = None,
    progress: PullProgress | None = None,
    client: httpx.Client | None = None,
    retries: int = 3,
    backoff: float = 0.5,
) -> list[BundleResult]:
    """Download `names` (default: every model no installed package ships) into `cache_dir`."""
    bundles = resolve_names(names)
    with Puller(cache_dir, mirror=mirror, progress=progress, client=client,
                retries=retries, backoff=backoff) as puller:
        return puller.pull_all(bundles)


__all__ = [
    "BundleResult", "FileResult", "PullError", "PullProgress", "Puller", "pull_models",
    "resolve_names", "sha256_file",
]
