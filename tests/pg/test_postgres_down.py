"""PostgreSQL briefly down: the API answers 503 SERVICE_UNAVAILABLE (with Retry-After), never 500, on the
routes that read the database and in the key/session check; when PostgreSQL is back the same server
processes answer again at once (pooled connections are pinged) and background jobs run again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.helpers import wait_until
from tests.pg.conftest import start_postgres
from tests.pg.servers import Server
from tests.pg.test_server_on_postgres import signup_with_key

pytestmark = pytest.mark.slow


def unavailable(response: httpx.Response) -> bool:
    body = response.json()
    return (response.status_code == 503 and body["error"]["code"] == "SERVICE_UNAVAILABLE"
            and "database" in body["error"]["message"] and response.headers["retry-after"] == "5")


def test_the_api_answers_503_while_postgresql_is_down_then_recovers(tmp_path: Path, speak) -> None:
    wav = speak("The quick brown fox jumps over the lazy dog near the river bank.")
    postgres = start_postgres()  # its own server: this test stops it
    accounts = Server(tmp_path, "accounts", {"AUTH_MODE": "accounts", "JOB_WORKERS": "0"})
    local = Server(tmp_path, "local", {"AUTH_MODE": "off", "JOB_WORKERS": "1"})
    try:
        url = postgres.create_database("sensorium")
        for server in (accounts, local):
            server.env["DATABASE_URL"] = url
            server.start()
        for server in (accounts, local):
            server.wait()
        ann = signup_with_key(accounts.base, "ann@example.com")
        assert httpx.get(f"{accounts.base}/api/jobs", headers=ann, timeout=30).status_code == 200
        assert httpx.get(f"{local.base}/api/jobs", timeout=30).status_code == 200

        postgres.stop()
        assert not postgres.running()
        down = [httpx.get(f"{accounts.base}/api/jobs", headers=ann, timeout=30),  # the key check reads the DB
                httpx.post(f"{accounts.base}/api/auth/login", timeout=30,
                           json={"email": "ann@example.com", "password": "correct horse battery"}),
                httpx.get(f"{local.base}/api/jobs", timeout=30),  # the route reads the DB
                httpx.get(f"{local.base}/api/health", timeout=30),
                httpx.post(f"{local.base}/api/analyze/audio", timeout=60, data={"async": "true"},
                           files={"audio": ("talk.wav", wav.read_bytes(), "audio/wav")})]
        assert [r.status_code for r in down] == [503] * len(down), [r.text for r in down]
        assert all(unavailable(r) for r in down), [r.text for r in down]
        assert accounts.proc.poll() is None and local.proc.poll() is None

        postgres.start()
        assert httpx.get(f"{accounts.base}/api/jobs", headers=ann, timeout=30).status_code == 200
        assert httpx.get(f"{local.base}/api/health", timeout=30).status_code == 200
        r = httpx.post(f"{local.base}/api/analyze/audio", timeout=60, data={"async": "true", "language": "en"},
                       files={"audio": ("talk.wav", wav.read_bytes(), "audio/wav")})
        assert r.status_code == 202, r.text
        job_id = r.json()["data"]["result"]["id"]
        job = wait_until(lambda: httpx.get(f"{local.base}/api/jobs/{job_id}", timeout=30).json()["data"]["result"],
                         lambda j: j["status"] in ("succeeded", "failed"), timeout=300, interval=1.0,
                         what="a job submitted after the outage")
        assert job["status"] == "succeeded" and "quick brown fox" in job["result"]["result"]["transcription"].lower()
    finally:
        accounts.stop()
        local.stop()
        postgres.close()
    logs = accounts.log.read_text(errors="replace") + local.log.read_text(errors="replace")
    assert "unhandled error" not in logs and " 500 " not in logs, logs[-3000:]
