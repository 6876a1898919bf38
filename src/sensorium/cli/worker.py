"""`sensorium worker [--queues default,heavy] [--concurrency N]`: a Celery worker for BROKER_URL.

Each worker process builds the same Services as the server (once, on its first job), with no local
job threads; a heartbeat thread keeps the `heartbeat_at` of its running jobs fresh so that other
processes never mistake them for abandoned ones. See jobs/celery_executor.py for the delivery rules.
"""

from __future__ import annotations

import os
import threading
from typing import Annotated

import typer

from sensorium.cli.common import console
from sensorium.config import Settings
from sensorium.jobs.celery_executor import QUEUES, celery_app
from sensorium.jobs.service import HEARTBEAT_SECONDS, JobService
from sensorium.services import Services, build_services


class WorkerProcess:
    """The services of one worker process, built on first use (after the pool forked)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._services: Services | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def jobs(self) -> JobService:
        with self._lock:
            if self._services is None or self._pid != os.getpid():
                self._services = build_services(self.settings)
                self._services.start(run_jobs=False)
                self._pid = os.getpid()
                threading.Thread(target=self._beat, args=(self._services.jobs,), name="job-heartbeat",
                                 daemon=True).start()
            return self._services.jobs

    @staticmethod
    def _beat(jobs: JobService) -> None:
        stop = threading.Event()
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                jobs.heartbeat()
            except Exception:  # pragma: no cover - database hiccup; the next beat retries
                pass


def worker(
    queues: Annotated[str, typer.Option(help=f"Comma-separated queues to take jobs from ({', '.join(QUEUES)}).")]
    = ",".join(QUEUES),
    concurrency: Annotated[int, typer.Option(min=1, help="Worker processes (each loads its own models).")] = 1,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run jobs from BROKER_URL's queues (the scale-out mode; the server must use the same settings)."""
    settings = Settings()
    if not settings.broker_url:
        console.print("[red]BROKER_URL is not set[/red]: set it (e.g. redis://127.0.0.1:6379/0) on the server "
                      "and the workers.")
        raise typer.Exit(2)
    from sensorium.logs import setup_logging

    setup_logging(loglevel if loglevel in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO", settings.log_dir)
    process = WorkerProcess(settings)
    app = celery_app(settings, worker_jobs=process.jobs)
    app.worker_main(["worker", f"--queues={queues}", f"--concurrency={concurrency}", f"--loglevel={loglevel}",
                     "--pool=prefork", "--without-gossip", "--without-mingle"])
