"""MediaPipe Pose (legacy solution bundled in mediapipe==0.10.14): 33 body landmarks per person.

The registry shares one instance between requests, but a MediaPipe `Pose` solution in video mode
(``static_image_mode=False``) keeps temporal state (its tracking ROI and landmark smoothing) for
*one* person. So the registered model is a `PoseFactory`: it checks the bundled weights once and
hands out independent `PoseTracker` objects, one per tracked walker:

    with registry.use(POSE) as factory:
        tracker = factory.tracker()          # one per person track
        lm = tracker.process(bgr_crop)       # PoseLandmarks | None
        lm.foot("left")                      # heel, ankle, foot index (crop-normalised x, y, vis)
        tracker.close()

Only ``model_complexity=1`` works offline: mediapipe 0.10.14 bundles `pose_landmark_full.tflite`
(the lite/heavy variants would be downloaded at first use, which Sensorium never does).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.blazepose import Landmarker
from sensorium.models.registry import ModelKey, ModelSpec
from sensorium.models.resolver import Resolver

NAME = "mediapipe-pose"

# BlazePose landmark indices (33-point topology).
NOSE = 0
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_HIP, RIGHT_HIP = 23, 24
LEFT_KNEE, RIGHT_KNEE = 25, 26
LEFT_ANKLE, RIGHT_ANKLE = 27, 28
LEFT_HEEL, RIGHT_HEEL = 29, 30
LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX = 31, 32
FOOT = {
    "left": {"heel": LEFT_HEEL, "ankle": LEFT_ANKLE, "toe": LEFT_FOOT_INDEX, "knee": LEFT_KNEE, "hip": LEFT_HIP},
    "right": {"heel": RIGHT_HEEL, "ankle": RIGHT_ANKLE, "toe": RIGHT_FOOT_INDEX, "knee": RIGHT_KNEE,
              "hip": RIGHT_HIP},
}
#: skeleton edges for drawing (subset of BlazePose connections: torso, arms, legs, feet)
SKELETON = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31), (24, 26), (26, 28), (28, 30), (30, 32), (28, 32),
)


@dataclass
class PoseLandmarks:
    """Landmarks of one person in one image: (33, 4) array of x, y (0..1 of the image), z, visibility."""

    points: np.ndarray

    def xy(self, index: int) -> tuple[float, float]:
        return float(self.points[index, 0]), float(self.points[index, 1])

    def visibility(self, index: int) -> float:
        return float(self.points[index, 3])

    def foot(self, side: str) -> dict[str, tuple[float, float, float]]:
        """heel / ankle / toe (foot index) as (x, y, visibility)."""
        ids = FOOT[side]
        return {k: (*self.xy(ids[k]), self.visibility(ids[k])) for k in ("heel", "ankle", "toe")}

    def to_pixels(self, x0: float, y0: float, w: float, h: float) -> np.ndarray:
        """(33, 3) x, y in the full frame for a crop at (x0, y0) of size w x h, plus visibility."""
        out = np.empty((self.points.shape[0], 3), dtype=np.float32)
        out[:, 0] = x0 + self.points[:, 0] * w
        out[:, 1] = y0 + self.points[:, 1] * h
        out[:, 2] = self.points[:, 3]
        return out


class PoseTracker:
    """One MediaPipe Pose solution in video mode: feed it consecutive crops of ONE person."""

    def __init__(self, *, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 smooth: bool = True) -> None:
        from mediapipe.python.solutions import pose as mp_pose

        self._pose = mp_pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=smooth,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._lock = threading.Lock()
        self.frames = 0

    def process(self, bgr: np.ndarray) -> PoseLandmarks | None:
        """Landmarks for a BGR uint8 image (normally the person's crop), or None when no body is found."""
        import cv2

        if bgr is None or bgr.size == 0 or bgr.shape[0] < 8 or bgr.shape[1] < 8:
            return None
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        with self._lock:
            res = self._pose.process(rgb)
            self.frames += 1
        if res.pose_landmarks is None:
            return None
        pts = np.array([(p.x, p.y, p.z, p.visibility) for p in res.pose_landmarks.landmark], dtype=np.float32)
        return PoseLandmarks(pts)

    def close(self) -> None:
        with self._lock:
            try:
                self._pose.close()
            except Exception:  # pragma: no cover - closing twice is harmless
                pass

    def __enter__(self) -> PoseTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PoseFactory:
    """The shared registry instance: creates per-person `PoseTracker`s (they are not thread-shared)."""

    def __init__(self, weights: Path) -> None:
        self.weights = weights
        # Fail at load time (MODEL_NOT_LOADED with the install hint), not in the middle of a job.
        probe = PoseTracker()
        probe.process(np.zeros((64, 64, 3), dtype=np.uint8))
        probe.close()

    def landmarker(self) -> Landmarker:
        """A direct BlazePose runner with its own ROI tracking, for ONE person (`blazepose.py`)."""
        return Landmarker(self.weights)

    def tracker(self, *, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                smooth: bool = True) -> PoseTracker:
        return PoseTracker(min_detection_confidence=min_detection_confidence,
                           min_tracking_confidence=min_tracking_confidence, smooth=smooth)


def locate(resolver: Resolver) -> Path:
    return resolver.find(
        NAME,
        ["mediapipe-pose/pose_landmark_full.tflite"],
        packages=[("mediapipe", "modules/pose_landmark/pose_landmark_full.tflite")],
    )


def load(path: Path, settings: Settings) -> PoseFactory:
    try:
        importlib.import_module("mediapipe.python.solutions.pose")  # fails early, with a clear message
    except Exception as exc:  # ImportError, protobuf mismatch, ...
        raise SensoriumError(
            ErrorCode.MODEL_NOT_LOADED,
            f"MediaPipe could not be imported ({exc}). Install mediapipe==0.10.14 --no-deps with "
            "absl-py attrs flatbuffers 'protobuf<5' matplotlib.",
        ) from exc
    return PoseFactory(path)


SPECS = [
    ModelSpec(
        name=NAME,
        task="pose-estimation",
        description="MediaPipe Pose (BlazePose full, 33 landmarks) in video mode; one tracker per person.",
        license="Apache-2.0",
        source="PyPI mediapipe==0.10.14 (bundles modules/pose_landmark/pose_landmark_full.tflite)",
        install_hint="pip install --no-deps mediapipe==0.10.14 absl-py attrs flatbuffers 'protobuf<5' matplotlib",
        locate=locate,
        load=load,
        capabilities=("foley",),
    )
]

POSE: ModelKey[PoseFactory] = ModelKey(NAME)
