"""Heel-strike accuracy on the six real walking clips against the blind labels
(tests/foley/labels/walk_labels.json, scored with testkit/footsteps.py).

These are regression guards on clips the method's constants were chosen on (in sample). The figures
that count are the leave-one-clip-out ones of `bench/foley_accuracy.py --loco`, in the README.
"""

from __future__ import annotations

from testkit.footsteps import load_clips, score, summarize
from tests.foley.conftest import LABELS


def _score(detections, walk_dir) -> dict:
    clips = load_clips(list(detections), folder=walk_dir)
    per_clip = {c.name: score(c, detections[c.name].events) for c in clips}
    return {"per_clip": per_clip, **summarize(per_clip)}


def test_heel_strike_f1_and_timing_on_real_clips(labelled_detections, walk_dir) -> None:
    r = _score(labelled_detections, walk_dir)
    print(f"\nheel strikes: {({k: v for k, v in r.items() if k != 'per_clip'})}")
    assert len(r["per_clip"]) == 6
    assert r["tp_2"] + r["fn_2"] == sum(x["labels"] for x in r["per_clip"].values()) == 57
    assert r["f1_2"] >= 0.9, r["per_clip"]
    assert r["f1_1"] >= 0.7, r["per_clip"]
    assert r["median_abs_error_ms"] <= 30.0
    assert r["side_correct"] >= 0.9 * r["side_matched"]  # left/right against the labeller's sides


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
    """Long videos are scanned as two halves on two threads; forced here on the two longest clips."""
    from sensorium.foley import DetectOptions, detect_footsteps

    names = ["gait_abnormal_03_concriduction.mp4", "gait_abnormal_08_no_arm_swing.mp4"]
    assert set(names) <= set(LABELS["clips"])
    detections = {name: detect_footsteps(walk_dir / name, foley_registry,
                                         DetectOptions(stride=1, split_min_seconds=0.0))
                  for name in names}
    assert all(d.timings["segments"] == 2 for d in detections.values())
    r = _score(detections, walk_dir)
    print(f"\ntwo halves: {({k: v for k, v in r.items() if k != 'per_clip'})}")
    assert r["f1_2"] >= 0.9, r["per_clip"]
    assert r["median_abs_error_ms"] <= 33.0
