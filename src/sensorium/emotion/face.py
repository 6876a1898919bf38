"""The face modality: MediaPipe faces + FER mini-Xception on frames sampled through a video.

Pure: frames and the two models in, per-frame readings, face tracks and per-interval scores out.

* Frames are sampled at a fixed step over the whole video (the service picks the step); every face
  at least MIN_FACE_PX wide is classified by FER into its 7 expressions, renamed to MELD's emotions
  (angry -> anger, happy -> joy, sad -> sadness; the others keep their names).
* Tracks: a face joins the track whose last box it overlaps most (IoU >= TRACK_IOU) within
  TRACK_GAP seconds, else it starts a new track; the API reports each track's mean scores.
* An utterance's face scores are the mean over the readings inside [start, end] (the nearest
  reading within half a step when the utterance is shorter than the step), all faces pooled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sensorium.emotion.text_model import EMOTIONS

FER_TO_EMOTION = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "joy", "sad": "sadness",
                  "surprise": "surprise", "neutral": "neutral"}
MIN_FACE_PX = 40
TRACK_IOU = 0.3
TRACK_GAP = 2.0
# face emotion -> sentiment: joy is positive; anger, disgust, fear and sadness negative; neutral
# neutral; surprise can go either way, so it counts as neutral
EMOTION_SENTIMENT = {"anger": "negative", "disgust": "negative", "fear": "negative", "sadness": "negative",
                     "joy": "positive", "neutral": "neutral", "surprise": "neutral"}


class FaceFinder(Protocol):
    def detect(self, rgb: np.ndarray, person_boxes: list[tuple[float, float, float, float]] | None = None,
               max_crops: int = 6) -> list: ...


class ExpressionReader(Protocol):
    def crop(self, gray: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None: ...

    def classify(self, faces64: list[np.ndarray]) -> list[dict[str, float]]: ...


@dataclass
class FaceReading:
    time: float
    box: tuple[float, float, float, float]
    scores: np.ndarray  # [7] in EMOTIONS order
    track: int = 0


@dataclass
class Track:
    id: int
    readings: list[FaceReading] = field(default_factory=list)

    @property
    def last(self) -> FaceReading:
        return self.readings[-1]

    def mean(self) -> np.ndarray:
        return np.mean([r.scores for r in self.readings], axis=0)


def fer_to_emotions(p: dict[str, float]) -> np.ndarray:
    out = np.zeros(len(EMOTIONS))
    for label, value in p.items():
        out[EMOTIONS.index(FER_TO_EMOTION[label])] += value
    return out / max(out.sum(), 1e-9)


def read_faces(bgr: np.ndarray, time: float, finder: FaceFinder, reader: ExpressionReader) -> list[FaceReading]:
    """Every readable face in one BGR frame with its 7 emotion probabilities."""
    import cv2

    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    faces = [f for f in finder.detect(rgb) if f.width >= MIN_FACE_PX]
    if not faces:
        return []
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    crops = [(f, reader.crop(gray, f.box)) for f in faces]
    crops = [(f, c) for f, c in crops if c is not None]
    probs = reader.classify([c for _, c in crops])
    return [FaceReading(time, tuple(float(v) for v in f.box), fer_to_emotions(p))
            for (f, _), p in zip(crops, probs, strict=True)]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def track_faces(readings: Sequence[FaceReading]) -> list[Track]:
    """Greedy IoU tracking over readings in time order; sets each reading's `track`."""
    tracks: list[Track] = []
    by_time: dict[float, list[FaceReading]] = {}
    for r in readings:
        by_time.setdefault(r.time, []).append(r)
    for t in sorted(by_time):
        live = [tr for tr in tracks if t - tr.last.time <= TRACK_GAP]
        pairs = sorted(((iou(r.box, tr.last.box), i, tr.id) for i, r in enumerate(by_time[t]) for tr in live),
                       reverse=True)
        taken_r: set[int] = set()
        taken_t: set[int] = set()
        for overlap, i, tid in pairs:
            if overlap < TRACK_IOU or i in taken_r or tid in taken_t:
                continue
            taken_r.add(i)
            taken_t.add(tid)
            by_time[t][i].track = tid
        for i, r in enumerate(by_time[t]):
            if i not in taken_r:
                tracks.append(Track(len(tracks) + 1))
                r.track = tracks[-1].id
        for r in by_time[t]:
            tracks[r.track - 1].readings.append(r)
    return tracks


def scores_between(readings: Sequence[FaceReading], start: float, end: float,
                   step: float) -> tuple[np.ndarray | None, int]:
    """Mean emotion scores of the faces read in [start, end] (or the nearest within step/2); frame count."""
    inside = [r for r in readings if start - 1e-6 <= r.time <= end + 1e-6]
    if not inside and readings:
        mid = (start + end) / 2
        nearest = min(readings, key=lambda r: abs(r.time - mid))
        if abs(nearest.time - mid) <= max(step / 2, (end - start) / 2 + step / 2):
            inside = [r for r in readings if r.time == nearest.time]
    if not inside:
        return None, 0
    return np.mean([r.scores for r in inside], axis=0), len({r.time for r in inside})


def sentiment_from_emotions(scores: np.ndarray) -> np.ndarray:
    """[3] negative/neutral/positive from [7] emotion probabilities (EMOTION_SENTIMENT)."""
    from sensorium.emotion.text_model import SENTIMENTS

    out = np.zeros(len(SENTIMENTS))
    for emotion, value in zip(EMOTIONS, scores, strict=True):
        out[SENTIMENTS.index(EMOTION_SENTIMENT[emotion])] += value
    return out
