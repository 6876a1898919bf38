"""POST /api/analyze/batch: mixed files routed by sniffed type, one result or error per file, in order;
and the CLI's `VisionService.analyze_path` dispatcher."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sensorium.vision.schemas import AnalyzeOptions
from tests.visual import media


@pytest.fixture(scope="module")
def batch_files(media_dir: Path, shared_dir: Path, speak) -> list[Path]:
    img = shared_dir / "testdata" / "images" / "zidane.jpg"
    renamed = media_dir / "photo.mp3"  # a JPEG with a misleading name: routed by content
    shutil.copy(img, renamed)
    clip = media.cut_clip(media_dir / "batch.mp4", cut_at=1.0, duration=2.0, fps=10)
    wav = speak("Good morning, this is a batch test.", "batch.wav")
    junk = media_dir / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02 definitely not media" * 20)
    return [renamed, clip, junk, wav]


def test_batch_mixed_in_order(client: TestClient, batch_files: list[Path]) -> None:
    files = [("files", (p.name, p.read_bytes())) for p in batch_files]
    r = client.post("/api/analyze/batch", files=files, data={"prompt": "How many people are there?", "num_frames": "2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"]["type"] == "batch_analysis"
    out = body["data"]["result"]
    assert (out["total"], out["succeeded"], out["failed"]) == (4, 3, 1)
    res = out["results"]
    assert [x["index"] for x in res] == [0, 1, 2, 3]
    assert [x["filename"] for x in res] == ["photo.mp3", "batch.mp4", "junk.bin", "batch.wav"]
    img, vid, junk, aud = res
    assert img["success"] and img["type"] == "image"
    assert img["result"]["people"]["count"] == 2 and "two people" in img["result"]["answer"]
    assert vid["success"] and vid["type"] == "video" and len(vid["result"]["frames"]) == 2
    assert junk["success"] is False and junk["error"]["code"] == "INVALID_FILE_TYPE"
    assert aud["success"] and aud["type"] == "audio"
    assert "morning" in aud["result"]["transcription"].lower()
    assert all(x["metadata"]["processing_time_ms"] > 0 for x in res if x["success"])


def test_batch_limits(client: TestClient, media_dir: Path) -> None:
    one = media.tiny_png(media_dir / "b1.png")
    files = [("files", (f"f{i}.png", one.read_bytes())) for i in range(11)]
    r = client.post("/api/analyze/batch", files=files)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "VALIDATION_ERROR" and "at most 10" in err["message"]
    r = client.post("/api/analyze/batch", data={"prompt": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_batch_bad_file_does_not_fail_the_batch(client: TestClient, media_dir: Path, shared_dir: Path) -> None:
    bus = (shared_dir / "testdata" / "images" / "bus.jpg").read_bytes()
    bomb = media.png_bomb(media_dir / "batch-bomb.png").read_bytes()
    files = [("files", ("bomb.png", bomb)), ("files", ("trunc.jpg", bus[:5000])), ("files", ("bus.jpg", bus))]
    r = client.post("/api/analyze/batch", files=files)
    assert r.status_code == 200
    res = r.json()["data"]["result"]["results"]
    assert [x["success"] for x in res] == [False, False, True]
    assert res[0]["error"]["code"] == "FILE_TOO_LARGE"
    assert res[1]["error"]["code"] == "PROCESSING_FAILED"
    assert "bus" in res[2]["result"]["object_counts"]


def test_dispatch_routes_by_content(services, shared_dir: Path, media_dir: Path) -> None:
    seen: list[float] = []
    out = services.vision.analyze_path(shared_dir / "testdata" / "images" / "bus.jpg",
                                       AnalyzeOptions(prompt="is there a bus?"), progress=seen.append)
    assert out.type == "image" and out.result.answer.startswith("Yes")
    assert seen and seen[-1] == 1.0
    clip = media.cut_clip(media_dir / "dispatch.mp4", cut_at=1.0, duration=2.0, fps=10)
    seen.clear()
    out = services.vision.analyze_path(clip, AnalyzeOptions(num_frames=3, frame_sampling="keyframes"),
                                       progress=seen.append)
    assert out.type == "video" and out.result.frame_sampling == "keyframes"
    assert len(out.result.summary.scene_changes) == 1
    assert seen == sorted(seen) and seen[-1] == 1.0
