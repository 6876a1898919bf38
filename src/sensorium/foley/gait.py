"""Gait events (heel strike, toe-off) from one walker's foot trajectories.

Input: for every processed frame of a track, the pixel positions of hips, heels, ankles and toes
(MediaPipe landmarks mapped back to the frame) and the person's height in pixels. Output: events
with sub-frame times, foot side, confidence and the contact point.

Methods (compared on the hand-labelled real clips, see docs/foley.md; `envelope` is the default):

* ``envelope`` — coordinate-based (after Zeni et al. 2008) for *which* steps there are, foot speed
  (after O'Connor et al. 2007) for *when* they land. Each heel's horizontal
  position relative to the pelvis, signed by the walking direction and divided by body height, is
  largest when that foot lands in front of the body. The *front-foot envelope* ``max(left, right)``
  is a sawtooth whose peaks are the heel strikes of either foot, whichever landmark MediaPipe called
  left or right (its left/right labels swap in side views, which breaks per-foot methods). Toe-offs
  are the minima of ``min(left toe, right toe)``. The walking direction comes from the feet
  themselves (toe ahead of heel), so a panning camera that follows the walker does not matter.
  Timing (`footstop.py`): the envelope peaks about a frame after the heel is planted (the heel keeps
  sliding a little relative to the pelvis), so each strike is moved to the moment the landing heel
  *stops* in the image, with a constant shift; when the heel never stops (a camera panning with the
  walker) the peak time is kept. A foot that lands behind the other one (a step-to limp) makes no
  envelope peak: gaps of more than a second between strikes are searched for a swing-then-stop of
  either foot (`footstop.fill_gaps`, a cadence prior). Constants: leave-one-clip-out on the six
  blind-labelled clips (`bench/foley_accuracy.py --loco`).
* ``zeni`` — the same extremum per landmark series (left and right separately), then merged.
* ``vertical`` — local maxima of the smoothed heel height in the image (lowest point = contact).
* ``stationary`` — the heel's image speed falls below a threshold after a swing (static camera only).

Everything is in body heights and seconds, so it does not depend on resolution or frame rate;
`stride` only reduces the number of samples (peaks are refined by parabolic interpolation, giving
sub-sample timing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sensorium.foley import footstop
from sensorium.foley.schemas import METHODS
from sensorium.foley.smoothing import _odd, despike, smooth

#: seconds: minimum time between strikes (smoothing windows: smoothing.py)
MIN_STEP_SECONDS = 0.25
#: front-foot envelope peak prominence, in body heights
PROMINENCE = 0.05
#: minimum mean visibility of the foot landmarks at an event
MIN_VISIBILITY = 0.35
#: a gap in the pose longer than this splits a track into separate segments
MAX_GAP_SECONDS = 0.35
#: minimum segment length to look for events
MIN_SEGMENT_SECONDS = 0.6


@dataclass
class FootSample:
    """Per processed frame of one track (pixel coordinates in the full frame)."""

    frame: int
    time: float
    height: float  # person height in pixels (box)
    hip: tuple[float, float]
    heel: dict[str, tuple[float, float, float]]  # side -> x, y, visibility
    toe: dict[str, tuple[float, float, float]]
    ankle: dict[str, tuple[float, float, float]]


@dataclass
class GaitEvent:
    time: float
    frame: float  # fractional frame index (sub-frame timing)
    foot: str  # left | right
    event: str  # heel_strike | toe_off
    confidence: float
    x: float
    y: float
    side_raw: str = ""
    side_corrected: bool = False
    prominence: float = 0.0
    extra: dict = field(default_factory=dict)


def _parabolic(y: np.ndarray, i: int) -> float:
    """Offset (-0.5..0.5) of the true extremum around sample i."""
    if i <= 0 or i >= len(y) - 1:
        return 0.0
    a, b, c = y[i - 1], y[i], y[i + 1]
    den = a - 2 * b + c
    if den == 0 or not np.isfinite(den):
        return 0.0
    return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))


def _at(arr: np.ndarray, pos: float) -> float:
    i = int(math.floor(pos))
    f = pos - i
    if i >= len(arr) - 1:
        return float(arr[-1])
    if i < 0:
        return float(arr[0])
    return float(arr[i] * (1 - f) + arr[i + 1] * f)


def segments(samples: list[FootSample], max_gap: float = MAX_GAP_SECONDS) -> list[list[FootSample]]:
    """Split a track's samples where the pose was missing for more than `max_gap` seconds."""
    out: list[list[FootSample]] = []
    cur: list[FootSample] = []
    for s in samples:
        if cur and s.time - cur[-1].time > max_gap:
            out.append(cur)
            cur = []
        cur.append(s)
    if cur:
        out.append(cur)
    return out


class _Series:
    """Arrays of one segment, smoothed, in body-height units."""

    def __init__(self, seg: list[FootSample]) -> None:
        self.frames = np.array([s.frame for s in seg], dtype=np.float64)
        self.times = np.array([s.time for s in seg], dtype=np.float64)
        n = len(seg)
        dt = np.diff(self.times)
        dt = dt[dt > 0]
        self.rate = 1.0 / float(np.median(dt)) if len(dt) else 30.0
        self.H = smooth(np.array([s.height for s in seg], dtype=np.float64), self.rate)
        self.H = np.maximum(self.H, 1.0)
        self.hip_x = smooth(despike(np.array([s.hip[0] for s in seg]), self.rate), self.rate)
        self.hip_y = smooth(despike(np.array([s.hip[1] for s in seg]), self.rate), self.rate)
        self.speed_cache: dict[tuple, np.ndarray] = {}  # footstop.part_speed
        self.raw: dict[str, dict[str, np.ndarray]] = {}
        self.sm: dict[str, dict[str, np.ndarray]] = {}
        for part in ("heel", "toe", "ankle"):
            self.raw[part] = {}
            self.sm[part] = {}
            for side in ("left", "right"):
                arr = np.array([getattr(s, part)[side] for s in seg], dtype=np.float64).reshape(n, 3)
                self.raw[part][side] = arr
                self.sm[part][side] = np.stack([smooth(despike(arr[:, 0], self.rate), self.rate),
                                                smooth(despike(arr[:, 1], self.rate), self.rate), arr[:, 2]], 1)
        # walking direction from the feet: toes are ahead of heels (+1 = towards +x)
        fwd = (self.sm["toe"]["left"][:, 0] - self.sm["heel"]["left"][:, 0]
               + self.sm["toe"]["right"][:, 0] - self.sm["heel"]["right"][:, 0]) / self.H
        win = _odd(max(5, int(round(0.8 * self.rate))))
        kernel = np.ones(win) / win
        fwd_s = np.convolve(np.pad(fwd, win // 2, mode="edge"), kernel, mode="valid")
        self.direction = np.where(fwd_s >= 0, 1.0, -1.0)
        self.facing_strength = np.abs(fwd_s)

    def rel(self, part: str, side: str) -> np.ndarray:
        return (self.sm[part][side][:, 0] - self.hip_x) * self.direction / self.H

    def vis(self, side: str, i: int) -> float:
        return float(np.mean([self.raw[p][side][i, 2] for p in ("heel", "toe", "ankle")]))

    def __len__(self) -> int:
        return len(self.times)


def _peaks(y: np.ndarray, rate: float, prominence: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import find_peaks

    dist = max(1, int(round(MIN_STEP_SECONDS * rate)))
    pk, props = find_peaks(y, distance=dist, prominence=prominence)
    return pk, props.get("prominences", np.zeros(len(pk)))


def _event(ser: _Series, i: int, off: float, side: str, kind: str, prom: float, part: str) -> GaitEvent:
    pos = i + off
    x = _at(ser.sm[part][side][:, 0], pos)
    y = _at(ser.sm[part][side][:, 1], pos)
    if kind == "heel_strike":  # the contact point: the heel, on the floor (lowest foot point)
        y = max(y, _at(ser.sm["toe"][side][:, 1], pos))
    vis = ser.vis(side, i)
    conf = 0.55 * min(1.0, vis) + 0.45 * min(1.0, prom / (3 * PROMINENCE))
    return GaitEvent(
        time=_at(ser.times, pos), frame=_at(ser.frames, pos), foot=side, event=kind,
        confidence=round(float(conf), 3), x=round(x, 1), y=round(y, 1), side_raw=side,
        prominence=round(float(prom), 4), extra={"pos": pos},
    )


def _valid(ser: _Series, i: int, side: str) -> bool:
    edge = max(1, int(round(0.05 * ser.rate)))
    if i < edge or i >= len(ser) - edge:
        return False  # an extremum at a segment edge is the edge, not a step
    return ser.vis(side, i) >= MIN_VISIBILITY


def detect_segment(seg: list[FootSample], method: str = "envelope", *, toe_off: bool = True,
                   prominence: float = PROMINENCE) -> list[GaitEvent]:
    if len(seg) < 5 or seg[-1].time - seg[0].time < MIN_SEGMENT_SECONDS:
        return []
    ser = _Series(seg)
    events: list[GaitEvent] = []
    if method == "envelope":
        rel_l, rel_r = ser.rel("heel", "left"), ser.rel("heel", "right")
        env = np.maximum(rel_l, rel_r)
        pk, prom = _peaks(env, ser.rate, prominence)
        for i, p in zip(pk, prom, strict=True):
            side = "left" if rel_l[i] >= rel_r[i] else "right"
            if _valid(ser, i, side):
                off = footstop.strike_offset(ser, i, side, _parabolic(env, i))
                events.append(_event(ser, i, off, side, "heel_strike", p, "heel"))
        for pos, side, swing in footstop.fill_gaps(ser, sorted(e.extra["pos"] for e in events),
                                                   lambda i, side: _valid(ser, i, side)):
            i = min(len(ser) - 1, max(0, int(round(pos))))
            events.append(_event(ser, i, pos - i, side, "heel_strike", PROMINENCE * min(1.0, swing), "heel"))
            events[-1].extra["gap_fill"] = True
        if toe_off:
            tl, tr = ser.rel("toe", "left"), ser.rel("toe", "right")
            env_t = np.minimum(tl, tr)
            pk, prom = _peaks(-env_t, ser.rate, prominence)
            for i, p in zip(pk, prom, strict=True):
                side = "left" if tl[i] <= tr[i] else "right"
                if _valid(ser, i, side):
                    events.append(_event(ser, i, _parabolic(-env_t, i), side, "toe_off", p, "toe"))
    elif method == "zeni":
        for side in ("left", "right"):
            rel = ser.rel("heel", side)
            pk, prom = _peaks(rel, ser.rate, prominence)
            for i, p in zip(pk, prom, strict=True):
                if _valid(ser, i, side):
                    events.append(_event(ser, i, _parabolic(rel, i), side, "heel_strike", p, "heel"))
            if toe_off:
                relt = ser.rel("toe", side)
                pk, prom = _peaks(-relt, ser.rate, prominence)
                for i, p in zip(pk, prom, strict=True):
                    if _valid(ser, i, side):
                        events.append(_event(ser, i, _parabolic(-relt, i), side, "toe_off", p, "toe"))
        events = _merge_close(events)
    elif method == "vertical":
        for side in ("left", "right"):
            y = ser.sm["heel"][side][:, 1] / ser.H
            pk, prom = _peaks(y, ser.rate, 0.02)
            for i, p in zip(pk, prom, strict=True):
                if _valid(ser, i, side):
                    events.append(_event(ser, i, _parabolic(y, i), side, "heel_strike", p, "heel"))
        events = _merge_close(events)
    elif method == "stationary":
        for side in ("left", "right"):
            hx, hy = ser.sm["heel"][side][:, 0], ser.sm["heel"][side][:, 1]
            speed = np.hypot(np.gradient(hx), np.gradient(hy)) * ser.rate / ser.H  # heights / s
            still = speed < 0.25
            i = 1
            while i < len(speed):
                if still[i] and not still[i - 1]:
                    j = i - 1
                    peak = 0.0
                    while j > 0 and not still[j]:
                        peak = max(peak, float(speed[j]))
                        j -= 1
                    k = i
                    while k < len(speed) and still[k]:
                        k += 1
                    if peak > 1.2 and (k - i) >= 0.1 * ser.rate and _valid(ser, i, side):
                        events.append(_event(ser, i, 0.0, side, "heel_strike", peak / 10, "heel"))
                    i = k
                i += 1
        events = _merge_close(events)
    else:
        raise ValueError(f"unknown gait method {method!r}; one of {', '.join(METHODS)}")
    events.sort(key=lambda e: e.time)
    return events


def _merge_close(events: list[GaitEvent]) -> list[GaitEvent]:
    """Same-kind events closer than MIN_STEP_SECONDS (left/right label swaps) -> keep the strongest."""
    out: list[GaitEvent] = []
    for kind in ("heel_strike", "toe_off"):
        evs = sorted((e for e in events if e.event == kind), key=lambda e: e.time)
        kept: list[GaitEvent] = []
        for e in evs:
            if kept and e.time - kept[-1].time < MIN_STEP_SECONDS:
                if e.prominence > kept[-1].prominence:
                    kept[-1] = e
                continue
            kept.append(e)
        out.extend(kept)
    return out


def _near_far(run: list[GaitEvent], min_px: float = 2.0) -> list[str] | None:
    """Sides from geometry, not from MediaPipe's labels: in a side view the camera-side foot lands
    lower in the image, and it is the walker's right foot when they walk towards +x (left towards -x).
    The contact heights (detrended along the pass) of every other strike are compared; None when the
    pass is too short or the two sets do not differ by `min_px`."""
    if len(run) < 4:
        return None
    ys = np.array([e.y for e in run])
    k = np.arange(len(run))
    resid = ys - np.polyval(np.polyfit(k, ys, 1), k)
    diff = float(resid[0::2].mean() - resid[1::2].mean())
    dx = run[-1].x - run[0].x
    if abs(diff) < min_px or abs(dx) < 2 * min_px:
        return None
    near = "right" if dx > 0 else "left"
    far = "left" if near == "right" else "right"
    first = near if diff > 0 else far
    return [first if i % 2 == 0 else (far if first == near else near) for i in range(len(run))]


def assign_sides(events: list[GaitEvent], max_gap: float = 2.0) -> float:
    """Left/right consistency: strikes of a walker alternate feet.

    Within each run of strikes (no gap over `max_gap` s, no turn), the alternating labelling comes
    from the contact heights (`_near_far`) or, when they do not tell, from MediaPipe's raw labels
    (the one that agrees with most of them); events whose raw label differs are relabelled
    (``side_corrected``). Toe-offs take the side of the foot that
    struck before them (the trailing foot leaves the ground after the other foot lands).
    Returns the fraction of raw labels that agreed (a side-confidence figure).
    """
    strikes = [e for e in events if e.event == "heel_strike"]
    strikes.sort(key=lambda e: e.time)
    runs: list[list[GaitEvent]] = []
    for e in strikes:  # a run ends at a pause or where the walker turns (x steps change sign)
        prev = runs[-1] if runs else []
        turn = len(prev) >= 2 and (e.x - prev[-1].x) * (prev[-1].x - prev[-2].x) < 0
        if prev and e.time - prev[-1].time <= max_gap and not turn:
            prev.append(e)
        else:
            runs.append([e])
    agree_total = 0
    for run in runs:
        scores = []
        for start in ("left", "right"):
            other = "right" if start == "left" else "left"
            want = [start if k % 2 == 0 else other for k in range(len(run))]
            w = sum(e.confidence for e, s in zip(run, want, strict=True) if e.side_raw == s)
            scores.append((w, want))
        best = _near_far(run) or max(scores, key=lambda s: s[0])[1]
        for e, s in zip(run, best, strict=True):
            if e.side_raw == s:
                agree_total += 1
            e.side_corrected = e.side_raw != s
            e.foot = s
    # toe-offs: the foot that is behind when the other lands — the foot that struck before
    for t in (e for e in events if e.event == "toe_off"):
        prev = [s for s in strikes if s.time < t.time]
        if len(prev) >= 2 and t.time - prev[-1].time < 0.8:
            t.foot = prev[-2].foot
            t.side_corrected = t.foot != t.side_raw
    return agree_total / len(strikes) if strikes else 1.0


def detect_events(samples: list[FootSample], method: str = "envelope", *, toe_off: bool = True,
                  prominence: float = PROMINENCE) -> tuple[list[GaitEvent], float]:
    """All events of one track (segments split at pose gaps), sides made consistent."""
    events: list[GaitEvent] = []
    for seg in segments(samples):
        events.extend(detect_segment(seg, method, toe_off=toe_off, prominence=prominence))
    side_agreement = assign_sides(events)
    events.sort(key=lambda e: e.time)
    return events, side_agreement
