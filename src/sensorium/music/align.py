"""Where to start a track so its strong beats fall on the video's cuts.

For a start offset `o` (seconds into the track), cut `c` plays track time `o + c`; its fit is the
strength (0-1) of the nearest beat times a Gaussian of the distance (sigma 30 ms):

    fit(o) = mean over cuts of strength(nearest beat) * exp(-d^2 / (2 * 0.03^2))

Candidates are every offset that puts some cut exactly on some strong beat (strength >= 0.5), kept
within [0, track duration - video duration] (the whole video is scored). The best fit wins; ties go
to the earliest offset. `alignment_score` is that fit (1 = every cut on a full-strength beat).
Without cuts the track starts on its first strong beat and the score is null.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIGMA = 0.03
ANCHOR_STRENGTH = 0.5
MAX_CANDIDATES = 200_000


@dataclass
class Alignment:
    offset: float
    score: float | None
    on_beat: int  # cuts within 2 sigma of a beat
    cuts: int
    mean_error_ms: float | None

    def words(self) -> str:
        if self.score is None:
            return "no cuts in the video: the track starts on its first strong beat"
        verdict = ("tight" if self.score >= 0.7 else "good" if self.score >= 0.45 else "loose" if self.score >= 0.2
                   else "poor")
        return (f"{verdict} fit: {self.on_beat}/{self.cuts} cuts land on a beat"
                + (f" (mean error {self.mean_error_ms:.0f} ms)" if self.mean_error_ms is not None else ""))


def _fit(offsets: np.ndarray, cuts: np.ndarray, beats: np.ndarray, strengths: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray]:
    """(fit per offset, |distance| per offset and cut)."""
    t = offsets[:, None] + cuts[None, :]
    i = np.clip(np.searchsorted(beats, t), 1, len(beats) - 1)
    left, right = beats[i - 1], beats[i]
    use_right = np.abs(right - t) < np.abs(t - left)
    nearest = np.where(use_right, i, i - 1)
    d = np.abs(beats[nearest] - t)
    return (strengths[nearest] * np.exp(-0.5 * (d / SIGMA) ** 2)).mean(axis=1), d


def align(cuts: list[float], beats: list[float], strengths: list[float], track_duration: float,
          video_duration: float) -> Alignment:
    """The best start offset for the cuts (see the module docstring)."""
    b = np.asarray(beats, dtype=np.float64)
    s = np.asarray(strengths, dtype=np.float64) if len(strengths) == len(beats) else np.ones(len(b))
    c = np.asarray(sorted(x for x in cuts if 0 <= x <= video_duration), dtype=np.float64)
    latest = max(0.0, track_duration - video_duration)
    if len(b) < 2:
        return Alignment(0.0, None if len(c) == 0 else 0.0, 0, len(c), None)
    if len(c) == 0:
        strong = b[s >= ANCHOR_STRENGTH]
        first = float(strong[0] if len(strong) else b[0])
        return Alignment(round(first if first <= latest else 0.0, 3), None, 0, 0, None)
    anchors = b[s >= ANCHOR_STRENGTH] if np.any(s >= ANCHOR_STRENGTH) else b
    cand = (anchors[:, None] - c[None, :]).reshape(-1)
    cand = cand[(cand >= 0) & (cand <= latest)]
    cand = np.unique(np.round(np.concatenate([cand, [0.0]]), 3))
    if len(cand) > MAX_CANDIDATES:
        cand = cand[np.linspace(0, len(cand) - 1, MAX_CANDIDATES).astype(int)]
    fit, dist = _fit(cand, c, b, s)
    best = int(np.argmax(fit))  # argmax returns the first (earliest) of equal fits
    on = dist[best] <= 2 * SIGMA
    err = float(dist[best][on].mean() * 1000) if on.any() else None
    return Alignment(round(float(cand[best]), 3), round(float(fit[best]), 3), int(on.sum()), len(c),
                     round(err, 1) if err is not None else None)
