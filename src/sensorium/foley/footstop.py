"""When a foot lands: foot-speed timing of heel strikes, and strikes the envelope misses.

After O'Connor et al. (2007), a landing foot is the one whose speed drops after a swing. `gait.py` finds
*which* steps there are from the front-foot envelope (Zeni et al. 2008) and asks this module *when* each
landed (`strike_offset`), and which strikes the envelope cannot see (`fill_gaps`).

* Timing: the strike is moved from the envelope peak to the moment the landing foot stops: its image
  speed (lightly smoothed, body heights per second) falls below STOP_FRACTION of its swing speed (floor
  STOP_FLOOR), searched within STOP_SEARCH_SECONDS of the peak, found with sub-frame (linear)
  interpolation, then shifted by STRIKE_BIAS_SECONDS. STOP_PART says which speed: ``heel``; ``foot``
  (the slower of heel and toe, so a forefoot landing counts when the toes stop); ``rel`` (the heel against
  the other foot's toes, which removes camera motion); ``none`` (keep the envelope peak time).
* Gaps (a cadence prior): steps alternate and come at most about a second apart. A foot that lands
  behind the other one (a step-to limp, a shuffle) never makes the envelope peak, so the envelope sees
  every other step and the gaps are strides. Where two strikes of one pass are more than GAP_SECONDS
  apart, the strongest swing-then-stop of either foot inside the gap (at least GAP_MARGIN_SECONDS from
  both neighbours, the swing at least SWING_MIN fast) is added as a strike.

The constants are chosen leave-one-clip-out on the six blind-labelled clips (`bench/foley_accuracy.py
--loco`), except GAP_SECONDS, which is set from walking itself (no one walks at under 60 steps a minute).
Nothing here reads MediaPipe's left/right labels as truth: each label's series is only a foot to look at.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sensorium.foley.smoothing import despike, smooth

STOP_SMOOTH_SECONDS = 0.15
STOP_SEARCH_SECONDS = (0.1, 0.2)
STOP_FRACTION = 0.2
STOP_FLOOR = 0.1
STRIKE_BIAS_SECONDS = -0.04
STOP_PART = "heel"
#: the cadence prior: a gap longer than this between two strikes of a pass holds a missed strike
GAP_SECONDS = 1.0
GAP_MARGIN_SECONDS = 0.3
#: body heights per second: slower than this is not a swing
SWING_MIN = 0.5


def part_speed(ser: Any, part: str, side: str) -> np.ndarray:
    """Image speed of one foot landmark series in body heights per second (cached on the series)."""
    key = (part, side, STOP_SMOOTH_SECONDS)
    cache = ser.speed_cache
    if key not in cache:
        raw = ser.raw[part][side]
        x = smooth(despike(raw[:, 0], ser.rate), ser.rate, STOP_SMOOTH_SECONDS)
        y = smooth(despike(raw[:, 1], ser.rate), ser.rate, STOP_SMOOTH_SECONDS)
        cache[key] = np.hypot(np.gradient(x), np.gradient(y)) * ser.rate / ser.H
    return cache[key]


def _rel_speed(ser: Any, side: str) -> np.ndarray:
    """Speed of a heel against the other foot's toes (still planted when this foot lands): free of camera motion."""
    key = ("rel", side, STOP_SMOOTH_SECONDS)
    if key not in ser.speed_cache:
        other = "right" if side == "left" else "left"
        a, b = ser.raw["heel"][side], ser.raw["toe"][other]
        d = [smooth(despike(a[:, k], ser.rate) - despike(b[:, k], ser.rate), ser.rate, STOP_SMOOTH_SECONDS)
             for k in (0, 1)]
        ser.speed_cache[key] = np.hypot(np.gradient(d[0]), np.gradient(d[1])) * ser.rate / ser.H
    return ser.speed_cache[key]


def contact_speed(ser: Any, side: str, part: str | None = None) -> np.ndarray:
    """The speed whose drop marks the landing (STOP_PART): ``heel``; ``foot``, the slower of heel and toe;
    ``rel``, the heel against the other foot's toes."""
    part = part or STOP_PART
    if part == "heel":
        return part_speed(ser, "heel", side)
    if part == "rel":
        return _rel_speed(ser, side)
    return np.minimum(part_speed(ser, "heel", side), part_speed(ser, "toe", side))


def _crossing(v: np.ndarray, thr: float, lo: int, hi: int) -> float | None:
    """First fractional sample in [lo, hi] where `v` falls through `thr` (linear interpolation)."""
    for j in range(max(1, lo), hi + 1):
        if v[j - 1] > thr >= v[j]:
            return j - 1 + (float((v[j - 1] - thr) / (v[j - 1] - v[j])) if v[j - 1] != v[j] else 0.0)
    return None


def foot_stop(ser: Any, i: int, side: str) -> float | None:
    """Fractional sample where the landing foot stops near the envelope peak at `i` (None: it never does)."""
    if STOP_PART == "none":
        return None
    v = contact_speed(ser, side)
    lo = max(1, i - int(round(STOP_SEARCH_SECONDS[0] * ser.rate)))
    hi = min(len(v) - 1, i + int(round(STOP_SEARCH_SECONDS[1] * ser.rate)))
    if lo > i:
        return None
    swing = float(v[max(0, lo - int(0.2 * ser.rate)):i + 1].max())
    return _crossing(v, max(STOP_FLOOR, STOP_FRACTION * swing), lo, hi)


def strike_offset(ser: Any, i: int, side: str, peak_offset: float) -> float:
    """The strike's position relative to sample `i` (the foot stop, else the envelope peak), with the bias."""
    stop = foot_stop(ser, i, side)
    off = (stop - i) if stop is not None else peak_offset
    return off + STRIKE_BIAS_SECONDS * ser.rate


def swing_stops(ser: Any, side: str) -> list[tuple[float, float]]:
    """(fractional sample, swing speed) of every swing-then-stop of one foot series."""
    v = contact_speed(ser, side, "foot")
    out: list[tuple[float, float]] = []
    n, i = len(v), 1
    min_len = max(2, int(round(0.1 * ser.rate)))
    while i < n:
        if v[i] <= SWING_MIN:
            i += 1
            continue
        j, peak = i, 0.0
        while j < n and v[j] > max(STOP_FLOOR, STOP_FRACTION * max(peak, float(v[j]))):
            peak = max(peak, float(v[j]))
            j += 1
        if j < n and j - i >= min_len:
            pos = _crossing(v, max(STOP_FLOOR, STOP_FRACTION * peak), j, j)
            out.append((pos if pos is not None else float(j), peak))
        i = j + 1
    return out


def fill_gaps(ser: Any, strikes: list[float], valid: Any) -> list[tuple[float, str, float]]:
    """Strikes missing from gaps longer than GAP_SECONDS between `strikes` (sorted fractional samples):
    (position with the bias, side, swing speed). `valid(i, side)` vets a sample (edges, visibility)."""
    if len(strikes) < 2 or not math.isfinite(GAP_SECONDS):
        return []
    gap, margin = GAP_SECONDS * ser.rate, GAP_MARGIN_SECONDS * ser.rate
    stops = [(p, side, s) for side in ("left", "right") for p, s in swing_stops(ser, side)]
    added: list[tuple[float, str, float]] = []
    for a, b in zip(strikes, strikes[1:], strict=False):
        if b - a <= gap:
            continue
        inside = [(s, p, side) for p, side, s in stops
                  if a + margin <= p <= b - margin and valid(int(round(p)), side)]
        if inside:
            s, p, side = max(inside)
            added.append((p + STRIKE_BIAS_SECONDS * ser.rate, side, s))
    return added
