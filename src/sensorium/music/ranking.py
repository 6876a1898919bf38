"""Ranking tracks for a text query or a video's targets.

    score = w_text * text_similarity + (1 - w_text) * feature_match      (targets present)
    score = text_similarity                                              (no targets)

* `text_similarity`: cosine between the MiniLM embedding of the query (or of the video's music
  recommendation sentence) and of each track's generated description, clipped to 0-1.
* `feature_match`: mean over the target dimensions of 1 - |target - track value|, on the 0-1 scales of
  `labels.py`: tempo (`tempo_norm`), energy, mode (1 major, 0 minor) and brightness.
* Targets of a text query come from its words (`VOCABULARY`, e.g. "fast" -> tempo 1, "calm" -> energy
  0.1 and tempo 0.2, "dark" -> mode 0 and brightness 0.15) or an explicit "120 bpm"; a video's targets
  come from its rule set (`video_rules.py`). w_text is 0.4 for text queries with targets, 0.3 for videos.

Everything is exact numpy over an in-memory copy of the collection's vectors and features (refreshed
when the collection's revision changes): 10 000 tracks are one 10 000 x 384 matrix-vector product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sensorium.music.labels import tempo_norm
from sensorium.music.schemas import Song, Thumbnail

DIMS = ("tempo", "energy", "mode", "brightness")
#: word -> {dimension: target}
VOCABULARY: dict[str, dict[str, float]] = {
    **{w: {"tempo": 1.0, "energy": 0.85} for w in ("fast", "uptempo", "up-tempo", "quick", "rapid", "driving",
                                                    "dance", "running", "workout", "action", "chase")},
    **{w: {"tempo": 0.15} for w in ("slow", "ballad", "downtempo", "lullaby")},
    **{w: {"tempo": 0.5} for w in ("medium", "moderate", "mid-tempo", "midtempo", "walking")},
    **{w: {"energy": 0.95} for w in ("energetic", "energy", "loud", "intense", "powerful", "aggressive", "epic",
                                     "exciting", "party", "hype", "heavy", "upbeat", "pumping")},
    **{w: {"energy": 0.1, "tempo": 0.2} for w in ("calm", "quiet", "soft", "gentle", "relaxing", "relaxed",
                                                  "peaceful", "chill", "sleep", "meditation", "ambient",
                                                  "tranquil", "serene", "soothing")},
    **{w: {"mode": 1.0, "brightness": 0.7} for w in ("happy", "joyful", "cheerful", "uplifting", "sunny",
                                                     "major", "fun", "playful", "positive", "bright")},
    **{w: {"mode": 0.0, "brightness": 0.15} for w in ("sad", "melancholic", "melancholy", "dark", "moody",
                                                      "gloomy", "minor", "tense", "scary", "somber", "sombre",
                                                      "mysterious", "horror", "rainy", "night")},
    **{w: {"brightness": 0.85} for w in ("sparkling", "shiny", "crisp", "airy")},
    **{w: {"brightness": 0.15} for w in ("mellow", "warm", "deep", "muffled")},
}
BPM_RE = re.compile(r"(\d{2,3})\s*bpm", re.I)
TEXT_WEIGHT = {"text": 0.4, "video": 0.3}
COLUMNS = ["id", "title", "artists", "album", "duration_text", "artwork", "artwork_size", "tempo", "key", "mode",
           "energy", "brightness", "labels", "tempo_class"]


@dataclass
class Targets:
    """What the music should be on the 0-1 scales, and the words/signals each target came from."""

    values: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def set(self, dim: str, value: float, source: str) -> None:
        if dim in self.values:  # several words: average, keep all sources
            self.values[dim] = (self.values[dim] + value) / 2
            self.sources[dim] += f", {source}"
        else:
            self.values[dim], self.sources[dim] = value, source


def parse_query(query: str) -> Targets:
    """The feature targets a text query names (see VOCABULARY)."""
    t = Targets()
    m = BPM_RE.search(query)
    if m:
        t.set("tempo", tempo_norm(float(m.group(1))), m.group(0))
    for word in re.findall(r"[a-z][a-z-]*", query.lower()):
        for dim, value in VOCABULARY.get(word, {}).items():
            if not (dim == "tempo" and m):
                t.set(dim, value, f'"{word}"')
    return t


@dataclass
class TrackTable:
    """The collection in memory: text vectors, feature scales and display fields."""

    ids: list[str]
    text: np.ndarray  # [N, 384]
    features: np.ndarray  # [N, 4] in DIMS order
    rows: list[dict[str, Any]]
    revision: str | None = None

    @classmethod
    def build(cls, ids: list[str], text: np.ndarray, rows: list[dict[str, Any]], revision: str | None) -> TrackTable:
        by_id = {r["id"]: r for r in rows}
        ordered = [by_id[i] for i in ids]
        feats = np.array([[tempo_norm(float(r["tempo"] or 0)), float(r["energy"] or 0),
                           1.0 if r["mode"] == "major" else 0.0, float(r["brightness"] or 0)] for r in ordered],
                         dtype=np.float32).reshape(len(ordered), 4)
        return cls(ids=ids, text=text.astype(np.float32), features=feats, rows=ordered, revision=revision)


def scores(table: TrackTable, query_vec: np.ndarray | None, targets: Targets, w_text: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, text similarity, feature match) per track."""
    n = len(table.ids)
    sim = np.clip(table.text @ query_vec.astype(np.float32), 0, 1) if query_vec is not None else np.zeros(n)
    if not targets.values:
        return sim, sim, np.zeros(n)
    cols = [DIMS.index(d) for d in targets.values]
    want = np.array(list(targets.values.values()), dtype=np.float32)
    match = 1 - np.abs(table.features[:, cols] - want[None, :]).mean(axis=1)
    w = w_text if query_vec is not None else 0.0
    return w * sim + (1 - w) * match, sim, match


def _why(row: dict[str, Any], feats: np.ndarray, sim: float, targets: Targets) -> str:
    parts = []
    describe = {
        "tempo": lambda: f"{row['tempo']:.0f} BPM ({row['tempo_class']})",
        "energy": lambda: f"energy {row['energy']:.2f}",
        "mode": lambda: f"{row['key']} {row['mode']}",
        "brightness": lambda: f"brightness {row['brightness']:.2f}",
    }
    for dim, target in targets.values.items():
        fit = 1 - abs(float(feats[DIMS.index(dim)]) - target)
        verdict = "matches" if fit >= 0.75 else "partly fits" if fit >= 0.5 else "does not fit"
        parts.append(f"{describe[dim]()} {verdict} {targets.sources[dim]}")
    labels = [str(x["label"]) for g in ("genre", "instrument", "mood") for x in (row.get("labels") or {}).get(g, [])]
    text = f"description similarity {sim:.2f}"
    if labels:
        text += f" (sounds like {', '.join(labels[:3])})"
    parts.append(text)
    return "; ".join(parts)


def to_song(row: dict[str, Any], score: float, why: str, artwork_url: str, audio_url: str) -> Song:
    size = row.get("artwork_size") or None
    thumbs = [Thumbnail(url=artwork_url, width=size["width"], height=size["height"])] if row.get("artwork") and size \
        else []
    return Song(id=row["id"], title=row["title"], artists=list(row.get("artists") or []),
                album=row.get("album") or None, duration=row["duration_text"], videoId=None, thumbnails=thumbs,
                score=round(float(np.clip(score, 0, 1)), 4), why=why, tempo_bpm=row.get("tempo"),
                key=f"{row['key']} {row['mode']}", energy=row.get("energy"), audio_url=audio_url)


def rank(table: TrackTable, query_vec: np.ndarray | None, targets: Targets, *, limit: int, w_text: float,
         urls: tuple[str, str]) -> list[Song]:
    """The best `limit` tracks as songs (urls: artwork and audio URL templates with `{id}`)."""
    if not table.ids:
        return []
    total, sim, _ = scores(table, query_vec, targets, w_text)
    k = min(limit, len(total))
    top = np.argpartition(-total, k - 1)[:k]
    top = top[np.argsort(-total[top], kind="stable")]
    out = []
    for i in top:
        row = table.rows[i]
        out.append(to_song(row, float(total[i]), _why(row, table.features[i], float(sim[i]), targets),
                           urls[0].format(id=row["id"]), urls[1].format(id=row["id"])))
    return out
