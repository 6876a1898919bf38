"""Footstep detection: decode (PyAV) -> people (YOLOX + tracker) -> pose per person -> gait events.

Speed plan (2 CPU cores): YOLOX-nano runs only every `detect_interval` seconds; between passes
each track's box follows its own MediaPipe landmarks. MediaPipe runs on a square crop of the
person resized to `pose_input` px, in video mode (landmark tracking, no re-detection while the
person is tracked). `stride=N` processes every Nth frame; event times are refined to sub-frame
precision by parabolic interpolation of the gait signal.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley import gait
from sensorium.foley.tracking import Box, PersonTracker, Track

log = logging.getLogger(__name__)

DETECTOR = "yolox-nano"
POSE = "mediapipe-pose"
MAX_STRIDE = 8
#: a person needs at least this many heel strikes to count as walking
MIN_STRIKES = 2


@dataclass
class DetectOptions:
    stride: int = 1
    detect_interval: float = 0.3  # seconds between YOLOX passes
    score_thr: float = 0.4
    min_person_height: float = 0.12  # fraction of frame height
    pose_input: int = 256  # crop side given to MediaPipe
    method: str = "envelope"
    toe_off: bool = True
    pose_smoothing: bool = False  # MediaPipe's own landmark filter (adds lag); gait.py smooths itself
    background_frames: int = 15
    threads: int = 2  # YOLOX and the poses of several people run concurrently
    #: videos at least this long are scanned as two halves on two threads (~1.4x faster on 2 cores)
    split_min_seconds: float = 20.0

    def validate(self) -> DetectOptions:
        if not isinstance(self.stride, int) or not 1 <= self.stride <= MAX_STRIDE:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 f"stride must be an integer from 1 to {MAX_STRIDE} (got {self.stride!r}).",
                                 details={"param": "stride"})
        if self.method not in gait.METHODS:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 f"method must be one of {', '.join(gait.METHODS)} (got {self.method!r}).",
                                 details={"param": "method"})
        return self


@dataclass
class Detection:
    """Everything later steps need (sound, drawing, export)."""

    video: dict[str, Any]
    events: list[dict[str, Any]]
    people: list[dict[str, Any]]
    options: dict[str, Any]
    frames_processed: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage (decode, detector, pose, gait)
    tracks: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)  # id -> frames, boxes, skeletons
    background: np.ndarray | None = None  # median of sampled frames (BGR), for surface estimation

    def summary(self) -> dict[str, Any]:
        strikes = [e for e in self.events if e["event"] == "heel_strike"]
        return {
            "people": len(self.people),
            "walkers": sum(1 for p in self.people if p["steps"] > 0),
            "steps": len(strikes),
            "steps_per_person": {str(p["person_id"]): p["steps"] for p in self.people},
            "cadence_spm": {str(p["person_id"]): p["cadence_spm"] for p in self.people},
            "duration": self.video.get("duration"),
            "fps": self.video.get("fps"),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"video": self.video, "events": self.events, "people": self.people, "options": self.options,
                "frames_processed": self.frames_processed, "processing_seconds": round(self.seconds, 2)}

    def save_tracks(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        for tid, t in self.tracks.items():
            for k, v in t.items():
                arrays[f"{tid}_{k}"] = v
        if self.background is not None:
            arrays["background"] = self.background
        np.savez_compressed(path, **arrays)

    @staticmethod
    def load_tracks(path: Path) -> tuple[dict[int, dict[str, np.ndarray]], np.ndarray | None]:
        tracks: dict[int, dict[str, np.ndarray]] = {}
        background = None
        if not path.is_file():
            return tracks, background
        with np.load(path) as z:
            for key in z.files:
                if key == "background":
                    background = z[key]
                    continue
                tid, name = key.split("_", 1)
                tracks.setdefault(int(tid), {})[name] = z[key]
        return tracks, background


def prefetch(it: Iterator[Any], depth: int = 4) -> Iterator[Any]:
    """Run an iterator (decoding) on a thread, `depth` items ahead, so it overlaps the models."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)

    th = threading.Thread(target=work, name="foley-decode", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        close = getattr(it, "close", None)
        th.join(timeout=2)
        if close is not None and not th.is_alive():
            close()


def crop_square(img: np.ndarray, box: Box, scale: float = 1.2) -> tuple[np.ndarray, float, float, float]:
    """Square crop around a person box (zero-padded at the borders): (crop, x0, y0, side)."""
    h, w = img.shape[:2]
    x1, y1, x2, y2 = box
    side = max(8.0, max(x2 - x1, y2 - y1) * scale)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = int(round(side))
    out = np.zeros((s, s, 3), dtype=img.dtype)
    ax0, ay0 = max(0, x0), max(0, y0)
    ax1, ay1 = min(w, x0 + s), min(h, y0 + s)
    if ax1 > ax0 and ay1 > ay0:
        out[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] = img[ay0:ay1, ax0:ax1]
    return out, float(x0), float(y0), float(s)


def pose_box(px: np.ndarray, frame_w: int, frame_h: int) -> Box | None:
    """Person box from landmarks in pixels ((33, 3): x, y, visibility)."""
    vis = px[:, 2] >= 0.3
    if vis.sum() < 8:
        return None
    xs, ys = px[vis, 0], px[vis, 1]
    top, bottom = float(ys.min()), float(ys.max())
    h = bottom - top
    if h < 4:
        return None
    top -= 0.1 * h
    bottom += 0.03 * h
    left, right = float(xs.min()) - 0.08 * h, float(xs.max()) + 0.08 * h
    left, right = max(0.0, left), min(float(frame_w), right)
    top, bottom = max(0.0, top), min(float(frame_h), bottom)
    if right - left < 4 or bottom - top < 4:
        return None
    return (left, top, right, bottom)


def _pose_one(tr: Track, bgr: np.ndarray, size: int) -> np.ndarray | None:
    """Landmarks (33, 3: x, y px, visibility) of one tracked person in this frame, or None."""
    import cv2

    crop, x0, y0, side = crop_square(bgr, tr.box)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    small = cv2.resize(crop, (size, size), interpolation=interp)
    lm = tr.pose.process(small)
    return None if lm is None else lm.to_pixels(x0, y0, side, side)


def _plausible(prev: Box, new: Box) -> bool:
    """A pose box may follow its person, not jump to another one (size or position leap)."""
    ph, nh = prev[3] - prev[1], new[3] - new[1]
    if ph <= 0 or nh <= 0:
        return False
    if not 0.6 <= nh / ph <= 1.6:
        return False
    pcx, pcy = (prev[0] + prev[2]) / 2, (prev[1] + prev[3]) / 2
    ncx, ncy = (new[0] + new[2]) / 2, (new[1] + new[3]) / 2
    return bool(np.hypot(pcx - ncx, pcy - ncy) <= 0.5 * ph)


def _sample(frame: int, t: float, px: np.ndarray, height: float) -> gait.FootSample:
    from sensorium.models.pose import FOOT, LEFT_HIP, RIGHT_HIP

    def pt(i: int) -> tuple[float, float, float]:
        return float(px[i, 0]), float(px[i, 1]), float(px[i, 2])

    hip = ((px[LEFT_HIP, 0] + px[RIGHT_HIP, 0]) / 2, (px[LEFT_HIP, 1] + px[RIGHT_HIP, 1]) / 2)
    return gait.FootSample(
        frame=frame, time=t, height=height, hip=(float(hip[0]), float(hip[1])),
        heel={s: pt(FOOT[s]["heel"]) for s in ("left", "right")},
        toe={s: pt(FOOT[s]["toe"]) for s in ("left", "right")},
        ankle={s: pt(FOOT[s]["ankle"]) for s in ("left", "right")},
    )


def _cadence(times: list[float]) -> float | None:
    if len(times) < 3:
        return None
    iv = np.diff(sorted(times))
    iv = iv[(iv > 0.2) & (iv < 2.0)]
    if len(iv) < 2:
        return None
    return round(60.0 / float(np.median(iv)), 1)


@dataclass
class _Scan:
    tracks: list[Track]
    bg_frames: list[np.ndarray]
    frames: int
    frame_w: int
    frame_h: int
    last_t: float


def _scan_segment(
    video: Path | str,
    detector: Any,
    pose_factory: Any,
    opts: DetectOptions,
    info: Any,
    *,
    start: float,
    end: float | None,
    timings: dict[str, float],
    counts: dict[str, int],
    lock: threading.Lock,
    tick: Callable[[], None],
    check: Callable[[], None] | None,
) -> _Scan:
    """Track people and their poses over the frames in [start, end)."""
    import cv2

    from sensorium.media.video import iter_frames

    fps = info.fps or 30.0
    det_every = max(1, int(round(opts.detect_interval * fps / opts.stride)))
    tracker = PersonTracker(min_height=opts.min_person_height, max_misses=4)
    n = 0
    bg_every = max(1, info.frame_count // max(1, opts.background_frames)) if info.frame_count else 30
    bg_frames: list[np.ndarray] = []
    frame_w = frame_h = 0
    last_t = 0.0

    def timed(stage: str, fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            with lock:
                timings[stage] += time.perf_counter() - t0

    pool = ThreadPoolExecutor(max_workers=opts.threads, thread_name_prefix="foley")
    try:
        t_dec = time.perf_counter()
        for idx, t, bgr in prefetch(iter_frames(video, stride=opts.stride, start=start, end=end, check=check)):
            with lock:
                timings["decode"] += time.perf_counter() - t_dec
            frame_h, frame_w = bgr.shape[:2]
            last_t = t
            if (idx // opts.stride) % bg_every == 0 or n == 0:
                if len(bg_frames) < 2 * opts.background_frames:
                    small = cv2.resize(bgr, (min(640, frame_w), int(round(min(640, frame_w) * frame_h / frame_w))),
                                       interpolation=cv2.INTER_AREA)
                    bg_frames.append(small)
            # YOLOX every det_every frames (its boxes re-centre the crops), then the poses of all
            # tracked people concurrently
            if n % det_every == 0:
                with lock:
                    counts["detector_calls"] += 1
                dets = timed("detector", detector.detect, bgr, score_thr=opts.score_thr, classes={"person"})
                created = tracker.update([(d.box, d.score) for d in dets], idx, t, frame_h)
                for tr in created:
                    tr.pose = pose_factory.tracker(smooth=opts.pose_smoothing)
            work = []
            for tr in list(tracker.tracks):
                if tr.pose is None:
                    continue
                if tr.pose_every > 1 and (n + tr.id) % tr.pose_every:
                    tr.last_pose = t  # deliberately skipped, not lost
                    continue
                work.append(tr)
            with lock:
                counts["pose_calls"] += len(work)
            if len(work) == 1:  # the common case: no thread hop
                results = [timed("pose", _pose_one, work[0], bgr, opts.pose_input)]
            else:
                results = list(pool.map(lambda tr: timed("pose", _pose_one, tr, bgr, opts.pose_input), work))
            for tr, got in zip(work, results):
                if got is None:
                    continue
                px = got
                pb = pose_box(px, frame_w, frame_h)
                if pb is None or not _plausible(tr.box, pb):
                    continue  # no body, or the pose jumped to someone else in the crop
                tracker.pose_update(tr, pb, t)
                tr.note_feet(float(px[27:33, 2].mean()))
                height = max(pb[3] - pb[1], 1.0)
                tr.max_height = max(tr.max_height, height)
                tr.samples.append(_sample(idx, t, px, height))
                tr.boxes.append((idx, pb))
                tr.skeletons[idx] = px.astype(np.float16)
            for tr in [*tracker.end_stale(t), *tracker.dedupe()]:
                if tr.pose is not None:
                    tr.pose.close()
                    tr.pose = None
            n += 1
            tick()
            t_dec = time.perf_counter()
    finally:
        pool.shutdown(wait=True)
        for tr in tracker.tracks:
            if tr.pose is not None:
                tr.pose.close()
                tr.pose = None
    return _Scan(tracker.close(), bg_frames, n, frame_w, frame_h, last_t)


def _box_at(tr: Track, frame: int) -> Box | None:
    for f, b in tr.boxes:
        if f == frame:
            return b
    return None


def _splice_frame(a: Track, b: Track, lo: int, hi: int) -> int:
    """The shared frame in [lo, hi) where both segments' foot landmarks agree best (a smooth join)."""
    best, best_d = hi, float("inf")
    for f, pb in b.skeletons.items():
        if not lo <= f < hi or f not in a.skeletons:
            continue
        pa = a.skeletons[f].astype(np.float32)
        pbf = pb.astype(np.float32)
        d = float(np.linalg.norm(pa[27:33, :2] - pbf[27:33, :2], axis=1).mean()) / max(a.max_height, 1.0)
        if d < best_d:
            best, best_d = f, d
    return best


def _join_segments(first: list[Track], second: list[Track], lo: int, hi: int) -> list[Track]:
    """Merge the tracks of two segments that share the frames [lo, hi).

    The second segment starts early (a warm-up for MediaPipe's tracking) and the first ends late,
    so both have settled in the shared frames. A track of the second segment continues the track
    of the first whose boxes overlap it most there; the two are spliced at the shared frame where
    their foot landmarks agree best, so the gait signal has no jump at the join.
    """
    from sensorium.foley.tracking import iou

    mid = (lo + hi) // 2
    used: set[int] = set()
    out: list[Track] = []
    for b in second:
        shared = [(f, bb) for f, bb in b.boxes if lo <= f < hi]
        best, best_score = None, 0.3
        for i, a in enumerate(first):
            if i in used:
                continue
            scores = [iou(ab, bb) for f, bb in shared if (ab := _box_at(a, f)) is not None]
            if scores and float(np.mean(scores)) > best_score:
                best, best_score = i, float(np.mean(scores))
        if best is None:
            cut = mid
            b.samples = [smp for smp in b.samples if smp.frame >= cut]
            b.boxes = [(f, bb) for f, bb in b.boxes if f >= cut]
            b.skeletons = {f: v for f, v in b.skeletons.items() if f >= cut}
            if b.samples:
                out.append(b)
            continue
        used.add(best)
        a = first[best]
        cut = _splice_frame(a, b, lo + (hi - lo) // 3, hi)
        a.samples = [smp for smp in a.samples if smp.frame < cut] + [smp for smp in b.samples if smp.frame >= cut]
        a.boxes = [(f, bb) for f, bb in a.boxes if f < cut] + [(f, bb) for f, bb in b.boxes if f >= cut]
        a.skeletons = {**{f: v for f, v in a.skeletons.items() if f < cut},
                       **{f: v for f, v in b.skeletons.items() if f >= cut}}
        a.max_height = max(a.max_height, b.max_height)
        out.append(a)
    for i, a in enumerate(first):
        if i not in used:
            a.samples = [smp for smp in a.samples if smp.frame < mid]
            a.boxes = [(f, bb) for f, bb in a.boxes if f < mid]
            a.skeletons = {f: v for f, v in a.skeletons.items() if f < mid}
            if a.samples:
                out.append(a)
    return sorted(out, key=lambda tr: tr.samples[0].frame if tr.samples else 0)


#: Long videos are split in two halves scanned concurrently (MediaPipe releases the GIL and runs one
#: core per instance, so two halves use both cores: 28-31 fps instead of 20-22 on the 720p bench
#: clip). The halves share OVERLAP_S seconds around the middle so that pose tracking has settled in
#: both where they are joined. Short clips keep one pass: MediaPipe's tracking state depends on where
#: a pass starts, and on the labelled clips one pass scored F1 1.00 against 0.96 for two halves.
OVERLAP_S = 1.5


def detect_footsteps(
    video: Path | str,
    registry: Any,
    options: DetectOptions | None = None,
    *,
    progress: Callable[[float, str], None] | None = None,
    check: Callable[[], None] | None = None,
) -> Detection:
    """Detect the heel strikes (and toe-offs) of every walker in a video."""
    from sensorium.media.video import probe_video

    opts = (options or DetectOptions()).validate()
    info = probe_video(video)
    fps = info.fps or 30.0
    est_frames = max(1, info.frame_count // opts.stride)
    t_start = time.perf_counter()
    timings = {"decode": 0.0, "detector": 0.0, "pose": 0.0, "gait": 0.0}
    counts = {"pose_calls": 0, "detector_calls": 0, "segments": 1}
    lock = threading.Lock()
    done = [0]

    def tick() -> None:
        with lock:
            done[0] += 1
            k = done[0]
        if progress is not None and k % 10 == 0:
            progress(min(0.99, k / est_frames), "detecting footsteps")

    duration = info.duration or 0.0
    split = opts.threads > 1 and duration >= max(2 * OVERLAP_S, opts.split_min_seconds)
    with registry.use(DETECTOR) as detector, registry.use(POSE) as pose_factory:
        kw = dict(timings=timings, counts=counts, lock=lock, tick=tick, check=check)
        if not split:
            scans = [_scan_segment(video, detector, pose_factory, opts, info, start=0.0, end=None, **kw)]
        else:
            mid = duration / 2
            counts["segments"] = 2
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="foley-seg") as seg_pool:
                fa = seg_pool.submit(_scan_segment, video, detector, pose_factory, opts, info,
                                     start=0.0, end=mid + OVERLAP_S / 3, **kw)
                fb = seg_pool.submit(_scan_segment, video, detector, pose_factory, opts, info,
                                     start=max(0.0, mid - 2 * OVERLAP_S / 3), end=None, **kw)
                scans = [fa.result(), fb.result()]
    n = sum(s.frames for s in scans)
    if n == 0:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "No video frame could be decoded.")
    frame_w = max(s.frame_w for s in scans)
    frame_h = max(s.frame_h for s in scans)
    last_t = max(s.last_t for s in scans)
    bg_frames = [f for s in scans for f in s.bg_frames]
    if len(scans) == 2:
        mid = duration / 2
        tracks = _join_segments(scans[0].tracks, scans[1].tracks, int(round((mid - 2 * OVERLAP_S / 3) * fps)),
                                int(round((mid + OVERLAP_S / 3) * fps)))
        n = est_frames if info.frame_count else n  # the warm-up frames were scanned twice
    else:
        tracks = scans[0].tracks
    t_g = time.perf_counter()
    events: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    track_arrays: dict[int, dict[str, np.ndarray]] = {}
    pid = 0
    for tr in tracks:
        if len(tr.samples) < 3:
            continue
        pid += 1
        evs, side_agreement = gait.detect_events(tr.samples, opts.method, toe_off=opts.toe_off)
        if sum(1 for e in evs if e.event == "heel_strike") < MIN_STRIKES:
            evs = []  # one isolated "step" is a pose glitch or a reflection, not a walker
        strikes = [e for e in evs if e.event == "heel_strike"]
        for e in evs:
            events.append({
                "time_s": round(e.time, 4), "frame": int(round(e.frame)), "person_id": pid,
                "foot": e.foot, "event": e.event, "confidence": e.confidence, "x": e.x, "y": e.y,
                "frame_exact": round(e.frame, 2), "scale": round(tr.max_height / max(1, frame_h), 3),
                "side_corrected": e.side_corrected, "prominence": e.prominence,
            })
        samples = tr.samples
        people.append({
            "person_id": pid,
            "first_time_s": round(samples[0].time, 3),
            "last_time_s": round(samples[-1].time, 3),
            "frames_tracked": len(samples),
            "steps": len(strikes),
            "left_steps": sum(1 for e in strikes if e.foot == "left"),
            "right_steps": sum(1 for e in strikes if e.foot == "right"),
            "cadence_spm": _cadence([e.time for e in strikes]),
            "side_agreement": round(side_agreement, 3),
            "max_height_px": round(tr.max_height, 1),
            "walking": len(strikes) >= 2,
        })
        frames = np.array([f for f, _ in tr.boxes], dtype=np.int32)
        track_arrays[pid] = {
            "frames": frames,
            "boxes": np.array([b for _, b in tr.boxes], dtype=np.float32),
            "skeletons": np.stack([tr.skeletons[f] for f in frames]).astype(np.float16),
        }
    events.sort(key=lambda e: (e["time_s"], e["person_id"]))
    timings["gait"] = time.perf_counter() - t_g
    background = np.median(np.stack(bg_frames), axis=0).astype(np.uint8) if bg_frames else None
    seconds = time.perf_counter() - t_start
    video_info = {**info.to_dict(), "width": frame_w or info.width, "height": frame_h or info.height,
                  "duration": round(max(info.duration, last_t), 3)}
    if progress is not None:
        progress(1.0, "detecting footsteps")
    return Detection(
        video=video_info, events=events, people=people,
        options={"stride": opts.stride, "method": opts.method, "detect_interval": opts.detect_interval,
                 "pose_input": opts.pose_input},
        frames_processed=n, seconds=seconds, timings={**{k: round(v, 3) for k, v in timings.items()}, **counts}, tracks=track_arrays, background=background,
    )
