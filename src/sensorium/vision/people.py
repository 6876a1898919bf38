"""People in an image: faces (MediaPipe) with expressions (FER) and Face Mesh features, and the
postures of the largest people (MediaPipe Pose + geometry)."""

from __future__ import annotations

import numpy as np

from sensorium.media.image import MIN_DETECT_SIDE
from sensorium.models.vision import FACE, FACE_MESH, FER, STATIC_POSE, Face
from sensorium.vision.runs import Run
from sensorium.vision.schemas import (
    Box,
    DetectedObject,
    FaceFinding,
    ImageOptions,
    MeshFeatures,
    People,
    PoseFinding,
    PostureReading,
)

MAX_POSE_PEOPLE = 3
MAX_MESH_FACES = 6
MIN_FACE_PX = 20
MIN_MESH_FACE_PX = 40


# --- geometry -------------------------------------------------------------------------------------------
def _angle_from_vertical(a: np.ndarray, b: np.ndarray) -> float:
    d = b[:2] - a[:2]
    return float(np.degrees(np.arctan2(abs(d[0]), abs(d[1]) + 1e-6)))


def _joint_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    v1, v2 = a[:2] - b[:2], c[:2] - b[:2]
    cos = float(np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-6))
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))))


def _visibility(lm: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    vis = lm[:, 3].copy()
    if size is not None:  # landmarks extrapolated outside the picture are not visible
        w, h = size
        outside = (lm[:, 0] < -0.02 * w) | (lm[:, 0] > 1.02 * w) | (lm[:, 1] < -0.02 * h) | (lm[:, 1] > 1.02 * h)
        vis[outside] = 0.0
    return vis


def classify_posture(lm: np.ndarray, size: tuple[int, int] | None = None) -> PostureReading:
    """Standing / sitting / lying and facing from 33 BlazePose landmarks (x, y px, z, visibility).

    Facing uses the left/right order of the shoulders: a person facing the camera has their left
    shoulder (landmark 11) on the image's right. A narrow shoulder line means side-on.
    """
    vis = _visibility(lm, size)
    sh_l, sh_r, hip_l, hip_r = lm[11], lm[12], lm[23], lm[24]
    knees, ankles = lm[[25, 26]], lm[[27, 28]]
    out = PostureReading(posture="unknown", facing=None)
    if not min(vis[11], vis[12], vis[23], vis[24]) > 0.5:
        return out
    sh_mid, hip_mid = (sh_l + sh_r) / 2, (hip_l + hip_r) / 2
    torso_len = float(np.linalg.norm(sh_mid[:2] - hip_mid[:2])) + 1e-6
    torso_tilt = _angle_from_vertical(sh_mid, hip_mid)
    shoulder_w = abs(float(sh_l[0] - sh_r[0]))
    if shoulder_w < 0.35 * torso_len:
        out.facing = "sideways"
    else:
        out.facing = "camera" if sh_l[0] > sh_r[0] else "away"
    if torso_tilt > 60:
        out.posture = "lying"
        return out
    legs_ok = [i for i in (0, 1) if vis[25 + i] > 0.5 and vis[23 + i] > 0.5]
    if not legs_ok:
        return out
    thigh_tilts, knee_angles = [], []
    for i in legs_ok:
        hip, knee, ankle = lm[23 + i], knees[i], ankles[i]
        thigh_tilts.append(_angle_from_vertical(hip, knee))
        if vis[27 + i] > 0.5:
            knee_angles.append(_joint_angle(hip, knee, ankle))
    thigh = float(np.mean(thigh_tilts))
    knee = float(np.mean(knee_angles)) if knee_angles else None
    # a thigh short relative to the torso in the image is foreshortened: seated facing the camera
    thigh_len = float(np.mean([np.linalg.norm(lm[23 + i][:2] - knees[i][:2]) for i in legs_ok]))
    if thigh > 50 or (knee is not None and knee < 115) or thigh_len < 0.45 * torso_len:
        out.posture = "sitting"
    else:
        out.posture = "standing"
    out.thigh_angle = round(thigh, 1)
    if knee is not None:
        out.knee_angle = round(knee, 1)
    return out


def face_mesh_features(pts: np.ndarray) -> MeshFeatures:
    """Head turn, mouth and eye openness from 468 Face Mesh landmarks."""
    left_cheek, right_cheek, nose = pts[234], pts[454], pts[1]
    span = float(right_cheek[0] - left_cheek[0])
    yaw = (float(nose[0] - left_cheek[0]) / span - 0.5) if abs(span) > 1e-3 else 0.0
    face_h = float(np.linalg.norm(pts[10][:2] - pts[152][:2])) + 1e-6
    mouth_open = float(np.linalg.norm(pts[13][:2] - pts[14][:2])) / face_h
    mouth_w = float(np.linalg.norm(pts[61][:2] - pts[291][:2]))
    eye_w = float(np.linalg.norm(pts[33][:2] - pts[263][:2])) + 1e-6

    def ear(top: int, bottom: int, a: int, b: int) -> float:
        return float(np.linalg.norm(pts[top][:2] - pts[bottom][:2]) / (np.linalg.norm(pts[a][:2] - pts[b][:2]) + 1e-6))

    eyes = (ear(159, 145, 33, 133) + ear(386, 374, 362, 263)) / 2
    # the image's left is the subject's right
    turn = "frontal" if abs(yaw) < 0.12 else ("turned to their left" if yaw > 0 else "turned to their right")
    return MeshFeatures(head_turn=turn, yaw_ratio=round(yaw, 3), mouth_open=bool(mouth_open > 0.06),
                        eyes_closed=bool(eyes < 0.12), mouth_width_ratio=round(mouth_w / eye_w, 3))


# --- stages ---------------------------------------------------------------------------------------------
def _expressions(run: Run, bgr: np.ndarray, faces: list[Face]) -> list[FaceFinding]:
    import cv2

    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    with run.stage("expressions"), run.model(FER) as fer:
        crops = [fer.crop(gray, f.box) if fer and f.width >= MIN_FACE_PX else None for f in faces]
        probs = fer.classify([c for c in crops if c is not None]) if fer else []
        fer_ok = fer is not None
    it = iter(probs)
    out = []
    for f, c in zip(faces, crops, strict=True):
        box, score = [round(v, 1) for v in f.box], round(f.score, 3)
        if c is None:
            note = "face too small for an expression" if fer_ok else "expression model not available"
            out.append(FaceFinding(box=box, score=score, expression=None, expression_scores=None, note=note))
            continue
        p = next(it)
        top = max(p, key=p.get)
        out.append(FaceFinding(box=box, score=score, expression=top,
                               expression_scores={k: round(v, 3) for k, v in p.items()},
                               smiling=bool(p["happy"] >= 0.5 or top == "happy")))
    return out


def _mesh(run: Run, rgb: np.ndarray, faces: list[Face], found: list[FaceFinding]) -> None:
    with run.stage("face_mesh"), run.model(FACE_MESH) as mesh:
        if not mesh:
            return
        for f, item in list(zip(faces, found, strict=True))[:MAX_MESH_FACES]:
            if f.width < MIN_MESH_FACE_PX:
                continue
            pts = mesh.landmarks(rgb, f.box)
            if pts is not None:
                for key, value in face_mesh_features(pts):
                    setattr(item, key, value)


def _faces(run: Run, bgr: np.ndarray, rgb: np.ndarray, persons: list[DetectedObject],
           opts: ImageOptions) -> list[FaceFinding] | None:
    """Faces with expressions (and Face Mesh features), or None when no face detector is installed."""
    with run.stage("faces"), run.model(FACE) as fd:
        faces = fd.detect(rgb, [(p.box[0], p.box[1], p.box[2], p.box[3]) for p in persons][:6]) if fd else None
    if faces is None:
        return None
    faces = [f for f in faces if f.width >= MIN_FACE_PX * 0.6][:20]
    found = _expressions(run, bgr, faces)
    if opts.face_mesh and found:
        _mesh(run, rgb, faces, found)
    return found


def _face_in_head(box: Box, faces: list[FaceFinding]) -> bool:
    """A person whose head region (upper half of the box) holds a face's centre is facing the camera."""
    x1, y1, x2, y2 = box
    return any(x1 <= (fb[0] + fb[2]) / 2 <= x2 and y1 <= (fb[1] + fb[3]) / 2 <= y1 + 0.5 * (y2 - y1)
               for fb in (f.box for f in faces))


def _area(box: Box) -> float:
    return (box[3] - box[1]) * (box[2] - box[0])


def _poses(run: Run, rgb: np.ndarray, persons: list[DetectedObject], face_seen: list[bool]) -> list[PoseFinding] | None:
    """Postures of the largest people, or None when the pose model is not installed."""
    h, w = rgb.shape[:2]
    order = sorted(range(len(persons)), key=lambda i: _area(persons[i].box), reverse=True)
    big = [i for i in order if (persons[i].box[3] - persons[i].box[1]) >= max(64, 0.2 * h)][:MAX_POSE_PEOPLE]
    poses = []
    with run.stage("pose"), run.model(STATIC_POSE) as pose:
        if pose:
            for i in big:
                box = persons[i].box
                lm = pose.landmarks(rgb, (box[0], box[1], box[2], box[3]))
                reading = classify_posture(lm, (w, h)) if lm is not None else PostureReading(posture="unknown",
                                                                                             facing=None)
                item = PoseFinding(box=box, **dict(reading))
                if face_seen[i] and item.facing in (None, "away"):
                    item.facing = "camera"
                poses.append(item)
    return poses if pose else None


def analyze_people(run: Run, bgr: np.ndarray, rgb: np.ndarray, persons: list[DetectedObject],
                   opts: ImageOptions) -> People:
    h, w = bgr.shape[:2]
    faces: list[FaceFinding] | None = None
    face_seen = [False] * len(persons)
    if opts.faces and min(h, w) >= MIN_DETECT_SIDE and (persons or not opts.faces_need_person):
        faces = _faces(run, bgr, rgb, persons, opts)
        if faces is not None:
            face_seen = [_face_in_head(p.box, faces) for p in persons]
    poses = None
    if opts.pose and persons and min(h, w) >= MIN_DETECT_SIDE:
        poses = _poses(run, rgb, persons, face_seen)
    return People(count=len(persons), faces=faces, poses=poses)
