"""Scale-out: the API process killed with SIGKILL while a Celery worker runs a job, and jobs it had just
queued: the worker finishes its job (run once, not restarted), the queued jobs still run, and the API
started again on the same DATA_DIR answers every result. Nothing is lost."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from testkit.server import ServerProcess
from tests.helpers import wait_until
from tests.robustness.test_restart import TERMINAL, job, long_talk, submit_jobs
from tests.scaleout.conftest import Workers

pytestmark = pytest.mark.slow


def test_api_killed_while_a_worker_runs_its_job(tmp_path: Path, redis, speak, shared_models: Path) -> None:
    (tmp_path / "worker-logs").mkdir()
    talk = long_talk(speak, tmp_path)
    api = ServerProcess(tmp_path, "api", BROKER_URL=redis.url, CELERY_VISIBILITY_TIMEOUT="20")
    workers = Workers(tmp_path / "data", redis.url, tmp_path / "worker-logs")
    api.start()
    workers.start(1)
    try:
        long_id, queued = submit_jobs(api.url, talk)
        wait_until(lambda: job(api.url, long_id), lambda j: j["status"] == "running" and j["progress"] > 5,
                   timeout=300, interval=0.2, what="long job running on the worker")
        api.kill()  # the worker goes on: the job is not the API's
        api.start()
        final = wait_until(lambda: job(api.url, long_id), lambda j: j["status"] in TERMINAL, timeout=600,
                           interval=1.0, what="end of the long job")
        assert final["status"] == "succeeded" and final["attempts"] == 1, final  # not run twice
        assert "farmer" in final["result"]["result"]["transcription"].lower()
        for q in queued:
            done = wait_until(lambda q=q: job(api.url, q), lambda j: j["status"] in TERMINAL, timeout=300,
                              what="end of a queued job")
            assert done["status"] == "succeeded" and done["attempts"] == 1, done
        assert workers.log_text().count(f"job {long_id} succeeded") == 1
        # the API's /metrics counts the jobs its workers ran (read from the database at scrape time)
        before = _job_count(api.url)
        _, more = submit_jobs_text(api.url, 2)
        for q in more:
            wait_until(lambda q=q: job(api.url, q), lambda j: j["status"] == "succeeded", timeout=300,
                       what="metrics job")
        assert _job_count(api.url) == before + 2
    finally:
        workers.stop()
        api.stop()


def submit_jobs_text(base: str, n: int) -> tuple[None, list[str]]:
    ids = []
    for i in range(n):
        r = httpx.post(f"{base}/api/analyze/sentiment", data={"text": f"Good news number {i}!", "async": "true"},
                       timeout=60)
        assert r.status_code == 202, r.text
        ids.append(r.json()["data"]["result"]["job_id"])
    return None, ids


def _job_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=30).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "sensorium_job_seconds_count" and sample.labels == {
                    "kind": "analyze.sentiment", "status": "succeeded"}:
                return sample.value
    return 0.0
