from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.jobs.executor import LocalExecutor
from sensorium.jobs.service import JobService
from sensorium.store.database import Database, JobRow, utcnow
from tests.helpers import wait_until


def _service(tmp_path: Path, workers: int = 1) -> tuple[JobService, LocalExecutor]:
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    db.create_all()
    svc = JobService(db, tmp_path / "jobs", max_attempts=2)
    gate = threading.Event()

    def slow(ctx):
        for i in range(50):
            ctx.check()
            ctx.progress(i * 2, f"step {i}")
            if ctx.params.get("wait"):
                gate.wait(0.05)
            else:
                time.sleep(0.01)
        return {"sum": sum(ctx.params.get("numbers", []))}

    def broken(ctx):
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "input was corrupt")

    def buggy(ctx):
        raise KeyError("oops")

    svc.register("slow", slow)
    svc.register("broken", broken)
    svc.register("buggy", buggy)
    ex = LocalExecutor(workers, poll_seconds=0.1)
    svc.attach(ex)
    return svc, ex


def _wait(svc: JobService, job_id: str, statuses=("succeeded", "failed", "cancelled"), timeout=10.0):
    return wait_until(lambda: svc.get(job_id).model_dump(), lambda job: job["status"] in statuses,
                      timeout=timeout, interval=0.05, what=f"job {job_id} in {statuses}")


def test_job_runs_with_progress_and_result(tmp_path: Path) -> None:
    svc, ex = _service(tmp_path)
    ex.start(svc)
    try:
        job = svc.submit("slow", {"numbers": [1, 2, 3]}).model_dump()
        assert job["status"] == "queued"
        seen = set()
        end = time.time() + 10
        while time.time() < end:
            j = svc.get(job["id"]).model_dump()
            seen.add(j["status"])
            if j["status"] == "succeeded":
                break
            time.sleep(0.02)
        assert "running" in seen
        assert j["result"] == {"sum": 6} and j["progress"] == 100.0 and j["stage"] == "done"
        assert j["started_at"] and j["finished_at"] and j["attempts"] == 1
    finally:
        ex.stop()


def test_failures_are_recorded_not_raised(tmp_path: Path) -> None:
    svc, ex = _service(tmp_path)
    ex.start(svc)
    try:
        a = _wait(svc, svc.submit("broken", {}).model_dump()["id"])
        b = _wait(svc, svc.submit("buggy", {}).model_dump()["id"])
        c = _wait(svc, svc.submit("slow", {}).model_dump()["id"])  # the worker survived both
    finally:
        ex.stop()
    assert a["status"] == "failed" and a["error"] == {"code": "PROCESSING_FAILED", "message": "input was corrupt"}
    assert b["status"] == "failed" and "KeyError" in b["error"]["message"]
    assert c["status"] == "succeeded"


def test_cancel_queued_and_running(tmp_path: Path) -> None:
    svc, ex = _service(tmp_path)
    queued = svc.submit("slow", {}).model_dump()  # no executor running yet: stays queued
    assert svc.cancel(queued["id"]).model_dump()["status"] == "cancelled"
    ex.start(svc)
    try:
        running = svc.submit("slow", {"wait": True}).model_dump()
        _wait(svc, running["id"], statuses=("running",))
        time.sleep(0.1)
        svc.cancel(running["id"]).model_dump()
        final = _wait(svc, running["id"])
    finally:
        ex.stop()
    assert final["status"] == "cancelled"
    assert svc.get(queued["id"]).model_dump()["status"] == "cancelled"
    with pytest.raises(SensoriumError) as exc:
        svc.cancel("0" * 32).model_dump()
    assert exc.value.code == ErrorCode.NOT_FOUND


def test_jobs_survive_restart(tmp_path: Path) -> None:
    """A job left `running` by a dead process is requeued and finished by the next one; one that
    has used all its attempts is failed with the reason. Queued jobs are picked up."""
    svc, _ = _service(tmp_path)
    orphan = svc.submit("slow", {"numbers": [5]}).model_dump()
    exhausted = svc.submit("slow", {}).model_dump()
    waiting = svc.submit("slow", {"numbers": [1]}).model_dump()
    with svc.db.session.begin() as s:
        for job_id, attempts in ((orphan["id"], 1), (exhausted["id"], 2)):
            row = s.get(JobRow, job_id)
            row.status, row.worker, row.attempts = "running", "elsewhere-host:999999", attempts
            row.heartbeat_at = utcnow().replace(year=2020)
    # "restart": a new service + executor on the same database
    svc2, ex2 = _service(tmp_path)
    ex2.start(svc2)
    try:
        done = _wait(svc2, orphan["id"])
        failed = _wait(svc2, exhausted["id"])
        picked = _wait(svc2, waiting["id"])
    finally:
        ex2.stop()
    assert done["status"] == "succeeded" and done["result"] == {"sum": 5} and done["attempts"] == 2
    assert failed["status"] == "failed" and "restart" in failed["error"]["message"]
    assert picked["status"] == "succeeded"


def test_claim_is_exclusive(tmp_path: Path) -> None:
    svc, _ = _service(tmp_path)
    job = svc.submit("slow", {}).model_dump()
    results = []
    threads = [threading.Thread(target=lambda: results.append(svc.claim(job["id"]))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_jobs_api_and_sse(client) -> None:
    services = client.app.state.services

    def sse_kind(ctx):
        for i in range(5):
            ctx.progress(20 * (i + 1), f"part {i + 1}")
            time.sleep(0.15)
        return {"ok": True}

    services.jobs.register("test.sse", sse_kind)
    job = services.jobs.submit("test.sse", {}).model_dump()
    events = []
    with client.stream("GET", f"/api/jobs/{job['id']}/events", params={"interval": 0.1}) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in resp.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:])))
    assert events[-1][0] == "end" and events[-1][1]["status"] == "succeeded"
    progress = [e[1]["progress"] for e in events]
    assert progress == sorted(progress) and len(set(progress)) >= 3
    r = client.get(f"/api/jobs/{job['id']}")
    assert r.json()["data"]["result"]["result"] == {"ok": True}
    listed = client.get("/api/jobs", params={"kind": "test.sse"}).json()["data"]["result"]
    assert listed["total"] >= 1 and listed["jobs"][0]["id"] == job["id"]
    assert client.get("/api/jobs/" + "f" * 32).json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/api/jobs/not-an-id").json()["error"]["code"] == "VALIDATION_ERROR"
    assert client.delete("/api/jobs/" + "f" * 32).status_code == 404


def test_output_files_are_served_only_once_the_job_succeeded(client) -> None:
    """A job that wrote part of a file and then failed (a full disk, a crash) never serves it."""
    services = client.app.state.services

    def writes(ctx, fail: bool):
        out = ctx.workdir / "outputs"
        out.mkdir(parents=True, exist_ok=True)
        (out / "render.bin").write_bytes(b"\x00" * 1000)
        if fail:
            raise OSError(28, "No space left on device")
        return {"file": "render.bin"}

    services.jobs.register("test.outputs.ok", lambda ctx: writes(ctx, False))
    services.jobs.register("test.outputs.full", lambda ctx: writes(ctx, True))
    ok = services.jobs.submit("test.outputs.ok", {})
    done = wait_until(lambda: services.jobs.get(ok.id), lambda j: j.status in ("succeeded", "failed"))
    full = services.jobs.submit("test.outputs.full", {})
    failed = wait_until(lambda: services.jobs.get(full.id), lambda j: j.status in ("succeeded", "failed"))
    assert done.status == "succeeded"
    assert failed.status == "failed" and failed.error.code == "STORAGE_FULL", failed
    assert client.get(f"/api/jobs/{ok.id}/files/render.bin").content == b"\x00" * 1000
    r = client.get(f"/api/jobs/{full.id}/files/render.bin")
    assert r.status_code == 404 and "failed" in r.json()["error"]["message"]
