"""Footstep timing on the six real walking clips, scored against the blind labels.

Labels: tests/foley/labels/walk_labels.json (made frame by frame before any detector ran on the clips;
frozen). Clips: ../shared/testdata/walk. Scoring: heel strikes inside each clip's scored windows; a
detection counts when its frame (nearest decoded frame) is within +-1 / +-2 frames of a label, one to
one; timing errors are detection time minus label time, in ms.

    python bench/foley_accuracy.py                  # the default detector, every clip, + leave-one-clip-out
    python bench/foley_accuracy.py --cache /tmp/fc   # keep the pose tracks between runs

The pose tracks (YOLOX + MediaPipe per frame) are the expensive part; they are computed once per clip
and cached; gait methods and their parameters are then evaluated on the cached tracks.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sensorium.foley import gait  # noqa: E402 - after the sys.path set-up above
from sensorium.foley.detect import _scan, _walkers  # noqa: E402
from sensorium.foley.scan import DetectOptions, ScanShared  # noqa: E402
from sensorium.media.video import probe_video  # noqa: E402

LABELS = ROOT / "tests" / "foley" / "labels" / "walk_labels.json"
CLIPS = ROOT.parent / "shared" / "testdata" / "walk"


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


def load_clips(names: Sequence[str] | None = None) -> list[Clip]:
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
        out.append(Clip(name, CLIPS / name, decoded_times(CLIPS / name), wins, [e["frame"] for e in strikes], toes,
                        {e["frame"]: e["foot"] for e in strikes}))
    return out


def scan_tracks(clip: Clip, registry: Any, opts: DetectOptions, cache: Path | None) -> None:
    key = f"{clip.name}.s{opts.stride}.p{opts.pose_input}.pkl"
    if cache is not None and (cache / key).is_file():
        clip.tracks, clip.frame_h = pickle.loads((cache / key).read_bytes())
        return
    info = probe_video(clip.path)
    timings: dict[str, float] = {"decode": 0.0, "detector": 0.0, "pose": 0.0, "gait": 0.0}
    counts = {"pose_calls": 0, "detector_calls": 0, "segments": 1}
    scans = _scan(clip.path, registry, opts, info, ScanShared(timings, counts, threading.Lock(), lambda: None, None))
    # what the gait step reads of a track (the live track also holds MediaPipe graphs, which do not pickle)
    clip.tracks = [SimpleNamespace(samples=t.samples, max_height=t.max_height, boxes=t.boxes, skeletons=t.skeletons)
                   for t in scans[0].tracks]
    clip.frame_h = scans[0].frame_h
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / key).write_bytes(pickle.dumps((clip.tracks, clip.frame_h)))


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
        tp, fp, fn, errs = gait.match_events([float(round(d)) for d in det], [float(x) for x in labels], tol)
        out[f"f1_{tol}"] = round(gait.f1_score(tp, fp, fn), 3)
        out[f"tp_{tol}"], out[f"fp_{tol}"], out[f"fn_{tol}"] = tp, fp, fn
    # timing error in ms (sub-frame detection time vs the label frame's time), on the +-2 matches
    tp, fp, fn, _ = gait.match_events(det, [float(x) for x in labels], 2.5)
    pairs = sorted((abs(d - x), d, x) for d in det for x in labels if abs(d - x) <= 2.5)
    used_d: set[float] = set()
    used_l: set[int] = set()
    errs_ms = []
    for _, d, x in pairs:
        if d in used_d or x in used_l:
            continue
        used_d.add(d)
        used_l.add(x)
        t_det = float(np.interp(d, np.arange(len(clip.times)), clip.times))
        errs_ms.append(1000 * (t_det - clip.times[x]))
    out["errors_ms"] = [round(e, 1) for e in errs_ms]
    return out


def events_for(clip: Clip, opts: DetectOptions, gait_fn: Callable[..., Any] | None = None) -> list[dict[str, Any]]:
    if gait_fn is None:
        events, _, _ = _walkers(clip.tracks or [], opts, clip.frame_h)
        return events
    return gait_fn(clip)


def summarize(per_clip: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tot = {k: sum(r[k] for r in per_clip.values()) for k in ("tp_1", "fp_1", "fn_1", "tp_2", "fp_2", "fn_2")}
    errs = [abs(e) for r in per_clip.values() for e in r["errors_ms"]]
    return {"f1_1": round(gait.f1_score(tot["tp_1"], tot["fp_1"], tot["fn_1"]), 3),
            "f1_2": round(gait.f1_score(tot["tp_2"], tot["fp_2"], tot["fn_2"]), 3),
            "median_abs_error_ms": round(statistics.median(errs), 1) if errs else None,
            "p90_abs_error_ms": round(float(np.percentile(errs, 90)), 1) if errs else None, **tot}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=None, help="Folder to cache the pose tracks in.")
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "foley_accuracy.json")
    args = ap.parse_args()
    import tempfile

    from sensorium.models.catalog import build_registry
    from testkit.settings import make_settings

    settings = make_settings(Path(tempfile.mkdtemp(prefix="foley-acc-")))
    registry = build_registry(settings)
    opts = DetectOptions(stride=args.stride).validate()
    clips = load_clips()
    per_clip = {}
    t0 = time.perf_counter()
    for clip in clips:
        scan_tracks(clip, registry, opts, args.cache)
        per_clip[clip.name] = score(clip, events_for(clip, opts))
        r = per_clip[clip.name]
        print(f"{clip.name:40} labels {r['labels']:3d} det {r['detected']:3d}  F1 +-1 {r['f1_1']:.2f}  "
              f"+-2 {r['f1_2']:.2f}  errors ms {r['errors_ms']}", flush=True)
    total = summarize(per_clip)
    print("all clips:", total)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "foley_accuracy", "stride": args.stride, "per_clip": per_clip,
                                    "total": total, "seconds": round(time.perf_counter() - t0, 1)}, indent=1))


if __name__ == "__main__":
    main()
