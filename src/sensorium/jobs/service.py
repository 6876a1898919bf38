"""Durable background jobs.

A job is a row in the `jobs` table (queued -> running -> succeeded | failed | cancelled) plus a
folder `DATA_DIR/jobs/{id}/` for its inputs and outputs. Work is done by a *handler* registered
for the job's kind: ``handler(ctx) -> dict`` (the JSON result). Handlers report progress through
``ctx.progress(pct, stage)`` and call ``ctx.check()`` between steps so cancellation is honoured.

Handlers are registered by the capability services (each owns its kinds); this package knows no
capability. Execution is behind `Executor` (`jobs/executor.py`): `LocalExecutor` runs jobs on threads
in this process; a Celery executor only has to call `JobService.run(job_id)` in its worker.
Jobs survive restarts: at start, a job left `running` by a dead process is queued again (while
attempts remain) or failed with the reason; `queued` jobs are simply picked up.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sensorium.errors import ErrorCode, SensoriumError, storage_full
from sensorium.jobs.schemas import JobError, JobRecord
from sensorium.store.database import Database, JobRow, utcnow
from sensorium.store.ownership import owner_for_new, restricted_to, visible

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL = {"succeeded", "failed", "cancelled"}
HEARTBEAT_SECONDS = 5.0
STALE_AFTER = timedelta(seconds=60)


class JobCancelled(Exception):
    pass


@dataclass
class JobContext:
    job_id: str
    kind: str
    params: dict[str, Any]
    workdir: Path
    service: JobService
    _last_write: float = 0.0
    _last_stage: str = ""

    def progress(self, pct: float, stage: str | None = None) -> None:
        """Record progress (0-100) and a stage label; writes are throttled to ~4/s."""
        now = time.monotonic()
        stage = stage or self._last_stage
        if stage == self._last_stage and now - self._last_write < 0.25 and pct < 100:
            return
        self._last_write, self._last_stage = now, stage
        self.service._set_progress(self.job_id, max(0.0, min(100.0, float(pct))), stage)

    def cancelled(self) -> bool:
        return self.service._cancel_requested(self.job_id)

    def check(self) -> None:
        if self.cancelled():
            raise JobCancelled()

Handler = Callable[[JobContext], dict[str, Any]]
#: called when a job ends: (its record, seconds it ran); e.g. accounts add them to the owner's usage
FinishHook = Callable[[JobRecord, float], None]


class Executor(Protocol):
    def start(self, service: JobService) -> None: ...
    def notify(self, job_id: str) -> None: ...
    def stop(self) -> None: ...


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


class JobService:
    def __init__(self, db: Database, jobs_dir: Path, *, max_attempts: int = 2) -> None:
        self.db = db
        self.jobs_dir = jobs_dir
        self.max_attempts = max_attempts
        self.handlers: dict[str, Handler] = {}
        self.executor: Executor | None = None
        self.worker = _worker_id()
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self.on_finish: list[FinishHook] = []

    # -- declaration ---------------------------------------------------------------
    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def attach(self, executor: Executor) -> None:
        self.executor = executor

    def workdir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    # -- API side --------------------------------------------------------------------
    def new_id(self) -> str:
        return uuid.uuid4().hex

    def submit(self, kind: str, params: dict[str, Any], *, job_id: str | None = None,
               session: Session | None = None, owner_id: str | None = None) -> JobRecord:
        """Queue a job. Put its input files in `workdir(job_id)` first (use `new_id()`).

        With `session`, the job joins the caller's open transaction (atomic with the caller's own
        writes, e.g. a check-then-submit): it exists once that commits; then call `notify(job.id)`.
        `owner_id`: the user it belongs to; by default the user the current request acts for
        (`store/ownership.py`), None (the local user) outside requests or with AUTH_MODE=off."""
        if kind not in self.handlers:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Unknown job kind {kind!r}.")
        job_id = job_id or self.new_id()
        self.workdir(job_id).mkdir(parents=True, exist_ok=True)
        row = JobRow(id=job_id, kind=kind, status="queued", progress=0.0, stage="queued",
                     params=params, attempts=0, owner_id=owner_id or owner_for_new())
        if session is not None:
            session.add(row)
            session.flush()
            return self._record(row)
        with self.db.session.begin() as s:
            s.add(row)
        self.notify(job_id)
        return self._record(row)

    def notify(self, job_id: str) -> None:
        """Wake the executor for a queued job (after the transaction that queued it committed)."""
        if self.executor is not None:
            self.executor.notify(job_id)

    def submit_file(self, kind: str, path: Path, params: dict[str, Any]) -> JobRecord:
        """Queue a job whose input is the file at `path`: it is moved into the job's folder first and
        its name is given to the handler as `params["file"]`."""
        job_id = self.new_id()
        workdir = self.workdir(job_id)
        workdir.mkdir(parents=True, exist_ok=True)
        target = workdir / path.name
        shutil.move(str(path), target)
        return self.submit(kind, {**params, "file": target.name}, job_id=job_id)

    def get(self, job_id: str) -> JobRecord:
        """The job; NOT_FOUND when unknown or not visible to the current actor (`store/ownership.py`)."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None or not visible(row.owner_id):
                raise SensoriumError(ErrorCode.NOT_FOUND, f"No job with id {job_id!r}.")
            return self._record(row)

    def list(self, *, status: str | None = None, kind: str | None = None,
             limit: int = 50, offset: int = 0) -> tuple[list[JobRecord], int]:
        from sqlalchemy import func

        q = select(JobRow)
        cq = select(func.count()).select_from(JobRow)
        if status:
            q, cq = q.where(JobRow.status == status), cq.where(JobRow.status == status)
        if kind:
            q, cq = q.where(JobRow.kind == kind), cq.where(JobRow.kind == kind)
        if (only := restricted_to()) is not None:
            q, cq = q.where(JobRow.owner_id == only), cq.where(JobRow.owner_id == only)
        q = q.order_by(JobRow.created_at.desc()).limit(limit).offset(offset)
        with self.db.session() as s:
            rows = s.scalars(q).all()
            total = s.scalar(cq) or 0
            return [self._record(r) for r in rows], int(total)

    def queue_depth(self) -> dict[str, int]:
        from sqlalchemy import func

        with self.db.session() as s:
            rows = s.execute(
                select(JobRow.status, func.count()).where(JobRow.status.in_(("queued", "running")))
                .group_by(JobRow.status)
            ).all()
        depth = {"queued": 0, "running": 0}
        depth.update({k: int(v) for k, v in rows})
        return depth

    def depth_by_kind(self) -> dict[tuple[str, str], int]:
        """{(kind, status): count} of the queued and running jobs."""
        from sqlalchemy import func

        with self.db.session() as s:
            rows = s.execute(
                select(JobRow.kind, JobRow.status, func.count()).where(JobRow.status.in_(("queued", "running")))
                .group_by(JobRow.kind, JobRow.status)
            ).all()
        return {(kind, status): int(n) for kind, status, n in rows}

    def finished_since(self, after: datetime, limit: int = 10_000) -> list[tuple[str, str, float, datetime]]:
        """(kind, status, run seconds, finished_at) of the jobs that ended after `after`, oldest first."""
        with self.db.session() as s:
            rows = s.execute(
                select(JobRow.kind, JobRow.status, JobRow.started_at, JobRow.finished_at)
                .where(JobRow.finished_at > after).order_by(JobRow.finished_at).limit(limit)
            ).all()
        return [(kind, status, (end - start).total_seconds() if start and end else 0.0, end)
                for kind, status, start, end in rows]

    def cancel(self, job_id: str) -> JobRecord:
        """Queued: cancelled at once. Running: asked to stop at its next check. Finished: unchanged."""
        with self.db.session.begin() as s:
            row = s.get(JobRow, job_id, with_for_update=True)
            if row is None or not visible(row.owner_id):
                raise SensoriumError(ErrorCode.NOT_FOUND, f"No job with id {job_id!r}.")
            if row.status == "queued":
                row.status, row.stage, row.finished_at = "cancelled", "cancelled", utcnow()
            elif row.status == "running":
                row.cancel_requested = 1
                row.stage = "cancelling"
            return self._record(row)

    def delete_files(self, job_id: str) -> None:
        shutil.rmtree(self.workdir(job_id), ignore_errors=True)

    # -- worker side -------------------------------------------------------------------
    def claim_next(self) -> str | None:
        """Atomically take the oldest queued job (safe across threads and processes)."""
        with self.db.session() as s:
            ids = s.scalars(
                select(JobRow.id).where(JobRow.status == "queued").order_by(JobRow.created_at).limit(5)
            ).all()
        for job_id in ids:
            if self.claim(job_id):
                return job_id
        return None

    def claim(self, job_id: str) -> bool:
        now = utcnow()
        with self._lock:  # mark it ours first, so recover() never takes it back mid-claim
            self._running.add(job_id)
        with self.db.session.begin() as s:
            res = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "queued")
                .values(status="running", worker=self.worker, started_at=now, heartbeat_at=now,
                        attempts=JobRow.attempts + 1, stage="starting")
            )
            claimed = res.rowcount == 1
        if not claimed:
            with self._lock:
                self._running.discard(job_id)
        return claimed

    def run(self, job_id: str) -> None:
        """Run a claimed job to its end state. Never raises."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                return
            kind, params = row.kind, dict(row.params or {})
        handler = self.handlers.get(kind)
        ctx = JobContext(job_id, kind, params, self.workdir(job_id), self)
        with self._lock:
            self._running.add(job_id)
        try:
            if handler is None:
                raise SensoriumError(ErrorCode.PROCESSING_FAILED, f"No handler for job kind {kind!r}.")
            ctx.workdir.mkdir(parents=True, exist_ok=True)
            result = handler(ctx)
            self._finish(job_id, "succeeded", result=result)
        except JobCancelled:
            self._finish(job_id, "cancelled")
        except SensoriumError as exc:
            self._finish(job_id, "failed", code=exc.code.value, message=exc.message)
        except MemoryError:
            self._finish(job_id, "failed", code="OUT_OF_MEMORY", message="The job ran out of memory.")
        except Exception as exc:  # a full disk, a bug or an unexpected input: record it, keep the worker alive
            log.exception("job %s (%s) failed", job_id, kind)
            full = storage_full(exc)
            try:
                self._finish(job_id, "failed", code=full.code.value if full else "PROCESSING_FAILED",
                             message=full.message if full else f"{type(exc).__name__}: {exc}")
            except Exception:  # the database itself cannot be written (full): the restart recovery requeues it
                log.exception("job %s: could not record its failure", job_id)
        finally:
            with self._lock:
                self._running.discard(job_id)

    def _finish(self, job_id: str, status: str, *, result: dict | None = None,
                code: str | None = None, message: str | None = None) -> None:
        with self.db.session.begin() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                return
            row.status, row.finished_at = status, utcnow()
            row.stage = {"succeeded": "done", "cancelled": "cancelled"}.get(status, "failed")
            if status == "succeeded":
                row.progress, row.result = 100.0, result
            row.error_code, row.error_message = code, message
            started = row.started_at
            if started is not None and started.tzinfo is None:
                started = started.replace(tzinfo=row.finished_at.tzinfo)
            seconds = (row.finished_at - started).total_seconds() if started else 0.0
            record = self._record(row)
        log.info("job %s %s%s", job_id, status, f": {code} {message}" if code else "")
        for hook in self.on_finish:
            try:
                hook(record, seconds)
            except Exception:  # a hook never changes how a job ended
                log.exception("job %s: finish hook failed", job_id)

    def _set_progress(self, job_id: str, pct: float, stage: str) -> None:
        with self.db.session.begin() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == "running")
                      .values(progress=pct, stage=stage[:200], heartbeat_at=utcnow()))

    def _cancel_requested(self, job_id: str) -> bool:
        with self.db.session() as s:
            return bool(s.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

    def heartbeat(self) -> None:
        with self._lock:
            ids = list(self._running)
        if ids:
            with self.db.session.begin() as s:
                s.execute(update(JobRow).where(JobRow.id.in_(ids)).values(heartbeat_at=utcnow()))

    def recover(self) -> dict[str, int]:
        """Requeue or fail jobs left running by a process that is gone. Returns counts."""
        host = socket.gethostname()
        now = utcnow()
        counts = {"requeued": 0, "failed": 0}
        with self.db.session.begin() as s:
            rows = s.scalars(select(JobRow).where(JobRow.status == "running")).all()
            for row in rows:
                w_host, _, w_pid = (row.worker or "").rpartition(":")
                beat = row.heartbeat_at
                if beat is not None and beat.tzinfo is None:
                    beat = beat.replace(tzinfo=now.tzinfo)
                if row.worker == self.worker and row.id in self._running:
                    continue
                dead = (w_host == host and w_pid.isdigit() and not _pid_alive(int(w_pid))) \
                    or (w_host == host and row.worker == self.worker) \
                    or beat is None or now - beat > STALE_AFTER
                if not dead:
                    continue
                if row.attempts < self.max_attempts:
                    row.status, row.stage, row.progress = "queued", "requeued after restart", 0.0
                    row.cancel_requested = 0
                    counts["requeued"] += 1
                else:
                    row.status, row.finished_at = "failed", now
                    row.stage = "failed"
                    row.error_code = "PROCESSING_FAILED"
                    row.error_message = (f"Interrupted by a server restart {row.attempts} time(s); "
                                         f"gave up after {self.max_attempts} attempts.")
                    counts["failed"] += 1
        if counts["requeued"] or counts["failed"]:
            log.warning("job recovery: %s", counts)
        return counts

    def queued_before(self, age: timedelta) -> list[tuple[str, str]]:
        """(id, kind) of jobs queued for longer than `age` (their wake-up may have been lost)."""
        cutoff = utcnow() - age
        with self.db.session() as s:
            rows = s.execute(select(JobRow.id, JobRow.kind).where(JobRow.status == "queued",
                                                                  JobRow.updated_at < cutoff)).all()
        return [(r[0], r[1]) for r in rows]

    def touch(self, job_id: str) -> None:
        """Mark a queued job as just handled (its wake-up was re-sent)."""
        with self.db.session.begin() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id).values(updated_at=utcnow()))

    def purge_finished(self, older_than: timedelta) -> int:
        cutoff = utcnow() - older_than
        with self.db.session.begin() as s:
            rows = s.scalars(select(JobRow).where(JobRow.status.in_(TERMINAL),
                                                  JobRow.finished_at < cutoff)).all()
            for row in rows:
                self.delete_files(row.id)
                s.delete(row)
            return len(rows)

    @staticmethod
    def _record(row: JobRow) -> JobRecord:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return JobRecord(
            id=row.id, kind=row.kind, status=row.status, progress=round(float(row.progress or 0.0), 1),
            stage=row.stage, params=row.params or {}, result=row.result,
            error=JobError(code=row.error_code, message=row.error_message) if row.error_code else None,
            attempts=row.attempts or 0, owner_id=row.owner_id, created_at=iso(row.created_at),
            started_at=iso(row.started_at),
            finished_at=iso(row.finished_at), updated_at=iso(row.updated_at),
        )
