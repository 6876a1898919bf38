"""The foley workflows: tasks (an uploaded video and its steps), the step jobs, the one-shot run.

A *task* is a row of `foley_tasks` (`tasks.py`: the upload and the latest job of each step) and a
folder `DATA_DIR/foley/{task_id}/` holding the video and the artefacts of the steps. Each step is a
durable job of its own that works in the task's folder:

* `foley.detect`  — footsteps + surface -> detection.json, tracks.npz
* `foley.video`   — annotated video -> annotated.mp4
* `foley.audio`   — footstep track + mix/mux -> footsteps.wav, mixed.mp4

All state is in the database (the task row and the job rows), so any number of API processes and
job workers serve the same task consistently; the files are the steps' outputs. The API (routes)
and the CLI call the public methods; the pure steps are in `studio.py`.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley import studio
from sensorium.foley.detect import Detection
from sensorium.foley.export import events_csv, events_document
from sensorium.foley.schemas import (
    STEPS,
    AudioParams,
    DetectionDocument,
    DetectionSummary,
    DetectJobResult,
    EventsDocument,
    Exports,
    FoleyJob,
    FoleyRun,
    FoleyTask,
    OutputKind,
    ProcessParams,
    Step,
    StepState,
    TaskStatus,
    VideoFacts,
)
from sensorium.foley.tasks import TaskStore
from sensorium.jobs.schemas import JobRecord
from sensorium.jobs.service import JobContext, JobService
from sensorium.models.registry import ModelRegistry
from sensorium.store.database import Database

DETECT = "foley.detect"
VIDEO = "foley.video"
AUDIO = "foley.audio"
DETECTION_FILE = "detection.json"
TRACKS_FILE = "tracks.npz"
OUTPUTS: dict[str, str] = {"annotated": "annotated.mp4", "audio": "footsteps.wav", "mixed": "mixed.mp4"}
#: the video each generation step makes (what a download without `kind` returns after it)
STEP_VIDEO: dict[str, OutputKind] = {"video": "annotated", "audio": "mixed"}
Progress = Callable[[float, str], None]


class FoleyService:
    def __init__(self, settings: Settings, registry: ModelRegistry, jobs: JobService, db: Database) -> None:
        self.settings = settings
        self.registry = registry
        self.jobs = jobs
        self.tasks = TaskStore(db, jobs, settings.data_dir / "foley")
        jobs.register(DETECT, self._run_detect)
        jobs.register(VIDEO, self._run_video)
        jobs.register(AUDIO, self._run_audio)

    # -- tasks -------------------------------------------------------------------------------
    def create_task(self, video: Path, filename: str | None) -> FoleyTask:
        """A new task for the uploaded `video` (moved into the task's folder)."""
        from sensorium.media.video import probe_video

        task_id = self.jobs.new_id()
        folder = self.tasks.folder(task_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"input{video.suffix.lower() or '.mp4'}"
        shutil.move(str(video), target)
        try:
            info = VideoFacts.model_validate(probe_video(target).to_dict())
        except SensoriumError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self.tasks.create(task_id, filename, target.name, info)
        return FoleyTask(task_id=task_id, filename=filename, video=info, next=f"/api/process/{task_id}")

    def status(self, task_id: str) -> TaskStatus:
        """The task from its records: each step's latest job, the summary once detected, results ready."""
        task = self.tasks.get(task_id)
        jobs: dict[str, JobRecord] = {}
        for step in STEPS:
            job = self.tasks.job(task.jobs.get(step))
            if job is not None:
                jobs[step] = job
        steps = {step: StepState(job_id=j.id, status=j.status, progress=j.progress, stage=j.stage, error=j.error)
                 for step, j in jobs.items()}
        last = task.last_step
        current = steps.get(last) if last else None
        out = TaskStatus(
            task_id=task_id, filename=task.filename, video=task.video,
            status=current.status if current else "uploaded",
            progress=round(float(current.progress or 0), 1) if current else 0.0,
            stage=f"{last}: {current.stage}" if current else "uploaded; call POST /api/process/{task_id}",
            steps=steps,
        )
        detect = jobs.get("detect")
        if detect is not None and detect.status == "succeeded" and detect.result:
            out.summary = DetectionSummary.model_validate(detect.result["summary"])
            out.exports = Exports(json=f"/api/export-json/{task_id}", csv=f"/api/export-csv/{task_id}")
        out.downloads = {kind: f"/api/download-video/{task_id}?kind={kind}" for kind in OUTPUTS
                         if kind in task.outputs}
        return out

    def detection(self, task_id: str) -> DetectionDocument:
        """The detection document; NOT_FOUND, or VALIDATION_ERROR while footsteps are not detected."""
        task = self.tasks.get(task_id)
        self.tasks.require_detection(task)
        return self._load_detection(self.tasks.folder(task_id))

    def events_document(self, task_id: str) -> EventsDocument:
        return events_document(self.detection(task_id))

    def events_csv(self, task_id: str) -> str:
        return events_csv(self.detection(task_id).events)

    def result_file(self, task_id: str, kind: OutputKind) -> Path:
        """A generated result; VALIDATION_ERROR when it is not ready."""
        task = self.tasks.get(task_id)
        path = self.tasks.folder(task_id) / OUTPUTS[kind]
        if kind not in task.outputs or not path.is_file():
            how = "POST /api/generate-video/{task_id}" if kind == "annotated" \
                else "POST /api/generate-audio-video/{task_id}"
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 f"The {kind} result is not ready: call {how} and wait for it to finish.",
                                 details={"param": "kind"})
        return path

    def download(self, task_id: str, kind: OutputKind | None = None) -> tuple[OutputKind, Path]:
        """The result to download: `kind`, or else the video of the latest generation step asked for
        (`annotated` after generate-video, `mixed` after generate-audio-video; when detection ran since,
        the video generated last). VALIDATION_ERROR when it is not ready."""
        if kind is None:
            kind = self.latest_video(task_id)
        return kind, self.result_file(task_id, kind)

    def latest_video(self, task_id: str) -> OutputKind:
        """`annotated` or `mixed`: the one the latest generation step makes (see `download`)."""
        task = self.tasks.get(task_id)
        if task.last_step in STEP_VIDEO:
            return STEP_VIDEO[task.last_step]
        made = [v for k in task.outputs for v in STEP_VIDEO.values() if v == k]
        if not made:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 "Nothing has been generated for this task yet: call POST /api/generate-video/"
                                 "{task_id} (annotated video) or POST /api/generate-audio-video/{task_id} (video "
                                 "with the footstep track) and wait for it to finish.", details={"param": "kind"})
        return made[-1]

    def purge_tasks(self, older_than: timedelta) -> int:
        """Delete tasks untouched for `older_than` (as finished jobs are), with their files."""
        return self.tasks.purge(older_than)

    # -- the steps, as jobs (one at a time per step and task) -----------------------------------
    def process(self, task_id: str, params: ProcessParams) -> FoleyJob:
        """Queue footstep detection (re-runs it when done before)."""
        return self._answer(self.tasks.claim_step(task_id, "detect", DETECT, params.model_dump(),
                                                  needs_detection=False), task_id, "detect")

    def generate_video(self, task_id: str) -> FoleyJob:
        """Queue the annotated video (needs a finished detection)."""
        self.detection(task_id)
        return self._answer(self.tasks.claim_step(task_id, "video", VIDEO, {}, needs_detection=True),
                            task_id, "video")

    def generate_audio(self, task_id: str, params: AudioParams) -> FoleyJob:
        """Queue the footstep track and the mixed video (needs a finished detection)."""
        doc = self.detection(task_id)
        p = params.model_dump()
        if p.get("surface") in (None, "auto", "vision"):
            p["surface"] = doc.surface.surface
        return self._answer(self.tasks.claim_step(task_id, "audio", AUDIO, p, needs_detection=True),
                            task_id, "audio")

    @staticmethod
    def _answer(job: JobRecord, task_id: str, step: Step) -> FoleyJob:
        return FoleyJob(task_id=task_id, job_id=job.id, step=step, status=job.status,
                        status_url=f"/api/status/{task_id}")

    def _task_video(self, ctx: JobContext) -> tuple[str, Path, Path]:
        task_id = ctx.params["task_id"]
        task = self.tasks.get(task_id)
        folder = self.tasks.folder(task_id)
        path = folder / task.file
        if not path.is_file():
            raise SensoriumError(ErrorCode.NOT_FOUND, f"The video of task {task_id!r} is gone (cleaned up?).")
        return task_id, path, folder

    @staticmethod
    def _load_detection(folder: Path) -> DetectionDocument:
        f = folder / DETECTION_FILE
        if not f.is_file():
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 "Footsteps have not been detected for this task yet: call POST /api/process/{task_id} "
                                 "and wait until GET /api/status/{task_id} reports it done.")
        return DetectionDocument.model_validate_json(f.read_text())

    def _run_detect(self, ctx: JobContext) -> dict[str, Any]:
        _, video, folder = self._task_video(ctx)
        ctx.progress(1, "starting")
        doc, det = studio.detect(video, self.registry, ProcessParams.model_validate(ctx.params),
                                 progress=lambda f, s: ctx.progress(100 * f, s), check=ctx.check)
        tmp = folder / "detection.part.json"
        tmp.write_text(doc.model_dump_json())
        det.save_tracks(folder / TRACKS_FILE)
        tmp.replace(folder / DETECTION_FILE)
        return DetectJobResult(summary=doc.summary, surface=doc.surface, frames_processed=doc.frames_processed,
                               processing_seconds=doc.processing_seconds, timings=doc.timings).model_dump(mode="json")

    def _run_video(self, ctx: JobContext) -> dict[str, Any]:
        task_id, video, folder = self._task_video(ctx)
        doc = self._load_detection(folder)
        tracks, _ = Detection.load_tracks(folder / TRACKS_FILE)
        tmp = folder / "annotated.part.mp4"
        info = studio.annotate(video, doc, tracks, tmp, progress=lambda f, s: (ctx.check(), ctx.progress(100 * f, s)))
        tmp.replace(folder / OUTPUTS["annotated"])
        self.tasks.add_outputs(task_id, "annotated")
        return {"annotated": OUTPUTS["annotated"], **info.model_dump(mode="json")}

    def _run_audio(self, ctx: JobContext) -> dict[str, Any]:
        task_id, video, folder = self._task_video(ctx)
        doc = self._load_detection(folder)
        tmp_wav, tmp_mp4 = folder / "footsteps.part.wav", folder / "mixed.part.mp4"
        info = studio.footstep_audio(video, doc, AudioParams.model_validate(ctx.params), out_wav=tmp_wav,
                                     out_video=tmp_mp4, progress=lambda f, s: (ctx.check(), ctx.progress(100 * f, s)))
        tmp_wav.replace(folder / OUTPUTS["audio"])
        tmp_mp4.replace(folder / OUTPUTS["mixed"])
        self.tasks.add_outputs(task_id, "audio", "mixed")
        return {"audio": OUTPUTS["audio"], "mixed": OUTPUTS["mixed"], **info.model_dump(mode="json")}

    # -- the whole studio in one call (CLI) ----------------------------------------------------
    def run_once(self, video: Path | str, *, output: Path | None = None, annotate_to: Path | None = None,
                 csv: Path | None = None, json_out: Path | None = None, stride: int = 1, surface: str = "auto",
                 mode: str = "mix", sample_pack: Path | None = None, progress: Progress | None = None) -> FoleyRun:
        """Detect, then write what is asked: the video with the footstep track, the annotated video, exports."""
        video = Path(video)
        if not video.is_file():
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Video {str(video)!r} not found.")
        process, audio = studio.parse_options(stride=stride, surface=surface, mode=mode)
        t0 = time.perf_counter()

        def stage(a: float, b: float) -> Progress | None:
            if progress is None:
                return None
            return lambda f, s: progress(a + (b - a) * f, s)

        doc, det = studio.detect(video, self.registry, process, progress=stage(0, 0.7))
        result = FoleyRun(summary=doc.summary, surface=doc.surface)
        if output is not None:
            result.audio = studio.footstep_audio(video, doc, audio, sample_pack=sample_pack, out_video=Path(output),
                                                 progress=stage(0.7, 0.85))
            result.outputs["video"] = str(output)
        if annotate_to is not None:
            studio.annotate(video, doc, det.tracks, Path(annotate_to), progress=stage(0.85, 0.99))
            result.outputs["annotated"] = str(annotate_to)
        if csv is not None:
            Path(csv).write_text(events_csv(doc.events))
            result.outputs["csv"] = str(csv)
        if json_out is not None:
            Path(json_out).write_text(json.dumps(events_document(doc).model_dump(mode="json"), indent=1))
            result.outputs["json"] = str(json_out)
        result.seconds = round(time.perf_counter() - t0, 2)
        if progress:
            progress(1.0, "done")
        return result
