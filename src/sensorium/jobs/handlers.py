"""Job kinds and their handlers: each capability contributes its own."""

from __future__ import annotations

from sensorium.jobs.service import JobService


def register_handlers(jobs: JobService) -> None:
    from sensorium.pipelines import audio_jobs

    audio_jobs.register(jobs)

    from sensorium.pipelines import visual_jobs

    visual_jobs.register(jobs)

    from sensorium.pipelines import sound_library

    sound_library.register(jobs)

    from sensorium.pipelines.foley import jobs as foley_jobs

    foley_jobs.register(jobs)
