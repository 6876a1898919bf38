"""Foley detection speed: frames per second of the footstep pipeline on a 30 s 720p clip at stride 1
and 2, against PyAV decode-only speed measured in the same run (the physical limit here).

The clip is a real walking clip (../shared/testdata/walk, gait_abnormal_08) scaled to 1280x720 and
looped to 30 s (H.264, written to a temp folder). Also reports the per-stage time split and the
machine's load average (the machine is shared: a busy machine slows everything, ratios still hold).

    .venv/bin/python bench/bench_foley.py [--seconds 30] [--strides 1 2] [--variants] [--repeat 2]

`--variants` also times the pose variants at stride 1 in the same run (interleaved, `--repeat` times each):
every track posed every frame (before), tracks without a usable pose posed every 5th frame (the default),
and the default in one pass instead of two halves on two threads. Each run also records the process CPU
time (user + system), which a busy machine inflates far less than the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, SHARED, write

sys.path.insert(0, str(REPO / "src"))


def make_clip(dst: Path, seconds: float) -> tuple[Path, int]:
    import av
    import cv2

    from sensorium.media.encode import encode_video

    src = SHARED / "testdata" / "walk" / "gait_abnormal_08_no_arm_swing.mp4"
    with av.open(str(src)) as c:
        frames = [cv2.resize(f.to_ndarray(format="bgr24"), (1280, 720), interpolation=cv2.INTER_LINEAR)
                  for f in c.decode(video=0)]
    n = int(seconds * 30)
    seq = [frames[i % len(frames)] for i in range(n)]
    encode_video(dst, seq, fps=30, crf=20, preset="veryfast")
    return dst, n


def decode_only(path: Path) -> tuple[float, int]:
    from sensorium.media.video import iter_frames

    t0 = time.perf_counter()
    n = sum(1 for _ in iter_frames(path))
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--strides", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--variants", action="store_true", help="Also time the pose variants at stride 1.")
    ap.add_argument("--repeat", type=int, default=1, help="Runs of each variant (interleaved); the median counts.")
    args = ap.parse_args()

    import warnings

    warnings.filterwarnings("ignore")
    from sensorium.config import Settings
    from sensorium.foley import DetectOptions, detect_footsteps
    from sensorium.models.catalog import build_registry

    settings = Settings(_env_file=None, model_dirs=[SHARED / "models"])
    registry = build_registry(settings)
    load_before = os.getloadavg()
    headers = ["run", "stride", "frames processed", "seconds", "video fps", "x real time", "vs decode", "stage split"]
    with tempfile.TemporaryDirectory() as tmp:
        clip, n_frames = make_clip(Path(tmp) / "walk720.mp4", args.seconds)
        # warm up: load the models, first-call costs
        with registry.use("yolox-nano"), registry.use("mediapipe-pose"):
            pass
        dec_s, dec_n = decode_only(clip)
        rows = [["decode only (PyAV -> BGR)", "-", dec_n, round(dec_s, 2), round(dec_n / dec_s, 1),
                 round(dec_n / dec_s / 30, 2), "", ""]]
        figures: dict = {"decode_only": {"seconds": round(dec_s, 3), "frames": dec_n,
                                         "fps": round(dec_n / dec_s, 2)}}

        def run(label: str, opts: DetectOptions, dec_fps: float) -> dict:
            r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            det = detect_footsteps(clip, registry, opts)
            s, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            video_fps = n_frames / s
            rows.append([label, opts.stride, det.frames_processed, round(s, 2), round(video_fps, 1),
                         round(video_fps / 30, 2), round(video_fps / dec_fps, 3),
                         " ".join(f"{k}={v:.1f}s" for k, v in det.timings.items())])
            return {"seconds": round(s, 3), "video_frames": n_frames, "frames_processed": det.frames_processed,
                    "video_fps": round(video_fps, 2), "processed_fps": round(det.frames_processed / s, 2),
                    "realtime_factor": round(video_fps / 30, 3), "vs_decode_only": round(video_fps / dec_fps, 3),
                    "timings_s": det.timings, "steps": det.summary()["steps"], "people": len(det.people),
                    "cpu_s": round(cpu, 2), "load_1min": round(os.getloadavg()[0], 2)}

        for stride in args.strides:
            figures[f"stride_{stride}"] = run(f"detection stride {stride}", DetectOptions(stride=stride),
                                              dec_n / dec_s)
        if args.variants:
            figures["variants"] = variants(run, decode_only, clip, args.repeat)
    load_after = os.getloadavg()
    figures["load_average"] = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]}
    figures["target"] = "video_fps >= 45 at stride 1 (1.5x real time) on 2 cores"
    previous = REPO / "bench" / "results" / "foley.json"
    if previous.is_file():  # keep the last runs' figures (the machine is shared: history matters)
        old = json.loads(previous.read_text())
        last = {"date": old.get("date"), **{k: v for k, v in old.get("figures", {}).items()
                                            if k not in ("previous_run", "previous_runs")}}
        figures["previous_runs"] = [last, *old.get("figures", {}).get("previous_runs", [])][:3]
    write("foley", {"clip": "gait_abnormal_08 scaled to 1280x720, looped", "seconds": args.seconds, "fps": 30,
                    "frames": n_frames, "strides": args.strides},
          figures, rows, headers)


#: the pose variants timed by --variants (DetectOptions fields)
VARIANTS = {
    "direct BlazePose, every track posed every frame (before)": {"pose_engine": "direct", "idle_pose_every": 1},
    "direct BlazePose, tracks without a pose posed every 5th frame (default)": {"pose_engine": "direct"},
    "default, one pass (no two halves)": {"pose_engine": "direct", "split_min_seconds": 1e9},
}


def variants(run: Callable[..., dict], decode_only: Callable[[Path], tuple[float, int]], clip: Path,
             repeat: int) -> dict:
    """Each variant `repeat` times, interleaved, each run beside a decode-only run just before it."""
    import statistics

    from sensorium.foley import DetectOptions

    out: dict = {name: {"runs": []} for name in VARIANTS}
    for _ in range(repeat):
        for name, kw in VARIANTS.items():
            dec_s, dec_n = decode_only(clip)
            r = run(name, DetectOptions(stride=1, **kw), dec_n / dec_s)
            out[name]["runs"].append({"video_fps": r["video_fps"], "decode_fps": round(dec_n / dec_s, 1),
                                      "vs_decode_only": r["vs_decode_only"], "pose_s": r["timings_s"]["pose"],
                                      "cpu_s": r["cpu_s"], "load_1min": r["load_1min"],
                                      "pose_calls": r["timings_s"]["pose_calls"], "steps": r["steps"]})
    for v in out.values():
        v["median_video_fps"] = round(statistics.median(x["video_fps"] for x in v["runs"]), 2)
        v["median_vs_decode_only"] = round(statistics.median(x["vs_decode_only"] for x in v["runs"]), 3)
    base = out[next(iter(VARIANTS))]["median_video_fps"]
    for v in out.values():
        v["speed_vs_before"] = round(v["median_video_fps"] / base, 2)
    return out


if __name__ == "__main__":
    main()
