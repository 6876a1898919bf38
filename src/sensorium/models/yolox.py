"""YOLOX-nano: COCO 80-class object detector (ONNX Runtime, CPU).

Weights: `yolox-nano/yolox_nano.onnx` + `yolox-nano/coco_labels.txt` found through MODEL_DIRS /
MODEL_PATHS / MODEL_CACHE_DIR (Megvii YOLOX GitHub release, Apache-2.0).

Pre-processing follows YOLOX's own `preproc`: the BGR image is resized keeping its aspect ratio
into a 416x416 canvas filled with 114 (image at the top-left), float32 0..255, CHW. The raw output
rows are (cx, cy, w, h) in grid units, objectness and 80 class scores; they are decoded with the
stride-8/16/32 grids, then class-aware NMS (OpenCV) keeps the best boxes.

    with registry.use(YOLOX_NANO) as det:
        for d in det.detect(bgr, classes={"person"}):
            print(d.label, d.score, d.box)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.config import Settings
from sensorium.models.registry import ModelKey, ModelSpec
from sensorium.models.resolver import Resolver

NAME = "yolox-nano"
INPUT_SIZE = 416
STRIDES = (8, 16, 32)
PAD_VALUE = 114


@dataclass(frozen=True)
class Detection:
    label: str
    class_id: int
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the input image

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "score": round(self.score, 3),
            "box": [round(v, 1) for v in self.box],
        }


def _grids(size: int) -> tuple[np.ndarray, np.ndarray]:
    grids, strides = [], []
    for s in STRIDES:
        n = size // s
        yv, xv = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
        strides.append(np.full((n * n, 1), s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


def letterbox(bgr: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
    """(1x3xSxS float32 input, scale ratio) as YOLOX's `preproc` builds them."""
    import cv2

    h, w = bgr.shape[:2]
    r = min(size / h, size / w)
    nh, nw = max(1, int(round(h * r))), max(1, int(round(w * r)))
    canvas = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
    canvas[:nh, :nw] = cv2.resize(bgr, (nw, nh), interpolation=interp)
    blob = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)
    return blob, r


class YoloxDetector:
    """One ONNX Runtime session (thread-safe `run`), reused across requests."""

    def __init__(self, model_path: Path, labels: list[str], *, threads: int = 2) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        # no busy-waiting between ops: on a shared 2-core machine spinning threads steal CPU from
        # the other analysis stages and double the CPU time for the same wall time
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.size = int(inp.shape[-1]) if isinstance(inp.shape[-1], int) else INPUT_SIZE
        self.labels = labels
        self._grid, self._stride = _grids(self.size)
        self._lock = threading.Lock()  # sessions are thread-safe; this only bounds CPU use

    def raw(self, bgr: np.ndarray) -> tuple[np.ndarray, float]:
        blob, r = letterbox(bgr, self.size)
        out = self.session.run(None, {self.input_name: blob})[0][0]
        return out, r

    def decode(self, out: np.ndarray) -> np.ndarray:
        """Grid units -> (cx, cy, w, h) in letterboxed pixels (in place on a copy)."""
        out = out.copy()
        out[:, :2] = (out[:, :2] + self._grid) * self._stride
        out[:, 2:4] = np.exp(np.clip(out[:, 2:4], -10, 10)) * self._stride
        return out

    def detect(
        self,
        bgr: np.ndarray,
        score_thr: float = 0.3,
        nms_thr: float = 0.45,
        classes: set[str] | None = None,
    ) -> list[Detection]:
        """Objects in a BGR uint8 image, best first. `classes` keeps only those labels."""
        import cv2

        if bgr.ndim == 2:
            bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
        h, w = bgr.shape[:2]
        out, r = self.raw(bgr)
        out = self.decode(out)
        cls_scores = out[:, 5:] * out[:, 4:5]
        if classes is not None:
            keep_ids = [i for i, name in enumerate(self.labels) if name in classes]
            if not keep_ids:
                return []
            mask = np.zeros(cls_scores.shape[1], dtype=bool)
            mask[keep_ids] = True
            cls_scores = np.where(mask[None, :], cls_scores, 0.0)
        cls_ids = cls_scores.argmax(1)
        scores = cls_scores[np.arange(len(cls_ids)), cls_ids]
        sel = scores >= score_thr
        if not sel.any():
            return []
        boxes = out[sel, :4] / r
        scores, cls_ids = scores[sel], cls_ids[sel]
        xywh = np.stack(
            [boxes[:, 0] - boxes[:, 2] / 2, boxes[:, 1] - boxes[:, 3] / 2, boxes[:, 2], boxes[:, 3]], 1
        )
        idx = cv2.dnn.NMSBoxesBatched(
            xywh.tolist(), scores.tolist(), cls_ids.tolist(), score_thr, nms_thr
        )
        idx = np.array(idx).reshape(-1)
        dets: list[Detection] = []
        for i in idx:
            x, y, bw, bh = xywh[i]
            x1, y1 = float(np.clip(x, 0, w)), float(np.clip(y, 0, h))
            x2, y2 = float(np.clip(x + bw, 0, w)), float(np.clip(y + bh, 0, h))
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            cid = int(cls_ids[i])
            label = self.labels[cid] if cid < len(self.labels) else str(cid)
            dets.append(Detection(label, cid, float(scores[i]), (x1, y1, x2, y2)))
        dets.sort(key=lambda d: d.score, reverse=True)
        return dets


def locate(resolver: Resolver) -> Path:
    return resolver.find(NAME, ["yolox-nano/yolox_nano.onnx", "yolox_nano.onnx"])


def read_labels(model_path: Path) -> list[str]:
    f = model_path.parent / "coco_labels.txt"
    if f.is_file():
        labels = [line.strip() for line in f.read_text().splitlines() if line.strip()]
        if len(labels) == 80:
            return labels
    return list(COCO_LABELS)


def load(path: Path, settings: Settings) -> YoloxDetector:
    return YoloxDetector(path, read_labels(path), threads=2)


# The COCO-80 names in model order (used when coco_labels.txt is not beside the weights).
COCO_LABELS = tuple(s.replace("_", " ") for s in [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic_light",
    "fire_hydrant", "stop_sign", "parking_meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports_ball", "kite", "baseball_bat", "baseball_glove", "skateboard", "surfboard",
    "tennis_racket", "bottle", "wine_glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot_dog", "pizza", "donut", "cake", "chair", "couch",
    "potted_plant", "bed", "dining_table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell_phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy_bear",
    "hair_drier", "toothbrush"
])

SPECS = [
    ModelSpec(
        name=NAME,
        task="object-detection",
        description="YOLOX-nano, COCO 80 classes, 416x416 ONNX (objects and people in images/frames).",
        license="Apache-2.0",
        source="Megvii YOLOX GitHub release yolox_nano.onnx (MODEL_DIRS: yolox-nano/yolox_nano.onnx)",
        install_hint="Run `sensorium models pull yolox-nano` (or put yolox_nano.onnx and "
        "coco_labels.txt in <MODEL_DIRS>/yolox-nano/).",
        locate=locate,
        load=load,
        capabilities=("analyze.image", "analyze.video", "foley"),
    )
]

YOLOX_NANO: ModelKey[YoloxDetector] = ModelKey("yolox-nano")
