"""Foot-stop timing and gap filling (footstop.py), the fast Savitzky-Golay (smoothing.py) and the reduced-rate
posing of tracks without usable poses (tracking.py), on synthetic signals with known answers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy.signal import savgol_filter as scipy_savgol

from sensorium.foley import footstop
from sensorium.foley.smoothing import savgol_filter
from sensorium.foley.tracking import Track


def _walker(rate: float = 30.0, n: int = 90, land: int = 45) -> SimpleNamespace:
    """A duck-typed gait series: the right foot swings forward until `land` and stands still after it
    (ease-out, as a landing foot), the left foot stands still throughout. Height 100 px."""
    t = np.arange(n, dtype=np.float64)
    still = np.full(n, 200.0)
    swing = np.where(t < land - 12, 100.0, np.where(t < land, 100.0 + 100.0 * np.sin((t - land + 12) / 12 * np.pi / 2),
                                                    200.0))

    def foot(x: np.ndarray) -> np.ndarray:
        return np.stack([x, np.full(n, 300.0), np.ones(n)], 1)

    raw = {"heel": {"left": foot(still), "right": foot(swing)},
           "toe": {"left": foot(still + 20), "right": foot(swing + 20)}}
    return SimpleNamespace(rate=rate, raw=raw, H=np.full(n, 100.0), speed_cache={})


def test_gap_over_a_second_gets_the_missing_landing() -> None:
    ser = _walker()
    added = footstop.fill_gaps(ser, [10.0, 80.0], lambda i, side: True)  # 2.3 s gap
    assert len(added) == 1
    pos, side, swing = added[0]
    assert side == "right"
    assert 40 <= pos - footstop.STRIKE_BIAS_SECONDS * ser.rate <= 46  # where the right foot comes to rest
    assert swing > footstop.SWING_MIN


def test_no_gap_no_added_strike_and_margins_hold() -> None:
    ser = _walker()
    assert footstop.fill_gaps(ser, [10.0, 38.0], lambda i, side: True) == []  # 0.93 s: not a gap
    assert footstop.fill_gaps(ser, [30.0, 50.0, 80.0], lambda i, side: True) == []
    # the landing is too close to the next strike (under GAP_MARGIN_SECONDS)
    assert footstop.fill_gaps(ser, [5.0, 48.0], lambda i, side: True) == []


def test_foot_stop_is_after_the_swing_and_before_the_rest() -> None:
    ser = _walker()
    stop = footstop.foot_stop(ser, 46, "right")
    assert stop is not None and 38 <= stop <= 46
    assert footstop.foot_stop(ser, 46, "left") is None  # a foot that never moved never stops


def test_fast_savgol_equals_scipy() -> None:
    rng = np.random.default_rng(3)
    for n, win, order in [(50, 7, 2), (7, 7, 2), (8, 5, 2), (300, 9, 2), (20, 3, 1)]:
        x = rng.normal(size=n).cumsum()
        assert np.allclose(savgol_filter(x, win, order), scipy_savgol(x, win, order), atol=1e-9)


def test_track_without_usable_poses_is_posed_less_often_until_one_comes_back() -> None:
    tr = Track(1, (0.0, 0.0, 10.0, 20.0), 0.9, 0, 0.0, 0.0)
    for _ in range(9):
        tr.note_no_pose()
    assert tr.pose_every == 1  # too few calls to judge
    tr.note_no_pose()
    assert tr.pose_every == 5
    for _ in range(12):
        tr.note_feet(0.9)
    assert tr.pose_every == 1
    tr2 = Track(2, (0.0, 0.0, 10.0, 20.0), 0.9, 0, 0.0, 0.0)
    for _ in range(20):
        tr2.note_no_pose(slow=1)
    assert tr2.pose_every == 1  # idle_pose_every=1 switches it off
