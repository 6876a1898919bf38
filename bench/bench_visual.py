"""Visual analysis benchmark: warm latency of image and video analysis, and frame extraction.

    .venv/bin/python bench/bench_visual.py [--runs 10] [--video-runs 5]

Measures, in one run on this machine:
* image analysis (full pipeline: decode, YOLOX, faces + expressions + mesh, pose, OCR, colours,
  NSFW, description) on ../shared/testdata/images/{bus,zidane}.jpg, warm: p50/p95 wall time and
  CPU seconds per analysis;
* video analysis with 5 and 20 uniformly sampled frames (and 5 keyframes) on a generated
  1920x1080 30 fps 30 s H.264 clip (GOP 2 s, no audio track: the targets are about the visual path);
* frame extraction: our `frames_at` (PyAV, threaded decoding, seek to keyframe + decode forward)
  against a naive OpenCV loop (`cap.set(CAP_PROP_POS_FRAMES, i); cap.read()`) for the same 20
  frames, in the same run (ratio), checking both return the same pixels.

Prints a table and writes bench/results/visual.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SHARED = Path(os.environ.get("SENSORIUM_SHARED_DIR", ROOT.parent / "shared"))
RESULTS = ROOT / "bench" / "results" / "visual.json"
CLIP_SECONDS, CLIP_FPS, CLIP_SIZE, CLIP_GOP = 30, 30, (1920, 1080), 60


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def machine() -> dict:
    import av
    import onnxruntime

    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(), "onnxruntime": onnxruntime.__version__,
            "pyav": av.__version__}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def make_clip(path: Path) -> Path:
    """1080p, 30 s: four 7.5 s scenes (the two test photos, panning, and synthetic shapes)."""
    import cv2

    from sensorium.media.encode import encode_video

    w, h = CLIP_SIZE
    photos = [cv2.imread(str(SHARED / "testdata" / "images" / n)) for n in ("bus.jpg", "zidane.jpg")]

    def scene(k: int, t: float) -> np.ndarray:
        if k in (0, 2):
            img = photos[0 if k == 0 else 1]
            r = h / img.shape[0] * 1.1
            big = cv2.resize(img, (int(img.shape[1] * r), int(img.shape[0] * r)))
            canvas = np.full((h, w, 3), 40, np.uint8)
            x0 = int((w - big.shape[1]) / 2 + 60 * np.sin(t))
            x0c, x1c = max(0, x0), min(w, x0 + big.shape[1])
            y0 = (h - big.shape[0]) // 2
            canvas[:, x0c:x1c] = big[-y0:-y0 + h, x0c - x0:x1c - x0]
            return canvas
        img = np.zeros((h, w, 3), np.uint8)
        img[:] = (160, 90, 30) if k == 1 else (40, 60, 170)
        cx = int(w * (0.2 + 0.6 * ((t % 7.5) / 7.5)))
        cv2.circle(img, (cx, h // 2), 160, (255, 255, 255), -1)
        cv2.putText(img, "SENSORIUM BENCH", (120, 180), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (255, 255, 255), 8)
        return img

    def frames():
        for i in range(CLIP_SECONDS * CLIP_FPS):
            t = i / CLIP_FPS
            yield scene(int(t // 7.5) % 4, t)

    return encode_video(path, frames(), CLIP_FPS, gop=CLIP_GOP, preset="veryfast", crf=23)


def timed(fn, runs: int):
    walls, cpus, out = [], [], None
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus, out


def summary(walls: list[float], cpus: list[float]) -> dict:
    return {"runs": len(walls), "p50_s": round(pct(walls, 50), 3), "p95_s": round(pct(walls, 95), 3),
            "min_s": round(min(walls), 3), "cpu_s_p50": round(pct(cpus, 50), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--video-runs", type=int, default=5)
    ap.add_argument("--clip", type=Path,
                    default=Path(tempfile.gettempdir()) / "sensorium-bench" / "clip1080p30s-veryfast.mp4")
    args = ap.parse_args()

    import cv2

    from sensorium.config import Settings
    from sensorium.media.video import frames_at, iter_frames, probe_video, uniform_times
    from sensorium.models.catalog import build_registry
    from sensorium.vision.image import analyze_image_file
    from sensorium.vision.schemas import ImageOptions, VideoOptions
    from sensorium.vision.video import analyze_video

    work = Path(tempfile.mkdtemp(prefix="bench-visual-"))
    settings = Settings(_env_file=None, model_dirs=[SHARED / "models"], data_dir=work / "data", log_dir=work / "logs",
                        model_ttl_seconds=-1, llm_base_url=None, llm_model=None)
    registry = build_registry(settings)
    report: dict = {"machine": machine(), "inputs": {}, "image": {}, "video": {}, "extraction": {}}

    # -- image ------------------------------------------------------------------------------------
    for name in ("bus", "zidane"):
        path = SHARED / "testdata" / "images" / f"{name}.jpg"
        analyze_image_file(path, registry, settings, ImageOptions())  # warm-up: loads every model
        walls, cpus, res = timed(lambda p=path: analyze_image_file(p, registry, settings, ImageOptions())
                                 .dump_with_run_info(), args.runs)
        stages = res["timings_ms"]
        report["image"][name] = {**summary(walls, cpus), "last_stage_ms": stages,
                                 "objects": res["object_counts"], "text_lines": len(res["text"]["lines"])}
        report["inputs"][f"image_{name}"] = {"path": str(path), "size": [res["image"]["width"], res["image"]["height"]]}

    # -- video ----------------------------------------------------------------------------------
    clip = args.clip
    if not clip.is_file():
        clip.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        make_clip(clip)
        report["inputs"]["clip_encode_s"] = round(time.perf_counter() - t0, 1)
    info = probe_video(clip)
    report["inputs"]["clip"] = {"path": str(clip), **info.to_dict(), "gop_frames": CLIP_GOP,
                                "bytes": clip.stat().st_size}
    for label, n, mode in (("5_frames_uniform", 5, "uniform"), ("20_frames_uniform", 20, "uniform"),
                           ("5_frames_keyframes", 5, "keyframes")):
        opts = VideoOptions(num_frames=n, frame_sampling=mode)
        analyze_video(clip, registry, settings, opts)  # warm (the clip has no audio track)
        runs = args.video_runs if mode == "uniform" else max(2, args.video_runs // 2)
        walls, cpus, res = timed(lambda o=opts: analyze_video(clip, registry, settings, o).dump_with_run_info(), runs)
        report["video"][label] = {**summary(walls, cpus), "last_stage_ms": res["timings_ms"],
                                  "frames": len(res["frames"]),
                                  "scene_changes": res["summary"].get("scene_changes")}

    # -- frame extraction ---------------------------------------------------------------------------
    times = uniform_times(info.duration, 20)
    ours_w, ours_c, ours = timed(lambda: frames_at(clip, times), 5)
    indices = [f.index for f in ours]

    def naive() -> list[np.ndarray]:
        cap = cv2.VideoCapture(str(clip))
        out = []
        for i in indices:
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, frame = cap.read()
            if ok:
                out.append(frame)
        cap.release()
        return out

    cv_w, cv_c, cv_frames = timed(naive, 5)
    same = [float(np.abs(a.image.astype(np.int16) - b.astype(np.int16)).mean())
            for a, b in zip(ours, cv_frames, strict=False)]
    seq_w, seq_c, nseq = timed(lambda: sum(1 for _ in iter_frames(clip, stride=30, max_side=640)), 1)
    ours_fps, cv_fps = 20 / statistics.median(ours_w), len(cv_frames) / statistics.median(cv_w)
    report["extraction"] = {
        "frames": 20,
        "pyav_seek_forward": {**summary(ours_w, ours_c), "frames_per_s": round(ours_fps, 2)},
        "opencv_naive_seek": {**summary(cv_w, cv_c), "frames_per_s": round(cv_fps, 2)},
        "speedup_pyav_vs_opencv": round(ours_fps / cv_fps, 2),
        "mean_abs_pixel_diff_vs_opencv": round(float(np.mean(same)), 3) if same else None,
        "full_decode_iter_frames": {"seconds": round(seq_w[0], 3), "frames_decoded": info.frame_count,
                                    "decode_fps": round(info.frame_count / seq_w[0], 1)},
    }
    report["machine"]["loadavg_end"] = os.getloadavg()
    registry.close()

    rows = [
        ("image bus.jpg (810x1080, text, 3-4 people)", report["image"]["bus"]),
        ("image zidane.jpg (1280x720, 2 people)", report["image"]["zidane"]),
        ("video 1080p30 30 s, 5 frames uniform", report["video"]["5_frames_uniform"]),
        ("video 1080p30 30 s, 20 frames uniform", report["video"]["20_frames_uniform"]),
        ("video 1080p30 30 s, 5 keyframes (full scan)", report["video"]["5_frames_keyframes"]),
        ("extract 20 frames: PyAV seek+forward", report["extraction"]["pyav_seek_forward"]),
        ("extract 20 frames: OpenCV naive seek", report["extraction"]["opencv_naive_seek"]),
    ]
    print(f"\nmachine: {report['machine'].get('cpu_model')} x{report['machine']['cpus']}  "
          f"load {report['machine']['loadavg_start']} -> {report['machine']['loadavg_end']}")
    print(f"{'case':48} {'runs':>4} {'p50 s':>8} {'p95 s':>8} {'min s':>8} {'cpu s':>8}")
    for name, r in rows:
        print(f"{name:48} {r['runs']:>4} {r['p50_s']:>8.3f} {r['p95_s']:>8.3f} {r['min_s']:>8.3f} "
              f"{r['cpu_s_p50']:>8.3f}")
    ex = report["extraction"]
    print(f"frame extraction: PyAV {ex['pyav_seek_forward']['frames_per_s']} frames/s vs OpenCV "
          f"{ex['opencv_naive_seek']['frames_per_s']} frames/s -> x{ex['speedup_pyav_vs_opencv']} "
          f"(mean pixel diff {ex['mean_abs_pixel_diff_vs_opencv']}); "
          f"full decode {ex['full_decode_iter_frames']['decode_fps']} fps")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
