"""The sound-library workflows (interim: being reshaped into the capability layout)."""

from __future__ import annotations

from sensorium.config import Settings
from sensorium.jobs.service import JobService
from sensorium.models.registry import ModelRegistry
from sensorium.sound.library import KIND, run_index_job
from sensorium.store.vectors import VectorStore
from sensorium.vision.service import VisionService


class SoundService:
    def __init__(self, settings: Settings, registry: ModelRegistry, jobs: JobService, vectors: VectorStore,
                 vision: VisionService) -> None:
        self.settings, self.registry, self.jobs, self.vectors, self.vision = settings, registry, jobs, vectors, vision
        jobs.register(KIND, lambda ctx: run_index_job(ctx, self))
