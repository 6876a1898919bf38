"""A music library's rows: what is stored per track and how one track is analysed.

One row per track in the vector-store collection `music_tracks` (next to the sound collections:
one storage layer, several collections). Facts (path, size, mtime, format), tags (title, artists,
album, duration, artwork file), audio features (`features.py`), the YAMNet music profile and labels
(`labels.py`), the text description and two vectors: `text` (MiniLM, 384-d, of the description) and
`profile` (YAMNet, 521 class scores).

Whole tracks are analysed: up to `FULL_SECONDS` decoded at once; longer tracks in `MAX_WINDOWS` windows
of `WINDOW_SECONDS`, spread evenly from start to end (seeking, so a 60-minute file costs what ~6
minutes do). The beat grid of a long track covers its windows only. librosa analyses every sample of a
window; YAMNet (the slower part, and serialized) hears 6 excerpts of 10 s spread over each window.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.audio import load_audio, load_audio_window
from sensorium.media.sniff import describe
from sensorium.models.yamnet import Yamnet
from sensorium.music import labels as words
from sensorium.music.features import SR, AudioFeatures, analyze_window, merge_windows
from sensorium.music.tags import format_duration, read_tags
from sensorium.store.vectors import CollectionSchema

MUSIC_EXTENSIONS = {".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp4", ".wav", ".wave",
                    ".aif", ".aiff", ".aifc"}
FULL_SECONDS = 600.0
WINDOW_SECONDS = 30.0
MAX_WINDOWS = 12
YAMNET_EXCERPTS, YAMNET_EXCERPT_SECONDS = 6, 10.0  # YAMNet hears at most 60 s per window, spread evenly
Check = Callable[[], None]

SCHEMA = CollectionSchema(
    fields={
        "title": "str", "artists": "json", "album": "str", "duration": "float", "duration_text": "str",
        "path": "str", "rel_path": "str", "root": "str", "fname": "str", "format": "str", "size": "int",
        "mtime": "float", "artwork": "str", "artwork_size": "json", "from_tags": "int",
        "tempo": "float", "key": "str", "mode": "str", "key_confidence": "float", "beat_strength": "float",
        "rms_db": "float", "centroid_hz": "float", "high_ratio": "float", "onset_density": "float",
        "energy": "float", "brightness": "float", "tempo_class": "str", "labels": "json",
        "description": "str", "beats": "json", "beat_strengths": "json", "energy_curve": "json",
        "seconds_analysed": "float", "windows": "int", "indexed_at": "str",
    },
    vectors={"text": 384, "profile": 521},
)


def track_id(path: Path) -> str:
    return hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:20]


def scan(root: Path) -> list[Path]:
    """Music files under `root` by extension (recursive, hidden entries skipped, sorted)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if not fn.startswith(".") and p.suffix.lower() in MUSIC_EXTENSIONS and p.is_file():
                out.append(p)
    return out


def windows(duration: float) -> list[tuple[float, float]]:
    """(start, seconds) windows analysed for a track of `duration` s (one window: the whole track)."""
    if duration <= FULL_SECONDS:
        return [(0.0, duration)]
    n = min(MAX_WINDOWS, math.ceil(duration / WINDOW_SECONDS))
    step = (duration - WINDOW_SECONDS) / (n - 1)
    return [(round(i * step, 3), WINDOW_SECONDS) for i in range(n)]


def excerpts(y: np.ndarray, count: int = YAMNET_EXCERPTS, seconds: float = YAMNET_EXCERPT_SECONDS) -> list[np.ndarray]:
    """What YAMNet hears of a window: all of it up to count x seconds, else `count` excerpts spread evenly."""
    n = int(seconds * SR)
    if len(y) <= count * n:
        return [y]
    starts = np.linspace(0, len(y) - n, count).astype(int)
    return [y[s:s + n] for s in starts]


def _analyse_audio(path: Path, duration: float, yamnet: Yamnet, check: Check | None
                   ) -> tuple[AudioFeatures, np.ndarray, int]:
    """Features and YAMNet frame scores over the track's windows."""
    parts: list[AudioFeatures] = []
    scores: list[np.ndarray] = []
    plan = windows(duration)
    for start, seconds in plan:
        if check is not None:
            check()
        if len(plan) == 1:
            y = load_audio(path, SR, check=check)
        else:
            y = load_audio_window(path, SR, start, seconds)
        if len(y) < SR // 2:
            continue
        parts.append(analyze_window(y, SR, offset=start))
        scores.extend(yamnet.analyze(x)[0] for x in excerpts(y))
    if not parts:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The audio stream holds (almost) no samples.")
    return merge_windows(parts, duration), np.concatenate(scores, axis=0), len(plan)


def analyze_track(path: Path, yamnet: Yamnet, classes: words.MusicClasses, *,
                  check: Check | None = None) -> tuple[dict[str, Any], bytes | None]:
    """The analysed fields of one track and its artwork bytes. Raises SensoriumError when unusable."""
    info = describe(path)  # content-sniffed: 0-byte and unknown files raise here
    if not info.has_audio:
        raise SensoriumError(ErrorCode.INVALID_FILE_TYPE, f"No audio stream (detected {info.kind}/{info.format}).")
    tags = read_tags(path)
    duration = float(tags.duration or info.duration or 0.0)
    feats, scores, n_windows = _analyse_audio(path, duration if duration > 0 else FULL_SECONDS, yamnet, check)
    if duration <= 0:
        duration = feats.duration = feats.seconds_analysed
    profile = words.music_profile(scores)
    top = words.top_labels(profile, classes)
    f = asdict(feats)
    row = {
        "title": tags.title, "artists": tags.artists, "album": tags.album or "",
        "duration": round(duration, 3), "duration_text": format_duration(duration), "format": info.format,
        "from_tags": int(tags.from_tags), "energy": round(words.energy_of(feats), 4),
        "brightness": round(words.brightness_of(feats), 4), "tempo_class": words.tempo_class(feats.tempo),
        "labels": top, "profile": profile, "windows": n_windows,
        "description": words.describe_track(tags.title, tags.artists, tags.album, feats, top),
        **{k: f[k] for k in ("tempo", "key", "mode", "key_confidence", "beat_strength", "rms_db", "centroid_hz",
                             "high_ratio", "onset_density", "beats", "beat_strengths", "energy_curve",
                             "seconds_analysed")},
    }
    return row, tags.artwork


def save_artwork(data: bytes, out: Path, side: int = 300) -> dict[str, int] | None:
    """The artwork as a JPEG thumbnail at most `side` px; its size, or None when it is not an image."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im = im.convert("RGB")
            im.thumbnail((side, side))
            out.parent.mkdir(parents=True, exist_ok=True)
            im.save(out, format="JPEG", quality=85)
            return {"width": im.width, "height": im.height}
    except (UnidentifiedImageError, OSError, ValueError):
        return None
