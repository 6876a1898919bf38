"""Background job kind `analyze.audio` (long recordings: `async=true`)."""

from __future__ import annotations

import time
from typing import Any

from sensorium.jobs.service import JobContext, JobService
from sensorium.pipelines.audio import analyze_audio_file, options_from_params

KIND = "analyze.audio"


def run_analyze_audio(ctx: JobContext) -> dict[str, Any]:
    services = ctx.services
    path = ctx.workdir / ctx.params["file"]
    opts = options_from_params(ctx.params["options"])
    ctx.progress(1, "decoding audio")
    t0 = time.perf_counter()
    result = analyze_audio_file(
        path, services.registry, services.settings, opts,
        progress=lambda f: ctx.progress(100 * f, "transcribing"), check=ctx.check,
    )
    return {
        "type": "audio_analysis",
        "result": result,
        "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                     "model": result["model"], "filename": ctx.params.get("filename")},
    }


def register(jobs: JobService) -> None:
    jobs.register(KIND, run_analyze_audio)
