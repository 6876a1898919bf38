"""Background job kind `analyze.video` (`POST /api/analyze/video` with `async=true`)."""

from __future__ import annotations

import time
from typing import Any

from sensorium.jobs.service import JobContext, JobService
from sensorium.pipelines.video import analyze_video_file, options_from_params

KIND = "analyze.video"


def run_analyze_video(ctx: JobContext) -> dict[str, Any]:
    services = ctx.services
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


def register(jobs: JobService) -> None:
    jobs.register(KIND, run_analyze_video)
