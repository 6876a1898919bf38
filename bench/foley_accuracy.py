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
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sensorium.foley import footstop, gait  # noqa: E402 - after the sys.path set-up above
from sensorium.foley.detect import _scan, _walkers  # noqa: E402
from sensorium.foley.scan import DetectOptions, ScanShared  # noqa: E402
from sensorium.media.video import probe_video  # noqa: E402
from testkit.footsteps import Clip, load_clips, score, summarize  # noqa: E402


def scan_tracks(clip: Clip, registry: Any, opts: DetectOptions, cache: Path | None) -> None:
    key = f"{clip.name}.s{opts.stride}.p{opts.pose_input}.{opts.pose_engine}.pkl"
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


def events_for(clip: Clip, opts: DetectOptions, gait_fn: Callable[..., Any] | None = None) -> list[dict[str, Any]]:
    if gait_fn is None:
        events, _, _ = _walkers(clip.tracks or [], opts, clip.frame_h)
        return events
    return gait_fn(clip)


#: the foot-stop constants of footstop.py and the values tried for them (leave-one-clip-out)
GRID: dict[str, list[Any]] = {
    "STRIKE_BIAS_SECONDS": [-0.08, -0.06, -0.04, -0.02, 0.0],
    "STOP_FRACTION": [0.2, 0.35, 0.5],
    "STOP_FLOOR": [0.1, 0.2, 0.3],
    "STOP_SMOOTH_SECONDS": [0.1, 0.15, 0.23],
    "STOP_SEARCH_SECONDS": [(0.1, 0.1), (0.2, 0.1), (0.1, 0.2)],
}

INF = float("inf")
#: heel-strike methods compared out of sample: footstop.py constants fixed per variant, the GRID (plus any
#: extra grid) chosen leave-one-clip-out for each; the last one is the shipped default
VARIANTS: dict[str, dict[str, Any]] = {
    "envelope peak time (no foot stop)": {"fixed": {"STOP_PART": "none", "GAP_SECONDS": INF}},
    "envelope + foot stop: heel or toe, earliest": {"fixed": {"STOP_PART": "foot", "GAP_SECONDS": INF}},
    "envelope + heel stop against the other foot's toes": {"fixed": {"STOP_PART": "rel", "GAP_SECONDS": INF}},
    "envelope + stop part chosen LOCO, + gap filling": {"fixed": {},
                                                         "grid": {"STOP_PART": ["heel", "foot", "rel"]}},
    "envelope + heel stop (before)": {"fixed": {"STOP_PART": "heel", "GAP_SECONDS": INF}},
    "envelope + heel stop + gap filling (default)": {"fixed": {"STOP_PART": "heel"}},
}


def _key(total: dict[str, Any]) -> tuple[float, float, float]:
    """What a parameter choice maximises: F1 at +-2 frames, then at +-1, then a small timing error."""
    return total["f1_2"], total["f1_1"], -(total["median_abs_error_ms"] or 1e9)


class _SeriesMemo:
    """gait._Series built once per segment (its smoothing does not depend on the GRID constants)."""

    def __init__(self, cls: Any) -> None:
        self.cls, self.memo = cls, {}

    def __call__(self, seg: list[Any]) -> Any:
        key = (id(seg[0]), len(seg))
        if key not in self.memo:
            self.memo[key] = self.cls(seg)
        return self.memo[key]


def leave_one_clip_out(clips: list[Clip], opts: DetectOptions, fixed: dict[str, Any] | None = None,
                       extra_grid: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """Choose the GRID constants on five clips, score the sixth; every clip in turn."""
    import itertools

    grid = {**GRID, **(extra_grid or {})}
    names = list(grid)
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    saved = {n: getattr(footstop, n) for n in [*names, *(fixed or {})]}
    table: dict[int, dict[str, dict[str, Any]]] = {}
    real_series = gait._Series
    gait._Series = _SeriesMemo(real_series)  # type: ignore[misc]
    try:
        for n, v in (fixed or {}).items():
            setattr(footstop, n, v)
        for k, combo in enumerate(combos):
            for n, v in combo.items():
                setattr(footstop, n, v)
            table[k] = {c.name: score(c, events_for(c, opts)) for c in clips}
    finally:
        gait._Series = real_series  # type: ignore[misc]
        for n, v in saved.items():
            setattr(footstop, n, v)
    per_clip, chosen = {}, {}
    for held in clips:
        rest = [c.name for c in clips if c.name != held.name]
        best = max(table, key=lambda k: _key(summarize({n: table[k][n] for n in rest})))
        per_clip[held.name], chosen[held.name] = table[best][held.name], combos[best]
    best_all = max(table, key=lambda k: _key(summarize(table[k])))
    return {"per_clip": per_clip, "chosen": chosen, "total": summarize(per_clip),
            "in_sample_best": {"params": combos[best_all], "total": summarize(table[best_all])},
            "combos": len(combos), "fixed": {k: str(v) for k, v in (fixed or {}).items()}}


def compare_methods(clips: list[Clip], opts: DetectOptions) -> dict[str, Any]:
    """Every VARIANT leave-one-clip-out, and the other gait methods (no constant chosen: out of sample as is)."""
    from dataclasses import replace

    out: dict[str, Any] = {}
    for name, v in VARIANTS.items():
        r = leave_one_clip_out(clips, opts, v["fixed"], v.get("grid"))
        out[name] = r
        t = r["total"]
        print(f"LOCO {name:55} F1 +-1 {t['f1_1']:.3f} +-2 {t['f1_2']:.3f} median {t['median_abs_error_ms']} ms  "
              f"per clip +-2 {[r['per_clip'][c.name]['f1_2'] for c in clips]}", flush=True)
    for method in ("zeni", "vertical", "stationary"):
        o = replace(opts, method=method)
        r = {"per_clip": {c.name: score(c, events_for(c, o)) for c in clips}}
        r["total"] = summarize(r["per_clip"])
        out[f"method {method} (no constant chosen)"] = r
        print(f"     method {method:48} F1 +-1 {r['total']['f1_1']:.3f} +-2 {r['total']['f1_2']:.3f}", flush=True)
    return out


#: two-walker clips: (left clip, right clip mirrored); same frame rate and length in each pair
PAIRS = [("gait_abnormal_08_no_arm_swing.mp4", "gait_abnormal_10_slouch_posture.mp4"),
         ("gait_abnormal_06_no_arm_swing.mp4", "gait_abnormal_08_no_arm_swing.mp4"),
         ("gait_abnormal_10_slouch_posture.mp4", "gait_abnormal_06_no_arm_swing.mp4")]


def two_walkers(clips: list[Clip], registry: Any, opts: DetectOptions) -> dict[str, Any]:
    """Side-by-side pairs of labelled clips: both walkers found, each strike given to the right person."""
    import tempfile

    from sensorium.foley.detect import detect_footsteps
    from testkit.footsteps import score_pair, side_by_side

    by_name = {c.name: c for c in clips}
    out: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="foley-pairs-"))
    for a, b in PAIRS:
        video = side_by_side(by_name[a].path, by_name[b].path, work / f"{a[:16]}+{b[:16]}.mp4")
        det = detect_footsteps(video, registry, opts)
        r = score_pair((by_name[a], by_name[b]), det.events, split_x=det.video["width"] / 2)
        out[f"{a} + {b} (mirrored)"] = r
        print(f"pair {a} + {b}: {r['total']} attribution {r['attribution']}", flush=True)
    out["total"] = summarize({f"{k}/{n}": v for k, r in out.items() for n, v in r["per_clip"].items()})
    print("two walkers, all pairs:", out["total"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=None, help="Folder to cache the pose tracks in.")
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--engine", default="direct", choices=["direct", "mediapipe"], help="Pose engine.")
    ap.add_argument("--loco", action="store_true",
                    help="Also choose the foot-stop constants leave-one-clip-out, for every method variant.")
    ap.add_argument("--pairs", action="store_true", help="Also score two-walker clips made of two labelled clips "
                    "side by side (the right one mirrored).")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "foley_accuracy.json")
    args = ap.parse_args()
    import tempfile

    from sensorium.models.catalog import build_registry
    from testkit.settings import make_settings

    settings = make_settings(Path(tempfile.mkdtemp(prefix="foley-acc-")))
    registry = build_registry(settings)
    opts = DetectOptions(stride=args.stride, pose_engine=args.engine).validate()
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
    print("all clips (the shipped constants):", total)
    toe = summarize({c.name: score(c, events_for(c, opts), "toe_off") for c in clips})
    print("toe-offs:", toe)
    methods = compare_methods(clips, opts) if args.loco else None
    loco = methods[next(reversed(VARIANTS))] if methods else None
    if loco:
        for name, r in loco["per_clip"].items():
            print(f"LOCO {name:40} F1 +-1 {r['f1_1']:.2f} +-2 {r['f1_2']:.2f}  chosen {loco['chosen'][name]}")
        print("LOCO all clips (default):", loco["total"])
    pairs = two_walkers(clips, registry, opts) if args.pairs else None
    earlier = json.loads(args.out.read_text()).get("variants_tried") if args.out.is_file() else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "foley_accuracy", "stride": args.stride, "per_clip": per_clip,
                                    "total": total, "toe_offs": toe, "leave_one_clip_out": loco,
                                    "methods_out_of_sample": methods, "load_average": os.getloadavg(),
                                    "two_walkers": pairs, "variants_tried": earlier,
                                    "seconds": round(time.perf_counter() - t0, 1)}, indent=1, default=float))


if __name__ == "__main__":
    main()
