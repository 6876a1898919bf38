"""Image analysis: real detectors composed into structured findings and a description.

    analyze_image_file(path, registry, settings, ImageOptions(prompt=..., max_length=200), llm=...)

Stages (each model loaded once through the registry, the decoded array reused by all):
1. decode (media.image: bomb guard, EXIF, first GIF frame) at most ANALYSIS_SIDE px;
2. YOLOX-nano objects (required);
3. faces: MediaPipe full-range detector on the image + short-range on each person's head,
   expressions (FER mini-Xception), and Face Mesh on the larger faces (head turn, mouth, eyes);
4. pose (static BlazePose) on the largest few people: standing/sitting/lying, facing;
5. OCR (RapidOCR) and 7. NSFW score (open_nsfw), beside the people stages (the run's side pool);
6. colours (k-means in Lab on a thumbnail, named), brightness, contrast, sharpness; per-object colour;
8. description + prompt answer from the findings — or from the OpenAI-compatible vision endpoint
   (`llm`, LLM_BASE_URL) grounded by the findings, when configured.

A model that is not installed leaves its finding `null` and says so in `notes` (never a made-up
value); only YOLOX is required.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.image import MIN_DETECT_SIDE, DecodedImage, decode_image
from sensorium.models.llm import VisionLLM
from sensorium.models.registry import ModelRegistry
from sensorium.models.vision import NSFW, OCR
from sensorium.models.yolox import YOLOX_NANO
from sensorium.vision import describe as words
from sensorium.vision.answer import answer_question
from sensorium.vision.colors import dominant_colors, image_quality
from sensorium.vision.people import analyze_people
from sensorium.vision.runs import Run, side_pool
from sensorium.vision.schemas import (
    Answer,
    AnswerDetails,
    Colors,
    Described,
    DetectedObject,
    Findings,
    ImageAnalysis,
    ImageInfo,
    ImageOptions,
    People,
    TextFindings,
    TextLine,
    given,
)

ANALYSIS_SIDE = 1600  # decode size cap (YOLOX sees 416; OCR benefits from more)
COLORED_OBJECTS = 12


@dataclass
class _Side:
    """What the side stages (OCR, NSFW) found."""

    text: TextFindings | None = None
    nsfw_score: float | None = None


def _side_stages(run: Run, bgr: np.ndarray, rgb: np.ndarray, opts: ImageOptions, tiny: bool) -> _Side:
    out = _Side()
    if opts.ocr and tiny:
        out.text = TextFindings(lines=[], full_text="")
    elif opts.ocr:
        with run.stage("ocr"), run.model(OCR) as ocr:
            lines = ocr.read(bgr, det_side=opts.ocr_det_side) if ocr else None
        if lines is None:
            out.text = TextFindings(lines=None, full_text=None)
        else:
            out.text = TextFindings(
                lines=[TextLine(text=t.text, score=round(t.score, 3),
                                box=[[round(x, 1), round(y, 1)] for x, y in t.box]) for t in lines],
                full_text="\n".join(t.text for t in lines),
            )
    if opts.nsfw:
        with run.stage("nsfw"), run.model(NSFW) as nsfw:
            out.nsfw_score = round(nsfw.score_rgb(rgb), 4) if nsfw else None
    return out


def _objects(run: Run, bgr: np.ndarray, opts: ImageOptions) -> list[DetectedObject]:
    with run.stage("objects"), run.model(YOLOX_NANO, required=True) as det:
        dets = det.detect(bgr, score_thr=opts.objects_threshold) if det else []
    return [DetectedObject(label=d.label, score=round(d.score, 3), box=[round(v, 1) for v in d.box]) for d in dets]


def _colors(run: Run, bgr: np.ndarray, objects: list[DetectedObject], f: Findings) -> None:
    with run.stage("colors"):
        f.colors = Colors(dominant=dominant_colors(bgr))
        for o in objects[:COLORED_OBJECTS]:
            x1, y1, x2, y2 = (int(v) for v in o.box)
            # the central part of the box: less background
            dx, dy = (x2 - x1) // 5, (y2 - y1) // 5
            region = bgr[y1 + dy:y2 - dy, x1 + dx:x2 - dx]
            if region.size >= 12:
                cols = dominant_colors(region, k=3)
                if cols:
                    o.color = cols[0].name
        f.quality = image_quality(bgr)


def analyze_bgr(bgr: np.ndarray, run: Run, opts: ImageOptions, *, scale: float = 1.0) -> Findings:
    """Findings for one BGR image (also used per video frame). `scale` maps the analysed array's
    pixel coordinates back to the original image (original = analysed * scale)."""
    import cv2

    h, w = bgr.shape[:2]
    tiny = min(h, w) < MIN_DETECT_SIDE
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    # OCR and NSFW do not depend on the detections: run them beside the people stages
    side = run.side.submit(_side_stages, run, bgr, rgb, opts, tiny) if (opts.ocr or opts.nsfw) else None
    objects = _objects(run, bgr, opts) if not tiny else []
    persons = [o for o in objects if o.label == "person"]
    people = (analyze_people(run, bgr, rgb, persons, opts) if not tiny
              else People(count=0, faces=[], poses=[]))
    f = Findings(objects=objects, object_counts=dict(words.object_counts(objects).most_common()), people=people)
    if opts.colors:
        _colors(run, bgr, objects, f)
    if side is not None:
        found = side.result()
        f.text, f.nsfw_score = found.text, found.nsfw_score
    if scale != 1.0:
        _rescale(f, scale)
    return f


def _rescale(f: Findings, s: float) -> None:
    def box(b: list[float]) -> list[float]:
        return [round(v * s, 1) for v in b]

    for o in f.objects:
        o.box = box(o.box)
    for item in (f.people.faces or []) + (f.people.poses or []):
        item.box = box(item.box)
    text = given(f.text)
    for t in (text.lines or []) if text else []:
        t.box = [[round(x * s, 1), round(y * s, 1)] for x, y in given(t.box) or []]


def compose(findings: Findings, opts: ImageOptions, run: Run, llm: VisionLLM | None, *,
            image_bgr: np.ndarray | None = None, kind: str = "image") -> Described:
    """`description` (and `answer` for a prompt): from the LLM endpoint when given, else from the findings."""
    description = words.describe_findings(findings, opts.max_length, kind=kind)
    answer = answer_question(opts.prompt, findings, kind=kind) if opts.prompt else None
    source = "findings"
    if opts.use_llm and llm is not None and image_bgr is not None:
        context = findings.model_dump(mode="json")
        try:
            with run.stage("llm"):
                description = llm.describe(image_bgr, context, max_length=opts.max_length)
                if opts.prompt:
                    text = llm.answer(image_bgr, context, opts.prompt)
                    answer = Answer(answer=text, answerable=True, basis="llm")
            source = "llm"
            run.models.append(f"llm:{llm.model}")
        except SensoriumError as exc:
            run.notes.append(f"The vision LLM endpoint failed ({exc.message}); "
                             "the description comes from the findings.")
    out = Described(description=words.trim(description, opts.max_length), description_source=source)
    if answer is not None:
        out.answer = answer.answer
        out.answer_details = AnswerDetails(answerable=answer.answerable, basis=answer.basis)
    return out


def analyze_decoded(img: DecodedImage, registry: ModelRegistry, opts: ImageOptions, *,
                    llm: VisionLLM | None = None, pool: Executor | None = None) -> ImageAnalysis:
    if opts.max_length < 1:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "max_length must be at least 1.",
                             details={"param": "max_length"})
    t0 = time.perf_counter()
    with side_pool(pool) as side:
        run = Run(registry, side)
        findings = analyze_bgr(img.bgr, run, opts, scale=1 / img.scale)
    findings.image = ImageInfo.model_validate(img.info())
    text = compose(findings, opts, run, llm, image_bgr=img.bgr)
    return ImageAnalysis(**dict(text), **dict(findings), notes=img.notes + run.notes, models=run.models,
                         timings_ms=run.total(t0))


def analyze_image_file(
    path: Path,
    registry: ModelRegistry,
    settings: Settings,
    opts: ImageOptions,
    *,
    llm: VisionLLM | None = None,
    pool: Executor | None = None,
    progress: Callable[[float], None] | None = None,
    check: Callable[[], None] | None = None,
) -> ImageAnalysis:
    t0 = time.perf_counter()
    img = decode_image(path, max_pixels=settings.max_image_pixels, max_side=ANALYSIS_SIDE)
    decode_ms = round((time.perf_counter() - t0) * 1000, 1)
    if check:
        check()
    if progress:
        progress(0.1)
    result = analyze_decoded(img, registry, opts, llm=llm, pool=pool)
    result.timings_ms = {"decode": decode_ms, **result.timings_ms}
    if progress:
        progress(1.0)
    return result
