"""HTTP: library endpoints, /api/sound/search, and the Frame-to-Audio contract (/process_frames, /health, /)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest

from testkit.sounds import save, tone
from tests.sound.conftest import COLLECTION

pytestmark = pytest.mark.usefixtures("shared_models")  # these tests run YOLOX-nano / YAMNet


@pytest.fixture(scope="module")
def bus_jpg(shared_dir: Path) -> bytes:
    return (shared_dir / "testdata" / "images" / "bus.jpg").read_bytes()


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def wait_job(client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()["data"]["result"]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish")


def test_process_frames_contract(client, indexed, bus_jpg) -> None:
    r = client.post("/process_frames", files=[("frames", ("bus.jpg", bus_jpg, "image/jpeg")),
                                               ("frames", ("bus2.jpg", bus_jpg, "image/jpeg"))],
                    data={"collection": COLLECTION, "similarity_threshold": "0"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"frame_filenames", "num_frames", "audio_description", "similar_clips", "total_results"}
    assert body["frame_filenames"] == ["bus.jpg", "bus2.jpg"] and body["num_frames"] == 2
    assert "traffic" in body["audio_description"].lower()
    assert body["total_results"] == len(body["similar_clips"]) == 3  # top_k defaults to 3
    clip = body["similar_clips"][0]
    assert set(clip) == {"fname", "similarity", "distance", "split", "metadata"}
    assert set(clip["metadata"]) == {"duration", "orig_sr"}
    assert clip["distance"] == pytest.approx(1 - clip["similarity"], abs=1e-4)


def test_process_frames_threshold_filters(client, indexed, bus_jpg) -> None:
    # nothing in the generated library sounds like traffic: the default threshold leaves no clip
    r = client.post("/process_frames", files=[("frames", ("bus.jpg", bus_jpg, "image/jpeg"))],
                    data={"collection": COLLECTION, "top_k": "5"})
    assert r.status_code == 200
    assert all(c["similarity"] >= 0.3 for c in r.json()["similar_clips"])


def test_process_frames_rejects_png(client, indexed, bus_jpg) -> None:
    r = client.post("/process_frames", files=[("frames", ("a.jpg", bus_jpg, "image/jpeg")),
                                               ("frames", ("b.png", png_bytes(), "image/png"))],
                    data={"collection": COLLECTION})
    assert r.status_code == 415
    err = r.json()["error"]
    assert err["code"] == "INVALID_FILE_TYPE" and "JPEG" in err["message"] and "b.png" in err["message"]


def test_process_frames_21_frames(client, indexed, bus_jpg) -> None:
    files = [("frames", (f"f{i}.jpg", bus_jpg, "image/jpeg")) for i in range(21)]
    r = client.post("/process_frames", files=files, data={"collection": COLLECTION})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "VALIDATION_ERROR" and "20" in r.json()["error"]["message"]


def test_search_before_indexing(client, bus_jpg) -> None:
    r = client.post("/api/sound/search", data={"query": "rain", "collection": "not_indexed_yet"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    assert "index" in r.json()["error"]["message"]
    r = client.post("/process_frames", files=[("frames", ("a.jpg", bus_jpg, "image/jpeg"))],
                    data={"collection": "not_indexed_yet"})
    assert r.status_code == 404


def test_search_text_api_and_range_streaming(client, indexed, sound_library) -> None:
    _, kinds = sound_library
    r = client.post("/api/sound/search", data={"query": "speech", "collection": COLLECTION, "top_k": "3"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] and body["data"]["type"] == "sound_search"
    results = body["data"]["result"]["results"]
    assert {x["fname"] for x in results} == {p.name for p in kinds["speech"]}
    url = results[0]["audio_url"]
    original = next(p for p in kinds["speech"] if p.name == results[0]["fname"]).read_bytes()
    full = client.get(url)
    assert full.status_code == 200 and full.content == original
    assert full.headers["content-type"].startswith("audio/")
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == original[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(original)}"
    assert client.get(f"/api/library/sounds/{COLLECTION}/nope/audio").status_code == 404


def test_search_audio_and_frames_api(client, indexed, sound_library, bus_jpg, tmp_path) -> None:
    _, kinds = sound_library
    q = save(tmp_path / "q.flac", tone(3.0, 700))
    r = client.post("/api/sound/search", files={"audio": ("q.flac", q.read_bytes(), "audio/flac")},
                    data={"collection": COLLECTION, "top_k": "2", "similarity_threshold": "0"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["result"]["results"][0]["fname"] in {p.name for p in kinds["tones"]}
    r = client.post("/api/sound/search", files=[("frames", ("bus.jpg", bus_jpg, "image/jpeg")),
                                                 ("frames", ("red.png", png_bytes(), "image/png"))],
                    data={"collection": COLLECTION})
    assert r.status_code == 200, r.text  # any image type is fine outside the legacy route
    res = r.json()["data"]["result"]
    assert res["mode"] == "frames" and res["num_frames"] == 2 and "audio_description" in res


def test_search_needs_exactly_one_input(client, indexed, bus_jpg) -> None:
    r = client.post("/api/sound/search", data={"collection": COLLECTION})
    assert r.status_code == 422 and "exactly one" in r.json()["error"]["message"]
    r = client.post("/api/sound/search", data={"query": "rain", "collection": COLLECTION},
                    files=[("frames", ("bus.jpg", bus_jpg, "image/jpeg"))])
    assert r.status_code == 422 and "query, frames" in r.json()["error"]["message"]
    r = client.post("/api/sound/search", data={"query": "rain", "collection": COLLECTION, "top_k": "0"})
    assert r.status_code == 422
    r = client.post("/api/sound/search", files={"audio": ("x.mp3", b"not audio at all", "audio/mpeg")},
                    data={"collection": COLLECTION})
    assert r.status_code == 415


def test_synthesize_soundscape(client, indexed) -> None:
    from sensorium.media.audio import load_audio

    r = client.post("/api/sound/search", data={"query": "rain", "collection": COLLECTION, "synthesize": "true",
                                                "audio_length_in_s": "5", "top_k": "3"})
    assert r.status_code == 200, r.text
    scape = r.json()["data"]["result"]["soundscape"]
    assert scape["duration"] == pytest.approx(5.0) and scape["channels"] == 2 and scape["layers"]
    wav = client.get(scape["audio_url"])
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    path = Path(client.app.state.services.sound.soundscape_file(scape["job_id"]).path)
    audio = load_audio(path, sr=44100, mono=False)
    assert audio.shape == (2, 5 * 44100)
    rms_db = 20 * np.log10(np.sqrt(np.mean(audio ** 2)))
    assert -23 < rms_db < -17 and np.abs(audio).max() <= 0.9 + 1e-3


def test_library_endpoints_and_index_job(client, indexed, tmp_path) -> None:
    # issue 14: the HTTP API indexes only inside the library roots (here DATA_DIR/libraries)
    folder = client.app.state.services.settings.libraries_dir / "apilib"
    save(folder / "t1.wav", tone(2.0, 500))
    save(folder / "t2.wav", tone(2.0, 900))
    r = client.post("/api/library/sounds/index", json={"directory": str(folder), "name": "apilib",
                                                       "sfx_embeddings": False})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["data"]["result"]["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["result"]["indexed"] == 2
    cols = client.get("/api/library/sounds").json()["data"]["result"]["collections"]
    api = next(c for c in cols if c["name"] == "apilib")
    assert api["clips"] == 2 and api["total_duration"] == pytest.approx(4.0, abs=0.05)
    assert any(c["name"] == COLLECTION and c["clips"] == 15 for c in cols)
    assert client.delete("/api/library/sounds/apilib").status_code == 200
    assert client.delete("/api/library/sounds/apilib").status_code == 404
    bad = client.post("/api/library/sounds/index", json={"directory": str(tmp_path / "nope")})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    bad = client.post("/api/library/sounds/index", json={"directory": str(folder), "name": "no/slash"})
    assert bad.status_code == 422


def test_legacy_health_and_root(client) -> None:
    h = client.get("/health")
    assert h.status_code == 200
    body = h.json()
    assert {"status", "models_loaded", "qwen_model", "qwen_processor", "audioldm_pipeline"} <= set(body)
    assert body["models_loaded"] is True and body["status"] == "healthy"
    assert body["qwen_model"] is False and body["qwen_processor"] is False  # no LLM endpoint configured
    assert body["audioldm_pipeline"] is False
    root = client.get("/")
    assert root.status_code == 200 and root.json()["status"] == "ok"


def test_openapi_documents_sound_routes(client) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/sound/search", "/process_frames", "/api/library/sounds/index", "/api/library/sounds",
                 "/api/library/sounds/{collection}", "/api/library/sounds/{collection}/{clip_id}/audio",
                 "/health", "/"):
        assert path in spec["paths"], path
    post = spec["paths"]["/api/sound/search"]["post"]
    assert post["description"] and {"404", "415", "422", "503"} <= set(post["responses"])


def test_search_by_video(client, indexed, shared_dir, tmp_path) -> None:
    import cv2

    from sensorium.media.encode import encode_video

    bgr = cv2.imread(str(shared_dir / "testdata" / "images" / "bus.jpg"))
    bgr = cv2.resize(bgr, (bgr.shape[1] // 2 // 2 * 2, bgr.shape[0] // 2 // 2 * 2))
    frames = [np.roll(bgr, 8 * i, axis=1) for i in range(10)]  # a slow pan
    path = encode_video(tmp_path / "street.mp4", frames, fps=5)
    r = client.post("/api/sound/search", files={"video": ("street.mp4", path.read_bytes(), "video/mp4")},
                    data={"collection": COLLECTION, "top_k": "3"})
    assert r.status_code == 200, r.text
    res = r.json()["data"]["result"]
    assert res["num_frames"] == 8 and res["filename"] == "street.mp4"
    assert "traffic" in res["audio_description"].lower()
    assert res["visual_summary"]["motion"]["frame_difference"] > 0


def test_process_frames_synthesize(client, indexed, bus_jpg) -> None:
    import base64

    r = client.post("/process_frames", files=[("frames", ("bus.jpg", bus_jpg, "image/jpeg"))],
                    data={"collection": COLLECTION, "similarity_threshold": "0", "synthesize": "true",
                          "audio_length_in_s": "3"})
    assert r.status_code == 200, r.text
    gen = r.json()["generated_audio"]
    wav = base64.b64decode(gen["audio_base64"])
    assert wav[:4] == b"RIFF" and gen["duration"] == pytest.approx(3.0) and len(gen["layers"]) >= 1
    assert client.get(gen["audio_url"]).content == wav


def test_library_roots_restrict_what_the_api_may_index(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from sensorium.api.app import create_app
    from sensorium.services import build_services
    from testkit.settings import make_settings

    allowed = tmp_path / "sfx"
    allowed.mkdir()
    settings = make_settings(tmp_path, library_roots=[allowed], job_workers=0)
    svc = build_services(settings)
    with TestClient(create_app(services=svc)) as c:
        r = c.post("/api/library/sounds/index", json={"directory": "/etc", "name": "x"})
        assert r.status_code == 422 and "LIBRARY_ROOTS" in r.json()["error"]["message"]
        r = c.post("/api/library/sounds/index", json={"directory": str(allowed / ".." / ".."), "name": "x"})
        assert r.status_code == 422
        r = c.post("/api/library/sounds/index", json={"directory": str(allowed), "name": "x"})
        assert r.status_code == 202
    svc.close()
