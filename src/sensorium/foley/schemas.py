"""Foley requests and results, shared by the API, the CLI and the jobs.

The surface, audio-mode and gait-method lists are written once, here, as `Literal` types; the
tuples (`SURFACES`, `SURFACE_CHOICES`, `MODES`, `METHODS`) are derived from them.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from sensorium.jobs.schemas import JobError, JobStatus

Surface = Literal["concrete", "wood", "gravel", "grass", "snow", "carpet", "tile", "metal", "sand", "puddle"]
SurfaceChoice = Literal["auto", "vision", Surface]
AudioMode = Literal["replace", "mix", "duck"]
GaitMethod = Literal["envelope", "zeni", "vertical", "stationary"]
Step = Literal["detect", "video", "audio"]
OutputKind = Literal["annotated", "audio", "mixed"]

SURFACES: tuple[str, ...] = get_args(Surface)
SURFACE_CHOICES: tuple[str, ...] = get_args(SurfaceChoice)
MODES: tuple[str, ...] = get_args(AudioMode)
METHODS: tuple[str, ...] = get_args(GaitMethod)
STEPS: tuple[str, ...] = get_args(Step)
MAX_STRIDE = 8


def _absent(value: object) -> bool:
    """For fields left out of the JSON when they do not apply (not sent as null)."""
    return value is None


# --- requests -------------------------------------------------------------------------------
class ProcessParams(BaseModel):
    stride: int = Field(1, ge=1, le=MAX_STRIDE, description="Process every Nth frame (1 = all). 2 is about twice "
                        "as fast; event times stay sub-frame precise by interpolation, accuracy drops a little.")
    surface: SurfaceChoice = Field("auto", description="Floor surface for the sound: `auto` estimates it from "
                                   "colour and texture of the floor under the feet, `vision` asks the configured "
                                   "OpenAI-compatible vision endpoint (LLM_BASE_URL/LLM_MODEL; falls back to "
                                   f"`auto`), or one of {', '.join(SURFACES)}.")
    method: GaitMethod = Field("envelope", description="Gait-event method (see docs/foley.md); `envelope` is the "
                               "most accurate on the labelled clips.")


class AudioParams(BaseModel):
    mode: AudioMode = Field("mix", description="`replace`: footsteps only; `mix`: original audio + footsteps; "
                            "`duck`: original lowered by 8 dB around each footstep + footsteps.")
    surface: SurfaceChoice | None = Field(None, description="Override the surface chosen at detection "
                                          "(`auto`/`vision`/null keep it).")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Random seed of the step-to-step variation.")


# --- the detection document ---------------------------------------------------------------------
class VideoFacts(BaseModel):
    duration: float = Field(..., description="Seconds.")
    fps: float = Field(..., description="Frames per second.")
    resolution: str = Field(..., description="`WIDTHxHEIGHT`.")
    width: int
    height: int
    frame_count: int = Field(..., description="Frames (from the container; estimated when absent).")
    codec: str = Field(..., description="Video codec.")
    has_audio: bool = Field(..., description="True when the video has a sound track.")


class SurfaceEstimate(BaseModel):
    surface: Surface = Field(..., description="The floor surface the footsteps are synthesized for.")
    source: Literal["rules", "vision", "default", "user"] = Field(
        ..., description="`rules` (colour/texture of the floor), `vision` (the vision endpoint), `user` (chosen) or "
        "`default` (nothing to look at).")
    reason: str = Field(..., description="Why this surface, in words.")
    features: dict[str, float] = Field(default_factory=dict, description="Floor colour/texture figures.")
    patches: int | None = Field(None, exclude_if=_absent, description="Floor patches looked at (rules only).")


class FootEvent(BaseModel):
    """One gait event as detected (the export keeps the first eight fields)."""

    time_s: float = Field(..., description="Seconds from the start of the video (sub-frame precision).")
    frame: int = Field(..., description="Nearest frame index (0-based).")
    person_id: int = Field(..., description="Walker id, 1..n in order of appearance.")
    foot: Literal["left", "right"]
    event: Literal["heel_strike", "toe_off"]
    confidence: float = Field(..., description="0..1.")
    x: float = Field(..., description="Contact point, pixels of the original frame.")
    y: float = Field(..., description="Contact point, pixels of the original frame.")
    frame_exact: float = Field(..., description="Fractional frame index.")
    scale: float = Field(..., description="Walker height as a fraction of the frame height.")
    side_corrected: bool = Field(..., description="True when the foot label was corrected by alternation.")
    prominence: float = Field(..., description="Strength of the gait signal at the event.")


class ExportedEvent(BaseModel):
    time_s: float = Field(..., description="Seconds from the start of the video (sub-frame precision).")
    frame: int = Field(..., description="Nearest frame index (0-based).")
    person_id: int = Field(..., description="Walker id, 1..n in order of appearance.")
    foot: Literal["left", "right"]
    event: Literal["heel_strike", "toe_off"]
    confidence: float = Field(..., description="0..1 (landmark visibility and strength of the gait signal).")
    x: float = Field(..., description="Contact point in pixels of the original frame.")
    y: float = Field(..., description="Contact point in pixels of the original frame.")


class Person(BaseModel):
    person_id: int
    first_time_s: float
    last_time_s: float
    frames_tracked: int
    steps: int = Field(..., description="Heel strikes.")
    left_steps: int
    right_steps: int
    cadence_spm: float | None = Field(None, description="Steps per minute (null with fewer than 3 steps).")
    side_agreement: float
    max_height_px: float
    walking: bool


class DetectionSummary(BaseModel):
    people: int = Field(..., description="People tracked.")
    walkers: int = Field(..., description="People with at least one step.")
    steps: int = Field(..., description="Heel strikes in all.")
    steps_per_person: dict[str, int] = Field(..., description="Person id -> heel strikes.")
    cadence_spm: dict[str, float | None] = Field(..., description="Person id -> steps per minute.")
    duration: float | None = Field(None, description="Video seconds.")
    fps: float | None = Field(None, description="Video frames per second.")
    surface: Surface = Field(..., description="The floor surface.")
    surface_reason: str = Field(..., description="Why that surface.")


class DetectionOptions(BaseModel):
    stride: int
    method: GaitMethod
    detect_interval: float
    pose_input: int


class DetectionDocument(BaseModel):
    """`detection.json`: everything the later steps (sound, drawing, export) need."""

    video: VideoFacts
    events: list[FootEvent]
    people: list[Person]
    options: DetectionOptions
    frames_processed: int
    processing_seconds: float
    surface: SurfaceEstimate
    summary: DetectionSummary
    timings: dict[str, float | int] = Field(default_factory=dict)

    def event_dicts(self) -> list[dict[str, Any]]:
        """The events as the synthesis and drawing code reads them."""
        return [e.model_dump() for e in self.events]


class EventsDocument(BaseModel):
    """`GET /api/export-json/{task_id}` and `sensorium foley --json`."""

    schema_: list[str] = Field(..., alias="schema", description="The field names of each event, in order.")
    video: VideoFacts | None = None
    surface: SurfaceEstimate | None = None
    summary: DetectionSummary | None = None
    people: list[Person] | None = None
    events: list[ExportedEvent]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


# --- step results -------------------------------------------------------------------------------
class TrackInfo(BaseModel):
    """The synthesized footstep track."""

    surface: str = Field(..., description="The surface (or sample-pack folder) the steps sound like.")
    steps_sounded: int = Field(..., description="Heel strikes given a sound.")
    sample_rate: int
    loudness_lufs: float | None = Field(..., description="Integrated loudness (BS.1770); null without steps.")
    normalization_gain_db: float
    source: str = Field(..., description="`synthesis` or `sample pack <folder>`.")


class AudioResult(TrackInfo):
    """The footstep track (and, when muxed, the mixed video)."""

    mode: AudioMode
    duration: float
    original_audio: bool | None = Field(None, exclude_if=_absent, description="The video had sound (when muxed).")
    video: str | None = Field(None, exclude_if=_absent, description="`copied` or `re-encoded (h264)` (when muxed).")
    audio_codec: str | None = Field(None, exclude_if=_absent)


class AnnotatedResult(BaseModel):
    width: int
    height: int
    fps: float
    audio: bool


class DetectJobResult(BaseModel):
    summary: DetectionSummary
    surface: SurfaceEstimate
    frames_processed: int
    processing_seconds: float
    timings: dict[str, float | int] | None = None


class FoleyRun(BaseModel):
    """The whole studio in one call (CLI)."""

    summary: DetectionSummary
    surface: SurfaceEstimate
    outputs: dict[str, str] = Field(default_factory=dict)
    audio: AudioResult | None = None
    seconds: float = 0.0


# --- API answers ---------------------------------------------------------------------------------
class FoleyTask(BaseModel):
    """The `foley_task` result of `POST /api/upload-video`."""

    task_id: str = Field(..., description="The task id: use it in every other foley path.")
    filename: str | None = Field(None, description="The uploaded file's (sanitized) name.")
    video: VideoFacts = Field(..., description="Facts about the video.")
    next: str = Field(..., description="What to call next: `/api/process/{task_id}`.")


class FoleyJob(BaseModel):
    """The `foley_job` result (HTTP 202) of the background steps."""

    task_id: str
    job_id: str = Field(..., description="The step's job (also visible in `/api/jobs/{id}`).")
    step: Step
    status: JobStatus
    status_url: str = Field(..., description="Poll this: `/api/status/{task_id}`.")


class StepState(BaseModel):
    job_id: str
    status: JobStatus
    progress: float | None = Field(None, description="0-100.")
    stage: str | None = None
    error: JobError | None = None


class Exports(BaseModel):
    json_: str = Field(..., alias="json", description="`/api/export-json/{task_id}`.")
    csv: str = Field(..., description="`/api/export-csv/{task_id}`.")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class TaskStatus(BaseModel):
    """The `foley_status` result of `GET /api/status/{task_id}`."""

    task_id: str
    filename: str | None = None
    video: VideoFacts | None = None
    status: Literal["uploaded", "queued", "running", "succeeded", "failed", "cancelled"] = Field(
        ..., description="Of the latest step (`uploaded` before any).")
    progress: float = Field(..., description="0-100, of the latest step.")
    stage: str = Field(..., description="`step: what it is doing`.")
    steps: dict[str, StepState] = Field(default_factory=dict, description="Each step's latest job.")
    summary: DetectionSummary | None = Field(None, description="Once detection succeeded.")
    downloads: dict[str, str] = Field(default_factory=dict, description="Kind -> download path, for results ready.")
    exports: Exports | None = Field(None, exclude_if=_absent, description="Export paths, once detection succeeded.")
