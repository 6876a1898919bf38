"""Scene changes and frame sampling on top of `media.video` decoding.

* `detect_scenes(path)` finds cuts from the picture content (a ContentDetector-like HSV difference
  on 64-px thumbnails), not codec I-frames.
* `sample_frames(path, n, mode)` returns `n` frames uniformly or at scene changes.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.video import (
    DECODE_THREAD_TYPE,
    SAMPLING_MODES,
    THUMB,
    SampledFrame,
    VideoInfo,
    _decode,
    _fail,
    _frame_time,
    _open,
    _stream_fps,
    _stream_start,
    _to_bgr,
    _video_stream,
    frames_at,
    probe_video,
    uniform_times,
)

#: scene-change detector: frames are compared as THUMB-px-wide HSV thumbnails
#: minimum mean HSV difference (0..255) for a cut, and how far above the running level it must be
CUT_THRESHOLD = 27.0
CUT_MIN_GAP_SECONDS = 0.5

def motion_label(value: float | None) -> str | None:
    if value is None:
        return None
    return "still" if value < 1.0 else "slow" if value < 4.0 else "moderate" if value < 10.0 else "fast"


# --- scene changes -------------------------------------------------------------------------
@dataclass
class SceneCut:
    index: int
    timestamp: float
    score: float


def _hsv_thumb(frame) -> np.ndarray:
    import cv2

    w, h = frame.width, frame.height
    tw = THUMB
    th = max(2, int(round(h * tw / max(1, w) / 2)) * 2)
    small = frame.reformat(width=tw, height=th, format="bgr24", interpolation="FAST_BILINEAR").to_ndarray()
    return cv2.cvtColor(small, cv2.COLOR_BGR2HSV).astype(np.int16)


def _content_score(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute HSV difference (0..255), as PySceneDetect's ContentDetector computes it."""
    d = np.abs(a - b).reshape(-1, 3).mean(0)
    # hue is circular on 0..179 in OpenCV
    dh = np.abs(a[..., 0] - b[..., 0])
    dh = np.minimum(dh, 180 - dh).mean() * (255 / 90)
    return float((dh + d[1] + d[2]) / 3)


def detect_scenes(
    path: Path | str,
    *,
    threshold: float = CUT_THRESHOLD,
    min_gap: float = CUT_MIN_GAP_SECONDS,
    keep: int = 0,
    keep_max_side: int | None = None,
    check: Callable[[], None] | None = None,
) -> tuple[list[SceneCut], dict[int, np.ndarray], dict]:
    """Scene cuts over the whole video: a cut is a frame whose HSV thumbnail differs from the
    previous one by more than `threshold` and by more than 3x the median of recent differences
    (so steady motion or a slow pan does not count), at least `min_gap` s after the previous cut.

    Returns (cuts, images, stats): `images` holds BGR frames of the first frame and of the
    `keep` strongest cuts (decoded during the same pass, no second seek).
    """
    cuts: list[SceneCut] = []
    images: dict[int, np.ndarray] = {}
    best: list[tuple[float, int, np.ndarray]] = []  # min-heap of the strongest `keep` cuts
    recent: list[float] = []
    series: list[tuple[float, float]] = []  # (t, brightness change vs previous frame, per 1/30 s)
    prev = None
    n = 0
    with _open(path) as container:
        stream = _video_stream(container)
        stream.thread_type = DECODE_THREAD_TYPE
        fps = _stream_fps(stream)
        t0 = _stream_start(stream)
        last_cut_t = -math.inf
        first_t = 0.0
        for frame in _decode(container, stream):
            t = _frame_time(frame, stream)
            t = (t - t0) if t is not None else n / fps
            idx = int(round(t * fps))
            thumb = _hsv_thumb(frame)
            if prev is None:
                images[idx] = _to_bgr(frame, keep_max_side)
                first_t = t
            else:
                score = _content_score(prev, thumb)
                series.append((t, float(np.abs(prev[..., 2] - thumb[..., 2]).mean()) * 30 / fps))
                level = float(np.median(recent)) if recent else 0.0
                if score >= threshold and score > 3 * level and t - last_cut_t >= min_gap:
                    cuts.append(SceneCut(idx, round(t, 4), round(score, 2)))
                    last_cut_t = t
                    if keep > 0:
                        item = (score, idx, _to_bgr(frame, keep_max_side))
                        if len(best) < keep:
                            heapq.heappush(best, item)
                        elif score > best[0][0]:
                            heapq.heapreplace(best, item)
                recent.append(score)
                if len(recent) > 15:
                    recent.pop(0)
            prev = thumb
            n += 1
            if check is not None and n % 60 == 0:
                check()
    if n == 0:
        raise _fail("No video frame could be decoded; the file may be corrupt or truncated.")
    for _score, idx, img in best:
        images[idx] = img
    return cuts, images, {"frames_scanned": n, "fps": fps, "first_timestamp": round(first_t, 4),
                          "motion_series": series}


def motion_after(series: list[tuple[float, float]], t: float, window: float = 0.4) -> float | None:
    """Median frame-to-frame change in (t, t + window] (the frame at t itself may be a cut)."""
    vals = [v for ts, v in series if t < ts <= t + window]
    return round(float(np.median(vals)), 2) if vals else None


def sample_frames(
    path: Path | str,
    n: int,
    mode: str = "uniform",
    *,
    max_side: int | None = None,
    info: VideoInfo | None = None,
    check: Callable[[], None] | None = None,
) -> list[SampledFrame]:
    """`n` representative frames in time order.

    uniform: the centres of n equal slices of the video (seek + forward decode).
    keyframes: the opening frame and the strongest scene changes (by content). When the video
    has fewer scenes than `n`, the longest scenes get extra frames at their middle, marked
    `scene_change=False`.
    """
    if mode not in SAMPLING_MODES:
        raise SensoriumError(
            ErrorCode.VALIDATION_ERROR,
            f"Unknown frame_sampling {mode!r}: use 'uniform' or 'keyframes'.",
            details={"param": "frame_sampling"},
        )
    if n < 1:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "The number of frames must be at least 1.")
    info = info or probe_video(path)
    if mode == "uniform":
        return frames_at(path, uniform_times(info.duration, n), max_side=max_side, check=check, motion=True)

    cuts, images, stats = detect_scenes(path, keep=max(0, n - 1), keep_max_side=max_side, check=check)
    return sample_from_scan(path, n, cuts, images, stats, info, max_side=max_side, check=check)


def sample_from_scan(
    path: Path | str,
    n: int,
    cuts: list[SceneCut],
    images: dict[int, np.ndarray],
    stats: dict,
    info: VideoInfo,
    *,
    max_side: int | None = None,
    check: Callable[[], None] | None = None,
) -> list[SampledFrame]:
    """Keyframe selection from a `detect_scenes` pass (see `sample_frames`)."""
    strongest = sorted(cuts, key=lambda c: c.score, reverse=True)[: max(0, n - 1)]
    first_idx = min(images) if images else 0
    picked = [SampledFrame(first_idx, stats["first_timestamp"], images[first_idx], scene_change=False,
                           extra={"reason": "opening"})]
    for c in sorted(strongest, key=lambda c: c.timestamp):
        if c.index in images:
            picked.append(SampledFrame(c.index, c.timestamp, images[c.index], scene_change=True,
                                       score=c.score, extra={"reason": "scene_change"}))
    missing = n - len(picked)
    if missing > 0:
        # fill the longest scenes (by all cuts, not only the picked ones) at their middles
        bounds = [stats["first_timestamp"], *[c.timestamp for c in cuts], max(info.duration, 0.0)]
        scenes = [(bounds[i + 1] - bounds[i], bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
        have = {p.index for p in picked}
        times: list[float] = []
        # split each scene into k+1 parts, giving extra frames to the longest first
        extra = {i: 0 for i in range(len(scenes))}
        for _ in range(missing):
            i = max(range(len(scenes)), key=lambda j: scenes[j][0] / (extra[j] + 1))
            extra[i] += 1
        for i, k in extra.items():
            length, a, b = scenes[i]
            for j in range(1, k + 1):
                times.append(a + length * j / (k + 1))
        if times:
            for f in frames_at(path, times, max_side=max_side, check=check):
                if f.index not in have:
                    have.add(f.index)
                    f.extra["reason"] = "fill"
                    picked.append(f)
    picked.sort(key=lambda f: f.timestamp)
    for f in picked:
        if "motion" not in f.extra:
            f.extra["motion"] = motion_after(stats["motion_series"], f.timestamp)
    return picked[:n] if len(picked) > n else picked


# --- encoding (tests, benchmarks) ------------------------------------------------------------
