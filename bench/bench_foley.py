"""Foley detection speed: frames per second of the footstep pipeline on a 30 s 720p clip at stride 1
and 2, against PyAV decode-only speed measured in the same run (the physical limit here).

The clip is a real walking clip (../shared/testdata/walk, gait_abnormal_08) scaled to 1280x720 and
looped to 30 s (H.264, written to a temp folder). Also reports the per-stage time split and the
machine's load average (the machine is shared: a busy machine slows everything, ratios still hold).

    .venv/bin/python bench/bench_foley.py [--seconds 30] [--strides 1 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
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
    args = ap.parse_args()

    import warnings

    warnings.filterwarnings("ignore")
    from sensorium.config import Settings
    from sensorium.foley import DetectOptions, detect_footsteps
    from sensorium.models.catalog import build_registry

    settings = Settings(_env_file=None, model_dirs=[SHARED / "models"])
    registry = build_registry(settings)
    load_before = os.getloadavg()
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
        for stride in args.strides:
            t0 = time.perf_counter()
            det = detect_footsteps(clip, registry, DetectOptions(stride=stride))
            s = time.perf_counter() - t0
            video_fps = n_frames / s
            steps = det.summary()["steps"]
            figures[f"stride_{stride}"] = {
                "seconds": round(s, 3), "video_frames": n_frames, "frames_processed": det.frames_processed,
                "video_fps": round(video_fps, 2), "processed_fps": round(det.frames_processed / s, 2),
                "realtime_factor": round(video_fps / 30, 3), "vs_decode_only": round(video_fps / (dec_n / dec_s), 3),
                "timings_s": det.timings, "steps": steps, "people": len(det.people),
            }
            rows.append([f"detection stride {stride}", stride, det.frames_processed, round(s, 2), round(video_fps, 1),
                         round(video_fps / 30, 2), round(video_fps / (dec_n / dec_s), 3),
                         " ".join(f"{k}={v:.1f}s" for k, v in det.timings.items())])
    load_after = os.getloadavg()
    figures["load_average"] = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]}
    figures["target"] = "video_fps >= 30 at stride 1 (1x real time)"
    write("foley", {"clip": "gait_abnormal_08 scaled to 1280x720, looped", "seconds": args.seconds, "fps": 30,
                    "frames": n_frames, "strides": args.strides},
          figures, rows, ["run", "stride", "frames processed", "seconds", "video fps", "x real time",
                          "vs decode", "stage split"])


if __name__ == "__main__":
    main()
