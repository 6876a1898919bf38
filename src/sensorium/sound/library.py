"""Sound library indexing: a folder of sound files -> a named, searchable collection.

For every audio file under the folder (recursive; WAV, FLAC, MP3, OGG, M4A recognised by content
with `sensorium.media.sniff`, never by extension) one row is stored in the vector store:

* facts: `fname`, `path`, `rel_path`, `format`, `duration`, `orig_sr`, `channels`, `size`, `mtime`,
  `sha256`, `split` (from a metadata table when it gives one, else the parent folder's name);
* YAMNet sound-event profile: `profile` = per-clip pooled scores over the 521 AudioSet classes
  (0.5 * mean + 0.5 * max over 0.96 s frames, so short events count) and `top_labels`;
* embeddings: `yamnet` (1024-d, mean of the frame embeddings) and `aisfx` (512-d, sound-effect
  embedding, mean of ~2.3 s blocks, L2-normalized);
* `text`: MiniLM embedding of caption + labels (`has_text` = 1 when there are any);
* `caption`, `labels` and extra `metadata` from sidecar tables: any `*.csv` / `*.json` in the tree
  whose rows name a file (column `fname`, `filename`, `file`, `file_name`, `path`, `name` or
  `audio`), and per-file sidecars `<file>.json` / `<stem>.json`.

Indexing is incremental: a file whose size and mtime match its row is skipped without reading it;
when they changed but the SHA-256 did not, only the facts are refreshed; otherwise it is analysed
again. Rows of files that disappeared are dropped. A file that cannot be decoded is reported in
`failed` and skipped — it never aborts the run. Only the first `max_seconds` (default 120 s) of a
long file are analysed (its full duration is still recorded).

The summary counts `indexed` (new files analysed), `reindexed` (changed content analysed again),
`updated` (facts or sidecar metadata refreshed without analysis), `unchanged`, `removed`, and lists
`failed` files with an error code and message.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.sniff import describe, sniff_file
from sensorium.store.files import file_sha256
from sensorium.store.vectors import CollectionSchema, VectorStore, check_name, open_vector_store

log = logging.getLogger(__name__)

KIND = "library.sounds.index"
PREFIX = "sounds__"  # vector-store collection = PREFIX + library name
AUDIO_EXTENSIONS = {".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp4"}
DEFAULT_MAX_SECONDS = 120.0
TOP_LABELS = 5

SCHEMA = CollectionSchema(
    fields={
        "fname": "str", "path": "str", "rel_path": "str", "format": "str", "duration": "float",
        "orig_sr": "int", "channels": "int", "split": "str", "size": "int", "mtime": "float",
        "sha256": "str", "top_labels": "json", "caption": "str", "labels": "json",
        "metadata": "json", "indexed_at": "str", "has_aisfx": "int", "has_text": "int",
    },
    vectors={"profile": 521, "yamnet": 1024, "aisfx": 512, "text": 384},
)
FACT_COLUMNS = [c for c in SCHEMA.fields]

Progress = Callable[[float, str], None]

FILE_KEYS = ("fname", "filename", "file_name", "file", "path", "name", "audio", "sound", "audio_file")
CAPTION_KEYS = ("caption", "description", "desc", "text", "title", "captions")
LABEL_KEYS = ("labels", "label", "tags", "tag", "category", "categories", "class", "classes",
              "subcategory", "keywords")
SPLIT_KEYS = ("split", "fold", "set", "subset")


def table_name(name: str) -> str:
    check_name(name)
    if len(name) > 64:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "Collection names are at most 64 characters.")
    return PREFIX + name


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def clip_id(rel_path: str) -> str:
    return hashlib.sha1(rel_path.encode("utf-8")).hexdigest()[:20]


# --- sidecar metadata ---------------------------------------------------------------------------
def _split_labels(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value)
    for sep in (";", "|", ","):
        if sep in text:
            return [p.strip() for p in text.split(sep) if p.strip()]
    return [text.strip()] if text.strip() else []


def _entry_from_record(rec: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    low = {str(k).strip().lower(): v for k, v in rec.items()}
    key = next((str(low[k]) for k in FILE_KEYS if low.get(k)), None)
    entry: dict[str, Any] = {}
    cap = next((low[k] for k in CAPTION_KEYS if low.get(k)), None)
    if isinstance(cap, list):
        cap = " / ".join(str(c) for c in cap)
    if cap:
        entry["caption"] = str(cap).strip()
    labels: list[str] = []
    for k in LABEL_KEYS:
        labels += _split_labels(low.get(k))
    if labels:
        entry["labels"] = list(dict.fromkeys(labels))
    split = next((low[k] for k in SPLIT_KEYS if low.get(k) not in (None, "")), None)
    if split is not None:
        entry["split"] = str(split)
    used = set(FILE_KEYS) | set(CAPTION_KEYS) | set(LABEL_KEYS) | set(SPLIT_KEYS)
    extra = {k: v for k, v in low.items() if k not in used and v not in (None, "")}
    if extra:
        entry["metadata"] = extra
    return key, entry


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if k == "labels":
            out["labels"] = list(dict.fromkeys([*out.get("labels", []), *v]))
        elif k == "metadata":
            out["metadata"] = {**out.get("metadata", {}), **v}
        else:
            out[k] = v
    return out


class Sidecars:
    """Captions, labels and splits from the metadata tables and per-file sidecars of a tree."""

    def __init__(self) -> None:
        self.by_path: dict[str, dict[str, Any]] = {}  # rel path (posix) -> entry
        self.by_name: dict[str, dict[str, Any]] = {}  # basename -> entry
        self.sources: list[str] = []
        self.errors: list[dict[str, str]] = []

    def add(self, folder_rel: str, key: str, entry: dict[str, Any]) -> None:
        key = key.replace("\\", "/").strip().lstrip("./")
        if not key or not entry:
            return
        rel = f"{folder_rel}/{key}" if folder_rel else key
        self.by_path[rel] = _merge(self.by_path.get(rel, {}), entry)
        base = key.rsplit("/", 1)[-1]
        self.by_name[base] = _merge(self.by_name.get(base, {}), entry)

    def load_table(self, path: Path, root: Path) -> None:
        folder_rel = path.parent.relative_to(root).as_posix()
        folder_rel = "" if folder_rel == "." else folder_rel
        records: list[tuple[str | None, dict[str, Any]]] = []
        try:
            if path.suffix.lower() == ".csv":
                with open(path, newline="", encoding="utf-8-sig") as fh:
                    sample = fh.read(4096)
                    fh.seek(0)
                    try:
                        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
                    except csv.Error:
                        dialect = csv.excel
                    for rec in csv.DictReader(fh, dialect=dialect):
                        records.append(_entry_from_record(rec))
            else:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and isinstance(data.get("clips") or data.get("files"), list):
                    data = data.get("clips") or data.get("files")
                if isinstance(data, list):
                    records = [_entry_from_record(r) for r in data if isinstance(r, dict)]
                elif isinstance(data, dict):
                    key, entry = _entry_from_record(data)
                    if key is None and entry and self._is_per_file(path):
                        records = [(self._per_file_target(path), entry)]
                    elif key is not None:
                        records = [(key, entry)]
                    else:  # {"file.wav": {...} | "caption"}
                        for k, v in data.items():
                            rec = v if isinstance(v, dict) else {"caption": v}
                            records.append((k, _entry_from_record(rec)[1]))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
            self.errors.append({"path": str(path), "error": f"unreadable metadata: {exc}"})
            return
        found = 0
        for key, entry in records:
            if key:
                self.add(folder_rel, key, entry)
                found += 1
        if found:
            self.sources.append(str(path.relative_to(root)))

    @staticmethod
    def _is_per_file(path: Path) -> bool:
        return Sidecars._per_file_target(path) is not None

    @staticmethod
    def _per_file_target(path: Path) -> str | None:
        stem = path.name[: -len(path.suffix)]
        if Path(stem).suffix.lower() in AUDIO_EXTENSIONS and (path.parent / stem).exists():
            return stem  # clip.wav.json
        for ext in AUDIO_EXTENSIONS:
            if (path.parent / (stem + ext)).exists():
                return stem + ext  # clip.json
        return None

    def lookup(self, rel_path: str) -> dict[str, Any]:
        return self.by_path.get(rel_path) or self.by_name.get(rel_path.rsplit("/", 1)[-1], {})


# --- scanning -------------------------------------------------------------------------------------
def scan(root: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """(candidate sound files, metadata tables, ignored files); hidden entries are skipped."""
    sounds, tables, ignored = [], [], []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if fn.startswith("."):
                continue
            p = Path(dirpath) / fn
            if not p.is_file():
                continue
            suffix = p.suffix.lower()
            if suffix in (".csv", ".json"):
                tables.append(p)
                continue
            try:
                guess = sniff_file(p)
            except OSError:
                guess = None
            if guess is not None and guess[0] in ("audio", "video"):
                sounds.append(p)
            elif suffix in AUDIO_EXTENSIONS:
                sounds.append(p)  # named like audio but unrecognised content: analysed -> reported
            else:
                ignored.append(p)
    return sounds, tables, ignored


# --- analysis -------------------------------------------------------------------------------------
def resample_to_16k(wave44k: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(wave44k, 160, 441).astype(np.float32)


def features_from_wave(wave44k: np.ndarray, yamnet: Any, aisfx: Any | None) -> dict[str, Any]:
    """Profile, top labels and embeddings of one clip (44.1 kHz mono float32).

    Without `aisfx` (fast mode) the `aisfx` vector is zeros and `has_aisfx` is 0.
    """
    from sensorium.models.yamnet import pool_profile

    wave16 = resample_to_16k(wave44k)
    scores, embs, _ = yamnet.analyze(wave16)
    profile = pool_profile(scores)
    order = np.argsort(-profile)[:TOP_LABELS]
    top = [{"label": yamnet.class_names[i], "score": round(float(profile[i]), 4)} for i in order]
    return {
        "profile": profile,
        "yamnet": embs.mean(axis=0).astype(np.float32),
        "aisfx": aisfx.embed_clip(wave44k) if aisfx is not None else np.zeros(512, np.float32),
        "has_aisfx": 1 if aisfx is not None else 0,
        "top_labels": top,
    }


def analyze_file(path: Path, yamnet: Any, aisfx: Any | None, *, max_seconds: float = DEFAULT_MAX_SECONDS,
                 check: Callable[[], None] | None = None) -> dict[str, Any]:
    """Decode (content-sniffed) and analyse one sound file. Raises SensoriumError when unusable."""

    info = describe(path)
    if info.kind != "audio" and not info.has_audio:
        raise SensoriumError(ErrorCode.INVALID_FILE_TYPE,
                             f"Not a sound file (detected {info.kind}/{info.format}).")
    wave = load_head(path, max_seconds, check)
    duration = info.duration if info.duration else len(wave) / 44100
    feats = features_from_wave(wave, yamnet, aisfx)
    feats.update({
        "format": info.format, "duration": round(float(duration), 3),
        "orig_sr": int(info.sample_rate or 0), "channels": int(info.channels or 0),
    })
    return feats


def load_head(path: Path, max_seconds: float, check: Callable[[], None] | None) -> np.ndarray:
    """The first `max_seconds` of audio at 44.1 kHz mono (longer files are cut, not rejected)."""
    import av

    from sensorium.media.audio import MIN_AUDIO_SECONDS

    sr = 44100
    limit = int(max_seconds * sr)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The file has no audio stream.")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=sr)
            for n, frame in enumerate(container.decode(stream)):
                frame.pts = None
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += arr.shape[0]
                if total >= limit:
                    break
                if check is not None and n % 200 == 0:
                    check()
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
    except SensoriumError:
        raise
    except Exception as exc:  # av.error.InvalidDataError, ...
        if not chunks:
            raise SensoriumError(ErrorCode.PROCESSING_FAILED,
                                 f"Could not decode the audio: {exc}. The file may be corrupt.") from exc
    if not chunks:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The audio stream holds no samples.")
    wave = np.concatenate(chunks)[:limit].astype(np.float32)
    if wave.shape[0] < MIN_AUDIO_SECONDS * sr:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED,
                             f"The audio is {wave.shape[0] / sr * 1000:.0f} ms long; at least "
                             f"{MIN_AUDIO_SECONDS * 1000:.0f} ms is needed.")
    return np.nan_to_num(wave, copy=False)


def clip_text(row: dict[str, Any]) -> str:
    """The words a clip's metadata says about it: caption and labels (for MiniLM)."""
    parts = [str(row.get("caption") or "").strip()]
    if row.get("labels"):
        parts.append(", ".join(map(str, row["labels"])))
    return ". ".join(p for p in parts if p)


def add_text_vectors(rows: list[dict[str, Any]], registry: Any) -> None:
    """Set `text` (MiniLM embedding of caption + labels) and `has_text` on each row, in place."""
    texts = [clip_text(r) for r in rows]
    todo = [i for i, x in enumerate(texts) if x]
    for r in rows:
        r["text"] = np.zeros(384, np.float32)
        r["has_text"] = 0
    if todo:
        with registry.use("minilm") as minilm:
            emb = minilm.encode([texts[i] for i in todo])
        for i, e in zip(todo, emb):
            rows[i]["text"], rows[i]["has_text"] = e, 1


# --- the indexer -----------------------------------------------------------------------------------
def ensure_collection(store: VectorStore, name: str) -> str:
    t = table_name(name)
    store.create(t, SCHEMA)
    return t


def index_library(
    directory: Path | str,
    name: str,
    services: Any,
    progress: Progress | None = None,
    *,
    check: Callable[[], None] | None = None,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    sfx_embeddings: bool = True,
    workers: int = 2,
) -> dict[str, Any]:
    """Index (or re-index incrementally) `directory` into the collection `name`.

    `sfx_embeddings=False` skips the aiSFX network (~5x faster indexing on CPU); audio-example
    search then relies on the YAMNet embedding alone for those clips. A clip indexed without aiSFX
    is analysed again when a later run asks for it.

    `services` needs `.settings` and `.registry`. `progress(fraction 0..1, message)` is called as
    files are processed; `check()` is called between files (raise to cancel; files analysed so far
    are kept). `workers` files are analysed at once. Returns a summary.
    """
    t0 = time.perf_counter()
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Not a folder: {str(directory)!r}.")
    root = root.resolve()
    if max_seconds <= 0:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "max_seconds must be > 0.")
    report = progress or (lambda f, m: None)
    store = open_vector_store(services.settings)
    t = table_name(name)

    report(0.0, "scanning folder")
    sounds, tables, ignored = scan(root)
    sidecars = Sidecars()
    for p in tables:
        sidecars.load_table(p, root)

    ensure_collection(store, name)
    existing = {r["rel_path"]: r for r in store.rows(t, ["id", "rel_path", "size", "mtime", "sha256",
                                                        "path", "split", "caption", "labels",
                                                        "metadata", "has_aisfx"])}
    seen: set[str] = set()
    summary: dict[str, Any] = {
        "collection": name, "root": str(root), "files_seen": len(sounds), "indexed": 0,
        "reindexed": 0, "updated": 0, "unchanged": 0, "removed": 0, "failed": [], "ignored_files": len(ignored),
        "metadata_sources": sidecars.sources, "metadata_errors": sidecars.errors,
    }
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if pending:
            add_text_vectors(pending, services.registry)
            store.upsert(t, pending)
            pending.clear()

    def fail(rel: str, code: str, message: str) -> None:
        summary["failed"].append({"path": rel, "code": code, "error": message})
        if rel in existing:  # a file that became unreadable no longer belongs to the index
            seen.discard(rel)

    # pass 1 (cheap, sequential): what changed? unchanged files are not even read
    todo: list[tuple[Path, str, dict[str, Any], str, bool]] = []  # path, rel, facts, sha256, is_new
    for i, path in enumerate(sounds):
        if i % 50 == 0:
            if check is not None:
                check()
            report(0.05 * i / len(sounds), f"checking {i + 1}/{len(sounds)}")
        rel = path.relative_to(root).as_posix()
        seen.add(rel)
        try:
            st = path.stat()
            side = sidecars.lookup(rel)
            split = side.get("split") or (path.parent.name if path.parent != root else "")
            facts = {
                "id": clip_id(rel), "fname": path.name, "path": str(path), "rel_path": rel,
                "size": int(st.st_size), "mtime": float(st.st_mtime), "split": split,
                "caption": side.get("caption") or "", "labels": side.get("labels") or [],
                "metadata": side.get("metadata") or {},
            }
            old = existing.get(rel)
            if old is not None and sfx_embeddings and not old.get("has_aisfx"):
                old = {**old, "sha256": None, "size": -1}  # analyse again, now with aiSFX
            if old is not None and old["size"] == st.st_size and abs(old["mtime"] - st.st_mtime) < 1e-3:
                if _same_facts(old, facts):
                    summary["unchanged"] += 1
                    continue
                pending.append({**store.get(t, [old["id"]])[0], **facts})
                summary["updated"] += 1
                continue
            digest = file_sha256(path)
            if old is not None and old.get("sha256") == digest:
                pending.append({**store.get(t, [old["id"]])[0], **facts})
                summary["updated"] += 1
                continue
            todo.append((path, rel, facts, digest, old is None))
        except OSError as exc:
            fail(rel, "PROCESSING_FAILED", str(exc))
        if len(pending) >= 32:
            flush()
    flush()

    # pass 2: analyse new/changed files, `workers` at a time (each model call is single-threaded
    # work that releases the GIL, so two workers keep two cores busy without thread oversubscription)
    if todo:
        yamnet_cm = services.registry.use("yamnet")
        aisfx_cm = services.registry.use("aisfx") if sfx_embeddings else nullcontext(None)
        with yamnet_cm as yamnet, aisfx_cm as aisfx, \
                ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sound-index",
                                   initializer=_worker_threads, initargs=(max(1, workers),)) as pool:
            futures = [pool.submit(analyze_file, path, yamnet, aisfx, max_seconds=max_seconds)
                       for path, *_ in todo]
            try:
                for n, ((path, rel, facts, digest, is_new), fut) in enumerate(zip(todo, futures)):
                    report(0.05 + 0.92 * n / len(todo), f"{n + 1}/{len(todo)} {rel}")
                    try:
                        feats = fut.result()
                    except SensoriumError as exc:
                        if exc.code in (ErrorCode.MODEL_NOT_LOADED, ErrorCode.OUT_OF_MEMORY, ErrorCode.TIMEOUT):
                            raise  # not the file's fault: stop the run with the real reason
                        fail(rel, exc.code.value, exc.message)
                        continue
                    except OSError as exc:
                        fail(rel, "PROCESSING_FAILED", str(exc))
                        continue
                    except MemoryError:
                        raise
                    except Exception as exc:  # an unexpected decoder/model error on this file only
                        log.exception("analysing %s failed", path)
                        fail(rel, "PROCESSING_FAILED", f"analysis failed: {type(exc).__name__}: {exc}")
                        continue
                    pending.append({**facts, **feats, "sha256": digest, "indexed_at": now_iso()})
                    summary["indexed" if is_new else "reindexed"] += 1
                    if len(pending) >= 32:
                        flush()
                    if check is not None:
                        check()
            finally:
                for fut in futures:
                    fut.cancel()
                flush()  # keep what was analysed, even when cancelled
    flush()
    gone = [r["id"] for rel, r in existing.items() if rel not in seen]
    summary["removed"] = store.delete(t, gone) if gone else 0
    report(0.98, "optimizing index")
    # ANN indexes (large collections only) on the fields that never hold zero vectors
    ann: dict[str, Any] = {"yamnet": "cosine", "profile": "dot"}
    if all(r.get("has_aisfx") for r in store.rows(t, ["has_aisfx"])):
        ann["aisfx"] = "cosine"
    store.optimize(t, fields=ann)
    total = store.count(t)
    stats = collection_stats(store, name)
    store.set_info(t, {
        "name": name, "root": str(root), "created_at": store.get_info(t).get("created_at") or now_iso(),
        "updated_at": now_iso(), "revision": uuid.uuid4().hex, "sfx_embeddings": sfx_embeddings, "last_index": {k: v for k, v in summary.items() if k != "failed"}
        | {"failed": len(summary["failed"])},
    })
    summary.update({"total": total, "stats": stats, "seconds": round(time.perf_counter() - t0, 3)})
    analysed = summary["indexed"] + summary["reindexed"]
    summary["clips_per_second"] = round(analysed / summary["seconds"], 2) if summary["seconds"] else None
    report(1.0, "done")
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


# --- collections ------------------------------------------------------------------------------------
def collection_stats(store: VectorStore, name: str) -> dict[str, Any]:
    t = table_name(name)
    rows = store.rows(t, ["id", "duration", "split", "format"])
    splits: dict[str, int] = {}
    formats: dict[str, int] = {}
    for r in rows:
        splits[r["split"] or ""] = splits.get(r["split"] or "", 0) + 1
        formats[r["format"] or ""] = formats.get(r["format"] or "", 0) + 1
    return {
        "clips": len(rows),
        "total_duration": round(sum(float(r["duration"] or 0) for r in rows), 3),
        "splits": splits, "formats": formats,
    }


def list_collections(settings: Any) -> list[dict[str, Any]]:
    store = open_vector_store(settings)
    out = []
    for t in store.collections():
        if not t.startswith(PREFIX):
            continue
        name = t[len(PREFIX):]
        info = store.get_info(t)
        out.append({
            "name": name, "root": info.get("root"), "created_at": info.get("created_at"),
            "updated_at": info.get("updated_at"), "last_index": info.get("last_index"),
            **collection_stats(store, name),
        })
    return out


def require_collection(settings: Any, name: str) -> str:
    store = open_vector_store(settings)
    t = table_name(name)
    if not store.exists(t):
        known = [c[len(PREFIX):] for c in store.collections() if c.startswith(PREFIX)]
        hint = f" Known: {', '.join(known)}." if known else \
            " No sound library is indexed yet: POST /api/library/sounds/index first."
        raise SensoriumError(ErrorCode.NOT_FOUND, f"No sound collection named {name!r}.{hint}")
    return t


def delete_collection(settings: Any, name: str) -> bool:
    t = require_collection(settings, name)
    return open_vector_store(settings).drop(t)


def get_clip(settings: Any, name: str, clip: str) -> dict[str, Any]:
    t = require_collection(settings, name)
    rows = open_vector_store(settings).get(t, [clip])
    if not rows:
        raise SensoriumError(ErrorCode.NOT_FOUND, f"No clip {clip!r} in collection {name!r}.")
    return rows[0]


# --- job ----------------------------------------------------------------------------------------------
def run_index_job(ctx: Any, services: Any) -> dict[str, Any]:
    p = ctx.params
    t0 = time.perf_counter()
    result = index_library(
        p["directory"], p["name"], services,
        progress=lambda f, m: ctx.progress(100 * f, m), check=ctx.check,
        max_seconds=float(p.get("max_seconds") or DEFAULT_MAX_SECONDS),
        sfx_embeddings=bool(p.get("sfx_embeddings", True)),
    )
    return {
        "type": "sound_library_index",
        "result": result,
        "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                     "model": "yamnet+aisfx"},
    }
