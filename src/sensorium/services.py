"""The long-lived objects of a running Sensorium (server, CLI or worker), built once.

Routes get them through `api/deps.py`; job handlers through `JobContext.services`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from sensorium import __version__, metrics
from sensorium.concurrency import AnalysisLimiter
from sensorium.config import Settings
from sensorium.jobs.service import JobService, LocalExecutor
from sensorium.models.catalog import build_registry
from sensorium.models.registry import ModelRegistry
from sensorium.store.database import Database


@dataclass
class Services:
    settings: Settings
    registry: ModelRegistry
    db: Database
    jobs: JobService
    limiter: AnalysisLimiter
    started_at: float = field(default_factory=time.time)
    version: str = __version__
    executor: LocalExecutor | None = None

    def start(self, *, run_jobs: bool = True) -> None:
        self.registry.start()
        self.jobs.purge_finished(timedelta(hours=self.settings.job_retention_hours))
        if run_jobs and self.settings.job_workers > 0:
            self.executor = LocalExecutor(self.settings.job_workers)
            self.jobs.attach(self.executor, self)
            self.executor.start(self.jobs)
        else:
            self.jobs.services = self

    def close(self) -> None:
        if self.executor is not None:
            self.executor.stop()
        self.registry.close()
        self.db.dispose()


def build_services(settings: Settings) -> Services:
    from sensorium.jobs.handlers import register_handlers

    settings.ensure_dirs()
    registry = build_registry(settings)
    registry.on_load.append(lambda name, secs: metrics.MODEL_LOAD_SECONDS.labels(name).observe(secs))
    db = Database(settings.db_url)
    db.create_all()
    jobs = JobService(db, settings.jobs_dir, max_attempts=settings.job_max_attempts)
    register_handlers(jobs)
    limiter = AnalysisLimiter(settings.max_concurrent_requests, settings.queue_timeout_seconds,
                              settings.request_timeout_seconds)
    services = Services(settings=settings, registry=registry, db=db, jobs=jobs, limiter=limiter)
    jobs.services = services
    return services
