"""Quotas and usage, counted in the database: daily requests, upload bytes and processing seconds
(429 QUOTA_EXCEEDED + Retry-After), the per-minute rate limit (429 RATE_LIMITED), per-user overrides,
and GET /api/account/usage."""

from __future__ import annotations

import json

from sensorium.accounts.quotas import login_retry_after, seconds_to_next_day
from sensorium.jobs.schemas import JobRecord
from sensorium.store.database import utcnow
from tests.accounts.conftest import error_code, services_of, user_with_key


def test_daily_request_quota(make_client) -> None:
    client = make_client(auth_mode="apikey", quota_requests_per_day=3)
    _, ann = user_with_key(client, "ann@example.com")
    _, bob = user_with_key(client, "bob@example.com")
    for _ in range(3):
        assert client.get("/api/jobs", headers=ann).status_code == 200
    r = client.get("/api/jobs", headers=ann)
    assert r.status_code == 429 and error_code(r) == "QUOTA_EXCEEDED"
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 86400 and abs(retry - seconds_to_next_day(utcnow())) <= 5
    assert client.get("/api/jobs", headers=bob).status_code == 200  # quotas are per user
    assert client.get("/api/health", headers=ann).status_code == 200  # health is never counted

    services_of(client).accounts.set_quota("ann@example.com", requests=0)  # 0 = unlimited for ann
    assert client.get("/api/jobs", headers=ann).status_code == 200


def test_upload_quota_and_usage_counts(make_client) -> None:
    client = make_client(auth_mode="apikey")
    user_id, ann = user_with_key(client, "ann@example.com")
    bodies = [json.dumps({"name": "x" * n}).encode() for n in (10, 50)]
    for body in bodies:
        r = client.post("/api/account/keys", content=body, headers={**ann, "Content-Type": "application/json"})
        assert r.status_code == 201
    usage = client.get("/api/account/usage", headers=ann).json()["data"]["result"]
    today = usage["today"]
    assert today["requests"] == 3  # the two POSTs and this GET
    assert today["upload_bytes"] == sum(len(b) for b in bodies)
    assert today["processing_seconds"] > 0
    assert usage["user_id"] == user_id and usage["limits"]["upload_bytes_per_day"] == 0
    key_id = client.get("/api/account/keys", headers=ann).json()["data"]["result"][-1]["id"]
    per_key = {k["key_id"]: k["days"][0] for k in usage["keys"]}
    assert per_key[key_id]["requests"] == 3 and per_key[key_id]["upload_bytes"] == sum(len(b) for b in bodies)

    services_of(client).accounts.set_quota("ann@example.com", upload_bytes=200)
    r = client.post("/api/account/keys", content=b'{"name": "' + b"y" * 300 + b'"}',
                    headers={**ann, "Content-Type": "application/json"})
    assert r.status_code == 429 and error_code(r) == "QUOTA_EXCEEDED" and int(r.headers["retry-after"]) >= 1
    assert client.get("/api/jobs", headers=ann).status_code == 200  # small requests still pass


def test_processing_seconds_quota_counts_requests_and_jobs(make_client) -> None:
    client = make_client(auth_mode="apikey", quota_processing_seconds_per_day=5)
    user_id, ann = user_with_key(client, "ann@example.com")
    assert client.get("/api/jobs", headers=ann).status_code == 200
    job = JobRecord(id="0" * 32, kind="analyze.audio", status="succeeded", progress=100, owner_id=user_id)
    services_of(client).accounts.record_job(job, 6.0)  # what JobService's finish hook does
    r = client.get("/api/jobs", headers=ann)
    assert r.status_code == 429 and error_code(r) == "QUOTA_EXCEEDED"
    assert "processing" in r.json()["error"]["message"]


def test_rate_limit_per_minute_is_per_user(make_client) -> None:
    client = make_client(auth_mode="apikey", rate_limit_per_minute=3)
    _, ann = user_with_key(client, "ann@example.com")
    _, bob = user_with_key(client, "bob@example.com")
    codes = [client.get("/api/jobs", headers=ann).status_code for _ in range(4)]
    if codes[-1] == 200:  # the minute turned over during the loop: once more
        codes = [client.get("/api/jobs", headers=ann).status_code for _ in range(4)]
    assert codes.count(429) >= 1
    r = client.get("/api/jobs", headers=ann)
    assert r.status_code == 429 and error_code(r) == "RATE_LIMITED" and 1 <= int(r.headers["retry-after"]) <= 60
    assert client.get("/api/jobs", headers=bob).status_code == 200


def test_login_retry_after_arithmetic() -> None:
    now = utcnow()
    from datetime import timedelta

    fails = [now - timedelta(seconds=s) for s in (800, 100, 10)]
    assert login_retry_after(fails, 4, 900, now) is None
    assert login_retry_after(fails, 3, 900, now) == 100  # the oldest ages out in 100 s
    assert login_retry_after(fails, 2, 900, now) == 800


def test_a_finished_jobs_run_time_is_charged_to_its_owner(make_client) -> None:
    import time

    from sensorium.store.ownership import Actor, acting_as
    from tests.helpers import wait_until

    client = make_client(auth_mode="apikey", job_workers=1)
    services = services_of(client)
    user_id, _ = user_with_key(client, "ann@example.com")
    services.jobs.register("test.sleep", lambda ctx: (time.sleep(0.4), {"slept": 0.4})[1])
    with acting_as(Actor(user_id)):
        job = services.jobs.submit("test.sleep", {})
    assert job.owner_id == user_id
    wait_until(lambda: services.jobs.get(job.id).status, lambda s: s == "succeeded", timeout=30, interval=0.1,
               what="the job to finish")
    wait_until(lambda: services.accounts.usage(user_id).today.processing_seconds, lambda s: s >= 0.4,
               timeout=10, interval=0.1, what="the run time on the owner's usage")
