"""Measuring a video for music: cuts and motion over every frame, brightness and colourfulness of
sampled frames, what the vision capability sees in them, and the video's own audio (loudness, music
and its tempo, speech spans for ducking).

The caller (MusicService) passes the vision findings in, and the speech transcription as a callable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.media import scenes
from sensorium.media.loudness import integrated_loudness
from sensorium.models.yamnet import HOP_SECONDS, SAMPLE_RATE, Yamnet
from sensorium.music.features import analyze_window

SPEECH_CLASSES = ("Speech", "Child speech, kid speaking", "Conversation", "Narration, monologue",
                  "Male speech, man speaking", "Female speech, woman speaking")
SPEECH_GATE = 0.3
MUSIC_GATE = 0.3
Check = Callable[[], None]


@dataclass
class Visual:
    duration: float
    cuts: list[float]
    motion: float
    brightness: float
    colorfulness: float


def colorfulness(bgr: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness of a BGR image (0 grey .. ~150 vivid)."""
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def visual_signals(path: Path, frames: Sequence[np.ndarray], duration: float, check: Check | None) -> Visual:
    """Cuts and motion over all frames (one decoding pass), brightness and colourfulness of `frames`."""
    cuts, _, stats = scenes.detect_scenes(path, check=check)
    series = [v for _, v in stats["motion_series"]]
    motion = float(np.median(series)) if series else 0.0
    luma = [float((0.114 * f[..., 0] + 0.587 * f[..., 1] + 0.299 * f[..., 2]).mean() / 255) for f in frames]
    return Visual(duration=duration, cuts=[round(c.timestamp, 3) for c in cuts], motion=round(motion, 3),
                  brightness=round(float(np.mean(luma)) if luma else 0.0, 3),
                  colorfulness=round(float(np.mean([colorfulness(f) for f in frames])) if frames else 0.0, 2))


def findings_summary(findings: Sequence[Any]) -> tuple[dict[str, int], int, dict[str, int]]:
    """(objects: label -> most seen in one frame, people: most in one frame, expressions: counts)."""
    objects: dict[str, int] = {}
    people = 0
    expressions: dict[str, int] = {}
    for f in findings:
        for label, n in f.object_counts.items():
            if label != "person":
                objects[label] = max(objects.get(label, 0), int(n))
        people = max(people, int(f.people.count))
        for face in f.people.faces or []:
            if face.expression:
                expressions[face.expression] = expressions.get(face.expression, 0) + 1
    objects = dict(sorted(objects.items(), key=lambda kv: -kv[1]))
    if people:
        objects = {"person": people, **objects}
    return objects, people, expressions


def _spans(mask: np.ndarray, hop: float, frame: float) -> list[list[float]]:
    out: list[list[float]] = []
    for i in np.flatnonzero(mask):
        start, end = round(i * hop, 3), round(i * hop + frame, 3)
        if out and start <= out[-1][1]:
            out[-1][1] = end
        else:
            out.append([start, end])
    return out


def audio_signals(wave16k: np.ndarray, yamnet: Yamnet) -> dict[str, Any]:
    """Loudness, YAMNet music score (+ tempo when music), speech share and spans of 16 kHz mono audio."""
    scores, _, _ = yamnet.analyze(wave16k)
    names = yamnet.class_names
    speech_idx = [names.index(n) for n in SPEECH_CLASSES if n in names]
    speech = scores[:, speech_idx].max(axis=1) >= SPEECH_GATE if speech_idx else np.zeros(len(scores), bool)
    music_score = float(scores[:, names.index("Music")].mean()) if "Music" in names and len(scores) else 0.0
    out: dict[str, Any] = {
        "audio_loudness_lufs": round(integrated_loudness(wave16k, SAMPLE_RATE), 2),
        "music_score": round(music_score, 3), "speech_ratio": round(float(speech.mean()) if len(speech) else 0.0, 3),
        "speech_spans": _spans(speech, HOP_SECONDS, 0.975), "audio_tempo": None,
    }
    if not np.isfinite(out["audio_loudness_lufs"]):
        out["audio_loudness_lufs"] = -70.0
    if music_score >= MUSIC_GATE and len(wave16k) >= 4 * SAMPLE_RATE:
        out["audio_tempo"] = analyze_window(wave16k, SAMPLE_RATE).tempo or None
    return out


def sentiment(text: str) -> float | None:
    """VADER compound score (-1..1) of a transcript, None for no words."""
    if not text or not text.strip():
        return None
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return round(float(SentimentIntensityAnalyzer().polarity_scores(text)["compound"]), 3)
