"""Image analysis: real detectors composed into structured findings and a description.

    analyze_image_file(path, registry, settings, ImageOptions(prompt=..., max_length=200))

Stages (each model loaded once through the registry, the decoded array reused by all):
1. decode (media.image: bomb guard, EXIF, first GIF frame) at most ANALYSIS_SIDE px;
2. YOLOX-nano objects (required);
3. faces: MediaPipe full-range detector on the image + short-range on each person's head,
   expressions (FER mini-Xception), and Face Mesh on the larger faces (head turn, mouth, eyes);
4. pose (static BlazePose) on the largest few people: standing/sitting/lying, facing;
5. OCR (RapidOCR) ;
6. colours (k-means in Lab on a thumbnail, named), brightness, contrast, sharpness; per-object colour;
7. NSFW score (open_nsfw);
8. description + prompt answer from the findings — or from an OpenAI-compatible vision endpoint
   (LLM_BASE_URL) grounded by the findings, when configured.

A model that is not installed leaves its finding `null` and says so in `notes` (never a made-up
value); only YOLOX is required.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.image import MIN_DETECT_SIDE, DecodedImage, decode_image
from sensorium.models.registry import ModelRegistry
from sensorium.vision import describe as words

log = logging.getLogger(__name__)

ANALYSIS_SIDE = 1600  # decode size cap (YOLOX sees 416; OCR benefits from more)
MAX_POSE_PEOPLE = 3
MAX_MESH_FACES = 6
MIN_FACE_PX = 20

YOLOX = "yolox-nano"
FACE = "mediapipe-face"
MESH = "mediapipe-face-mesh"
POSE = "mediapipe-pose-static"
FER = "fer-expression"
OCR = "rapidocr"
NSFW = "open-nsfw"


@dataclass
class ImageOptions:
    prompt: str | None = None
    max_length: int = 200
    objects_threshold: float = 0.35
    faces: bool = True
    face_mesh: bool = True
    pose: bool = True
    ocr: bool = True
    nsfw: bool = True
    colors: bool = True
    use_llm: bool = True  # use LLM_BASE_URL when configured
    faces_need_person: bool = False  # look for faces only where YOLOX found a person (video frames)
    ocr_det_side: int | None = None  # detector input side for OCR (None: 736)


def options_from_params(params: dict[str, Any]) -> ImageOptions:
    return ImageOptions(**params)


def options_to_params(opts: ImageOptions) -> dict[str, Any]:
    return asdict(opts)


class _Run:
    """Bookkeeping for one analysis: timings, models used, notes."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self.timings: dict[str, float] = {}
        self.models: list[str] = []
        self.notes: list[str] = []

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + (time.perf_counter() - t0) * 1000, 1)

    @contextmanager
    def model(self, name: str, *, required: bool = False):
        """Yield the model, or None (with a note) when an optional one is not installed."""
        try:
            cm = self.registry.use(name)
            instance = cm.__enter__()
        except SensoriumError as exc:
            if required or exc.code != ErrorCode.MODEL_NOT_LOADED:
                raise
            self.notes.append(f"{name} is not available ({exc.message}); its findings are missing.")
            yield None
            return
        if name not in self.models:
            self.models.append(name)
        try:
            yield instance
        finally:
            cm.__exit__(None, None, None)


# ------------------------------------------------------------------------------------------------
# colour and quality
# ------------------------------------------------------------------------------------------------
def color_name(rgb: tuple[int, int, int] | np.ndarray) -> str:
    """A plain English colour name for an sRGB colour (HSV rules, with light/dark variants)."""
    import colorsys

    r, g, b = (float(c) / 255 for c in rgb)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    hue = h * 360
    if v < 0.16:
        return "black"
    if s < 0.14 or (s < 0.22 and v < 0.45):
        if v > 0.86:
            return "white"
        if v > 0.62:
            return "light gray"
        if v > 0.32:
            return "gray"
        return "dark gray"
    if hue < 14 or hue >= 345:
        name = "red" if v > 0.45 else "dark red"
        if s < 0.45 and v > 0.7:
            name = "pink"
    elif hue < 40:
        if v < 0.55 or (s < 0.5 and v < 0.7):
            name = "brown"
        elif s < 0.35:
            name = "beige"
        else:
            name = "orange"
    elif hue < 68:
        name = "yellow" if v > 0.55 else "olive"
        if s < 0.35 and v > 0.7:
            name = "beige"
    elif hue < 160:
        name = "green" if v > 0.35 else "dark green"
    elif hue < 195:
        name = "teal" if v < 0.65 else "cyan"
    elif hue < 255:
        name = "blue" if v > 0.4 else "navy"
        if s < 0.35 and v > 0.6:
            name = "light blue"
    elif hue < 290:
        name = "purple"
    else:
        name = "pink" if v > 0.55 else "maroon"
    return name


def dominant_colors(bgr: np.ndarray, k: int = 5, mask: np.ndarray | None = None) -> list[dict[str, Any]]:
    """k-means (Lab) over a thumbnail; clusters with the same name are merged. Largest first."""
    import cv2

    h, w = bgr.shape[:2]
    scale = min(1.0, 64 / max(h, w))
    small = cv2.resize(bgr, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    if mask is not None:
        m = cv2.resize(mask.astype(np.uint8), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
        lab = lab[m.reshape(-1) > 0]
    if len(lab) == 0:
        return []
    k = max(1, min(k, len(np.unique(lab, axis=0))))
    if k == 1:
        centers, labels = lab.mean(0, keepdims=True), np.zeros(len(lab), dtype=np.int32)
    else:
        cv2.setRNGSeed(12345)
        crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
        _, labels, centers = cv2.kmeans(lab, k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
        labels = labels.reshape(-1)
    counts = np.bincount(labels, minlength=len(centers)).astype(np.float64)
    rgb_centers = cv2.cvtColor(np.clip(centers, 0, 255).astype(np.uint8).reshape(-1, 1, 3), cv2.COLOR_LAB2RGB).reshape(-1, 3)
    merged: dict[str, dict[str, Any]] = {}
    for c, n in zip(rgb_centers, counts, strict=True):
        if n == 0:
            continue
        name = color_name(c)
        e = merged.setdefault(name, {"name": name, "weight": 0.0, "rgb": np.zeros(3)})
        e["rgb"] = (e["rgb"] * e["weight"] + c.astype(np.float64) * n) / (e["weight"] + n)
        e["weight"] += n
    total = counts.sum()
    out = []
    for e in sorted(merged.values(), key=lambda e: e["weight"], reverse=True):
        rgb = [int(round(x)) for x in e["rgb"]]
        out.append({"name": e["name"], "hex": "#{:02x}{:02x}{:02x}".format(*rgb), "rgb": rgb,
                    "fraction": round(float(e["weight"] / total), 3)})
    return out


def image_quality(bgr: np.ndarray) -> dict[str, Any]:
    """Brightness (mean luma 0..1), contrast (luma std 0..1), sharpness (variance of the
    Laplacian at <=512 px), with plain labels."""
    import cv2

    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    if max(h, w) > 512:
        r = 512 / max(h, w)
        gray = cv2.resize(gray, (max(1, int(w * r)), max(1, int(h * r))), interpolation=cv2.INTER_AREA)
    brightness = float(gray.mean() / 255)
    contrast = float(gray.std() / 255)
    sharp = float(cv2.Laplacian(gray, cv2.CV_64F).var()) if min(gray.shape) >= 3 else 0.0
    return {
        "brightness": round(brightness, 3),
        "brightness_label": "dark" if brightness < 0.25 else "dim" if brightness < 0.4 else
        "bright" if brightness > 0.72 else "normal",
        "contrast": round(contrast, 3),
        "sharpness": round(sharp, 1),
        "sharpness_label": "blurry" if sharp < 60 else "soft" if sharp < 250 else "sharp",
    }


# ------------------------------------------------------------------------------------------------
# people
# ------------------------------------------------------------------------------------------------
def _angle_from_vertical(a: np.ndarray, b: np.ndarray) -> float:
    d = b[:2] - a[:2]
    return float(np.degrees(np.arctan2(abs(d[0]), abs(d[1]) + 1e-6)))


def _joint_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    v1, v2 = a[:2] - b[:2], c[:2] - b[:2]
    cos = float(np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-6))
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))))


def classify_posture(lm: np.ndarray, size: tuple[int, int] | None = None) -> dict[str, Any]:
    """Standing / sitting / lying and facing from 33 BlazePose landmarks (x, y px, z, visibility).

    Facing uses the left/right order of the shoulders: a person facing the camera has their left
    shoulder (landmark 11) on the image's right. A narrow shoulder line means side-on.
    """
    vis = lm[:, 3].copy()
    if size is not None:  # landmarks extrapolated outside the picture are not visible
        w, h = size
        outside = (lm[:, 0] < -0.02 * w) | (lm[:, 0] > 1.02 * w) | (lm[:, 1] < -0.02 * h) | (lm[:, 1] > 1.02 * h)
        vis[outside] = 0.0
    sh_l, sh_r, hip_l, hip_r = lm[11], lm[12], lm[23], lm[24]
    knees, ankles = lm[[25, 26]], lm[[27, 28]]
    out: dict[str, Any] = {"posture": "unknown", "facing": None}
    torso_ok = min(vis[11], vis[12], vis[23], vis[24]) > 0.5
    if not torso_ok:
        return out
    sh_mid, hip_mid = (sh_l + sh_r) / 2, (hip_l + hip_r) / 2
    torso_len = float(np.linalg.norm(sh_mid[:2] - hip_mid[:2])) + 1e-6
    torso_tilt = _angle_from_vertical(sh_mid, hip_mid)
    # facing
    shoulder_w = abs(float(sh_l[0] - sh_r[0]))
    if shoulder_w < 0.35 * torso_len:
        out["facing"] = "sideways"
    else:
        out["facing"] = "camera" if sh_l[0] > sh_r[0] else "away"
    if torso_tilt > 60:
        out["posture"] = "lying"
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
        out["posture"] = "sitting"
    else:
        out["posture"] = "standing"
    out["thigh_angle"] = round(thigh, 1)
    if knee is not None:
        out["knee_angle"] = round(knee, 1)
    return out


def face_mesh_features(pts: np.ndarray) -> dict[str, Any]:
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
    return {
        "head_turn": turn,
        "yaw_ratio": round(yaw, 3),
        "mouth_open": bool(mouth_open > 0.06),
        "eyes_closed": bool(eyes < 0.12),
        "mouth_width_ratio": round(mouth_w / eye_w, 3),
    }


def analyze_people(
    run: _Run,
    bgr: np.ndarray,
    rgb: np.ndarray,
    persons: list[dict[str, Any]],
    opts: ImageOptions,
    *,
    face_search: bool = True,
) -> dict[str, Any]:
    import cv2

    h, w = bgr.shape[:2]
    people: dict[str, Any] = {"count": len(persons), "faces": None, "poses": None}
    if opts.faces and min(h, w) >= MIN_DETECT_SIDE and (persons or not opts.faces_need_person):
        with run.stage("faces"), run.model(FACE) as fd:
            faces = fd.detect(rgb, [tuple(p["box"]) for p in persons][:6]) if fd else None
        if faces is not None:
            faces = [f for f in faces if f.width >= MIN_FACE_PX * 0.6][:20]
            out_faces = []
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            with run.stage("expressions"), run.model(FER) as fer:
                crops = [fer.crop(gray, f.box) if fer and f.width >= MIN_FACE_PX else None for f in faces]
                probs = fer.classify([c for c in crops if c is not None]) if fer else []
                fer_ok = fer is not None
            it = iter(probs)
            for f, c in zip(faces, crops, strict=True):
                item: dict[str, Any] = {"box": [round(v, 1) for v in f.box], "score": round(f.score, 3)}
                if c is not None:
                    p = next(it)
                    top = max(p, key=p.get)
                    item["expression"] = top
                    item["expression_scores"] = {k: round(v, 3) for k, v in p.items()}
                    item["smiling"] = bool(p["happy"] >= 0.5 or top == "happy")
                else:
                    item["expression"] = None
                    item["expression_scores"] = None
                    item["note"] = ("face too small for an expression" if fer_ok
                                    else "expression model not available")
                out_faces.append(item)
            if opts.face_mesh and out_faces:
                with run.stage("face_mesh"), run.model(MESH) as mesh:
                    if mesh:
                        for f, item in list(zip(faces, out_faces, strict=True))[:MAX_MESH_FACES]:
                            if f.width < 40:
                                continue
                            pts = mesh.landmarks(rgb, f.box)
                            if pts is not None:
                                item.update(face_mesh_features(pts))
            people["faces"] = out_faces
            # a person whose head region holds a face is facing the camera
            for p in persons:
                x1, y1, x2, y2 = p["box"]
                p["_face"] = any(x1 <= (fb[0] + fb[2]) / 2 <= x2 and y1 <= (fb[1] + fb[3]) / 2 <= y1 + 0.5 * (y2 - y1)
                                 for fb in (it2["box"] for it2 in out_faces))
    if opts.pose and persons and min(h, w) >= MIN_DETECT_SIDE:
        big = sorted(persons, key=lambda p: (p["box"][3] - p["box"][1]) * (p["box"][2] - p["box"][0]), reverse=True)
        big = [p for p in big if (p["box"][3] - p["box"][1]) >= max(64, 0.2 * h)][:MAX_POSE_PEOPLE]
        poses = []
        with run.stage("pose"), run.model(POSE) as pose:
            if pose:
                for p in big:
                    lm = pose.landmarks(rgb, tuple(p["box"]))
                    item = {"box": p["box"], "posture": "unknown", "facing": None}
                    if lm is not None:
                        item.update(classify_posture(lm, (w, h)))
                    if p.get("_face") and item.get("facing") in (None, "away"):
                        item["facing"] = "camera"
                    poses.append(item)
        people["poses"] = poses if pose else None
    for p in persons:
        p.pop("_face", None)
    return people


# ------------------------------------------------------------------------------------------------
_SIDE_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="image-side")


def _side_stages(run: _Run, bgr: np.ndarray, rgb: np.ndarray, opts: ImageOptions, tiny: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if opts.ocr:
        if tiny:
            out["text"] = {"lines": [], "full_text": ""}
        else:
            with run.stage("ocr"), run.model(OCR) as ocr:
                lines = ocr.read(bgr, det_side=opts.ocr_det_side) if ocr else None
            if lines is None:
                out["text"] = {"lines": None, "full_text": None}
            else:
                out["text"] = {
                    "lines": [{"text": t.text, "score": round(t.score, 3),
                               "box": [[round(x, 1), round(y, 1)] for x, y in t.box]} for t in lines],
                    "full_text": "\n".join(t.text for t in lines),
                }
    else:
        out["text"] = None
    if opts.nsfw:
        with run.stage("nsfw"), run.model(NSFW) as nsfw:
            out["nsfw_score"] = round(nsfw.score_rgb(rgb), 4) if nsfw else None
    else:
        out["nsfw_score"] = None
    return out


def analyze_bgr(
    bgr: np.ndarray,
    registry: ModelRegistry,
    opts: ImageOptions,
    *,
    run: _Run | None = None,
    scale: float = 1.0,
) -> dict[str, Any]:
    """Findings for one BGR image (also used per video frame). `scale` maps the analysed array's
    pixel coordinates back to the original image (original = analysed * scale)."""
    import cv2

    run = run or _Run(registry)
    h, w = bgr.shape[:2]
    tiny = min(h, w) < MIN_DETECT_SIDE
    f: dict[str, Any] = {}
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    # OCR and NSFW do not depend on the detections: run them beside the people stages
    side = _SIDE_POOL.submit(_side_stages, run, bgr, rgb, opts, tiny) if (opts.ocr or opts.nsfw) else None
    objects: list[dict[str, Any]] = []
    if not tiny:
        with run.stage("objects"), run.model(YOLOX, required=True) as det:
            dets = det.detect(bgr, score_thr=opts.objects_threshold)
        objects = [d.to_dict() for d in dets]
    persons = [o for o in objects if o["label"] == "person"]
    f["objects"] = objects
    f["object_counts"] = dict(words.object_counts(objects).most_common())
    f["people"] = analyze_people(run, bgr, rgb, persons, opts) if not tiny else {"count": 0, "faces": [], "poses": []}
    if opts.colors:
        with run.stage("colors"):
            f["colors"] = {"dominant": dominant_colors(bgr)}
            for o in objects[:12]:
                x1, y1, x2, y2 = (int(v) for v in o["box"])
                # the central part of the box: less background
                dx, dy = (x2 - x1) // 5, (y2 - y1) // 5
                region = bgr[y1 + dy:y2 - dy, x1 + dx:x2 - dx]
                if region.size >= 12:
                    cols = dominant_colors(region, k=3)
                    if cols:
                        o["color"] = cols[0]["name"]
            f["quality"] = image_quality(bgr)
    if side is not None:
        f.update(side.result())
    if scale != 1.0:
        _rescale(f, scale)
    return f


def _rescale(f: dict[str, Any], s: float) -> None:
    def box(b: list[float]) -> list[float]:
        return [round(v * s, 1) for v in b]

    for o in f.get("objects") or []:
        o["box"] = box(o["box"])
    people = f.get("people") or {}
    for item in (people.get("faces") or []) + (people.get("poses") or []):
        item["box"] = box(item["box"])
    for t in ((f.get("text") or {}).get("lines") or []):
        t["box"] = [[round(x * s, 1), round(y * s, 1)] for x, y in t["box"]]


def compose(
    findings: dict[str, Any],
    opts: ImageOptions,
    settings: Settings,
    run: _Run,
    *,
    image_bgr: np.ndarray | None = None,
    kind: str = "image",
) -> dict[str, Any]:
    """Add `description` (and `answer` for a prompt): from the LLM endpoint when configured,
    else from the findings."""
    description = words.describe_findings(findings, opts.max_length, kind=kind)
    answer = words.answer_question(opts.prompt, findings, kind=kind) if opts.prompt else None
    source = "findings"
    if opts.use_llm and settings.llm_configured and image_bgr is not None:
        from sensorium.models.llm import VisionLLM

        llm = VisionLLM.from_settings(settings)
        try:
            with run.stage("llm"):
                description = llm.describe(image_bgr, findings, max_length=opts.max_length)
                if opts.prompt:
                    text = llm.answer(image_bgr, findings, opts.prompt)
                    answer = {"answer": text, "answerable": True, "basis": "llm"}
            source = "llm"
            run.models.append(f"llm:{settings.llm_model}")
        except SensoriumError as exc:
            run.notes.append(f"The vision LLM endpoint failed ({exc.message}); the description comes from the findings.")
    out = {"description": words._trim(description, opts.max_length), "description_source": source}
    if answer is not None:
        out["answer"] = answer["answer"]
        out["answer_details"] = {"answerable": answer["answerable"], "basis": answer["basis"]}
    return out


def analyze_decoded(
    img: DecodedImage,
    registry: ModelRegistry,
    settings: Settings,
    opts: ImageOptions,
) -> dict[str, Any]:
    if opts.max_length < 1:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "max_length must be at least 1.", details={"param": "max_length"})
    run = _Run(registry)
    t0 = time.perf_counter()
    findings = analyze_bgr(img.bgr, registry, opts, run=run, scale=1 / img.scale)
    findings["image"] = img.info()
    text = compose(findings, opts, settings, run, image_bgr=img.bgr)
    result: dict[str, Any] = {**text, **findings}
    result["notes"] = img.notes + run.notes
    result["models"] = run.models
    run.timings["total"] = round((time.perf_counter() - t0) * 1000, 1)
    result["timings_ms"] = run.timings
    return result


def analyze_image_file(
    path: Path,
    registry: ModelRegistry,
    settings: Settings,
    opts: ImageOptions,
    *,
    progress: Callable[[float], None] | None = None,
    check: Callable[[], None] | None = None,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    img = decode_image(path, max_pixels=settings.max_image_pixels, max_side=ANALYSIS_SIDE)
    decode_ms = round((time.perf_counter() - t0) * 1000, 1)
    if check:
        check()
    if progress:
        progress(0.1)
    result = analyze_decoded(img, registry, settings, opts)
    result["timings_ms"] = {"decode": decode_ms, **result["timings_ms"]}
    if progress:
        progress(1.0)
    return result
