"""Health, info, models and Prometheus metrics."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from sensorium import metrics
from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import Envelope, ok
from sensorium.media.sniff import SUPPORTED
from sensorium.models.schemas import ModelStatus
from sensorium.services import Services

router = APIRouter(tags=["system"])


class ModelSets(BaseModel):
    loaded: list[str] = Field(..., description="Models loaded in this process now.")
    available: list[str] = Field(..., description="Models whose weights are on this machine.")
    unavailable: list[str] = Field(..., description="Models whose weights are missing (see `/api/models`).")


class QueueDepth(BaseModel):
    queued: int = Field(..., description="Jobs waiting for a worker.")
    running: int = Field(..., description="Jobs running now.")


class AnalysisSlots(BaseModel):
    running: int = Field(..., description="Synchronous analyses running now.")
    waiting: int = Field(..., description="Requests waiting for a slot.")
    max_concurrent: int = Field(..., description="MAX_CONCURRENT_REQUESTS.")


class Health(BaseModel):
    status: str = Field(..., description="`ok`, or `degraded` when some model's weights are missing.")
    version: str
    uptime_seconds: float
    models: ModelSets
    fix: list[str] = Field(default_factory=list, description="What to run or install to get each missing "
                           "(non-optional) model, e.g. `sensorium models pull yolox-nano`.")
    queue: QueueDepth
    analyses: AnalysisSlots


class Capability(BaseModel):
    name: str
    endpoints: list[str]


class VisionEndpoint(BaseModel):
    configured: bool = Field(..., description="LLM_BASE_URL and LLM_MODEL are set.")
    model: str | None = Field(None, description="LLM_MODEL, when configured.")


class Info(BaseModel):
    version: str
    capabilities: list[Capability]
    models: list[ModelStatus]
    limits: dict[str, int | float] = Field(..., description="Upload and processing limits in force "
                                          "(MB, pixels, seconds).")
    supported_formats: dict[str, list[str]] = Field(..., description="Formats accepted per media kind.")
    vision_endpoint: VisionEndpoint


def health_report(services: Services) -> dict[str, Any]:
    statuses = [services.registry.status(s.name) for s in services.registry.specs()]
    loaded = [s["name"] for s in statuses if s["loaded"]]
    available = [s["name"] for s in statuses if s["available"]]
    missing = [s["name"] for s in statuses if not s["available"]]
    needed = [n for n in missing if not services.registry.spec(n).optional]  # not the pulled-on-request ones
    metrics.MODELS_LOADED.set(len(loaded))
    return {
        "status": "ok" if not needed else "degraded",
        "version": services.version,
        "uptime_seconds": round(time.time() - services.started_at, 1),
        "models": {"loaded": loaded, "available": available, "unavailable": missing},
        "fix": [s["install_hint"] for s in statuses if s["name"] in needed and s["install_hint"]],
        "queue": services.jobs.queue_depth(),
        "analyses": {
            "running": services.limiter.running,
            "waiting": services.limiter.waiting,
            "max_concurrent": services.limiter.max_concurrent,
        },
    }


@router.get(
    "/api/health",
    summary="Service health",
    description="Status (`ok`, or `degraded` when some model's weights are missing), version, uptime, "
    "models loaded now and available on disk, job queue depth and analysis slots in use. Cheap: "
    "it never loads a model.",
    response_model=Envelope[Health],
)
def health(services: ServicesDep) -> dict[str, Any]:
    t0 = time.perf_counter()
    report = health_report(services)
    return ok("health", report, processing_time_ms=round((time.perf_counter() - t0) * 1000, 2), model=None)


def _capabilities(services: Services) -> list[dict[str, Any]]:
    from sensorium.api.routes import MODULES

    caps = [{"name": "audio_analysis", "endpoints": ["POST /api/analyze/audio",
                                                      "POST /api/analyze/audio/detect-language",
                                                      "POST /v1/audio/transcriptions"]}]
    extra = {
        "visual": {"name": "visual_analysis", "endpoints": ["POST /api/analyze/image", "POST /api/analyze/video",
                                                             "POST /api/analyze/batch"]},
        "sound": {"name": "sound_search", "endpoints": ["POST /api/sound/search", "POST /process_frames",
                                                        "POST /api/library/sounds/index"]},
        "foley": {"name": "foley", "endpoints": ["POST /api/upload-video", "POST /api/process/{task_id}"]},
    }
    caps += [extra[m] for m in MODULES if m in extra]
    return caps


@router.get(
    "/api/info",
    summary="Version, capabilities, models, limits, formats",
    description="What this server can do: its capabilities and endpoints, every model with its source, "
    "licence and state, the upload limits in force and the supported formats.",
    response_model=Envelope[Info],
)
def info(services: ServicesDep) -> dict[str, Any]:
    s = services.settings
    result = {
        "version": services.version,
        "capabilities": _capabilities(services),
        "models": [services.registry.status(spec.name) for spec in services.registry.specs()],
        "limits": {
            "max_upload_size_mb": s.max_upload_size_mb,
            "max_image_size_mb": min(s.max_image_size_mb, s.max_upload_size_mb),
            "max_video_size_mb": min(s.max_video_size_mb, s.max_upload_size_mb),
            "max_audio_size_mb": min(s.max_audio_size_mb, s.max_upload_size_mb),
            "max_request_size_mb": s.max_request_size_mb,
            "max_image_pixels": s.max_image_pixels,
            "max_media_duration_seconds": s.max_media_duration_seconds,
            "max_concurrent_requests": s.max_concurrent_requests,
            "queue_timeout_seconds": s.queue_timeout_seconds,
            "request_timeout_seconds": s.request_timeout_seconds,
        },
        "supported_formats": {k: list(v) for k, v in SUPPORTED.items()},
        "vision_endpoint": {"configured": s.llm_configured, "model": s.llm_model} if s.llm_configured
        else {"configured": False},
    }
    return ok("info", result, processing_time_ms=0.0, model=None)


@router.get(
    "/api/models",
    summary="Models and their state",
    description="Each model: task, licence, where its weights come from, available or not (and what to "
    "install when not), loaded or not, last load time.",
    response_model=Envelope[list[ModelStatus]],
)
def models(services: ServicesDep) -> dict[str, Any]:
    return ok("models", [services.registry.status(spec.name) for spec in services.registry.specs()],
              processing_time_ms=0.0, model=None)


class _JobWatermark:
    """The newest `finished_at` already counted in `sensorium_job_seconds` (per Services)."""

    def __init__(self, services: Services) -> None:
        self.after = datetime.fromtimestamp(services.started_at, UTC).replace(tzinfo=None)
        self.lock = threading.Lock()


def refresh_metrics(services: Services) -> None:
    """Scrape-time values from the database and the registry (see metrics.py)."""
    from sensorium.jobs.celery_executor import QUEUES, queue_for

    depth = {(q, st): 0 for q in QUEUES for st in ("queued", "running")}
    for (kind, status), n in services.jobs.depth_by_kind().items():
        depth[(queue_for(kind), status)] += n
    for (queue, status), n in depth.items():
        metrics.JOBS.labels(queue, status).set(n)
    mark = services.__dict__.setdefault("_job_watermark", _JobWatermark(services))
    with mark.lock:  # two scrapes at once must not count a job twice
        for kind, status, seconds, finished in services.jobs.finished_since(mark.after):
            metrics.JOB_SECONDS.labels(kind, status).observe(seconds)
            mark.after = max(mark.after, finished.replace(tzinfo=None))
    loaded = set(services.registry.loaded_names())
    for spec in services.registry.specs():
        metrics.MODEL_LOADED.labels(spec.name).set(1 if spec.name in loaded else 0)
    metrics.MODELS_LOADED.set(len(loaded))


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Requests (`sensorium_http_requests_total`, `sensorium_http_request_seconds` by method, route "
    "and status), analyses running and waiting, uploads cut off, model load times (`sensorium_model_load_"
    "seconds`) and loaded models (`sensorium_model_loaded`), jobs queued/running per queue (`sensorium_jobs`) "
    "and job run times by kind and final status (`sensorium_job_seconds`), the last two read from the "
    "database so that Celery workers' jobs count too.",
    response_class=Response,
    responses={200: {"description": "Prometheus text format.", "content": {CONTENT_TYPE_LATEST: {}}}},
)
def prometheus(services: ServicesDep) -> Response:
    refresh_metrics(services)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
