"""Two real server processes on one PostgreSQL database: both start at once on an empty database (one
migrates, the other waits on the advisory lock), accounts, keys, an async transcription job that really
runs, ownership and usage across the two processes, then a restart that finds everything again."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from tests.helpers import wait_until
from tests.pg.servers import Server

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"


def signup_with_key(base: str, email: str) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=30) as web:
        assert web.post("/api/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
        login = web.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = login.json()["data"]["result"]["csrf_token"]
        made = web.post("/api/account/keys", json={"name": "pg test"}, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text
        return {"Authorization": f"Bearer {made.json()['data']['result']['key']}"}


def test_two_servers_share_a_postgresql_database(postgres, pg_url: str, tmp_path: Path, speak) -> None:
    wav = speak("The quick brown fox jumps over the lazy dog near the river bank.")
    env = {"DATABASE_URL": pg_url, "AUTH_MODE": "accounts", "JOB_WORKERS": "1"}
    a, b = Server(tmp_path, "a", env), Server(tmp_path, "b", env)
    try:
        for server in (a, b):
            server.start()
        for server in (a, b):
            server.wait()
        ann = signup_with_key(a.base, "ann@example.com")
        bob = signup_with_key(b.base, "bob@example.com")
        r = httpx.post(f"{a.base}/api/analyze/audio", headers=ann, timeout=60, data={"async": "true", "language": "en"},
                       files={"audio": ("talk.wav", wav.read_bytes(), "audio/wav")})
        assert r.status_code == 202, r.text
        job_id = r.json()["data"]["result"]["id"]
        job = wait_until(lambda: httpx.get(f"{b.base}/api/jobs/{job_id}", headers=ann, timeout=30).json(),
                         lambda j: j["data"]["result"]["status"] in ("succeeded", "failed"), timeout=300,
                         interval=1.0, what="the transcription job")["data"]["result"]
        assert job["status"] == "succeeded", job
        text = job["result"]["result"]["transcription"].lower()
        assert "quick brown fox" in text and "lazy dog" in text
        assert httpx.get(f"{b.base}/api/jobs/{job_id}", headers=bob, timeout=30).status_code == 404
        assert httpx.get(f"{a.base}/api/jobs", headers=bob, timeout=30).json()["data"]["result"]["total"] == 0
        usage = httpx.get(f"{b.base}/api/account/usage", headers=ann, timeout=30).json()["data"]["result"]
        assert usage["today"]["requests"] >= 4  # counted in PostgreSQL by both processes

        a.stop()
        b.stop()
        with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0003",)]
            rows = conn.execute("SELECT j.status, u.email FROM jobs j JOIN users u ON u.id = j.owner_id").fetchall()
        assert rows == [("succeeded", "ann@example.com")]
        a.start().wait()  # a restart: the same database, nothing to migrate, everything still there
        listed = httpx.get(f"{a.base}/api/jobs", headers=ann, timeout=30).json()["data"]["result"]
        assert [j["id"] for j in listed["jobs"]] == [job_id] and listed["jobs"][0]["status"] == "succeeded"
    finally:
        a.stop()
        b.stop()
    logs = a.log.read_text(errors="replace") + b.log.read_text(errors="replace")
    assert "Traceback" not in logs, logs[-3000:]

