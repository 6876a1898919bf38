"""Heel-strike accuracy on the three real walking clips against hand labels (tests/foley/labels.json)."""

from __future__ import annotations

import numpy as np

from sensorium.foley.gait import f1_score, match_events
from tests.foley.conftest import LABELS

TOLERANCE_FRAMES = 2.0


def _score(detections):
    tp = fp = fn = 0
    errors_ms: list[float] = []
    per_clip = {}
    for name, lab in LABELS["clips"].items():
        det = detections[name]
        fps = det.video["fps"]
        strikes = [e for e in det.events if e["event"] == "heel_strike"]
        inside = [e["frame_exact"] for e in strikes
                  if any(a - 0.5 <= e["frame_exact"] <= b + 0.5 for a, b in lab["windows"])]
        t, f, n, err = match_events(inside, lab["heel_strikes"], TOLERANCE_FRAMES)
        tp, fp, fn = tp + t, fp + f, fn + n
        errors_ms += [e / fps * 1000 for e in err]
        per_clip[name] = (t, f, n)
    return tp, fp, fn, errors_ms, per_clip


def test_heel_strike_f1_and_timing_on_real_clips(labelled_detections) -> None:
    tp, fp, fn, errors_ms, per_clip = _score(labelled_detections)
    f1 = f1_score(tp, fp, fn)
    median = float(np.median(np.abs(errors_ms)))
    print(f"\nheel strikes: tp={tp} fp={fp} fn={fn} F1={f1:.3f} median |error|={median:.1f} ms per clip={per_clip}")
    assert tp + fn == sum(len(c["heel_strikes"]) for c in LABELS["clips"].values())
    assert f1 >= 0.9, per_clip
    assert median <= 33.0


def test_each_clip_has_one_main_walker_with_alternating_feet(labelled_detections) -> None:
    for name, det in labelled_detections.items():
        walkers = [p for p in det.people if p["steps"] >= 3]
        assert len(walkers) >= 1, name
        main = max(walkers, key=lambda p: p["steps"])
        strikes = [e for e in det.events if e["event"] == "heel_strike" and e["person_id"] == main["person_id"]]
        strikes.sort(key=lambda e: e["time_s"])
        pairs = [(a, b) for a, b in zip(strikes, strikes[1:], strict=False) if b["time_s"] - a["time_s"] < 2.0]
        alternating = sum(a["foot"] != b["foot"] for a, b in pairs) / max(1, len(pairs))
        assert alternating >= 0.9, (name, [e["foot"] for e in strikes])
        assert main["cadence_spm"] is not None and 30 < main["cadence_spm"] < 160
        assert all(0 <= e["confidence"] <= 1 for e in strikes)
        # the contact point is at the walker's feet: in the lower part of the frame
        assert all(e["y"] > 0.6 * det.video["height"] for e in strikes), name


def test_toe_offs_fall_between_strikes(labelled_detections) -> None:
    det = labelled_detections["gait_abnormal_08_no_arm_swing.mp4"]
    strikes = sorted(e["time_s"] for e in det.events if e["event"] == "heel_strike")
    toe_offs = [e["time_s"] for e in det.events if e["event"] == "toe_off"]
    assert len(toe_offs) >= len(strikes) // 2
    # a toe-off is never at the same instant as a strike (it is the other foot leaving the floor)
    assert all(min(abs(t - s) for s in strikes) > 0.03 for t in toe_offs)


def test_two_half_scan_keeps_the_accuracy(walk_dir, foley_registry) -> None:
    """Long videos are scanned as two halves on two threads; forced here on the labelled clips."""
    from sensorium.foley import DetectOptions, detect_footsteps
    from tests.foley.conftest import LABELS

    detections = {name: detect_footsteps(walk_dir / name, foley_registry,
                                         DetectOptions(stride=1, split_min_seconds=0.0))
                  for name in LABELS["clips"]}
    assert all(d.timings["segments"] == 2 for d in detections.values())
    tp, fp, fn, errors_ms, per_clip = _score(detections)
    f1 = f1_score(tp, fp, fn)
    median = float(np.median(np.abs(errors_ms)))
    print(f"\ntwo halves: tp={tp} fp={fp} fn={fn} F1={f1:.3f} median |error|={median:.1f} ms per clip={per_clip}")
    assert f1 >= 0.9, per_clip
    assert median <= 33.0
