"""Foley job kinds. A *task* is the upload (a job record of kind `foley.task`, created succeeded, whose
folder holds the video); each step is a job of its own that works in the task's folder:

* `foley.detect`  — footsteps + surface -> detection.json, tracks.npz
* `foley.video`   — annotated video -> annotated.mp4
* `foley.audio`   — footstep track + mix/mux -> footsteps.wav, mixed.mp4

`links.json` in the task folder records the latest job id of each step, so the status survives a
restart (jobs are durable rows; the folder is on disk).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley import studio
from sensorium.jobs.service import JobContext, JobService
from sensorium.models.registry import ModelRegistry
from sensorium.store.database import Database

TASK = "foley.task"
DETECT = "foley.detect"
VIDEO = "foley.video"
AUDIO = "foley.audio"
STEPS = {"detect": DETECT, "video": VIDEO, "audio": AUDIO}
_links_lock = threading.Lock()


def task_dir(services: Any, task_id: str) -> Path:
    return services.jobs.workdir(task_id)


def get_task(services: Any, task_id: str) -> dict[str, Any]:
    """The task's job record; NOT_FOUND when the id is unknown or not a foley task."""
    job = services.jobs.get(task_id)  # raises NOT_FOUND
    if job.kind != TASK:
        raise SensoriumError(ErrorCode.NOT_FOUND, f"No foley task with id {task_id!r}.")
    return job


def task_video(services: Any, task_id: str) -> Path:
    job = get_task(services, task_id)
    path = task_dir(services, task_id) / job.params["file"]
    if not path.is_file():
        raise SensoriumError(ErrorCode.NOT_FOUND, f"The video of task {task_id!r} is gone (cleaned up?).")
    return path


def read_links(services: Any, task_id: str) -> dict[str, str]:
    f = task_dir(services, task_id) / "links.json"
    return json.loads(f.read_text()) if f.is_file() else {}


def write_link(services: Any, task_id: str, step: str, job_id: str) -> None:
    with _links_lock:
        links = read_links(services, task_id)
        links[step] = job_id
        (task_dir(services, task_id) / "links.json").write_text(json.dumps(links))


def _video(ctx: JobContext, services: Any) -> tuple[Path, Path]:
    task_id = ctx.params["task_id"]
    return task_video(services, task_id), task_dir(services, task_id)


def run_detect(ctx: JobContext, services: Any) -> dict[str, Any]:
    video, folder = _video(ctx, services)
    ctx.progress(1, "starting")
    doc, _ = studio.detect(video, folder, services.registry, services.settings, ctx.params,
                           progress=lambda f, s: ctx.progress(100 * f, s), check=ctx.check)
    return {"summary": doc["summary"], "surface": doc["surface"], "frames_processed": doc["frames_processed"],
            "processing_seconds": doc["processing_seconds"], "timings": doc.get("timings")}


def run_video(ctx: JobContext, services: Any) -> dict[str, Any]:
    from sensorium.foley.detect import Detection

    video, folder = _video(ctx, services)
    doc = studio.load_detection(folder)
    tracks, _ = Detection.load_tracks(folder / studio.TRACKS_FILE)
    tmp = folder / "annotated.part.mp4"
    info = studio.annotate(video, doc, tracks, tmp, progress=lambda f, s: (ctx.check(), ctx.progress(100 * f, s)))
    tmp.replace(folder / studio.OUTPUTS["annotated"])
    return {"annotated": studio.OUTPUTS["annotated"], **info}


def run_audio(ctx: JobContext, services: Any) -> dict[str, Any]:
    video, folder = _video(ctx, services)
    doc = studio.load_detection(folder)
    tmp_wav, tmp_mp4 = folder / "footsteps.part.wav", folder / "mixed.part.mp4"
    info = studio.footstep_audio(video, doc, ctx.params, out_wav=tmp_wav, out_video=tmp_mp4,
                                 progress=lambda f, s: (ctx.check(), ctx.progress(100 * f, s)))
    tmp_wav.replace(folder / studio.OUTPUTS["audio"])
    tmp_mp4.replace(folder / studio.OUTPUTS["mixed"])
    return {"audio": studio.OUTPUTS["audio"], "mixed": studio.OUTPUTS["mixed"], **info}


class FoleyService:
    """Foley tasks and their steps (interim: being reshaped into the capability layout)."""

    def __init__(self, settings: Settings, registry: ModelRegistry, jobs: JobService, db: Database) -> None:
        self.settings, self.registry, self.jobs, self.db = settings, registry, jobs, db
        jobs.register(DETECT, lambda ctx: run_detect(ctx, self))
        jobs.register(VIDEO, lambda ctx: run_video(ctx, self))
        jobs.register(AUDIO, lambda ctx: run_audio(ctx, self))
