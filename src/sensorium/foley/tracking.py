"""Person tracking: YOLOX detections associated to tracks that keep their ids.

YOLOX runs only every few frames (it is the expensive part); in between, a track's box follows its
own pose landmarks. Association is greedy on IoU, with a centroid-distance fallback (relative to
the person's height) for fast walkers whose boxes barely overlap between detection passes.
A track that is not matched by `max_misses` detection passes in a row, or whose pose is lost for
longer than `pose_timeout` seconds, ends; a walker who comes back later gets a new id.
`join_segments` joins the tracks of two halves of a video scanned separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sensorium.models.blazepose import Landmarker
    from sensorium.models.pose import PoseTracker

Box = tuple[float, float, float, float]


def iou(a: Box, b: Box) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def _same_person(a: Box, b: Box) -> bool:
    """Heavily overlapping boxes of similar height, or one box's centre inside the other at similar size."""
    ha, hb = a[3] - a[1], b[3] - b[1]
    if min(ha, hb) <= 0:
        return False
    ratio = ha / hb
    if iou(a, b) > 0.5:
        return True
    cx, cy = center(b)
    ax, ay = center(a)
    inside = (a[0] <= cx <= a[2] and a[1] <= cy <= a[3]) or (b[0] <= ax <= b[2] and b[1] <= ay <= b[3])
    return 0.7 <= ratio <= 1.4 and inside and iou(a, b) > 0.2


def center(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


@dataclass
class Track:
    id: int
    box: Box
    score: float
    first_frame: int
    last_seen: float  # time of the last detection match
    last_pose: float  # time of the last pose
    misses: int = 0
    hits: int = 1
    pose: Landmarker | PoseTracker | None = None  # the track's own (it keeps per-person state)
    samples: list = field(default_factory=list)  # gait.FootSample per processed frame
    boxes: list = field(default_factory=list)  # (frame, box) history for drawing/loudness
    skeletons: dict = field(default_factory=dict)  # frame -> (33, 3) pixels + visibility
    max_height: float = 0.0
    foot_vis: list = field(default_factory=list)  # recent mean foot-landmark visibility
    pose_every: int = 1  # 1 = every processed frame; more for tracks whose feet are hidden
    pose_log: list = field(default_factory=list)  # recent pose calls: 1 usable, 0 not

    def note_feet(self, vis: float, window: int = 12, hidden: float = 0.3, slow: int = 5) -> None:
        """Feet hidden for a while (a reflection, someone behind furniture): pose less often."""
        self._log(1)
        self.foot_vis.append(vis)
        del self.foot_vis[:-window]
        full = len(self.foot_vis) >= window
        self.pose_every = slow if full and max(self.foot_vis) < hidden else 1

    def note_no_pose(self, slow: int = 5, window: int = 20, min_ok: float = 0.5) -> None:
        """Most of the last `window` pose calls gave no usable pose (a reflection, a poster, someone
        mostly hidden): pose every `slow`-th frame until poses come back."""
        self._log(0)
        if slow > 1 and len(self.pose_log) >= window // 2 and sum(self.pose_log) < min_ok * len(self.pose_log):
            self.pose_every = slow

    def _log(self, ok: int, window: int = 20) -> None:
        self.pose_log.append(ok)
        del self.pose_log[:-window]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


class PersonTracker:
    def __init__(self, *, iou_thr: float = 0.25, dist_thr: float = 0.6, max_misses: int = 2,
                 pose_timeout: float = 0.6, min_height: float = 0.12, min_hits: int = 1) -> None:
        self.iou_thr = iou_thr
        self.dist_thr = dist_thr  # centre distance, in person heights
        self.max_misses = max_misses
        self.pose_timeout = pose_timeout
        self.min_height = min_height  # fraction of the frame height
        self.min_hits = min_hits
        self.tracks: list[Track] = []
        self.finished: list[Track] = []
        self._next = 1

    def update(self, boxes: list[tuple[Box, float]], frame: int, t: float, frame_h: int) -> list[Track]:
        """Associate one detection pass. Returns the tracks created by it."""
        boxes = [(b, s) for b, s in boxes if (b[3] - b[1]) >= self.min_height * frame_h]
        pairs = []
        for ti, tr in enumerate(self.tracks):
            for di, (b, _) in enumerate(boxes):
                o = iou(tr.box, b)
                cx, cy = center(tr.box)
                dx, dy = center(b)
                dist = np.hypot(cx - dx, cy - dy) / max(1.0, tr.height)
                ratio = (b[3] - b[1]) / max(1.0, tr.height)
                if not 0.6 <= ratio <= 1.6:
                    continue  # a different person passing in front (e.g. a walker and a reflection)
                if o >= self.iou_thr or dist <= self.dist_thr:
                    pairs.append((o - 0.5 * dist, ti, di))
        pairs.sort(reverse=True)
        used_t: set[int] = set()
        used_d: set[int] = set()
        for _, ti, di in pairs:
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            tr = self.tracks[ti]
            tr.box, tr.score = boxes[di]
            tr.last_seen = t
            tr.misses = 0
            tr.hits += 1
        for ti, tr in enumerate(self.tracks):
            if ti not in used_t:
                tr.misses += 1
        created = []
        for di, (b, s) in enumerate(boxes):
            if di in used_d:
                continue
            # a detection overlapping an existing track is the same person seen twice, not a new one
            if any(_same_person(tr.box, b) for tr in self.tracks):
                continue
            tr = Track(self._next, b, s, frame, t, t)
            self._next += 1
            self.tracks.append(tr)
            created.append(tr)
        self._reap(t)
        return created

    def pose_update(self, tr: Track, box: Box | None, t: float) -> None:
        """Move a track's box with its pose (between detection passes)."""
        if box is not None:
            tr.box = box
            tr.last_pose = t

    def dedupe(self) -> list[Track]:
        """Two tracks that converged on the same person: the younger one ends. Returns the ended."""
        ended: list[Track] = []
        for i, a in enumerate(self.tracks):
            for b in self.tracks[i + 1:]:
                if b in ended or a in ended:
                    continue
                if _same_person(a.box, b.box):
                    ended.append(b if b.id > a.id else a)
        if ended:
            self.tracks = [tr for tr in self.tracks if tr not in ended]
            self.finished.extend(ended)
        return ended

    def _reap(self, t: float) -> None:
        keep = []
        for tr in self.tracks:
            if tr.misses > self.max_misses or t - tr.last_pose > self.pose_timeout:
                self.finished.append(tr)
            else:
                keep.append(tr)
        self.tracks = keep

    def end_stale(self, t: float) -> list[Track]:
        before = set(id(tr) for tr in self.tracks)
        self._reap(t)
        return [tr for tr in self.finished if id(tr) in before]

    def close(self) -> list[Track]:
        self.finished.extend(self.tracks)
        self.tracks = []
        return sorted(self.finished, key=lambda tr: tr.id)


# --- joining two scanned segments ------------------------------------------------------------
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


def join_segments(first: list[Track], second: list[Track], lo: int, hi: int) -> list[Track]:
    """Merge the tracks of two segments that share the frames [lo, hi).

    The second segment starts early (a warm-up for MediaPipe's tracking) and the first ends late,
    so both have settled in the shared frames. A track of the second segment continues the track
    of the first whose boxes overlap it most there; the two are spliced at the shared frame where
    their foot landmarks agree best, so the gait signal has no jump at the join.
    """
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
