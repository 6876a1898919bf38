"""Background job kind `analyze.video` (`POST /api/analyze/video` with `async=true`)."""

from __future__ import annotations

import time
from typing import Any

from sensorium.config import Settings
from sensorium.jobs.service import JobContext, JobService
from sensorium.models.registry import ModelRegistry
from sensorium.speech.service import SpeechService
from sensorium.vision.video import analyze_video_file, options_from_params

KIND = "analyze.video"


def run_analyze_video(ctx: JobContext, services: VisionService) -> dict[str, Any]:
    path = ctx.workdir / ctx.params["file"]
    opts = options_from_params(ctx.params["options"])
    ctx.progress(1, "decoding video")
    t0 = time.perf_counter()

    def progress(fraction: float) -> None:
        stage = "sampling frames" if fraction < 0.15 else "analyzing frames" if fraction < 0.8 else "analyzing audio"
        ctx.progress(100 * fraction, stage)

    result = analyze_video_file(path, services.registry, services.settings, opts, progress=progress, check=ctx.check)
    return {
        "type": "video_analysis",
        "result": result,
        "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                     "model": ", ".join(result.get("models") or []), "filename": ctx.params.get("filename")},
    }


class VisionService:
    """Image, video and batch analysis (interim: being reshaped into the capability layout)."""

    def __init__(self, settings: Settings, registry: ModelRegistry, jobs: JobService, speech: SpeechService) -> None:
        self.settings, self.registry, self.jobs, self.speech = settings, registry, jobs, speech
        jobs.register(KIND, lambda ctx: run_analyze_video(ctx, self))
