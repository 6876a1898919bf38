"""Prometheus metrics (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("sensorium_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "sensorium_http_request_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
UPLOAD_REJECTED = Counter("sensorium_uploads_rejected_total", "Request bodies cut off at the size limit")
ANALYSES_RUNNING = Gauge("sensorium_analyses_running", "Analyses running now")
ANALYSES_WAITING = Gauge("sensorium_analyses_waiting", "Requests waiting for an analysis slot")
MODEL_LOAD_SECONDS = Histogram("sensorium_model_load_seconds", "Model load time", ["model"],
                               buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60))
MODELS_LOADED = Gauge("sensorium_models_loaded", "Models loaded now")


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
