"""/metrics after real work: request counts and latency by route and status, job run times by kind and
final status, jobs queued per queue, model load times and loaded models, read back from the text format."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from sensorium.api.app import create_app
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.services import build_services
from testkit.settings import make_settings
from tests.helpers import wait_job


def scrape(client: TestClient) -> dict[tuple[str, frozenset], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return values


def value(values: dict, name: str, **labels: str) -> float:
    return values.get((name, frozenset(labels.items())), 0.0)


def _photo() -> bytes:
    arr = np.full((240, 320, 3), 200, np.uint8)
    arr[60:180, 100:220] = (30, 120, 220)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG")
    return buf.getvalue()


def test_requests_jobs_and_models_are_counted(client: TestClient, shared_models: Path) -> None:
    jobs = client.app.state.services.jobs

    def fails(ctx):
        time.sleep(0.2)
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "on purpose")

    jobs.register("test.metrics.fail", fails)
    before = scrape(client)
    assert client.post("/api/analyze/image", files={"image": ("p.jpg", _photo())}).status_code == 200
    assert client.post("/api/analyze/image", files={"image": ("p.txt", b"plain text")}).status_code == 415
    r = client.post("/api/analyze/sentiment", data={"text": "What a lovely day! I am so happy.", "async": "true"})
    assert r.status_code == 202
    assert wait_job(client, r.json()["data"]["result"]["job_id"])["status"] == "succeeded"
    failed = jobs.submit("test.metrics.fail", {})
    assert wait_job(client, failed.id)["status"] == "failed"
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    image = {"method": "POST", "route": "/api/analyze/image"}
    assert delta("sensorium_http_requests_total", **image, status="200") == 1
    assert delta("sensorium_http_requests_total", **image, status="415") == 1
    assert delta("sensorium_http_request_seconds_count", **image, status="200") == 1
    assert delta("sensorium_http_request_seconds_sum", **image, status="200") > 0
    assert delta("sensorium_http_request_seconds_bucket", **image, status="200", le="+Inf") == 1
    assert delta("sensorium_job_seconds_count", kind="analyze.sentiment", status="succeeded") == 1
    assert delta("sensorium_job_seconds_count", kind="test.metrics.fail", status="failed") == 1
    assert delta("sensorium_job_seconds_sum", kind="test.metrics.fail", status="failed") >= 0.2
    assert delta("sensorium_job_seconds_bucket", kind="test.metrics.fail", status="failed", le="0.1") == 0
    # scraping again counts no job twice
    again = scrape(client)
    assert value(again, "sensorium_job_seconds_count", kind="test.metrics.fail", status="failed") == \
        value(after, "sensorium_job_seconds_count", kind="test.metrics.fail", status="failed")
    # the detector the image analysis used is loaded, and its load was timed (now or earlier in the session)
    assert value(after, "sensorium_model_loaded", model="yolox-nano") == 1
    assert value(after, "sensorium_model_load_seconds_count", model="yolox-nano") >= 1
    loaded = client.app.state.services.registry.loaded_names()
    assert value(after, "sensorium_models_loaded") == len(loaded) >= 1


def test_queue_depth_per_queue(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path, job_workers=0))  # nothing takes the jobs
    services.jobs.register("test.metrics.wait", lambda ctx: {})
    try:
        with TestClient(create_app(services=services)) as c:
            for text in ("Great news!", "Terrible news.", "Fine."):
                assert c.post("/api/analyze/sentiment", data={"text": text, "async": "true"}).status_code == 202
            services.jobs.submit("test.metrics.wait", {})
            values = scrape(c)
            assert value(values, "sensorium_jobs", queue="heavy", status="queued") == 3
            assert value(values, "sensorium_jobs", queue="default", status="queued") == 1
            assert value(values, "sensorium_jobs", queue="default", status="running") == 0
    finally:
        services.close()
