"""Footstep foley studio (the AI Foley Studio contract): upload a video, detect the footsteps as a
background job, poll the status, export the events, render an annotated video, generate the
footstep track and mux it into the video, download the results (with HTTP range requests).

Order of the steps: upload-video -> process -> (status until done) -> export-json / export-csv /
generate-video / generate-audio-video -> download-video. A step called before the one it needs
answers VALIDATION_ERROR saying what to call first. Unknown task ids answer NOT_FOUND.
The workflow is `services.foley` (`foley/service.py`); this module parses and answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Path, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import UPLOAD_ERRORS, Envelope, error_responses, json_error_responses, ok, plain
from sensorium.api.uploads import receive_upload
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley.export import FIELDS
from sensorium.foley.schemas import (
    AudioParams,
    EventsDocument,
    FoleyJob,
    FoleyTask,
    OutputKind,
    ProcessParams,
    TaskStatus,
)
from sensorium.store.files import Workspace

router = APIRouter(tags=["foley"])

TaskId = Annotated[str, Path(description="The task id returned by `POST /api/upload-video`.", max_length=64)]

NOT_FOUND = error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR)
EVENT_SCHEMA = (
    "Each event: `time_s` (seconds, sub-frame precision), `frame` (nearest frame index, 0-based), `person_id` "
    "(walker id, 1..n in order of appearance), `foot` (`left`|`right`), `event` (`heel_strike`|`toe_off`), "
    "`confidence` (0..1), `x`, `y` (contact point in pixels of the original frame)."
)


class CSVResponse(Response):
    media_type = "text/csv"


def _accepted(job: FoleyJob) -> JSONResponse:
    return JSONResponse(ok("foley_job", job, processing_time_ms=0.0, model=None), status_code=202)


@router.post(
    "/api/upload-video",
    summary="Upload a video (creates a foley task)",
    description="Stores the video (MP4, MOV, MKV, WebM, AVI; type sniffed from its bytes; size limit of video files) "
    "and answers its `task_id`. Nothing is analysed yet: call `POST /api/process/{task_id}`. Send the file as "
    "multipart field `file` (or `video`). Tasks are durable: they survive a server restart.",
    response_model=Envelope[FoleyTask],
    responses=error_responses(*UPLOAD_ERRORS),
)
async def upload_video(
    services: ServicesDep,
    file: Annotated[UploadFile | None, File(description="The video file.")] = None,
    video: Annotated[UploadFile | None, File(description="Alternative field name for the video file.")] = None,
) -> dict[str, Any]:
    settings = services.settings
    with Workspace(settings.tmp_dir) as ws:
        field = "file" if file is not None else "video"
        up = await receive_upload(file or video, ws, settings, ("video",), field=field)
        if not up.info.has_video:
            raise SensoriumError(ErrorCode.INVALID_FILE_TYPE, "The file has no video stream.",
                                 details={"param": field})
        task = services.foley.create_task(up.path, up.filename)
    return ok("foley_task", task, processing_time_ms=0.0, model=None)


@router.post(
    "/api/process/{task_id}",
    summary="Detect the footsteps (background job)",
    description="Starts footstep detection on the task's video: YOLOX-nano people + tracking, MediaPipe pose per "
    "person, gait events (heel strikes and toe-offs), surface estimation. Answers 202; poll "
    "`GET /api/status/{task_id}`. Calling it again after it finished re-runs detection with the new parameters.",
    status_code=202,
    response_model=Envelope[FoleyJob],
    responses={202: {"description": "Detection queued."}, **NOT_FOUND},
)
def process(services: ServicesDep, task_id: TaskId,
            params: Annotated[ProcessParams | None, Body(description="Detection options (all optional).")] = None,
            ) -> JSONResponse:
    return _accepted(services.foley.process(task_id, params or ProcessParams()))


@router.get(
    "/api/status/{task_id}",
    summary="Task status, progress and summary",
    description="`status` (uploaded | queued | running | succeeded | failed | cancelled) and `progress` (0-100) "
    "and `stage` of the latest step; `steps` has each step's job; once detection succeeded, `summary` has the "
    "number of people, steps per person, cadence (steps/min) and the surface with the reason; `downloads` lists "
    "the files ready.",
    response_model=Envelope[TaskStatus],
    responses=NOT_FOUND,
)
def status(services: ServicesDep, task_id: TaskId) -> dict[str, Any]:
    return ok("foley_status", services.foley.status(task_id), processing_time_ms=0.0, model=None)


@router.get(
    "/api/export-json/{task_id}",
    summary="Export the footstep events as JSON",
    description="A JSON document (a file download): `schema`, `video`, `surface`, `summary`, `people` and "
    f"`events`. {EVENT_SCHEMA}",
    response_model=EventsDocument,
    responses={200: {"description": "The events document."}, **NOT_FOUND},
)
def export_json(services: ServicesDep, task_id: TaskId) -> JSONResponse:
    return JSONResponse(plain(services.foley.events_document(task_id)),
                        headers={"Content-Disposition": f'attachment; filename="footsteps-{task_id}.json"'})


@router.get(
    "/api/export-csv/{task_id}",
    summary="Export the footstep events as CSV",
    description=f"CSV with a header row `{','.join(FIELDS)}`, one row per event. {EVENT_SCHEMA}",
    response_class=CSVResponse,
    responses={200: {"description": "The events table.", "content": {"text/csv": {}}},
               **json_error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR)},
)
def export_csv(services: ServicesDep, task_id: TaskId) -> CSVResponse:
    return CSVResponse(services.foley.events_csv(task_id),
                       headers={"Content-Disposition": f'attachment; filename="footsteps-{task_id}.csv"'})


@router.post(
    "/api/generate-video/{task_id}",
    summary="Render the annotated video (background job)",
    description="Draws person boxes and ids, skeletons, foot markers, a flash and L/R label at each heel strike and "
    "a timeline strip of all steps at the bottom; H.264 MP4 with the original audio. Needs a finished detection. "
    "Download with `GET /api/download-video/{task_id}?kind=annotated`.",
    status_code=202,
    response_model=Envelope[FoleyJob],
    responses={202: {"description": "Rendering queued."}, **NOT_FOUND},
)
def generate_video(services: ServicesDep, task_id: TaskId) -> JSONResponse:
    return _accepted(services.foley.generate_video(task_id))


@router.post(
    "/api/generate-audio-video/{task_id}",
    summary="Generate the footstep track and mux it into the video (background job)",
    description="Synthesizes a footstep for every heel strike (physically motivated per surface: impact transient, "
    "surface noise/grains/resonances, heel and toe layers, step-to-step variation), loudness from the walker's "
    "size, stereo pan from x, at the video's audio sample rate, loudness-normalised; mixes it with the original "
    "audio (`replace` | `mix` | `duck`) and muxes it into an MP4 without re-encoding the video when the codec "
    "allows. Needs a finished detection. Download `kind=audio` (WAV) or `kind=mixed` (MP4).",
    status_code=202,
    response_model=Envelope[FoleyJob],
    responses={202: {"description": "Generation queued."}, **NOT_FOUND},
)
def generate_audio_video(
    services: ServicesDep,
    task_id: TaskId,
    params: Annotated[AudioParams | None, Body(description="Sound options (all optional).")] = None,
) -> JSONResponse:
    return _accepted(services.foley.generate_audio(task_id, params or AudioParams()))


@router.get(
    "/api/download-video/{task_id}",
    summary="Download a result (range requests supported)",
    description="`kind=annotated` (annotated MP4), `kind=mixed` (the video with the footstep audio, MP4) or "
    "`kind=audio` (the footstep track alone, WAV at the video's audio rate). Without `kind`: the most recently "
    "generated result — the annotated video after `generate-video`, the mixed video after "
    "`generate-audio-video` (the latest of the two asked for). Supports HTTP `Range` requests "
    "(206 Partial Content) for seeking in players. VALIDATION_ERROR when that result has not been generated yet.",
    response_class=FileResponse,
    responses={200: {"description": "The file."}, 206: {"description": "A byte range of the file."}, **NOT_FOUND},
)
def download_video(
    services: ServicesDep,
    task_id: TaskId,
    kind: Annotated[OutputKind | None, Query(description="Which result to download; omitted: the most recently "
                                                          "generated video.")] = None,
) -> FileResponse:
    kind, path = services.foley.download(task_id, kind)
    media = "audio/wav" if kind == "audio" else "video/mp4"
    return FileResponse(path, media_type=media, filename=f"{kind}-{task_id}{path.suffix}")
