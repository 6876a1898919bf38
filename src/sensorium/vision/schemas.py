"""Vision results and options, shared by the API, the CLI, jobs and other capabilities.

A field typed `... | MISSING` is left out of the JSON when the analysis did not produce it (e.g.
`answer` without a prompt, a frame's `timestamp` with `include_timestamps=false`); `null` means
"measured nothing" or "the model is not available" (said in `notes`).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import MISSING, BaseModel, ConfigDict, Field

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.video import SAMPLING_MODES
from sensorium.speech.schemas import Transcription

T = TypeVar("T")

MAX_FRAMES = 100
Box = list[float]  # [x1, y1, x2, y2] in pixels of the original image or video


def given(value: T | MISSING) -> T | None:
    """A MISSING field as None (MISSING itself is truthy: never test it directly)."""
    return None if value is MISSING else value


# --- options -----------------------------------------------------------------------------------------
class ImageOptions(BaseModel):
    """What to run on an image (or a video frame)."""

    prompt: str | None = None
    max_length: int = 200
    objects_threshold: float = 0.35
    faces: bool = True
    face_mesh: bool = True
    pose: bool = True
    ocr: bool = True
    nsfw: bool = True
    colors: bool = True
    use_llm: bool = True  # the vision LLM endpoint, when configured
    faces_need_person: bool = False  # look for faces only where YOLOX found a person (video frames)
    ocr_det_side: int | None = None  # OCR detector input side (None: 736)


class VideoOptions(BaseModel):
    num_frames: int = 5
    prompt: str | None = None
    include_timestamps: bool = True
    frame_sampling: str = "uniform"
    max_length: int = 200
    audio: bool = True
    ocr: bool = True
    use_llm: bool = True

    def checked(self) -> VideoOptions:
        """These options, or VALIDATION_ERROR naming the bad parameter."""
        if not isinstance(self.num_frames, int) or self.num_frames < 1 or self.num_frames > MAX_FRAMES:
            raise SensoriumError(
                ErrorCode.VALIDATION_ERROR,
                f"num_frames must be between 1 and {MAX_FRAMES} (got {self.num_frames}).",
                details={"param": "num_frames", "min": 1, "max": MAX_FRAMES},
            )
        if self.frame_sampling not in SAMPLING_MODES:
            raise SensoriumError(
                ErrorCode.VALIDATION_ERROR,
                f"Unknown frame_sampling {self.frame_sampling!r}: use 'uniform' or 'keyframes'.",
                details={"param": "frame_sampling", "allowed": list(SAMPLING_MODES)},
            )
        if self.max_length < 1:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, "max_length must be at least 1.",
                                 details={"param": "max_length"})
        return self


class AnalyzeOptions(BaseModel):
    """Options of "analyze any file" (CLI, batch): each kind takes the ones it understands."""

    language: str = "auto"
    word_timestamps: bool = False
    include_timestamps: bool = True
    num_frames: int = 5
    frame_sampling: str = "uniform"
    prompt: str | None = None
    max_length: int = 200


# --- image findings ------------------------------------------------------------------------------------
class DetectedObject(BaseModel):
    label: str = Field(..., description="COCO class name.")
    score: float = Field(..., description="Detector confidence, 0-1.")
    box: Box = Field(..., description="[x1, y1, x2, y2] in pixels.")
    color: str | MISSING = Field(MISSING, description="Dominant colour of the box's centre (the 12 largest).")


class ColorShare(BaseModel):
    name: str = Field(..., description="Plain colour name (red, light blue, ...).")
    hex: str = Field(..., description="#rrggbb of the cluster's mean.")
    rgb: list[int] = Field(..., description="[r, g, b] 0-255.")
    fraction: float = Field(..., description="Share of the pixels, 0-1.")


class Colors(BaseModel):
    dominant: list[ColorShare] = Field(..., description="Largest first (k-means in Lab, same names merged).")


class Quality(BaseModel):
    brightness: float = Field(..., description="Mean luma, 0-1.")
    brightness_label: str = Field(..., description="dark, dim, normal or bright.")
    contrast: float = Field(..., description="Luma standard deviation, 0-1.")
    sharpness: float = Field(..., description="Variance of the Laplacian at <= 512 px.")
    sharpness_label: str = Field(..., description="blurry, soft or sharp.")


class PostureReading(BaseModel):
    """What the body landmarks say (posture geometry)."""

    posture: str = Field(..., description="standing, sitting, lying or unknown.")
    facing: str | None = Field(..., description="camera, away, sideways, or null when unknown.")
    thigh_angle: float | MISSING = Field(MISSING, description="Thigh tilt from vertical, degrees.")
    knee_angle: float | MISSING = Field(MISSING, description="Hip-knee-ankle angle, degrees.")


class PoseFinding(BaseModel):
    box: Box = Field(..., description="The person's box.")
    posture: str = Field(..., description="standing, sitting, lying or unknown.")
    facing: str | None = Field(..., description="camera, away, sideways, or null when unknown.")
    thigh_angle: float | MISSING = Field(MISSING, description="Thigh tilt from vertical, degrees.")
    knee_angle: float | MISSING = Field(MISSING, description="Hip-knee-ankle angle, degrees.")


class MeshFeatures(BaseModel):
    head_turn: str = Field(..., description="frontal, turned to their left / right.")
    yaw_ratio: float = Field(..., description="Nose offset between the cheeks, -0.5..0.5.")
    mouth_open: bool
    eyes_closed: bool
    mouth_width_ratio: float = Field(..., description="Mouth width / eye span.")


class FaceFinding(BaseModel):
    box: Box
    score: float = Field(..., description="Face detector confidence, 0-1.")
    expression: str | None = Field(..., description="Top FER class, or null (face too small / no model).")
    expression_scores: dict[str, float] | None = Field(..., description="The 7 FER probabilities.")
    smiling: bool | MISSING = MISSING
    note: str | MISSING = Field(MISSING, description="Why there is no expression.")
    head_turn: str | MISSING = Field(MISSING, description="Face Mesh (faces >= 40 px): frontal, turned ...")
    yaw_ratio: float | MISSING = MISSING
    mouth_open: bool | MISSING = MISSING
    eyes_closed: bool | MISSING = MISSING
    mouth_width_ratio: float | MISSING = MISSING


class People(BaseModel):
    count: int = Field(..., description="People detected by YOLOX.")
    faces: list[FaceFinding] | None = Field(..., description="null when face detection did not run.")
    poses: list[PoseFinding] | None = Field(..., description="The largest people's postures; null when not run.")


class TextLine(BaseModel):
    text: str
    score: float | MISSING = Field(MISSING, description="Recogniser confidence, 0-1.")
    box: list[list[float]] | MISSING = Field(MISSING, description="4 corner points [[x, y], ...] clockwise.")


class TextFindings(BaseModel):
    lines: list[TextLine] | None = Field(..., description="In reading order; null when OCR is not available.")
    full_text: str | None | MISSING = Field(MISSING, description="The lines joined by newlines.")


class ImageInfo(BaseModel):
    width: int
    height: int
    format: str | MISSING = MISSING
    mode: str | MISSING = Field(MISSING, description="Pillow mode of the file (RGB, RGBA, P, ...).")
    animated: bool | MISSING = MISSING
    frame_count: int | MISSING = MISSING
    analyzed_frame: int | MISSING = MISSING
    exif_rotated: bool | MISSING = MISSING


class Findings(BaseModel):
    """What the detectors found in one image or frame."""

    objects: list[DetectedObject]
    object_counts: dict[str, int] = Field(..., description="label -> count, most frequent first.")
    people: People
    colors: Colors | None | MISSING = Field(MISSING, description="Dominant colours (when asked for).")
    quality: Quality | None | MISSING = Field(MISSING, description="Brightness, contrast, sharpness.")
    text: TextFindings | None | MISSING = Field(MISSING, description="OCR; null when not asked for.")
    nsfw_score: float | None | MISSING = Field(MISSING, description="open_nsfw probability, 0-1.")
    image: ImageInfo | MISSING = MISSING


class Answer(BaseModel):
    answer: str
    answerable: bool
    basis: str


class AnswerDetails(BaseModel):
    answerable: bool = Field(..., description="False when the findings cannot answer the question.")
    basis: str = Field(..., description="What the answer rests on: objects, faces, ocr, llm, ...")


class Described(BaseModel):
    description: str = Field(..., description="One or two sentences, at most `max_length` characters.")
    description_source: Literal["findings", "llm"]
    answer: str | MISSING = Field(MISSING, description="The reply to `prompt` (only with a prompt).")
    answer_details: AnswerDetails | MISSING = MISSING


class RunInfo(BaseModel):
    """Models and per-stage timings: in `metadata` of API answers, in the result of jobs and the CLI."""

    models: list[str] = Field(default_factory=list, exclude=True)
    timings_ms: dict[str, float] = Field(default_factory=dict, exclude=True)

    def dump_with_run_info(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json"), "models": self.models, "timings_ms": self.timings_ms}


class ImageAnalysis(RunInfo, Findings, Described):
    """The result of an image analysis (`data.type` `image`)."""

    image: ImageInfo  # type: ignore[assignment]
    notes: list[str] = Field(..., description="Missing models, tiny or animated images, LLM failures.")


# --- video --------------------------------------------------------------------------------------------
class FrameFace(BaseModel):
    box: Box | None
    expression: str | None
    expression_scores: dict[str, float] | None
    smiling: bool | None


class FramePeople(BaseModel):
    count: int
    faces: list[FrameFace]


class FrameMotion(BaseModel):
    value: float = Field(..., description="Mean grey difference to the next frame.")
    label: str | None = Field(..., description="still, slow, moderate or fast.")


class FrameAnalysis(BaseModel):
    frame_number: int
    timestamp: float | MISSING = Field(MISSING, description="Seconds (with include_timestamps).")
    description: str
    objects: list[DetectedObject]
    object_counts: dict[str, int]
    people: FramePeople
    text: list[str] | None = Field(..., description="OCR lines; null when OCR did not run.")
    colors: list[str] = Field(..., description="Up to 3 dominant colour names.")
    brightness: float | None
    motion: FrameMotion | None
    scene_change: bool = Field(..., description="The frame opens a new scene (keyframes sampling).")
    scene_change_score: float | MISSING = MISSING


class ObjectTrack(BaseModel):
    label: str
    first_seen: float = Field(..., description="First sampled time it is seen, seconds.")
    last_seen: float
    max_count: int
    frames: int = Field(..., description="Sampled frames that show it.")
    typical_count: int


class TimelineEvent(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    timestamp: float
    event: Literal["present", "appears", "leaves", "count_changes"]
    label: str
    count: int | MISSING = MISSING
    from_count: int | MISSING = Field(MISSING, alias="from")
    to: int | MISSING = MISSING


class TextSeen(BaseModel):
    text: str
    first_seen: float
    last_seen: float


class SummaryPeople(BaseModel):
    max_count: int
    counts: list[int] = Field(..., description="People per sampled frame.")
    expressions: dict[str, int]


class SceneChange(BaseModel):
    timestamp: float
    frame_number: int
    score: float


class MotionSummary(BaseModel):
    mean: float | None
    label: str | None


class ContentChange(BaseModel):
    between: list[float] = Field(..., description="The two sampled times, seconds.")
    score: float


class VideoSummary(BaseModel):
    objects: list[ObjectTrack]
    events: list[TimelineEvent]
    people: SummaryPeople
    text: list[TextSeen]
    scene_changes: list[SceneChange] | None = Field(..., description="With keyframes sampling; else null.")
    motion: MotionSummary
    scene_change_method: str
    text_summary: str
    content_changes: list[ContentChange] | MISSING = Field(
        MISSING, description="Uniform sampling: strong changes between consecutive sampled frames.")


class SoundEvent(BaseModel):
    label: str = Field(..., description="AudioSet class (YAMNet).")
    start: float
    end: float
    score: float


class SpokenSegment(BaseModel):
    start: float | None
    end: float | None
    text: str


class AudioTrack(BaseModel):
    """The `audio` section of a video with an audio track."""

    transcription: str | None = Field(..., description="Whisper text; null when speech was not analyzed.")
    language: str | None
    sound_events: list[SoundEvent] | None = Field(..., description="null when YAMNet is not available.")
    error: str | MISSING = Field(MISSING, description="Why the track could not be decoded.")
    duration: float | MISSING = MISSING
    language_probability: float | None | MISSING = MISSING
    has_speech: bool | MISSING = MISSING
    segments: list[SpokenSegment] | MISSING = MISSING
    speech_check: str | MISSING = Field(MISSING, description="Why Whisper was not run.")


class VideoAnalysis(RunInfo):
    """The result of a video analysis (`data.type` `video`)."""

    frames: list[FrameAnalysis]
    summary: VideoSummary
    audio: AudioTrack | MISSING = Field(MISSING, description="Only when the file has an audio track.")
    duration: float
    fps: float
    resolution: str
    width: int
    height: int
    frame_count: int
    frame_sampling: str
    codec: str | None
    has_audio: bool
    description: str = Field(..., description="An overview of the video (or the vision LLM's description).")
    description_source: Literal["findings", "llm"]
    answer: str | MISSING = Field(MISSING, description="The reply to `prompt` (only with a prompt).")
    answer_details: AnswerDetails | MISSING = MISSING
    notes: list[str]


# --- analyze any file, batches -------------------------------------------------------------------------
AnyAnalysis = ImageAnalysis | VideoAnalysis | Transcription


class FileMetadata(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    processing_time_ms: float
    model: str | None = Field(..., description="Model(s) that produced the result.")
    format: str | None = Field(..., description="Container or image format sniffed from the bytes.")
    models: list[str] | None | MISSING = Field(MISSING, description="Batches: the models used (null for audio).")
    timings_ms: dict[str, float] | None | MISSING = Field(MISSING, description="Batches: per-stage milliseconds.")


class ErrorEntry(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | MISSING = MISSING


class BatchEntry(BaseModel):
    index: int = Field(..., description="Position of the file in the request.")
    filename: str | None
    success: bool
    type: str | MISSING = Field(MISSING, description="`image`, `video` or `audio` (as `data.type` of the "
                                "single-file endpoints).")
    result: AnyAnalysis | MISSING = Field(MISSING, description="That analysis' result.")
    metadata: FileMetadata | MISSING = MISSING
    error: ErrorEntry | MISSING = MISSING


class BatchResult(BaseModel):
    """The `batch_analysis` result."""

    results: list[BatchEntry] = Field(..., description="One entry per file, in upload order.")
    total: int
    succeeded: int
    failed: int


class AnalyzedFile(BaseModel):
    """One file analyzed by its sniffed kind."""

    type: str
    result: AnyAnalysis
    metadata: FileMetadata

    def dump_with_run_info(self) -> dict[str, Any]:
        """JSON-ready, with `models` and `timings_ms` kept in an image or video result (CLI output)."""
        out = self.model_dump(mode="json")
        if isinstance(self.result, RunInfo):
            out["result"] = self.result.dump_with_run_info()
        return out
