"""Foley task records (table `foley_tasks`): the uploaded video and the latest job of each step.

Every change to a task is one transaction that first locks the task's row, so any number of API
processes and job workers can share a task: `claim_step` checks (detection done, the step not
already queued or running) and queues the step's job atomically; the loser of a race waits for the
winner's commit, then sees its job and gets VALIDATION_ERROR.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley.schemas import OutputKind, Step, VideoFacts
from sensorium.jobs.schemas import JobRecord
from sensorium.jobs.service import JobService
from sensorium.store.database import Database, FoleyTaskRow, utcnow
from sensorium.store.ownership import owner_for_new, visible


@dataclass(frozen=True)
class TaskRecord:
    id: str
    filename: str | None
    file: str
    video: VideoFacts | None
    jobs: dict[str, str]  # step -> its latest job id
    last_step: str | None
    outputs: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _record(row: FoleyTaskRow) -> TaskRecord:
    jobs = {step: jid for step, jid in (("detect", row.detect_job), ("video", row.video_job),
                                        ("audio", row.audio_job)) if jid}
    return TaskRecord(id=row.id, filename=row.filename, file=row.file,
                      video=VideoFacts.model_validate(row.video) if row.video else None, jobs=jobs,
                      last_step=row.last_step, outputs=list(row.outputs or []), created_at=row.created_at,
                      updated_at=row.updated_at)


def not_found(task_id: str) -> SensoriumError:
    return SensoriumError(ErrorCode.NOT_FOUND, f"No foley task with id {task_id!r}.")


class TaskStore:
    def __init__(self, db: Database, jobs: JobService, root: Path) -> None:
        self.db, self.jobs, self.root = db, jobs, root

    def folder(self, task_id: str) -> Path:
        return self.root / task_id

    def create(self, task_id: str, filename: str | None, file: str, video: VideoFacts) -> TaskRecord:
        row = FoleyTaskRow(id=task_id, filename=filename, file=file, video=video.model_dump(mode="json"),
                           outputs=[], owner_id=owner_for_new())
        with self.db.session.begin() as s:
            s.add(row)
        return _record(row)

    def get(self, task_id: str) -> TaskRecord:
        """The task; NOT_FOUND when the id is unknown or the task is not visible to the current actor
        (another user's: `store/ownership.py`)."""
        with self.db.session() as s:
            row = s.get(FoleyTaskRow, task_id)
            if row is None or not visible(row.owner_id):
                raise not_found(task_id)
            return _record(row)

    @staticmethod
    def _lock(s: Session, task_id: str) -> FoleyTaskRow:
        """The task's row, locked until the transaction ends. The first statement is an UPDATE: it locks
        the row in PostgreSQL and takes SQLite's write lock (where SELECT ... FOR UPDATE does nothing),
        so concurrent changes of one task, from any process, run one after the other."""
        res = s.execute(update(FoleyTaskRow).where(FoleyTaskRow.id == task_id).values(updated_at=utcnow()))
        if res.rowcount != 1:
            raise not_found(task_id)
        row = s.get(FoleyTaskRow, task_id, with_for_update=True, populate_existing=True)
        assert row is not None
        if not visible(row.owner_id):  # the transaction is rolled back: updated_at is untouched
            raise not_found(task_id)
        return row

    def job(self, job_id: str | None) -> JobRecord | None:
        if not job_id:
            return None
        try:
            return self.jobs.get(job_id)
        except SensoriumError:  # purged after JOB_RETENTION_HOURS
            return None

    def require_detection(self, task: TaskRecord) -> JobRecord:
        """The succeeded detection job, or VALIDATION_ERROR saying what to call first."""
        jid = task.jobs.get("detect")
        if not jid:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, "Footsteps have not been detected for this task: "
                                 "call POST /api/process/{task_id} first.")
        job = self.jobs.get(jid)
        if job.status != "succeeded":
            failed = f" — it failed: {job.error.message if job.error else None}" if job.status == "failed" else ""
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 f"Footstep detection is {job.status} (not done): wait until "
                                 f"GET /api/status/{{task_id}} reports it succeeded{failed}.")
        return job

    def claim_step(self, task_id: str, step: Step, kind: str, params: dict[str, Any], *,
                   needs_detection: bool) -> JobRecord:
        """Queue the step's job unless that step is already queued or running (atomic, see above)."""
        with self.db.session.begin() as s:
            row = self._lock(s, task_id)
            task = _record(row)
            if needs_detection:
                self.require_detection(task)
            current = self.job(task.jobs.get(step))
            if current is not None and current.active:
                raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"The {step} step of this task is already "
                                     f"{current.status} (job {current.id}); wait for it to finish.")
            job = self.jobs.submit(kind, {"task_id": task_id, **params}, session=s)
            setattr(row, f"{step}_job", job.id)
            row.last_step = step
        self.jobs.notify(job.id)
        return job

    def add_outputs(self, task_id: str, *kinds: OutputKind) -> None:
        """Record that these result files are in place (called by the step that wrote them). `outputs` is
        kept in the order the results were last written: the most recent last."""
        with self.db.session.begin() as s:
            row = self._lock(s, task_id)
            row.outputs = [k for k in (row.outputs or []) if k not in kinds] + list(kinds)

    def purge(self, older_than: timedelta) -> int:
        """Delete tasks (rows and folders) untouched for `older_than` with no step queued or running."""
        cutoff = utcnow() - older_than
        with self.db.session() as s:
            rows = s.scalars(select(FoleyTaskRow).where(FoleyTaskRow.updated_at < cutoff)).all()
            stale = [_record(r) for r in rows]
        gone = 0
        for task in stale:
            if any((j := self.job(jid)) is not None and j.active for jid in task.jobs.values()):
                continue
            with self.db.session.begin() as s:
                row = s.get(FoleyTaskRow, task.id)
                if row is not None:
                    s.delete(row)
            shutil.rmtree(self.folder(task.id), ignore_errors=True)
            gone += 1
        return gone
