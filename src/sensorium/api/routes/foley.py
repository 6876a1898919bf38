"""Footstep foley studio (the AI Foley Studio contract): upload a video, detect the footsteps as a
background job, poll the status, export the events, render an annotated video, generate the
footstep track and mux it into the video, download the results (with HTTP range requests).

Order of the steps: upload-video -> process -> (status until done) -> export-json / export-csv /
generate-video / generate-audio-video -> download-video. A step called before the one it needs
answers VALIDATION_ERROR saying what to call first. Unknown task ids answer NOT_FOUND.
"""

from __future__ import annotations

import shutil
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Path, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import UPLOAD_ERRORS, error_responses, ok
from sensorium.api.uploads import receive_upload
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley import service as fj
from sensorium.foley import studio
from sensorium.foley.detect import MAX_STRIDE
from sensorium.foley.export import FIELDS, events_csv, events_document
from sensorium.foley.synth import SURFACES
from sensorium.services import Services
from sensorium.store.files import Workspace

router = APIRouter(tags=["foley"])

TaskId = Annotated[str, Path(description="The task id returned by `POST /api/upload-video`.", max_length=64)]
SurfaceName = Literal["auto", "vision", "concrete", "wood", "gravel", "grass", "snow", "carpet", "tile", "metal",
                      "sand", "puddle"]

NOT_FOUND = error_responses(ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR)
EVENT_SCHEMA = (
    "Each event: `time_s` (seconds, sub-frame precision), `frame` (nearest frame index, 0-based), `person_id` "
    "(walker id, 1..n in order of appearance), `foot` (`left`|`right`), `event` (`heel_strike`|`toe_off`), "
    "`confidence` (0..1), `x`, `y` (contact point in pixels of the original frame)."
)


class ProcessParams(BaseModel):
    stride: int = Field(1, ge=1, le=MAX_STRIDE, description="Process every Nth frame (1 = all). 2 is about twice "
                        "as fast; event times stay sub-frame precise by interpolation, accuracy drops a little.")
    surface: SurfaceName = Field("auto", description="Floor surface for the sound: `auto` estimates it from colour "
                                 "and texture of the floor under the feet, `vision` asks the configured "
                                 "OpenAI-compatible vision endpoint (LLM_BASE_URL/LLM_MODEL; falls back to `auto`), "
                                 f"or one of {', '.join(SURFACES)}.")
    method: Literal["envelope", "zeni", "vertical", "stationary"] = Field(
        "envelope", description="Gait-event method (see docs/foley.md); `envelope` is the most accurate on the "
        "labelled clips.")


class AudioParams(BaseModel):
    mode: Literal["replace", "mix", "duck"] = Field(
        "mix", description="`replace`: footsteps only; `mix`: original audio + footsteps; `duck`: original lowered "
        "by 8 dB around each footstep + footsteps.")
    surface: SurfaceName | None = Field(None, description="Override the surface chosen at detection "
                                        "(`auto`/`vision`/null keep it).")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Random seed of the step-to-step variation.")


def _task_json(services: Services, task_id: str) -> dict[str, Any]:
    task = fj.get_task(services, task_id)
    links = fj.read_links(services, task_id)
    folder = fj.task_dir(services, task_id)
    steps: dict[str, Any] = {}
    for step in ("detect", "video", "audio"):
        jid = links.get(step)
        if not jid:
            continue
        try:
            j = services.jobs.get(jid)
        except SensoriumError:
            continue
        steps[step] = {"job_id": jid, "status": j["status"], "progress": j.get("progress"), "stage": j.get("stage"),
                       "error": j.get("error")}
    last = links.get("last")
    current = steps.get(last) if last else None
    out: dict[str, Any] = {
        "task_id": task_id,
        "filename": task["params"].get("filename"),
        "video": task.get("result", {}).get("video") if task.get("result") else None,
        "status": current["status"] if current else "uploaded",
        "progress": round(float(current["progress"] or 0), 1) if current else 0.0,
        "stage": (f"{last}: {current['stage']}" if current else "uploaded; call POST /api/process/{task_id}"),
        "steps": steps,
        "summary": None,
        "downloads": {},
    }
    if steps.get("detect", {}).get("status") == "succeeded" and (folder / studio.DETECTION_FILE).is_file():
        doc = studio.load_detection(folder)
        out["summary"] = doc.get("summary")
        out["exports"] = {"json": f"/api/export-json/{task_id}", "csv": f"/api/export-csv/{task_id}"}
    for kind, name in studio.OUTPUTS.items():
        if (folder / name).is_file():
            out["downloads"][kind] = f"/api/download-video/{task_id}?kind={kind}"
    return out


def _require_detection(services: Services, task_id: str) -> dict[str, Any]:
    fj.get_task(services, task_id)
    links = fj.read_links(services, task_id)
    jid = links.get("detect")
    if not jid:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             "Footsteps have not been detected for this task: call POST /api/process/{task_id} first.")
    job = services.jobs.get(jid)
    if job["status"] != "succeeded":
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"Footstep detection is {job['status']} (not done): wait until GET /api/status/{{task_id}} "
                             "reports it succeeded" + (f" — it failed: {(job.get('error') or {}).get('message')}" if job["status"] == "failed" else "")
                             + ".")
    return studio.load_detection(fj.task_dir(services, task_id))


def _busy(services: Services, task_id: str, step: str) -> None:
    jid = fj.read_links(services, task_id).get(step)
    if jid and services.jobs.get(jid)["status"] in ("queued", "running"):
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"The {step} step of this task is already {services.jobs.get(jid)['status']}"
                             f" (job {jid}); wait for it to finish.")


def _submit(services: Services, task_id: str, step: str, params: dict[str, Any]) -> JSONResponse:
    job = services.jobs.submit(fj.STEPS[step], {"task_id": task_id, **params})
    fj.write_link(services, task_id, step, job["id"])
    fj.write_link(services, task_id, "last", step)
    body = ok("foley_job", {"task_id": task_id, "job_id": job["id"], "step": step, "status": job["status"],
                            "status_url": f"/api/status/{task_id}"}, processing_time_ms=0.0, model=None)
    return JSONResponse(body, status_code=202)


@router.post(
    "/api/upload-video",
    summary="Upload a video (creates a foley task)",
    description="Stores the video (MP4, MOV, MKV, WebM, AVI; type sniffed from its bytes; size limit of video files) "
    "and answers its `task_id`. Nothing is analysed yet: call `POST /api/process/{task_id}`. Send the file as "
    "multipart field `file` (or `video`). Tasks are durable: they survive a server restart.",
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
            raise SensoriumError(ErrorCode.INVALID_FILE_TYPE, "The file has no video stream.", details={"param": field})
        task_id = services.jobs.new_id()
        folder = services.jobs.workdir(task_id)
        folder.mkdir(parents=True, exist_ok=True)
        ext = up.path.suffix.lower() or ".mp4"
        target = folder / f"input{ext}"
        shutil.move(str(up.path), target)
    from sensorium.media.video import probe_video

    try:
        info = probe_video(target).to_dict()
    except SensoriumError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    services.jobs.create(fj.TASK, {"file": target.name, "filename": up.filename}, job_id=task_id,
                         result={"video": info})
    return ok("foley_task", {"task_id": task_id, "filename": up.filename, "video": info,
                             "next": f"/api/process/{task_id}"}, processing_time_ms=0.0, model=None)


@router.post(
    "/api/process/{task_id}",
    summary="Detect the footsteps (background job)",
    description="Starts footstep detection on the task's video: YOLOX-nano people + tracking, MediaPipe pose per "
    "person, gait events (heel strikes and toe-offs), surface estimation. Answers 202; poll "
    "`GET /api/status/{task_id}`. Calling it again after it finished re-runs detection with the new parameters.",
    status_code=202,
    responses={202: {"description": "Detection queued."}, **NOT_FOUND},
)
def process(services: ServicesDep, task_id: TaskId,
            params: Annotated[ProcessParams | None, Body(description="Detection options (all optional).")] = None,
            ) -> JSONResponse:
    fj.get_task(services, task_id)
    _busy(services, task_id, "detect")
    p = (params or ProcessParams()).model_dump()
    studio.validate_params(p)
    return _submit(services, task_id, "detect", p)


@router.get(
    "/api/status/{task_id}",
    summary="Task status, progress and summary",
    description="`status` (uploaded | queued | running | succeeded | failed | cancelled) and `progress` (0-100) "
    "and `stage` of the latest step; `steps` has each step's job; once detection succeeded, `summary` has the "
    "number of people, steps per person, cadence (steps/min) and the surface with the reason; `downloads` lists "
    "the files ready.",
    responses=NOT_FOUND,
)
def status(services: ServicesDep, task_id: TaskId) -> dict[str, Any]:
    return ok("foley_status", _task_json(services, task_id), processing_time_ms=0.0, model=None)


@router.get(
    "/api/export-json/{task_id}",
    summary="Export the footstep events as JSON",
    description="A JSON document (a file download): `schema`, `video`, `surface`, `summary`, `people` and "
    f"`events`. {EVENT_SCHEMA}",
    responses={200: {"description": "The events document.", "content": {"application/json": {}}}, **NOT_FOUND},
)
def export_json(services: ServicesDep, task_id: TaskId) -> JSONResponse:
    doc = _require_detection(services, task_id)
    return JSONResponse(events_document(doc),
                        headers={"Content-Disposition": f'attachment; filename="footsteps-{task_id}.json"'})


@router.get(
    "/api/export-csv/{task_id}",
    summary="Export the footstep events as CSV",
    description=f"CSV with a header row `{','.join(FIELDS)}`, one row per event. {EVENT_SCHEMA}",
    responses={200: {"description": "The events table.", "content": {"text/csv": {}}}, **NOT_FOUND},
)
def export_csv(services: ServicesDep, task_id: TaskId) -> Response:
    doc = _require_detection(services, task_id)
    return Response(events_csv(doc["events"]), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="footsteps-{task_id}.csv"'})


@router.post(
    "/api/generate-video/{task_id}",
    summary="Render the annotated video (background job)",
    description="Draws person boxes and ids, skeletons, foot markers, a flash and L/R label at each heel strike and "
    "a timeline strip of all steps at the bottom; H.264 MP4 with the original audio. Needs a finished detection. "
    "Download with `GET /api/download-video/{task_id}?kind=annotated`.",
    status_code=202,
    responses={202: {"description": "Rendering queued."}, **NOT_FOUND},
)
def generate_video(services: ServicesDep, task_id: TaskId) -> JSONResponse:
    _require_detection(services, task_id)
    _busy(services, task_id, "video")
    return _submit(services, task_id, "video", {})


@router.post(
    "/api/generate-audio-video/{task_id}",
    summary="Generate the footstep track and mux it into the video (background job)",
    description="Synthesizes a footstep for every heel strike (physically motivated per surface: impact transient, "
    "surface noise/grains/resonances, heel and toe layers, step-to-step variation), loudness from the walker's "
    "size, stereo pan from x, at the video's audio sample rate, loudness-normalised; mixes it with the original "
    "audio (`replace` | `mix` | `duck`) and muxes it into an MP4 without re-encoding the video when the codec "
    "allows. Needs a finished detection. Download `kind=audio` (WAV) or `kind=mixed` (MP4).",
    status_code=202,
    responses={202: {"description": "Generation queued."}, **NOT_FOUND},
)
def generate_audio_video(services: ServicesDep, task_id: TaskId,
                         params: Annotated[AudioParams | None, Body(description="Sound options (all optional).")] = None,
                         ) -> JSONResponse:
    doc = _require_detection(services, task_id)
    _busy(services, task_id, "audio")
    p = (params or AudioParams()).model_dump()
    if p.get("surface") in (None, "auto", "vision"):
        p["surface"] = doc["surface"]["surface"]
    studio.validate_params(p)
    return _submit(services, task_id, "audio", p)


@router.get(
    "/api/download-video/{task_id}",
    summary="Download a result (range requests supported)",
    description="`kind=annotated` (annotated MP4), `kind=mixed` (the video with the footstep audio, MP4) or "
    "`kind=audio` (the footstep track alone, WAV at the video's audio rate). Supports HTTP `Range` requests "
    "(206 Partial Content) for seeking in players. VALIDATION_ERROR when that result has not been generated yet.",
    response_class=FileResponse,
    responses={200: {"description": "The file."}, 206: {"description": "A byte range of the file."}, **NOT_FOUND},
)
def download_video(
    services: ServicesDep,
    task_id: TaskId,
    kind: Annotated[Literal["annotated", "audio", "mixed"], Query(description="Which result to download.")] = "mixed",
) -> FileResponse:
    fj.get_task(services, task_id)
    path = fj.task_dir(services, task_id) / studio.OUTPUTS[kind]
    if not path.is_file():
        how = "POST /api/generate-video/{task_id}" if kind == "annotated" else "POST /api/generate-audio-video/{task_id}"
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"The {kind} result is not ready: call {how} and wait for it to finish.",
                             details={"param": "kind"})
    media = "audio/wav" if kind == "audio" else "video/mp4"
    return FileResponse(path, media_type=media, filename=f"{kind}-{task_id}{path.suffix}")
