"""Ownership: a user never lists, reads, follows or cancels another user's job, nor reads or drives
another user's foley task (404 NOT_FOUND, as for an unknown id); an admin sees all."""

from __future__ import annotations

import io

import numpy as np
import pytest

from sensorium.media.encode import encode_video
from testkit.media_factory import tone, write_wav
from tests.accounts.conftest import error_code, user_with_key


def _wav_bytes(tmp_path) -> bytes:
    return write_wav(tmp_path / "tone.wav", tone(1.0), 16000).read_bytes()


@pytest.fixture
def three(make_client):
    """An apikey-mode app with users ann and bob and an admin (headers of a key each)."""
    client = make_client(auth_mode="apikey")
    ann_id, ann = user_with_key(client, "ann@example.com")
    _, bob = user_with_key(client, "bob@example.com")
    _, admin = user_with_key(client, "root@example.com", role="admin")
    return client, ann_id, ann, bob, admin


def test_a_job_is_its_owners_only(three, tmp_path) -> None:
    client, ann_id, ann, bob, admin = three
    r = client.post("/api/analyze/audio", files={"audio": ("tone.wav", io.BytesIO(_wav_bytes(tmp_path)))},
                    data={"async": "true"}, headers=ann)
    assert r.status_code == 202, r.text
    job = r.json()["data"]["result"]
    assert job["owner_id"] == ann_id
    job_id = job["id"]

    for method, path in (("GET", f"/api/jobs/{job_id}"), ("GET", f"/api/jobs/{job_id}/events"),
                         ("DELETE", f"/api/jobs/{job_id}"), ("GET", f"/api/jobs/{job_id}/files/out.json")):
        r = client.request(method, path, headers=bob)
        assert r.status_code == 404 and error_code(r) == "NOT_FOUND", (method, path)
        assert job_id in r.json()["error"]["message"] or "out.json" in r.json()["error"]["message"]
    listed = client.get("/api/jobs", headers=bob).json()["data"]["result"]
    assert listed["total"] == 0 and listed["jobs"] == []

    mine = client.get("/api/jobs", headers=ann).json()["data"]["result"]
    assert [j["id"] for j in mine["jobs"]] == [job_id]
    assert client.get(f"/api/jobs/{job_id}", headers=ann).json()["data"]["result"]["status"] == "queued"
    assert client.get(f"/api/jobs/{job_id}", headers=admin).status_code == 200
    assert client.get("/api/jobs", headers=admin).json()["data"]["result"]["total"] == 1
    r = client.delete(f"/api/jobs/{job_id}", headers=ann)
    assert r.status_code == 200 and r.json()["data"]["result"]["status"] == "cancelled"


def test_a_foley_task_is_its_owners_only(three, tmp_path) -> None:
    client, ann_id, ann, bob, admin = three
    frames = [np.full((96, 128, 3), 40 + 8 * i, np.uint8) for i in range(12)]
    clip = encode_video(tmp_path / "clip.mp4", frames, fps=12)
    r = client.post("/api/upload-video", files={"file": ("clip.mp4", clip.read_bytes())}, headers=ann)
    assert r.status_code == 200, r.text
    task_id = r.json()["data"]["result"]["task_id"]

    for method, path in (("GET", f"/api/status/{task_id}"), ("POST", f"/api/process/{task_id}"),
                         ("GET", f"/api/export-json/{task_id}"), ("GET", f"/api/export-csv/{task_id}"),
                         ("POST", f"/api/generate-video/{task_id}"), ("GET", f"/api/download-video/{task_id}")):
        r = client.request(method, path, headers=bob)
        assert r.status_code == 404 and error_code(r) == "NOT_FOUND", (method, path, r.text)
    assert client.get(f"/api/status/{task_id}", headers=ann).status_code == 200
    assert client.get(f"/api/status/{task_id}", headers=admin).status_code == 200
    r = client.post(f"/api/process/{task_id}", headers=ann)
    assert r.status_code == 202, r.text
    detect_job = r.json()["data"]["result"]["job_id"]
    assert client.get(f"/api/jobs/{detect_job}", headers=ann).json()["data"]["result"]["owner_id"] == ann_id
    assert client.get(f"/api/jobs/{detect_job}", headers=bob).status_code == 404


def test_jobs_of_the_local_user_stay_visible_with_auth_off(make_client, tmp_path) -> None:
    client = make_client()
    r = client.post("/api/analyze/audio", files={"audio": ("tone.wav", _wav_bytes(tmp_path))}, data={"async": "true"})
    assert r.status_code == 202
    job = r.json()["data"]["result"]
    assert job["owner_id"] is None
    assert client.get(f"/api/jobs/{job['id']}").status_code == 200
