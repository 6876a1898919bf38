"""Visual analysis: images, videos, and batches of mixed files (documented contract)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from starlette.datastructures import UploadFile as StarletteUploadFile

from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import ANALYSIS_ERRORS, Envelope, error_responses, ok
from sensorium.api.submit import accepted
from sensorium.api.uploads import receive_upload
from sensorium.concurrency import checker
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.store.files import Workspace, sanitize_filename
from sensorium.vision.schemas import (
    MAX_FRAMES,
    AnalyzeOptions,
    BatchResult,
    ImageAnalysis,
    ImageOptions,
    RunInfo,
    VideoAnalysis,
    VideoOptions,
)
from sensorium.vision.service import BatchItem

router = APIRouter(tags=["visual"])

MAX_BATCH_FILES = 10
MAX_PROMPT = 1000

PromptField = Annotated[
    str | None,
    Form(description="Optional question about the content (e.g. `how many people are there?`, `what does the "
                     "sign say?`, `are they smiling?`). Answered in `answer` from the detectors' findings, or by "
                     "the vision LLM endpoint when LLM_BASE_URL/LLM_MODEL are configured. Questions the findings "
                     "cannot answer get a plain 'I can't tell' (`answer_details.answerable: false`).",
         max_length=MAX_PROMPT),
]
MaxLengthField = Annotated[
    int,
    Form(description="Longest `description`, in characters (cut at a sentence or word boundary).", ge=1, le=2000),
]


def _meta(result: RunInfo, t0: float, **extra: Any) -> dict[str, Any]:
    """`metadata` of an image or video answer: the models and per-stage timings go here."""
    return {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1), "model": ", ".join(result.models),
            "models": result.models, "timings_ms": result.timings_ms, **extra}


@router.post(
    "/api/analyze/image",
    summary="Describe an image and answer a question about it",
    description=(
        "Runs offline detectors on the image and composes their findings: `objects` (YOLOX-nano, COCO 80 "
        "classes: label, score, box `[x1, y1, x2, y2]` in pixels, dominant `color`) and `object_counts`; "
        "`people` (`count`; `faces` from MediaPipe with `expression`, `expression_scores` (FER mini-Xception, 7 "
        "classes), `smiling`, head turn; `poses` from MediaPipe Pose for the largest people: `posture` "
        "standing/sitting/lying/unknown and `facing` camera/away/sideways); `text` (RapidOCR lines with "
        "4-point boxes, and `full_text`); `colors.dominant` (named, hex, fraction); `quality` (brightness, "
        "contrast, sharpness with labels); `nsfw_score` (open_nsfw, 0..1). `description` is one or two "
        "sentences of at most `max_length` characters written from those findings (or by the configured "
        "vision LLM, grounded by them). JPEG, PNG, WebP, BMP, GIF (animated: the first frame, said in "
        "`image` and `notes`), up to 10 MB and MAX_IMAGE_PIXELS (40 MP; larger images, e.g. decompression "
        "bombs, get FILE_TOO_LARGE before decoding). EXIF orientation is applied; boxes refer to the upright "
        "image. Images under 32 px get colours and quality only (said in `notes`)."
    ),
    response_model=Envelope[ImageAnalysis],
    responses=error_responses(*ANALYSIS_ERRORS),
)
async def analyze_image(
    services: ServicesDep,
    image: Annotated[UploadFile, File(description="The image file (type sniffed from its bytes).")],
    prompt: PromptField = None,
    max_length: MaxLengthField = 200,
) -> dict[str, Any]:
    settings = services.settings
    opts = ImageOptions(prompt=(prompt or "").strip() or None, max_length=max_length)
    with Workspace(settings.tmp_dir) as ws:
        up = await receive_upload(image, ws, settings, ("image",), field="image")
        t0 = time.perf_counter()
        result = await services.limiter.run(
            lambda stop: services.vision.analyze_image_file(up.path, opts, check=checker(stop)))
    return ok("image", result, **_meta(result, t0, filename=up.filename, format=up.info.format))


@router.post(
    "/api/analyze/video",
    summary="Analyze a video frame by frame, with a summary over time and its audio",
    description=(
        "Samples `num_frames` frames (PyAV, threaded decoding; seek to the keyframe before each target then "
        "decode forward) and analyzes each like an image: `frames` [{`frame_number`, `timestamp` (s), "
        "`description`, `objects`, `people` {count, faces with expressions}, `text` (OCR lines), `colors`, "
        "`motion`, `scene_change`}]. `frame_sampling=uniform` takes the centres of equal slices; `keyframes` "
        "scans every frame for real scene changes (HSV content difference on thumbnails, not codec I-frames) "
        "and returns the opening frame plus the strongest cuts (filling long scenes when there are fewer "
        "cuts). `summary`: objects and people appearing and leaving, text shown, scene changes, motion, and "
        "`text_summary`. `audio` (only when the file has an audio track): `transcription` and `language` "
        "(Whisper; skipped when YAMNet hears no speech) and `sound_events` [{label, start, end, score}] "
        "(YAMNet). Also `duration`, `fps`, `resolution`. MP4, AVI, MOV, MKV up to 100 MB. `async=true` queues "
        "a job and answers 202 with its id (poll `/api/jobs/{id}`)."
    ),
    response_model=Envelope[VideoAnalysis],
    responses={202: {"description": "Queued as a job (async=true): `data.result.job_id`, `status_url`."},
               **error_responses(*ANALYSIS_ERRORS)},
)
async def analyze_video(
    services: ServicesDep,
    video: Annotated[UploadFile, File(description="The video file (type sniffed from its bytes).")],
    num_frames: Annotated[int, Form(description=f"How many frames to analyze (1-{MAX_FRAMES}). Fewer come back "
                                                "when the video has fewer distinct frames.",
                                    ge=1, le=MAX_FRAMES)] = 5,
    prompt: PromptField = None,
    include_timestamps: Annotated[bool, Form(description="Include each frame's `timestamp` (seconds).")] = True,
    frame_sampling: Annotated[Literal["uniform", "keyframes"], Form(
        description="`uniform`: evenly spaced frames. `keyframes`: frames at real scene changes "
                    "(content-based), plus the opening frame.")] = "uniform",
    max_length: MaxLengthField = 200,
    run_async: Annotated[bool, Form(alias="async", description="Run as a background job (202 + job id).")] = False,
) -> Any:
    settings = services.settings
    opts = VideoOptions(num_frames=num_frames, prompt=(prompt or "").strip() or None,
                        include_timestamps=include_timestamps, frame_sampling=frame_sampling,
                        max_length=max_length).checked()
    with Workspace(settings.tmp_dir) as ws:
        up = await receive_upload(video, ws, settings, ("video",), field="video")
        if run_async:
            return accepted(services.vision.submit_video(up.path, up.filename, opts))
        t0 = time.perf_counter()
        result = await services.limiter.run(
            lambda stop: services.vision.analyze_video_file(up.path, opts, check=checker(stop)))
    return ok("video", result, **_meta(result, t0, filename=up.filename, format=up.info.format))


@router.post(
    "/api/analyze/batch",
    summary="Analyze 1-10 files of mixed types",
    description=(
        "Each file is routed by its sniffed type: images to image analysis, videos to video analysis, audio "
        "to transcription. `data.result.results` holds one entry per file, in upload order: "
        "`{index, filename, success: true, type, result, metadata}` or `{index, filename, success: false, "
        "error: {code, message}}` — a bad file never fails the batch. More than 10 files (or none) is a "
        "VALIDATION_ERROR. The request body may be up to MAX_REQUEST_SIZE_MB; each file keeps its type's limit."
    ),
    response_model=Envelope[BatchResult],
    responses=error_responses(*ANALYSIS_ERRORS),
)
async def analyze_batch(
    services: ServicesDep,
    files: Annotated[list[UploadFile], File(description=f"1 to {MAX_BATCH_FILES} files: images, videos or audio.")],
    prompt: PromptField = None,
    num_frames: Annotated[int, Form(description="Frames per video (1-100).", ge=1, le=MAX_FRAMES)] = 5,
    max_length: MaxLengthField = 200,
) -> dict[str, Any]:
    settings = services.settings
    uploads = [f for f in (files or []) if isinstance(f, StarletteUploadFile)]
    if not uploads:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "Send 1 to 10 files in the `files` field.",
                             details={"param": "files"})
    if len(uploads) > MAX_BATCH_FILES:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"A batch holds at most {MAX_BATCH_FILES} files; {len(uploads)} were sent.",
                             details={"param": "files", "max": MAX_BATCH_FILES, "received": len(uploads)})
    opts = AnalyzeOptions(prompt=(prompt or "").strip() or None, num_frames=num_frames, max_length=max_length)
    t0 = time.perf_counter()
    with Workspace(settings.tmp_dir) as ws:
        items: list[BatchItem] = []
        for i, f in enumerate(uploads):
            try:
                up = await receive_upload(f, ws, settings, field=f"files[{i}]")
                items.append(BatchItem(filename=up.filename or sanitize_filename(f.filename), path=up.path))
            except SensoriumError as exc:
                items.append(BatchItem(filename=sanitize_filename(f.filename), error=exc))
        result = await services.limiter.run(
            lambda stop: services.vision.analyze_batch(items, opts, check=checker(stop)))
    return ok("batch_analysis", result, processing_time_ms=round((time.perf_counter() - t0) * 1000, 1), model=None)
