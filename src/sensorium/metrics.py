"""Prometheus metrics (served at /metrics).

Counted as they happen: requests, upload rejections, analysis slots, model loads. Read from the database
at scrape time (`api/routes/system.refresh_metrics`), so that the API shows what Celery workers in other
processes did too: jobs queued/running per queue, job run times by kind and final status, models loaded.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("sensorium_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "sensorium_http_request_seconds", "HTTP request latency", ["method", "route", "status"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
UPLOAD_REJECTED = Counter("sensorium_uploads_rejected_total", "Request bodies cut off at the size limit")
ANALYSES_RUNNING = Gauge("sensorium_analyses_running", "Analyses running now")
ANALYSES_WAITING = Gauge("sensorium_analyses_waiting", "Requests waiting for an analysis slot")
MODEL_LOAD_SECONDS = Histogram("sensorium_model_load_seconds", "Model load time", ["model"],
                               buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60))
MODELS_LOADED = Gauge("sensorium_models_loaded", "Models loaded in this process now")
MODEL_LOADED = Gauge("sensorium_model_loaded", "1 while the model is loaded in this process", ["model"])
JOBS = Gauge("sensorium_jobs", "Jobs queued or running now, per queue (from the database at scrape time)",
             ["queue", "status"])
JOB_SECONDS = Histogram(
    "sensorium_job_seconds", "Job run time, start to end, by kind and final status (jobs that ended "
    "since this process started, wherever they ran)", ["kind", "status"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route, str(status)).observe(seconds)
