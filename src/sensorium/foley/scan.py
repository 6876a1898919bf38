"""Scanning one stretch of a video: people (YOLOX + tracker) and the pose of each, frame by frame.

YOLOX runs only every `detect_interval` seconds (its boxes re-centre the crops); between passes each
track's box follows its own MediaPipe landmarks. MediaPipe runs on a square crop of the person
resized to `pose_input` px, in video mode (one tracker per person), the poses of several people
concurrently. Decoding runs ahead on its own thread (`prefetch`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley import gait
from sensorium.foley.schemas import MAX_STRIDE
from sensorium.foley.tracking import Box, PersonTracker, Track
from sensorium.models.blazepose import Landmarker

if TYPE_CHECKING:
    from sensorium.media.video import VideoInfo
    from sensorium.models.pose import PoseFactory
    from sensorium.models.yolox import YoloxDetector


@dataclass
class DetectOptions:
    """Options of `detect.detect_footsteps` (defined here, where most of them are used)."""

    stride: int = 1
    detect_interval: float = 0.3  # seconds between YOLOX passes
    score_thr: float = 0.4
    min_person_height: float = 0.12  # fraction of frame height
    pose_input: int = 256  # crop side given to MediaPipe
    method: str = "envelope"
    toe_off: bool = True
    pose_smoothing: bool = False  # MediaPipe's own landmark filter (adds lag); gait.py smooths itself
    #: "direct": the BlazePose network on the frame's ROI (models/blazepose.py, the default);
    #: "mediapipe": MediaPipe's legacy Pose graph on a square crop of the person (slower)
    pose_engine: str = "direct"
    background_frames: int = 15
    threads: int = 2  # YOLOX and the poses of several people run concurrently
    #: videos at least this long are scanned as two halves on two threads (~1.4x faster on 2 cores)
    split_min_seconds: float = 20.0
    #: a track with no usable pose 3 calls in a row (a reflection, someone hidden) is posed only every
    #: Nth frame until a pose comes back (1: every frame)
    idle_pose_every: int = 5

    def validate(self) -> DetectOptions:
        if not isinstance(self.stride, int) or not 1 <= self.stride <= MAX_STRIDE:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 f"stride must be an integer from 1 to {MAX_STRIDE} (got {self.stride!r}).",
                                 details={"param": "stride"})
        if self.pose_engine not in ("direct", "mediapipe"):
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"unknown pose engine {self.pose_engine!r}",
                                 details={"param": "pose_engine"})
        if self.method not in gait.METHODS:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 f"method must be one of {', '.join(gait.METHODS)} (got {self.method!r}).",
                                 details={"param": "method"})
        return self


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

    if isinstance(tr.pose, Landmarker):
        pts = tr.pose.track(bgr, tr.box)
        return None if pts is None else pts[:, [0, 1, 3]]
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


@dataclass
class Scan:
    tracks: list[Track]
    bg_frames: list[np.ndarray]
    frames: int
    frame_w: int
    frame_h: int
    last_t: float


@dataclass
class ScanShared:
    """Time per stage, call counts and progress, shared by the segments of one detection (two threads)."""

    timings: dict[str, float]
    counts: dict[str, int]
    lock: threading.Lock
    tick: Callable[[], None]
    check: Callable[[], None] | None

    def timed(self, stage: str, fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            with self.lock:
                self.timings[stage] += time.perf_counter() - t0

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


class _Scanner:
    """The per-frame work of one segment: background samples, detection passes, poses, track updates."""

    def __init__(self, detector: YoloxDetector, pose_factory: PoseFactory, opts: DetectOptions, info: VideoInfo,
                 shared: ScanShared, pool: ThreadPoolExecutor) -> None:
        fps = info.fps or 30.0
        self.detector, self.pose_factory, self.opts, self.shared, self.pool = detector, pose_factory, opts, shared, pool
        self.det_every = max(1, int(round(opts.detect_interval * fps / opts.stride)))
        self.tracker = PersonTracker(min_height=opts.min_person_height, max_misses=4)
        self.n = 0
        self.bg_every = max(1, info.frame_count // max(1, opts.background_frames)) if info.frame_count else 30
        self.bg_frames: list[np.ndarray] = []
        self.frame_w = self.frame_h = 0
        self.last_t = 0.0

    def frame(self, idx: int, t: float, bgr: np.ndarray) -> None:
        import cv2

        opts = self.opts
        frame_h, frame_w = bgr.shape[:2]
        self.frame_h, self.frame_w, self.last_t = frame_h, frame_w, t
        if ((idx // opts.stride) % self.bg_every == 0 or self.n == 0) \
                and len(self.bg_frames) < 2 * opts.background_frames:
            small = cv2.resize(bgr, (min(640, frame_w), int(round(min(640, frame_w) * frame_h / frame_w))),
                               interpolation=cv2.INTER_AREA)
            self.bg_frames.append(small)
        # YOLOX every det_every frames (its boxes re-centre the crops), then the poses of all
        # tracked people concurrently
        if self.n % self.det_every == 0:
            self.shared.count("detector_calls")
            dets = self.shared.timed("detector", self.detector.detect, bgr, score_thr=opts.score_thr,
                                     classes={"person"})
            created = self.tracker.update([(d.box, d.score) for d in dets], idx, t, frame_h)
            for tr in created:
                tr.pose = (self.pose_factory.landmarker() if opts.pose_engine == "direct"
                           else self.pose_factory.tracker(smooth=opts.pose_smoothing))
        work = self._due(t)
        for tr, got in zip(work, self._poses(work, bgr), strict=True):
            if got is None or not self._add_pose(tr, got, idx, t):
                tr.note_no_pose(slow=self.opts.idle_pose_every)
        for tr in [*self.tracker.end_stale(t), *self.tracker.dedupe()]:
            if tr.pose is not None:
                tr.pose.close()
                tr.pose = None
        self.n += 1
        self.shared.tick()

    def _due(self, t: float) -> list[Track]:
        """The tracks whose pose is computed in this frame."""
        work = []
        for tr in list(self.tracker.tracks):
            if tr.pose is None:
                continue
            if tr.pose_every > 1 and (self.n + tr.id) % tr.pose_every:
                tr.last_pose = t  # deliberately skipped, not lost
                continue
            work.append(tr)
        self.shared.count("pose_calls", len(work))
        return work

    def _poses(self, work: list[Track], bgr: np.ndarray) -> list[np.ndarray | None]:
        size = self.opts.pose_input
        if len(work) == 1:  # the common case: no thread hop
            return [self.shared.timed("pose", _pose_one, work[0], bgr, size)]
        return list(self.pool.map(lambda tr: self.shared.timed("pose", _pose_one, tr, bgr, size), work))

    def _add_pose(self, tr: Track, px: np.ndarray, idx: int, t: float) -> bool:
        pb = pose_box(px, self.frame_w, self.frame_h)
        if pb is None or not _plausible(tr.box, pb):
            return False  # no body, or the pose jumped to someone else in the crop
        self.tracker.pose_update(tr, pb, t)
        tr.note_feet(float(px[27:33, 2].mean()))
        height = max(pb[3] - pb[1], 1.0)
        tr.max_height = max(tr.max_height, height)
        tr.samples.append(_sample(idx, t, px, height))
        tr.boxes.append((idx, pb))
        tr.skeletons[idx] = px.astype(np.float16)
        return True

    def close(self) -> None:
        for tr in self.tracker.tracks:
            if tr.pose is not None:
                tr.pose.close()
                tr.pose = None


def scan_segment(video: Path | str, detector: YoloxDetector, pose_factory: PoseFactory, opts: DetectOptions,
                 info: VideoInfo, *, start: float, end: float | None, shared: ScanShared) -> Scan:
    """Track people and their poses over the frames in [start, end)."""
    from sensorium.media.video import iter_frames

    pool = ThreadPoolExecutor(max_workers=opts.threads, thread_name_prefix="foley")
    scanner = _Scanner(detector, pose_factory, opts, info, shared, pool)
    try:
        t_dec = time.perf_counter()
        for idx, t, bgr in prefetch(iter_frames(video, stride=opts.stride, start=start, end=end,
                                                check=shared.check)):
            with shared.lock:
                shared.timings["decode"] += time.perf_counter() - t_dec
            scanner.frame(idx, t, bgr)
            t_dec = time.perf_counter()
    finally:
        pool.shutdown(wait=True)
        scanner.close()
    return Scan(scanner.tracker.close(), scanner.bg_frames, scanner.n, scanner.frame_w, scanner.frame_h,
                scanner.last_t)
