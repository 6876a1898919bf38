"""Indexing a music folder into the `music_tracks` collection, incrementally.

* scan (recursive, by extension); files whose size and mtime match their row are not read again;
* new or changed files are analysed `workers` at a time (librosa and YAMNet release the GIL);
* a file that cannot be used (corrupt, 0 bytes, not audio) is skipped and listed in `failed`; a
  missing model stops the run with MODEL_NOT_LOADED;
* rows of files gone from the folder are removed; `max_tracks` caps how many files are considered
  (the first ones in path order) — the others are neither analysed nor removed;
* descriptions are embedded with MiniLM in batches; artwork is saved as a JPEG thumbnail.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.registry import ModelRegistry
from sensorium.models.text_embedding import MINILM
from sensorium.models.yamnet import YAMNET
from sensorium.music import labels as words
from sensorium.music.library import SCHEMA, analyze_track, save_artwork, scan, track_id
from sensorium.music.schemas import COLLECTION, IndexFailure, IndexSummary
from sensorium.store.vectors import VectorStore

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
Check = Callable[[], None]
BATCH = 32
EXISTING = ["id", "path", "size", "mtime", "root"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def index_music(folder: Path, store: VectorStore, registry: ModelRegistry, artwork_dir: Path, *,
                max_tracks: int | None = None, progress: Progress | None = None, check: Check | None = None,
                workers: int = 2) -> IndexSummary:
    """Index `folder` (see the module docstring); returns the run's summary."""
    t0 = time.perf_counter()
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Not a folder: {str(folder)!r}.")
    root = root.resolve()
    report = progress or (lambda f, m: None)
    report(0.0, "scanning folder")
    files = scan(root)
    summary = IndexSummary(folder=str(root), files_seen=len(files))
    if max_tracks is not None and len(files) > max_tracks:
        summary.skipped_by_limit = len(files) - max_tracks
        files = files[:max_tracks]
    store.create(COLLECTION, SCHEMA)
    existing = {r["path"]: r for r in store.rows(COLLECTION, EXISTING)}
    todo = []
    for p in files:
        st = p.stat()
        old = existing.get(str(p))
        if old is not None and old["size"] == st.st_size and abs(old["mtime"] - st.st_mtime) < 1e-3:
            summary.unchanged += 1
        else:
            todo.append((p, st, old is None))
    if todo:
        _analyse(todo, root, store, registry, artwork_dir, summary, report, check, workers)
    on_disk = {str(p) for p in scan(root)}
    gone = [r["id"] for path, r in existing.items() if r.get("root") == str(root) and path not in on_disk]
    summary.removed = store.delete(COLLECTION, gone) if gone else 0
    for tid in gone:
        (artwork_dir / f"{tid}.jpg").unlink(missing_ok=True)
    store.optimize(COLLECTION, fields={"text": "cosine"})
    summary.total = store.count(COLLECTION)
    summary.seconds = round(time.perf_counter() - t0, 3)
    analysed = summary.indexed + summary.reindexed
    summary.tracks_per_minute = round(60 * analysed / summary.seconds, 1) if analysed and summary.seconds else None
    store.set_info(COLLECTION, {"updated_at": now_iso(), "revision": uuid.uuid4().hex,
                                "last_index": summary.model_dump(mode="json", exclude={"failed"})
                                | {"failed": len(summary.failed)}})
    report(1.0, "done")
    return summary


# one pass over the files to analyse: a thread pool, rows flushed in batches with their embeddings
def _analyse(todo: list[tuple[Path, Any, bool]], root: Path, store: VectorStore, registry: ModelRegistry,
             artwork_dir: Path, summary: IndexSummary, report: Progress, check: Check | None, workers: int) -> None:
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if pending:
            with registry.use(MINILM) as minilm:
                vecs = minilm.encode([r["description"] for r in pending])
            for r, v in zip(pending, vecs, strict=True):
                r["text"] = v
            store.upsert(COLLECTION, pending)
            pending.clear()

    with registry.use(YAMNET) as yamnet, ThreadPoolExecutor(max(1, workers), thread_name_prefix="music-index") as pool:
        classes = words.music_classes(yamnet.class_names, Path(yamnet.model_path).parent / "audioset_ontology.json")
        futures = [pool.submit(analyze_track, p, yamnet, classes, check=check) for p, _, _ in todo]
        try:
            for n, ((path, st, is_new), fut) in enumerate(zip(todo, futures, strict=True)):
                rel = path.relative_to(root).as_posix()
                report(0.02 + 0.95 * n / len(todo), f"{n + 1}/{len(todo)} {rel}")
                try:
                    row, art = fut.result()
                except SensoriumError as exc:
                    if exc.code in (ErrorCode.MODEL_NOT_LOADED, ErrorCode.OUT_OF_MEMORY, ErrorCode.TIMEOUT):
                        raise
                    message = exc.message.replace(f"{root}/", "").replace(str(root), ".")
                    summary.failed.append(IndexFailure(path=rel, error=f"{exc.code.value}: {message}"))
                    continue
                except MemoryError:
                    raise
                except Exception as exc:  # a decoder or library error on this file only
                    if type(exc).__name__ == "JobCancelled":
                        raise
                    log.exception("analysing %s failed", path)
                    summary.failed.append(IndexFailure(path=rel, error=f"PROCESSING_FAILED: {type(exc).__name__}: "
                                                                       f"{exc}"))
                    continue
                tid = track_id(path)
                size = save_artwork(art, artwork_dir / f"{tid}.jpg") if art else None
                pending.append({**row, "id": tid, "path": str(path), "rel_path": rel, "root": str(root),
                                "fname": path.name, "size": int(st.st_size), "mtime": float(st.st_mtime),
                                "artwork": f"{tid}.jpg" if size else "", "artwork_size": size,
                                "indexed_at": now_iso()})
                if is_new:
                    summary.indexed += 1
                else:
                    summary.reindexed += 1
                if len(pending) >= BATCH:
                    flush()
                if check is not None:
                    check()
        finally:
            for fut in futures:
                fut.cancel()
            flush()  # keep what was analysed, even when cancelled
