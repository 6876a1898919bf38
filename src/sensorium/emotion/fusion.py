"""Late fusion of the text, face and voice readings, the timeline, the overall summary, sentences.

Pure: probability vectors in, fused vectors out.

Fusion is a weighted mean of the probability vectors of the modalities that are available for an
utterance, renormalised over the available weights (FUSION_WEIGHTS for emotions; sentiment fuses
text and face only, the voice gives none). Why these weights: the text model is the only one with
a measured accuracy on dialogue (MELD dev, weighted F1 0.595); the FER face model is a FER2013
classifier whose labels differ from what is said; the voice rules are untested on labelled speech.
MELD dev here is text only, so these weights could NOT be tuned on data: they are a prior, stated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from sensorium.emotion.text_model import EMOTIONS, SENTIMENTS

FUSION_WEIGHTS: dict[str, float] = {"text": 1.0, "face": 0.5, "voice": 0.25}
SENTIMENT_WEIGHTS: dict[str, float] = {"text": 1.0, "face": 0.5}
MAX_SENTENCE_CHARS = 600
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])[\"')\]]*\s+|\n\s*\n|\n(?=\s*[-*\u2022])")


def fuse(scores: Mapping[str, np.ndarray | None], weights: Mapping[str, float]) -> np.ndarray | None:
    """Weighted mean of the available vectors (None when none is available)."""
    parts = [(weights[m], np.asarray(v, dtype=np.float64)) for m, v in scores.items()
             if v is not None and weights.get(m, 0) > 0]
    if not parts:
        return None
    total = sum(w for w, _ in parts)
    out = sum(w * v for w, v in parts) / total
    return out / max(float(out.sum()), 1e-12)


def as_dict(vec: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in zip(labels, vec, strict=True)}


def top(vec: np.ndarray, labels: Sequence[str]) -> str:
    return labels[int(np.argmax(vec))]


def summary(vectors: Sequence[np.ndarray], weights: Sequence[float], labels: Sequence[str]) -> dict[str, float]:
    """Share of each label among the vectors' top labels, weighted (e.g. by utterance length)."""
    if not vectors:
        return {}
    share = np.zeros(len(labels))
    for v, w in zip(vectors, weights, strict=True):
        share[int(np.argmax(v))] += max(w, 1e-3)
    share /= share.sum()
    return {k: round(float(v), 4) for k, v in zip(labels, share, strict=True)}


def split_sentences(text: str) -> list[str]:
    """Sentences (and paragraphs/bullets) of a text; runs longer than MAX_SENTENCE_CHARS are cut at spaces."""
    out: list[str] = []
    for piece in _SENTENCE_END.split(text):
        piece = " ".join(piece.split())
        while len(piece) > MAX_SENTENCE_CHARS:
            cut = piece.rfind(" ", 0, MAX_SENTENCE_CHARS)
            cut = cut if cut > MAX_SENTENCE_CHARS // 2 else MAX_SENTENCE_CHARS
            out.append(piece[:cut].strip())
            piece = piece[cut:].strip()
        if piece:
            out.append(piece)
    return out


def timeline_times(duration: float, step: float) -> list[float]:
    n = max(1, int(np.floor(duration / step)) + 1)
    return [round(i * step, 3) for i in range(n) if i * step <= duration + 1e-6]


__all__ = ["EMOTIONS", "FUSION_WEIGHTS", "SENTIMENTS", "SENTIMENT_WEIGHTS", "as_dict", "fuse", "split_sentences",
           "summary", "timeline_times", "top"]
