"""BlazePose landmarks run directly (ai-edge-litert) on a region of interest of the full frame.

The same network MediaPipe's legacy Pose solution runs (`pose_landmark_full.tflite`, bundled in
mediapipe==0.10.14), with MediaPipe's pre- and post-processing done here in numpy/OpenCV instead of
its calculator graph (which costs ~40 % on top of the network on this CPU, see bench/bench_foley.py):

* the region of interest (ROI) is a square, rotated so that the body is upright: centre, side, angle
  in frame pixels. For the first frame of a person it is the person's box; then, as in MediaPipe's
  tracking, it comes from the previous frame's two auxiliary landmarks (33: hip centre, 34: a point
  on the circle around the body): side = 1.25 x the circle's diameter, angle from the pair;
* the ROI is cut from the frame and resized to 256x256 (first by a whole factor with area
  interpolation, then bilinear; zeros outside the frame), RGB in [0, 1];
* outputs: 39 landmarks (x, y, z, visibility and presence logits, in tensor pixels), a pose-presence
  score (below 0.5: no person, the track's ROI falls back to its box), and 64x64 heatmaps that refine
  each landmark (the sigmoid-weighted mean position in a 7x7 window when the window's peak is >= 0.5).

No temporal smoothing of the landmarks (the gait code smooths its own signals); the ROI is steadied
(exponential averages of its offset from the landmarks, side and angle) so that the crop does not jitter.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SIZE = 256
NUM = 39  # 33 body landmarks + 6 auxiliary
PRESENCE_MIN = 0.5
HEATMAP_KERNEL = 7
HEATMAP_MIN = 0.5
ROI_SCALE = 1.25  # MediaPipe 0.10.14's PoseLandmarksToRoi margin (read from its compiled graph)
ROI_SMOOTHING = 0.2  # weight of the newest ROI offset, side and angle (exponential average)

Roi = tuple[float, float, float, float]  # centre x, centre y, side (px), rotation (radians)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def roi_from_box(box: tuple[float, float, float, float], scale: float = 1.2) -> Roi:
    """An upright square ROI around a person box (the long side times `scale`)."""
    x1, y1, x2, y2 = box
    return ((x1 + x2) / 2, (y1 + y2) / 2, max(8.0, max(x2 - x1, y2 - y1) * scale), 0.0)


def roi_from_aux(center: np.ndarray, scale_pt: np.ndarray) -> Roi:
    """MediaPipe's ROI from the two auxiliary landmarks (pixels): circle centre and a point on it."""
    dx, dy = float(scale_pt[0] - center[0]), float(scale_pt[1] - center[1])
    side = 2.0 * math.hypot(dx, dy) * ROI_SCALE
    rot = math.pi / 2 - math.atan2(-dy, dx)
    rot = (rot + math.pi) % (2 * math.pi) - math.pi
    return (float(center[0]), float(center[1]), max(8.0, side), rot)


def _affine(roi: Roi, scale: float, origin: tuple[float, float]) -> np.ndarray:
    """2x3 matrix: tensor pixel index -> source pixel index (source scaled by `scale`, cut at `origin`)."""
    cx, cy, side, rot = roi
    c, s = math.cos(rot), math.sin(rot)
    k = side / SIZE * scale
    a = np.array([[c * k, -s * k], [s * k, c * k]])
    centre = np.array([(cx * scale) - origin[0] - 0.5, (cy * scale) - origin[1] - 0.5])
    off = centre + a @ np.array([0.5 - SIZE / 2, 0.5 - SIZE / 2])
    return np.hstack([a, off[:, None]])


def cut(frame: np.ndarray, roi: Roi) -> np.ndarray:
    """The ROI of a BGR frame as the network's 256x256 RGB float input."""
    import cv2

    cx, cy, side, rot = roi
    h, w = frame.shape[:2]
    half = 0.5 * side * (abs(math.cos(rot)) + abs(math.sin(rot))) + 2
    k = max(1, int(side // SIZE))  # shrink by a whole factor first (area: no aliasing, and fast)
    x0, y0 = int(math.floor(cx - half)), int(math.floor(cy - half))
    n = -(-(int(math.ceil(cx + half)) - x0) // k) * k  # region side, a multiple of k
    if x0 >= 0 and y0 >= 0 and x0 + n <= w and y0 + n <= h:
        region = frame[y0:y0 + n, x0:x0 + n]
    else:
        region = np.zeros((n, n, 3), dtype=np.uint8)
        ax0, ay0, ax1, ay1 = max(0, x0), max(0, y0), min(w, x0 + n), min(h, y0 + n)
        if ax1 > ax0 and ay1 > ay0:
            region[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] = frame[ay0:ay1, ax0:ax1]
    if k > 1:
        region = cv2.resize(region, (n // k, n // k), interpolation=cv2.INTER_AREA)
    m = _affine((cx - x0, cy - y0, side, rot), 1.0 / k, (0.0, 0.0))
    out = cv2.warpAffine(region, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return np.multiply(cv2.cvtColor(out, cv2.COLOR_BGR2RGB), np.float32(1.0 / 255.0), dtype=np.float32)


def refine(lm: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """Heatmap refinement of normalised landmark x, y ((39, 2) in 0..1; heatmap (64, 64, 39) logits)."""
    hh, hw, _ = heatmap.shape
    r = (HEATMAP_KERNEL - 1) // 2
    out = lm.copy()
    cols = (lm[:, 0] * hw).astype(np.int64)
    rows = (lm[:, 1] * hh).astype(np.int64)
    for i in range(lm.shape[0]):
        c, rr = int(cols[i]), int(rows[i])
        if lm[i, 0] < 0 or lm[i, 1] < 0 or c >= hw or rr >= hh:
            continue
        r0, r1, c0, c1 = max(0, rr - r), min(hh, rr + r + 1), max(0, c - r), min(hw, c + r + 1)
        conf = _sigmoid(heatmap[r0:r1, c0:c1, i])
        total = float(conf.sum())
        if total > 0 and float(conf.max()) >= HEATMAP_MIN:
            ys, xs = np.mgrid[r0:r1, c0:c1]
            out[i, 0] = float((xs * conf).sum()) / hw / total
            out[i, 1] = float((ys * conf).sum()) / hh / total
    return out


class Landmarker:
    """One interpreter (not thread-safe: one per tracked person) and the ROI tracking of one person."""

    def __init__(self, model: Path, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._it = Interpreter(model_path=str(model), num_threads=threads)
        self._it.allocate_tensors()
        self._in = self._it.get_input_details()[0]["index"]
        outs = {tuple(int(x) for x in d["shape"][1:]): d["index"] for d in self._it.get_output_details()}
        self._lm, self._flag, self._hm = outs[(NUM * 5,)], outs[(1,)], outs[(64, 64, NUM)]
        self.roi: Roi | None = None  # the next frame's ROI, from this frame's landmarks
        self._smooth: tuple[float, ...] | None = None  # averaged (offset x, offset y, side, angle)
        self.frames = 0

    def run(self, frame: np.ndarray, roi: Roi) -> tuple[np.ndarray, np.ndarray] | None:
        """(33, 4) landmarks (x, y px in the frame, z, visibility) and the (2, 2) auxiliary points, or None."""
        self._it.set_tensor(self._in, cut(frame, roi)[None])
        self._it.invoke()
        self.frames += 1
        if float(self._it.get_tensor(self._flag).reshape(-1)[0]) < PRESENCE_MIN:
            return None
        raw = self._it.get_tensor(self._lm).reshape(NUM, 5)
        norm = refine(raw[:, :2] / SIZE, self._it.get_tensor(self._hm)[0])
        cx, cy, side, rot = roi
        c, s = math.cos(rot), math.sin(rot)
        u, v = (norm[:, 0] - 0.5) * side, (norm[:, 1] - 0.5) * side
        px = np.stack([cx + c * u - s * v, cy + s * u + c * v], 1)
        pts = np.empty((33, 4), dtype=np.float32)
        pts[:, :2] = px[:33]
        pts[:, 2] = raw[:33, 2] / SIZE * side
        pts[:, 3] = _sigmoid(raw[:33, 3])
        return pts, px[33:35]

    def track(self, frame: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
        """Landmarks of the tracked person in this frame, (33, 4) x, y px, z, visibility, or None.

        The ROI follows the person as in MediaPipe's tracking, steadied like its crop-relative filter:
        its centre is the previous landmarks' extent centre plus the (averaged) offset of the auxiliary
        centre from it, its side and angle are averaged; the person box starts it (and restarts it)."""
        roi = self.roi or roi_from_box(box)
        got = self.run(frame, roi)
        if got is None:
            self.roi = self._smooth = None
            return None
        pts, aux = got
        raw = roi_from_aux(aux[0], aux[1])
        vis = pts[:, 3] >= 0.3
        xy = pts[vis, :2] if vis.sum() >= 8 else pts[:, :2]
        ex, ey = (xy[:, 0].min() + xy[:, 0].max()) / 2, (xy[:, 1].min() + xy[:, 1].max()) / 2
        cur = (raw[0] - ex, raw[1] - ey, raw[2], raw[3])
        if self._smooth is not None:
            a = ROI_SMOOTHING
            cur = tuple(a * c + (1 - a) * p for c, p in zip(cur, self._smooth, strict=True))
        self._smooth = cur
        self.roi = (ex + cur[0], ey + cur[1], cur[2], cur[3])
        return pts

    def close(self) -> None:
        self.roi = self._smooth = None
