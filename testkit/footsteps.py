"""Footstep labels and scoring: the blind labels of the six real walking clips
(tests/foley/labels/walk_labels.json) and how a detection is scored against them.

Heel strikes (or toe-offs) inside each clip's scored windows count; a detection matches a label when its
nearest decoded frame is within +-1 / +-2 frames (one to one, closest pairs first); timing errors are the
detection's sub-frame time minus the label frame's time. Frame indices are in decoded order (two clips have
a short first frame interval), so times are mapped through each clip's decoded frame times.
Shared by tests/foley and bench/foley_accuracy.py.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from testkit.settings import REPO, SHARED

LABELS = REPO / "tests" / "foley" / "labels" / "walk_labels.json"
CLIPS = SHARED / "testdata" / "walk"


@dataclass
class Clip:
    name: str
    path: Path
    times: np.ndarray  # decoded frame times (s, from the stream start), in decode order
    windows: list[tuple[int, int]]
    strikes: list[int]  # labelled heel-strike frames inside the windows
    toe_offs: list[int]
    strike_feet: dict[int, str]
    frame_h: int = 0
    tracks: list[Any] | None = None


def decoded_times(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        start = float(s.start_time * s.time_base) if s.start_time is not None else 0.0
        return np.array([float(f.pts * s.time_base) - start for f in c.decode(s)])


def load_clips(names: list[str] | None = None, folder: Path = CLIPS) -> list[Clip]:
    doc = json.loads(LABELS.read_text())
    out = []
    for name, c in doc["clips"].items():
        if names and name not in names:
            continue
        wins = [(int(a), int(b)) for a, b in c["scored_windows"]]

        def inside(f: int, wins: list[tuple[int, int]] = wins) -> bool:
            return any(a <= f <= b for a, b in wins)

        strikes = [e for e in c["events"] if e["event"] == "heel_strike" and inside(e["frame"])]
        toes = [e["frame"] for e in c["events"] if e["event"] == "toe_off" and inside(e["frame"])]
        out.append(Clip(name, folder / name, decoded_times(folder / name), wins, [e["frame"] for e in strikes], toes,
                        {e["frame"]: e["foot"] for e in strikes}))
    return out


def to_index(clip: Clip, t: float) -> float:
    """A time (s from the stream start) as a fractional decoded-frame index."""
    return float(np.interp(t, clip.times, np.arange(len(clip.times))))


def score(clip: Clip, events: list[dict[str, Any]], kind: str = "heel_strike") -> dict[str, Any]:
    """F1 at +-1 and +-2 frames and the timing errors, inside the scored windows."""
    labels = clip.strikes if kind == "heel_strike" else clip.toe_offs
    det = [to_index(clip, e["time_s"]) for e in events if e["event"] == kind]
    det = [d for d in det if any(a - 0.5 <= d <= b + 0.5 for a, b in clip.windows)]
    out: dict[str, Any] = {"labels": len(labels), "detected": len(det)}
    for tol in (1, 2):
        tp, fp, fn, errs = match_events([float(round(d)) for d in det], [float(x) for x in labels], tol)
        out[f"f1_{tol}"] = round(f1_score(tp, fp, fn), 3)
        out[f"tp_{tol}"], out[f"fp_{tol}"], out[f"fn_{tol}"] = tp, fp, fn
    # timing error in ms (sub-frame detection time vs the label frame's time), on the +-2 matches
    errs_ms = [1000 * (float(np.interp(d, np.arange(len(clip.times)), clip.times)) - clip.times[x])
               for _, d, x in _pairs(det, labels, 2.5)]
    out["errors_ms"] = [round(e, 1) for e in errs_ms]
    if kind == "heel_strike":  # left/right of the strikes matched within +-2 frames
        feet = {round(to_index(clip, e["time_s"]), 3): e.get("foot") for e in events if e["event"] == kind}
        sides = [feet.get(round(d, 3)) == clip.strike_feet[x] for _, d, x in _pairs(det, labels, 2.5)]
        out["side_correct"], out["side_matched"] = sum(sides), len(sides)
    return out


def _pairs(det: list[float], labels: list[int], tol: float) -> list[tuple[float, float, int]]:
    """One-to-one (closest first) matches between detections and labels within `tol` frames."""
    pairs = sorted((abs(d - x), d, x) for d in det for x in labels if abs(d - x) <= tol)
    used_d: set[float] = set()
    used_l: set[int] = set()
    out = []
    for gap, d, x in pairs:
        if d not in used_d and x not in used_l:
            used_d.add(d)
            used_l.add(x)
            out.append((gap, d, x))
    return out


def summarize(per_clip: dict[str, dict[str, Any]]) -> dict[str, Any]:
    keys = ["tp_1", "fp_1", "fn_1", "tp_2", "fp_2", "fn_2"]
    keys += [k for k in ("side_correct", "side_matched") if all(k in r for r in per_clip.values())]
    tot = {k: sum(r[k] for r in per_clip.values()) for k in keys}
    errs = [abs(e) for r in per_clip.values() for e in r["errors_ms"]]
    return {"f1_1": round(f1_score(tot["tp_1"], tot["fp_1"], tot["fn_1"]), 3),
            "f1_2": round(f1_score(tot["tp_2"], tot["fp_2"], tot["fn_2"]), 3),
            "median_abs_error_ms": round(statistics.median(errs), 1) if errs else None,
            "p90_abs_error_ms": round(float(np.percentile(errs, 90)), 1) if errs else None, **tot}


def match_events(detected: list[float], labels: list[float], tolerance: float) -> tuple[int, int, int, list[float]]:
    """One-to-one matching, closest pairs first. Returns (tp, fp, fn, signed errors det - label)."""
    pairs = sorted((abs(d - lab), i, j) for i, d in enumerate(detected) for j, lab in enumerate(labels)
                   if abs(d - lab) <= tolerance)
    used_d: set[int] = set()
    used_l: set[int] = set()
    errors: list[float] = []
    for _, i, j in pairs:
        if i in used_d or j in used_l:
            continue
        used_d.add(i)
        used_l.add(j)
        errors.append(detected[i] - labels[j])
    tp = len(errors)
    return tp, len(detected) - tp, len(labels) - tp, errors


def f1_score(tp: int, fp: int, fn: int) -> float:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def side_by_side(a: Path, b: Path, out: Path, *, mirror_b: bool = True, frames: int | None = None) -> Path:
    """Two labelled clips as one video (`a` on the left, `b` on the right, `b` mirrored so that its
    walker goes the other way): a two-walker clip whose ground truth is the two clips' labels."""
    import av

    from sensorium.media.encode import encode_video

    with av.open(str(a)) as ca, av.open(str(b)) as cb:
        fps = float(ca.streams.video[0].average_rate)
        left = ca.decode(video=0)
        right = cb.decode(video=0)
        images = []
        for i, (fa, fb) in enumerate(zip(left, right, strict=False)):
            if frames is not None and i >= frames:
                break
            ia, ib = fa.to_ndarray(format="bgr24"), fb.to_ndarray(format="bgr24")
            if mirror_b:
                ib = ib[:, ::-1]
            h = min(ia.shape[0], ib.shape[0])
            images.append(np.ascontiguousarray(np.hstack([ia[:h], ib[:h]])))
    return encode_video(out, images, fps=int(round(fps)), crf=18)


def trimmed(clip: Clip, frames: int) -> Clip:
    """The clip's labels restricted to its first `frames` frames (windows cut there)."""
    from dataclasses import replace

    wins = [(a, min(b, frames - 1)) for a, b in clip.windows if a < frames - 1]
    return replace(clip, windows=wins, strikes=[f for f in clip.strikes if f < frames - 1],
                   toe_offs=[f for f in clip.toe_offs if f < frames - 1])


def score_pair(clips: tuple[Clip, Clip], events: list[dict[str, Any]], split_x: float,
               mirrored_b: bool = True) -> dict[str, Any]:
    """Score a side-by-side clip: events left of `split_x` against the first clip's labels, right of it
    against the second's; `attribution` is True when no detected person has strikes on both sides."""
    left = [e for e in events if e["x"] < split_x]
    right = [e for e in events if e["x"] >= split_x]
    if mirrored_b:  # a mirrored walker's apparent sides are swapped
        right = [{**e, "foot": {"left": "right", "right": "left"}.get(e["foot"], e["foot"])} for e in right]
    n = min(len(clips[0].times), len(clips[1].times))  # the composite is as long as the shorter clip
    clips = (trimmed(clips[0], n), trimmed(clips[1], n))
    people_left = {e["person_id"] for e in left if e["event"] == "heel_strike"}
    people_right = {e["person_id"] for e in right if e["event"] == "heel_strike"}
    per_clip = {clips[0].name: score(clips[0], left), clips[1].name + " (mirrored)": score(clips[1], right)}
    return {"per_clip": per_clip, "total": summarize(per_clip),
            "attribution": not (people_left & people_right), "people": [sorted(people_left), sorted(people_right)]}
