"""Index (or re-index incrementally) a folder of sounds into a collection of a vector store.

Indexing is incremental: a file whose size and mtime match its row is skipped without reading it;
when they changed but the SHA-256 did not, only the facts are refreshed; otherwise it is analysed
again. Rows of files that disappeared are dropped. A file that cannot be decoded is reported in
`failed` and skipped — it never aborts the run.

The summary counts `indexed` (new files analysed), `reindexed` (changed content analysed again),
`updated` (facts or sidecar metadata refreshed without analysis), `unchanged`, `removed`, and lists
`failed` files with an error code and message.

The store and the model registry are parameters: `SoundService` owns them and runs this for the CLI
and as the `library.sounds.index` job.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.aisfx import AISFX
from sensorium.models.registry import ModelRegistry
from sensorium.models.text_embedding import MINILM
from sensorium.models.yamnet import YAMNET
from sensorium.sound.library import (
    SCHEMA,
    add_text_vectors,
    analyze_file,
    clip_id,
    collection_stats,
    now_iso,
    scan,
    table_name,
)
from sensorium.sound.schemas import DEFAULT_MAX_SECONDS, IndexFailure, IndexSummary
from sensorium.sound.sidecars import Sidecars
from sensorium.store.files import file_sha256
from sensorium.store.vectors import Metric, VectorStore

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Check = Callable[[], None]
BATCH = 32  # rows written to the store at once
#: columns read from the existing rows to decide what changed
EXISTING_COLUMNS = ["id", "rel_path", "size", "mtime", "sha256", "path", "split", "caption", "labels",
                    "metadata", "has_aisfx"]
#: (path, rel path, facts, sha256, is new) of a file to analyse
Todo = tuple[Path, str, dict[str, Any], str, bool]


def index_library(
    directory: Path | str,
    name: str,
    store: VectorStore,
    registry: ModelRegistry,
    progress: Progress | None = None,
    *,
    check: Check | None = None,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    sfx_embeddings: bool = True,
    workers: int = 2,
) -> IndexSummary:
    """Index (or re-index incrementally) `directory` into the collection `name`.

    `sfx_embeddings=False` skips the aiSFX network (~5x faster indexing on CPU); audio-example
    search then relies on the YAMNet embedding alone for those clips. A clip indexed without aiSFX
    is analysed again when a later run asks for it.

    `progress(fraction 0..1, message)` is called as files are processed; `check()` is called between
    files (raise to cancel; files analysed so far are kept). `workers` files are analysed at once.
    """
    t0 = time.perf_counter()
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Not a folder: {str(directory)!r}.")
    root = root.resolve()
    if max_seconds <= 0:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "max_seconds must be > 0.")
    run = _IndexRun(root, name, store, registry, progress or (lambda f, m: None), check)
    todo = run.plan(sfx_embeddings)
    if todo:
        run.analyse(todo, max_seconds=max_seconds, sfx_embeddings=sfx_embeddings, workers=workers)
    run.flush()
    return run.finish(sfx_embeddings, t0)


class _IndexRun:
    """The state of one indexing run: what exists, what was seen, rows waiting to be written."""

    def __init__(self, root: Path, name: str, store: VectorStore, registry: ModelRegistry,
                 report: Progress, check: Check | None) -> None:
        self.root, self.name, self.store, self.registry = root, name, store, registry
        self.report, self.check = report, check
        self.table = table_name(name)
        report(0.0, "scanning folder")
        self.sounds, tables, ignored = scan(root)
        self.sidecars = Sidecars()
        for p in tables:
            self.sidecars.load_table(p, root)
        store.create(self.table, SCHEMA)
        self.existing = {r["rel_path"]: r for r in store.rows(self.table, EXISTING_COLUMNS)}
        self.seen: set[str] = set()
        self.pending: list[dict[str, Any]] = []
        self.summary = IndexSummary(
            collection=name, root=str(root), files_seen=len(self.sounds), ignored_files=len(ignored),
            metadata_sources=self.sidecars.sources, metadata_errors=self.sidecars.errors)

    # -- writing -----------------------------------------------------------------------------
    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        with self.registry.use(MINILM) as minilm:
            return minilm.encode(texts)

    def flush(self) -> None:
        if self.pending:
            add_text_vectors(self.pending, self._encode_texts)
            self.store.upsert(self.table, self.pending)
            self.pending.clear()

    def _add(self, row: dict[str, Any]) -> None:
        self.pending.append(row)
        if len(self.pending) >= BATCH:
            self.flush()

    def fail(self, rel: str, code: str, message: str) -> None:
        self.summary.failed.append(IndexFailure(path=rel, code=code, error=message))
        if rel in self.existing:  # a file that became unreadable no longer belongs to the index
            self.seen.discard(rel)

    # -- pass 1 (cheap, sequential): what changed? unchanged files are not even read ------------------
    def _facts(self, path: Path, rel: str, st: os.stat_result) -> dict[str, Any]:
        side = self.sidecars.lookup(rel)
        split = side.get("split") or (path.parent.name if path.parent != self.root else "")
        return {
            "id": clip_id(rel), "fname": path.name, "path": str(path), "rel_path": rel,
            "size": int(st.st_size), "mtime": float(st.st_mtime), "split": split,
            "caption": side.get("caption") or "", "labels": side.get("labels") or [],
            "metadata": side.get("metadata") or {},
        }

    def _refresh(self, old: dict[str, Any], facts: dict[str, Any]) -> None:
        """Same content: keep the analysis, write the new facts."""
        self.pending.append({**self.store.get(self.table, [old["id"]])[0], **facts})
        self.summary.updated += 1

    def _plan_one(self, path: Path, rel: str, sfx_embeddings: bool) -> Todo | None:
        st = path.stat()
        facts = self._facts(path, rel, st)
        old = self.existing.get(rel)
        if old is not None and sfx_embeddings and not old.get("has_aisfx"):
            old = {**old, "sha256": None, "size": -1}  # analyse again, now with aiSFX
        if old is not None and old["size"] == st.st_size and abs(old["mtime"] - st.st_mtime) < 1e-3:
            if _same_facts(old, facts):
                self.summary.unchanged += 1
            else:
                self._refresh(old, facts)
            return None
        digest = file_sha256(path)
        if old is not None and old.get("sha256") == digest:
            self._refresh(old, facts)
            return None
        return path, rel, facts, digest, old is None

    def plan(self, sfx_embeddings: bool) -> list[Todo]:
        todo: list[Todo] = []
        n = len(self.sounds)
        for i, path in enumerate(self.sounds):
            if i % 50 == 0:
                if self.check is not None:
                    self.check()
                self.report(0.05 * i / n, f"checking {i + 1}/{n}")
            rel = path.relative_to(self.root).as_posix()
            self.seen.add(rel)
            try:
                item = self._plan_one(path, rel, sfx_embeddings)
            except OSError as exc:
                self.fail(rel, "PROCESSING_FAILED", str(exc))
                item = None
            if item is not None:
                todo.append(item)
            if len(self.pending) >= BATCH:
                self.flush()
        self.flush()
        return todo

    # -- pass 2: analyse new/changed files, `workers` at a time ----------------------------------------
    def analyse(self, todo: list[Todo], *, max_seconds: float, sfx_embeddings: bool, workers: int) -> None:
        """Each model call is single-threaded work that releases the GIL, so two workers keep two
        cores busy without thread oversubscription."""
        workers = max(1, workers)
        aisfx_cm = self.registry.use(AISFX) if sfx_embeddings else nullcontext(None)
        with self.registry.use(YAMNET) as yamnet, aisfx_cm as aisfx, \
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sound-index",
                                   initializer=_worker_threads, initargs=(workers,)) as pool:
            futures = [pool.submit(analyze_file, path, yamnet, aisfx, max_seconds=max_seconds)
                       for path, *_ in todo]
            try:
                for n, (item, fut) in enumerate(zip(todo, futures, strict=True)):
                    self.report(0.05 + 0.92 * n / len(todo), f"{n + 1}/{len(todo)} {item[1]}")
                    self._collect(item, fut.result)
                    if self.check is not None:
                        self.check()
            finally:
                for fut in futures:
                    fut.cancel()
                self.flush()  # keep what was analysed, even when cancelled

    def _collect(self, item: Todo, result: Callable[[], dict[str, Any]]) -> None:
        """Store one file's analysis, or record why it failed (a file's fault never stops the run)."""
        path, rel, facts, digest, is_new = item
        try:
            feats = result()
        except SensoriumError as exc:
            if exc.code in (ErrorCode.MODEL_NOT_LOADED, ErrorCode.OUT_OF_MEMORY, ErrorCode.TIMEOUT):
                raise  # not the file's fault: stop the run with the real reason
            self.fail(rel, exc.code.value, exc.message)
            return
        except OSError as exc:
            self.fail(rel, "PROCESSING_FAILED", str(exc))
            return
        except MemoryError:
            raise
        except Exception as exc:  # an unexpected decoder/model error on this file only
            log.exception("analysing %s failed", path)
            self.fail(rel, "PROCESSING_FAILED", f"analysis failed: {type(exc).__name__}: {exc}")
            return
        self._add({**facts, **feats, "sha256": digest, "indexed_at": now_iso()})
        if is_new:
            self.summary.indexed += 1
        else:
            self.summary.reindexed += 1

    # -- the end: drop removed files, build the ANN index, record the run ------------------------------
    def finish(self, sfx_embeddings: bool, t0: float) -> IndexSummary:
        store, t, summary = self.store, self.table, self.summary
        gone = [r["id"] for rel, r in self.existing.items() if rel not in self.seen]
        summary.removed = store.delete(t, gone) if gone else 0
        self.report(0.98, "optimizing index")
        # ANN indexes (large collections only) on the fields that never hold zero vectors
        ann: dict[str, Metric] = {"yamnet": "cosine", "profile": "dot"}
        if all(r.get("has_aisfx") for r in store.rows(t, ["has_aisfx"])):
            ann["aisfx"] = "cosine"
        store.optimize(t, fields=ann)
        total = store.count(t)
        stats = collection_stats(store, t)
        last = summary.model_dump(mode="json", exclude={"failed", "total", "stats", "seconds", "clips_per_second"})
        store.set_info(t, {
            "name": self.name, "root": str(self.root),
            "created_at": store.get_info(t).get("created_at") or now_iso(),
            "updated_at": now_iso(), "revision": uuid.uuid4().hex, "sfx_embeddings": sfx_embeddings,
            "last_index": last | {"failed": len(summary.failed)},
        })
        summary.total, summary.stats = total, stats
        summary.seconds = round(time.perf_counter() - t0, 3)
        analysed = summary.indexed + summary.reindexed
        summary.clips_per_second = round(analysed / summary.seconds, 2) if summary.seconds else None
        self.report(1.0, "done")
        return summary


def _worker_threads(workers: int) -> None:
    """Give each analysis thread its share of the cores for torch (thread-local with OpenMP)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def _same_facts(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(old.get(k) == new.get(k) for k in ("path", "split", "caption", "labels", "metadata"))
