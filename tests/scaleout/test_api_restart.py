"""Scale-out: the API process killed with SIGKILL while a Celery worker runs a job, and jobs it had just
queued: the worker finishes its job (run once, not restarted), the queued jobs still run, and the API
started again on the same DATA_DIR answers every result. Nothing is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    finally:
        workers.stop()
        api.stop()
