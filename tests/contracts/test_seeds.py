"""The seeds' contracts, replayed: the request examples documented for the Multimodal Analysis API, the
Frame-to-Audio Similarity API and the AI Foley Studio (README, docs/sound.md, docs/foley.md), sent as
documented (multipart fields, JSON bodies) to the server, with the documented response fields checked.

Generated media keeps them fast: a 2-frame clip, a short spoken sentence, a tiny sound library, the first
seconds of a real walking clip at stride 2 for foley (skipped when ../shared/testdata/walk is absent).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from sensorium.config import Settings
from testkit.sounds import noise, rain, save, tone
from tests.helpers import TERMINAL, wait_job, wait_until
from tests.visual import media

SENTENCE = "Good morning, the quick brown fox jumps over the lazy dog."
ENVELOPE = {"success", "data", "timestamp"}


def _ok(r, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == ENVELOPE and body["success"] is True and body["timestamp"].endswith("Z")
    assert {"type", "result", "metadata"} <= set(body["data"])
    assert "processing_time_ms" in body["data"]["metadata"]
    return body["data"]


def _jpeg(kind: int, t: float) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", media._scene(kind, t, 320, 240))
    assert ok
    return buf.tobytes()


# --- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def speech_wav(speak) -> Path:
    return speak(SENTENCE, "contract-speech.wav")


@pytest.fixture(scope="module")
def sign_png(media_dir: Path) -> Path:
    return media.text_image(["EXIT 12"], media_dir / "contract-sign.png")


@pytest.fixture(scope="module")
def talking_clip(media_dir: Path, speech_wav: Path) -> Path:
    """A 2-cut clip with the spoken sentence as its sound track."""
    audio = media.load_speech_16k(speech_wav)
    seconds = len(audio) / 16000 + 0.3
    return media.cut_clip(media_dir / "contract-talk.mp4", cut_at=seconds / 2, duration=seconds, fps=10,
                          size=(320, 180), audio=np.concatenate([audio, np.zeros(4800, np.float32)]), sr=16000)


# --- the Multimodal Analysis API -----------------------------------------------------------------------
@pytest.mark.usefixtures("shared_models")
def test_analysis_image_as_documented(client: TestClient, sign_png: Path) -> None:
    # curl -F image=@sign.png -F prompt="what does the sign say?"
    with open(sign_png, "rb") as fh:
        data = _ok(client.post("/api/analyze/image", files={"image": fh},
                               data={"prompt": "what does the sign say?", "max_length": "200"}))
    assert data["type"] == "image"
    res = data["result"]
    assert {"description", "objects", "object_counts", "people", "text", "colors", "quality", "nsfw_score",
            "answer"} <= set(res)
    assert 0 < len(res["description"]) <= 200
    assert {"count", "faces", "poses"} <= set(res["people"])
    assert "EXIT" in res["text"]["full_text"] and "EXIT" in res["answer"]
    assert {"brightness", "sharpness"} <= set(res["quality"]) and res["colors"]["dominant"]
    assert data["metadata"]["model"] and data["metadata"]["filename"] == "contract-sign.png"


@pytest.mark.usefixtures("shared_models")
def test_analysis_video_sync_and_async_as_documented(client: TestClient, talking_clip: Path) -> None:
    # curl -F video=@clip.mp4 -F num_frames=2 -F frame_sampling=keyframes
    with open(talking_clip, "rb") as fh:
        data = _ok(client.post("/api/analyze/video", files={"video": fh},
                               data={"num_frames": "2", "frame_sampling": "keyframes"}))
    assert data["type"] == "video"
    res = data["result"]
    assert {"frames", "summary", "audio", "duration", "fps", "resolution"} <= set(res)
    assert len(res["frames"]) == 2 and res["resolution"] == "320x180"
    for frame in res["frames"]:
        assert {"frame_number", "timestamp", "description", "objects", "people", "text"} <= set(frame)
    assert {"transcription", "language", "sound_events"} <= set(res["audio"])
    assert "fox" in res["audio"]["transcription"].lower()
    # Python: requests.post(..., files={"video": fh}, data={"num_frames": 5, "async": "true"}) -> 202 + job id
    with open(talking_clip, "rb") as fh:
        r = client.post("/api/analyze/video", files={"video": fh}, data={"num_frames": "2", "async": "true"})
    accepted = _ok(r, 202)["result"]
    job = wait_job(client, accepted["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["type"] == "video" and len(job["result"]["result"]["frames"]) == 2


def test_analysis_audio_as_documented(client: TestClient, speech_wav: Path) -> None:
    # curl -F audio=@interview.wav -F language=en -F word_level_timestamps=true
    with open(speech_wav, "rb") as fh:
        data = _ok(client.post("/api/analyze/audio", files={"audio": fh},
                               data={"language": "en", "word_level_timestamps": "true"}))
    assert data["type"] == "audio"
    res = data["result"]
    assert {"transcription", "language", "language_probability", "duration", "segments"} <= set(res)
    assert "fox" in res["transcription"].lower() and res["language"] == "en"
    seg = res["segments"][0]
    assert {"start", "end", "text", "words"} <= set(seg)
    assert {"word", "start", "end", "probability"} <= set(seg["words"][0])
    assert data["metadata"]["model"].startswith("whisper")


@pytest.mark.usefixtures("shared_models")
def test_analysis_batch_as_documented(client: TestClient, sign_png: Path, talking_clip: Path,
                                      speech_wav: Path) -> None:
    # curl -F files=@a.png -F files=@b.mp4 -F files=@c.wav
    files = [("files", (p.name, p.read_bytes())) for p in (sign_png, talking_clip, speech_wav)]
    data = _ok(client.post("/api/analyze/batch", files=files, data={"num_frames": "2"}))
    assert data["type"] == "batch_analysis"
    items = data["result"]["results"]
    assert [(i["index"], i["success"], i["type"]) for i in items] == [(0, True, "image"), (1, True, "video"),
                                                                      (2, True, "audio")]
    assert all({"filename", "result", "metadata"} <= set(i) for i in items)


def test_analysis_health_and_info_as_documented(client: TestClient) -> None:
    health = _ok(client.get("/api/health"))
    assert health["type"] == "health"
    assert {"status", "version", "uptime_seconds", "models", "queue"} <= set(health["result"])
    assert {"loaded", "available"} <= set(health["result"]["models"])
    info = _ok(client.get("/api/info"))
    assert {"version", "capabilities", "models", "limits", "supported_formats"} <= set(info["result"])
    assert {"image", "video", "audio"} <= set(info["result"]["supported_formats"])


def test_analysis_cors_for_the_documented_front_ends(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    default = Settings(_env_file=None).cors_origins  # type: ignore[call-arg]
    assert default == ["http://localhost:3000", "http://localhost:3001"] and "*" not in default
    for origin in ("http://localhost:3000", "http://localhost:3001"):
        r = client.options("/api/analyze/image", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
    r = client.get("/api/health", headers={"Origin": "http://localhost:3000"})
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    r = client.get("/api/health", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in r.headers


# --- the Frame-to-Audio Similarity API -------------------------------------------------------------------
@pytest.mark.usefixtures("shared_models")
def test_frame_to_audio_as_documented(client: TestClient) -> None:
    services = client.app.state.services
    if "default" in [c["name"] for c in client.get("/api/library/sounds").json()["data"]["result"]["collections"]]:
        pytest.skip("another test left a `default` sound collection in this session")
    frames = [("frames", ("f1.jpg", _jpeg(0, 0.0), "image/jpeg")), ("frames", ("f2.jpg", _jpeg(0, 1.0), "image/jpeg"))]
    assert client.get("/").json()["status"] == "ok"

    # no library yet: a clear error saying how to index one; /health says the library is empty
    health = client.get("/health").json()
    assert {"status", "models_loaded", "qwen_model", "qwen_processor", "audioldm_pipeline"} <= set(health)
    assert health["library_empty"] is True and health["library_clips"] == 0
    r = client.post("/process_frames", files=frames, data={"top_k": "3"})
    assert r.status_code == 404, r.text
    message = r.json()["error"]["message"]
    assert "sensorium library index DIR --name default" in message and "POST /api/library/sounds/index" in message

    # index a small library as `default`, inside DATA_DIR/libraries, as the docs show
    folder = services.settings.libraries_dir / "contract_sfx"
    for name, wave in (("hum.wav", tone(2.0, 220)), ("hiss.wav", noise(2.0, 1)), ("rain.wav", rain(2.0, 3))):
        save(folder / "fx" / name, wave)
    try:
        r = client.post("/api/library/sounds/index",
                        json={"directory": "contract_sfx", "name": "default", "sfx_embeddings": False})
        job = wait_job(client, _ok(r, 202)["result"]["job_id"])
        assert job["status"] == "succeeded", job
        assert job["result"]["result"]["indexed"] == 3 and job["result"]["result"]["root"] == "contract_sfx"
        assert job["params"]["directory"] == "contract_sfx" and str(folder) not in str(job)

        # curl -F frames=@f1.jpg -F frames=@f2.jpg -F top_k=3 /process_frames
        r = client.post("/process_frames", files=frames, data={"top_k": "3", "similarity_threshold": "-1"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"frame_filenames", "num_frames", "audio_description", "similar_clips", "total_results"}
        assert body["frame_filenames"] == ["f1.jpg", "f2.jpg"] and body["num_frames"] == 2
        assert body["audio_description"] and body["total_results"] == len(body["similar_clips"]) == 3
        clip = body["similar_clips"][0]
        assert set(clip) == {"fname", "similarity", "distance", "split", "metadata"}
        assert set(clip["metadata"]) == {"duration", "orig_sr"} and clip["split"] == "fx"
        health = client.get("/health").json()
        assert health["library_empty"] is False and health["library_clips"] == 3
        listed = client.get("/api/library/sounds").json()["data"]["result"]["collections"]
        default = next(c for c in listed if c["name"] == "default")
        assert default["root"] == "contract_sfx" and default["last_index"]["root"] == "contract_sfx"
    finally:
        client.delete("/api/library/sounds/default")
        shutil.rmtree(folder, ignore_errors=True)


# --- the AI Foley Studio ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def walk_clip(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2.5 s of a real walking clip (one walker), with its sound."""
    import av

    from sensorium.media.audio import load_audio
    from sensorium.media.encode import encode_video

    src = shared_dir / "testdata" / "walk" / "gait_abnormal_05_limping.mp4"
    if not src.is_file():
        pytest.skip(f"walking clip not found: {src}")
    n = 60
    with av.open(str(src)) as c:
        fps = float(c.streams.video[0].average_rate)
        frames = []
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="bgr24"))
            if len(frames) == n:
                break
    audio = load_audio(src, sr=44100, mono=True)[: int(n / fps * 44100)]
    dst = tmp_path_factory.mktemp("contract-foley") / "walk.mp4"
    return encode_video(dst, frames, fps=int(round(fps)), audio=audio, sample_rate=44100, crf=23)


def _step_done(client: TestClient, task_id: str, step: str) -> dict:
    def fetch() -> dict:
        return client.get(f"/api/status/{task_id}").json()["data"]["result"]

    data = wait_until(fetch, lambda d: d["steps"].get(step, {}).get("status") in TERMINAL, timeout=180,
                      what=f"end of the {step} step")
    assert data["steps"][step]["status"] == "succeeded", data
    return data


@pytest.mark.usefixtures("shared_models")
def test_foley_studio_as_documented(client: TestClient, walk_clip: Path) -> None:
    if client.app.state.services.registry.locate("mediapipe-pose") is None:
        pytest.skip("mediapipe 0.10.14 (pose) is not installed")
    # 1. curl -F file=@walk.mp4 /api/upload-video -> task_id
    with open(walk_clip, "rb") as fh:
        task = _ok(client.post("/api/upload-video", files={"file": ("walk.mp4", fh, "video/mp4")}))
    assert task["type"] == "foley_task"
    tid = task["result"]["task_id"]
    assert task["result"]["next"] == f"/api/process/{tid}"
    # 2. POST /api/process/$TASK with a JSON body
    job = _ok(client.post(f"/api/process/{tid}", json={"stride": 2, "surface": "auto"}), 202)["result"]
    assert job["task_id"] == tid and job["status_url"] == f"/api/status/{tid}"
    # 3. GET /api/status/$TASK: status, progress 0-100, stage; the summary when done
    st = _step_done(client, tid, "detect")
    assert {"status", "progress", "stage", "summary"} <= set(st) and st["progress"] == 100.0
    assert {"people", "steps_per_person", "cadence_spm", "surface", "surface_reason"} <= set(st["summary"])
    # 4. exports
    doc = client.get(f"/api/export-json/{tid}").json()
    schema = ["time_s", "frame", "person_id", "foot", "event", "confidence", "x", "y"]
    assert doc["schema"] == schema and {"video", "surface", "summary", "people", "events"} <= set(doc)
    csv = client.get(f"/api/export-csv/{tid}")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.splitlines()[0] == ",".join(schema)
    # 5. generate-video, then download-video without `kind`: the annotated video
    _ok(client.post(f"/api/generate-video/{tid}"), 202)
    _step_done(client, tid, "video")
    annotated = client.get(f"/api/download-video/{tid}")
    assert annotated.status_code == 200 and annotated.headers["content-type"].startswith("video/mp4")
    assert "annotated" in annotated.headers["content-disposition"]
    # generate-audio-video with a JSON body, then download-video without `kind`: the mixed video
    _ok(client.post(f"/api/generate-audio-video/{tid}", json={"mode": "duck", "surface": "gravel"}), 202)
    st = _step_done(client, tid, "audio")
    assert set(st["downloads"]) == {"annotated", "audio", "mixed"}
    latest = client.get(f"/api/download-video/{tid}")
    assert latest.status_code == 200 and "mixed" in latest.headers["content-disposition"]
    assert latest.content == client.get(f"/api/download-video/{tid}?kind=mixed").content != annotated.content
    # 6. `kind` still selects; Range requests work
    assert client.get(f"/api/download-video/{tid}?kind=annotated").content == annotated.content
    wav = client.get(f"/api/download-video/{tid}?kind=audio")
    assert wav.headers["content-type"].startswith("audio/wav") and wav.content[:4] == b"RIFF"
    part = client.get(f"/api/download-video/{tid}", headers={"Range": "bytes=0-1023"})
    assert part.status_code == 206 and part.content == latest.content[:1024]
