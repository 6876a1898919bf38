"""Scale-out: jobs run by Celery workers over Redis (`BROKER_URL`), the same JobService underneath.

The database stays the source of truth: a Celery message only carries a job id. A worker claims the
job with the same atomic `UPDATE ... WHERE status='queued'` as the embedded executor, so a message
delivered twice runs the job once. Messages are acknowledged after the job ends (`acks_late`); a
worker process killed mid-job gives its message back (`reject_on_worker_lost`), and a whole worker
that disappears lets Redis redeliver after `CELERY_VISIBILITY_TIMEOUT`. The redelivered job is still
`running` in the database under the dead worker's name: `JobService.recover()` requeues it (the
worker's pid is gone on this host, or its heartbeat is older than STALE_AFTER elsewhere), then it is
claimed again. Heavy kinds (video, foley, music video, emotion) go to the `heavy` queue.

API side: `CeleryExecutor` sends the ids and every HEARTBEAT_SECONDS requeues abandoned jobs and
re-sends jobs queued for longer than RESEND_AFTER. Worker side: `sensorium worker` runs
`celery_app(settings).worker_main(...)`; each worker process builds its Services once, lazily.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sensorium.config import Settings
from sensorium.jobs.service import HEARTBEAT_SECONDS, JobService

log = logging.getLogger(__name__)
TASK = "sensorium.run_job"
HEAVY_PREFIXES = ("analyze.video", "foley.", "music.video", "music.preview", "analyze.sentiment")
QUEUES = ("default", "heavy")
RESEND_AFTER = timedelta(seconds=30)


def queue_for(kind: str) -> str:
    return "heavy" if kind.startswith(HEAVY_PREFIXES) else "default"


def celery_app(settings: Settings, worker_jobs: Callable[[], JobService] | None = None) -> Any:
    """The Celery app for `settings.broker_url`; with `worker_jobs`, it also runs jobs (worker side)."""
    from celery import Celery

    app = Celery("sensorium", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue="default", broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.celery_visibility_timeout},
        task_ignore_result=True, worker_hijack_root_logger=False,
    )
    if worker_jobs is not None:
        @app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)
        def run_job(job_id: str) -> str:
            jobs = worker_jobs()
            if not jobs.claim(job_id):
                jobs.recover()  # left `running` by a worker that died? requeue it, then take it
                if not jobs.claim(job_id):
                    return "not claimed (done, cancelled, or running elsewhere)"
            jobs.run(job_id)
            return "ran"
    return app


class CeleryExecutor:
    """API side: sends job ids to the workers' queues; requeues abandoned jobs, re-sends lost ones."""

    def __init__(self, settings: Settings, service: JobService) -> None:
        self.app = celery_app(settings)
        self.service = service
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, service: JobService) -> None:
        """Start the sweeper (the server does; worker processes only send)."""
        self.service = service
        self._thread = threading.Thread(target=self._sweep_loop, name="job-sweeper", daemon=True)
        self._thread.start()

    def notify(self, job_id: str) -> None:
        self._send(job_id, self.service.get(job_id).kind)

    def _send(self, job_id: str, kind: str) -> None:
        try:
            self.app.send_task(TASK, args=[job_id], queue=queue_for(kind))
        except Exception as exc:  # broker down: the sweeper re-sends once it is back
            log.warning("could not send job %s to the broker: %s", job_id, exc)

    def sweep(self) -> int:
        """Requeue abandoned jobs and re-send the ones waiting too long; returns how many were sent."""
        self.service.recover()
        waiting = self.service.queued_before(RESEND_AFTER)
        for job_id, kind in waiting:
            self._send(job_id, kind)
            self.service.touch(job_id)
        return len(waiting)

    def _sweep_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.sweep()
            except Exception:  # pragma: no cover - database hiccup
                log.exception("job sweep failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
