"""The long-lived objects of a running Sensorium (server, CLI or worker), built once per process.

`build_services` makes the floors (settings, model registry, database, vector store, jobs, limiter)
and then one service per capability, each given exactly what it needs; each capability service
registers its own job kinds. Routes reach them through `api/deps.py`, the CLI through `cli/common.py`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from sensorium import __version__, metrics
from sensorium.accounts.service import AccountService
from sensorium.concurrency import AnalysisLimiter
from sensorium.config import Settings
from sensorium.emotion.service import MODEL_SPECS as EMOTION_MODELS
from sensorium.emotion.service import EmotionService
from sensorium.foley.service import FoleyService
from sensorium.jobs.executor import LocalExecutor
from sensorium.jobs.service import Executor, JobService
from sensorium.models.catalog import build_registry
from sensorium.models.registry import ModelRegistry
from sensorium.music.service import MusicService
from sensorium.sound.service import SoundService
from sensorium.speech.service import SpeechService
from sensorium.store import migrate
from sensorium.store.database import Database
from sensorium.store.vector_backend import open_vector_store
from sensorium.store.vectors import VectorStore
from sensorium.vision.service import VisionService


@dataclass
class Services:
    settings: Settings
    registry: ModelRegistry
    db: Database
    vectors: VectorStore
    jobs: JobService
    limiter: AnalysisLimiter
    speech: SpeechService
    vision: VisionService
    sound: SoundService
    foley: FoleyService
    emotion: EmotionService
    music: MusicService
    accounts: AccountService
    started_at: float = field(default_factory=time.time)
    version: str = __version__
    executor: Executor | None = None

    def start(self, *, run_jobs: bool = True) -> None:
        self.registry.start()
        self.jobs.purge_finished(timedelta(hours=self.settings.job_retention_hours))
        self.foley.purge_tasks(timedelta(hours=self.settings.job_retention_hours))
        if self.settings.broker_url:  # scale-out: Celery workers run the jobs; this process sends them
            from sensorium.jobs.celery_executor import CeleryExecutor

            self.executor = CeleryExecutor(self.settings, self.jobs)
            self.jobs.attach(self.executor)
            if run_jobs:
                self.executor.start(self.jobs)
        elif run_jobs and self.settings.job_workers > 0:
            self.executor = LocalExecutor(self.settings.job_workers)
            self.jobs.attach(self.executor)
            self.executor.start(self.jobs)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.stop()
        self.registry.close()
        self.vectors.close()
        self.db.dispose()


def build_model_registry(settings: Settings) -> ModelRegistry:
    """Every model: the catalog's families plus the models whose loaders are capability code."""
    registry = build_registry(settings)
    for spec in EMOTION_MODELS:
        registry.register(spec)
    return registry


def build_services(settings: Settings) -> Services:
    settings.ensure_dirs()
    registry = build_model_registry(settings)
    registry.on_load.append(lambda name, secs: metrics.MODEL_LOAD_SECONDS.labels(name).observe(secs))
    db = Database(settings.db_url)
    migrate.prepare(db, auto=settings.auto_migrate)
    vectors = open_vector_store(settings)
    jobs = JobService(db, settings.jobs_dir, max_attempts=settings.job_max_attempts)
    limiter = AnalysisLimiter(settings.max_concurrent_requests, settings.queue_timeout_seconds,
                              settings.request_timeout_seconds)
    speech = SpeechService(settings, registry, jobs)
    vision = VisionService(settings, registry, jobs, speech)
    sound = SoundService(settings, registry, jobs, vectors, vision)
    foley = FoleyService(settings, registry, jobs, db)
    emotion = EmotionService(settings, registry, jobs, speech)
    music = MusicService(settings, registry, jobs, vectors, vision, speech, sound)
    accounts = AccountService(settings, db)
    jobs.on_finish.append(accounts.record_job)  # job run time counts on its owner's processing quota
    return Services(settings=settings, registry=registry, db=db, vectors=vectors, jobs=jobs, limiter=limiter,
                    speech=speech, vision=vision, sound=sound, foley=foley, emotion=emotion, music=music,
                    accounts=accounts)
