"""The documented contract of the music recommendation API through FastAPI's TestClient."""

from __future__ import annotations

import pytest

from testkit import music as gen
from tests.helpers import wait_job

pytestmark = pytest.mark.usefixtures("shared_models")


def test_empty_library_stats_and_text(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from sensorium.api.app import create_app
    from sensorium.services import build_services
    from testkit.settings import make_settings

    svc = build_services(make_settings(tmp_path, job_workers=0))
    try:
        with TestClient(create_app(services=svc)) as c:
            stats = c.get("/api/recommendations/database-stats").json()
            assert stats == {"success": True, "data": {"collection_name": "music_tracks", "vectors_count": 0,
                                                       "points_count": 0, "status": "empty", "last_index": None}}
            r = c.post("/api/recommendations/text-recommendations", json={"query": "calm piano", "limit": 5})
            assert r.status_code == 200 and r.json() == {"success": True, "data": [], "total": 0}
            r = c.post("/api/recommendations/initialize-database", json={"max_videos": 5})
            assert r.status_code == 422 and "MUSIC_LIBRARY_DIR" in r.json()["error"]["message"]
    finally:
        svc.close()


def test_initialize_database_job_and_stats(client, music_indexed) -> None:
    r = client.post("/api/recommendations/initialize-database", json={"max_videos": 50, "folder": "music"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert set(body) == {"success", "task_id", "message"} and body["success"] is True
    job = wait_job(client, body["task_id"])
    assert job["status"] == "succeeded", job
    res = job["result"]["result"]
    assert res["folder"] == "DATA_DIR/libraries/music" and {f["path"] for f in res["failed"]} == {
        "corrupt.mp3", "empty.flac"}
    stats = client.get("/api/recommendations/database-stats").json()
    assert stats["success"] and stats["data"]["collection_name"] == "music_tracks"
    assert stats["data"]["points_count"] == stats["data"]["vectors_count"] == 7 and stats["data"]["status"] == "green"
    bad = client.post("/api/recommendations/initialize-database", json={"folder": "/etc"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"


def test_text_recommendations_contract(client, music_indexed) -> None:
    r = client.post("/api/recommendations/text-recommendations", json={"query": "fast energetic", "limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"success", "data", "total"} and body["total"] == 3
    song = body["data"][0]
    assert {"id", "title", "artists", "album", "duration", "videoId", "thumbnails", "score", "why"} <= set(song)
    assert song["videoId"] is None and song["title"] in ("Neon Sprint", "Major Rush")
    assert client.post("/api/recommendations/text-recommendations", json={"query": ""}).status_code == 422
    assert client.post("/api/recommendations/text-recommendations",
                       json={"query": "x", "limit": 0}).status_code == 422


def test_audio_range_and_artwork(client, music_indexed, music_library) -> None:
    songs = client.post("/api/recommendations/text-recommendations", json={"query": "fast", "limit": 10}).json()
    neon = next(s for s in songs["data"] if s["title"] == "Neon Sprint")
    original = music_library["fast_bright_loud"].read_bytes()
    full = client.get(f"/api/library/music/{neon['id']}/audio")
    assert full.status_code == 200 and full.content == original and full.headers["content-type"] == "audio/mpeg"
    part = client.get(f"/api/library/music/{neon['id']}/audio", headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == original[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(original)}"
    art = client.get(neon["thumbnails"][0]["url"])
    assert art.status_code == 200 and art.content[:3] == b"\xff\xd8\xff"
    plain = next(s for s in songs["data"] if s["title"] == "slow dark quiet")
    assert client.get(f"/api/library/music/{plain['id']}/artwork").status_code == 404
    assert client.get("/api/library/music/nope/audio").status_code == 404


def test_analyze_video_job_and_preview(client, music_indexed, tmp_path) -> None:
    video = gen.scene_video(tmp_path / "clip.mp4", seconds=6, cut_frames=[25, 75, 125], moving=True, shift=6)
    r = client.post("/api/recommendations/analyze-video", files={"video": ("clip.mp4", video.read_bytes(),
                                                                           "video/mp4")}, data={"limit": "3"})
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"success", "task_id", "message"}
    job = wait_job(client, r.json()["task_id"], timeout=180)
    assert job["status"] == "succeeded", job
    a, songs = job["result"]["analysis"], job["result"]["songs"]
    assert {"description", "music_recommendation", "keywords", "mood", "genre_suggestions", "tempo",
            "energy_level"} <= set(a)
    assert a["tempo"] in ("Slow", "Medium", "Fast") and a["energy_level"] in ("Low", "Medium", "High")
    assert len(songs) == 3 and all(s["why"] and s["videoId"] is None for s in songs)
    p = client.post("/api/recommendations/preview", json={"task_id": job["id"], "track_id": songs[0]["id"]})
    assert p.status_code == 202, p.text
    pj = wait_job(client, p.json()["task_id"])
    assert pj["status"] == "succeeded", pj
    mp4 = client.get(pj["result"]["result"]["url"])
    assert mp4.status_code == 200 and mp4.content[4:8] == b"ftyp"
    bad = client.post("/api/recommendations/analyze-video", files={"video": ("a.mp3", b"ID3" + b"\x00" * 500,
                                                                             "audio/mpeg")})
    assert bad.status_code in (415, 422)
