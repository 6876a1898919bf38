"""Job kinds and their handlers: each capability contributes its own."""

from __future__ import annotations

from sensorium.jobs.service import JobService


def register_handlers(jobs: JobService) -> None:
    from sensorium.pipelines import audio_jobs

    audio_jobs.register(jobs)
