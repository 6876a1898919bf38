"""A sound library's rows: what is stored per clip, and how one clip is analysed.

For every audio file under an indexed folder (recursive; WAV, FLAC, MP3, OGG, M4A recognised by
content with `sensorium.media.sniff`, never by extension) one row is stored in the vector store:

* facts: `fname`, `path`, `rel_path`, `format`, `duration`, `orig_sr`, `channels`, `size`, `mtime`,
  `sha256`, `split` (from a metadata table when it gives one, else the parent folder's name);
* YAMNet sound-event profile: `profile` = per-clip pooled scores over the 521 AudioSet classes
  (0.5 * mean + 0.5 * max over 0.96 s frames, so short events count) and `top_labels`;
* embeddings: `yamnet` (1024-d, mean of the frame embeddings) and `aisfx` (512-d, sound-effect
  embedding, mean of ~2.3 s blocks, L2-normalized);
* `text`: MiniLM embedding of caption + labels (`has_text` = 1 when there are any);
* `caption`, `labels` and extra `metadata` from sidecar tables (`sidecars.py`).

Only the first `max_seconds` (default 120 s) of a long file are analysed (its full duration is still
recorded). The indexing run itself (incremental, with a summary) is `indexer.py`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.audio import load_audio
from sensorium.media.sniff import describe, sniff_file
from sensorium.models.aisfx import AisfxEmbedder
from sensorium.models.yamnet import Yamnet, pool_profile
from sensorium.sound.schemas import DEFAULT_MAX_SECONDS, CollectionStats
from sensorium.sound.sidecars import AUDIO_EXTENSIONS
from sensorium.store.vectors import CollectionSchema, VectorStore, check_name

PREFIX = "sounds__"  # vector-store collection = PREFIX + library name
SR = 44100  # analysis sample rate (aiSFX); YAMNet gets a 16 kHz copy
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


def table_name(name: str) -> str:
    check_name(name)
    if len(name) > 64:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "Collection names are at most 64 characters.")
    return PREFIX + name


def collection_names(store: VectorStore) -> list[str]:
    """The sound collections in the store (library names, without the prefix)."""
    return [t[len(PREFIX):] for t in store.collections() if t.startswith(PREFIX)]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def clip_id(rel_path: str) -> str:
    return hashlib.sha1(rel_path.encode("utf-8")).hexdigest()[:20]


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


def load_head(path: Path, max_seconds: float = DEFAULT_MAX_SECONDS,
              check: Callable[[], None] | None = None) -> np.ndarray:
    """The first `max_seconds` of audio at 44.1 kHz mono (longer files are cut, not rejected)."""
    return load_audio(path, SR, head_seconds=max_seconds, check=check)


def features_from_wave(wave44k: np.ndarray, yamnet: Yamnet, aisfx: AisfxEmbedder | None) -> dict[str, Any]:
    """Profile, top labels and embeddings of one clip (44.1 kHz mono float32).

    Without `aisfx` (fast mode) the `aisfx` vector is zeros and `has_aisfx` is 0.
    """
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


def analyze_file(path: Path, yamnet: Yamnet, aisfx: AisfxEmbedder | None, *,
                 max_seconds: float = DEFAULT_MAX_SECONDS, check: Callable[[], None] | None = None) -> dict[str, Any]:
    """Decode (content-sniffed) and analyse one sound file. Raises SensoriumError when unusable."""
    info = describe(path)
    if info.kind != "audio" and not info.has_audio:
        raise SensoriumError(ErrorCode.INVALID_FILE_TYPE,
                             f"Not a sound file (detected {info.kind}/{info.format}).")
    wave = load_head(path, max_seconds, check)
    duration = info.duration if info.duration else len(wave) / SR
    feats = features_from_wave(wave, yamnet, aisfx)
    feats.update({
        "format": info.format, "duration": round(float(duration), 3),
        "orig_sr": int(info.sample_rate or 0), "channels": int(info.channels or 0),
    })
    return feats


def clip_text(row: dict[str, Any]) -> str:
    """The words a clip's metadata says about it: caption and labels (for MiniLM)."""
    parts = [str(row.get("caption") or "").strip()]
    if row.get("labels"):
        parts.append(", ".join(map(str, row["labels"])))
    return ". ".join(p for p in parts if p)


def add_text_vectors(rows: list[dict[str, Any]], encode: Callable[[list[str]], np.ndarray]) -> None:
    """Set `text` (MiniLM embedding of caption + labels, by `encode`) and `has_text` on each row, in
    place; `encode` is only called when a row has words to embed."""
    texts = [clip_text(r) for r in rows]
    todo = [i for i, x in enumerate(texts) if x]
    for r in rows:
        r["text"] = np.zeros(384, np.float32)
        r["has_text"] = 0
    if todo:
        emb = encode([texts[i] for i in todo])
        for i, e in zip(todo, emb, strict=True):
            rows[i]["text"], rows[i]["has_text"] = e, 1


# --- collections ------------------------------------------------------------------------------------
def collection_stats(store: VectorStore, table: str) -> CollectionStats:
    rows = store.rows(table, ["id", "duration", "split", "format"])
    splits: dict[str, int] = {}
    formats: dict[str, int] = {}
    for r in rows:
        splits[r["split"] or ""] = splits.get(r["split"] or "", 0) + 1
        formats[r["format"] or ""] = formats.get(r["format"] or "", 0) + 1
    return CollectionStats(clips=len(rows), total_duration=round(sum(float(r["duration"] or 0) for r in rows), 3),
                           splits=splits, formats=formats)
