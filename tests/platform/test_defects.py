"""Defects found by testers (issue 14), each reproduced: long non-ASCII names, huge numbers, internal
errors, server paths in messages, OpenAI streaming and status codes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sensorium.store.files import MAX_NAME_BYTES, sanitize_filename
from testkit import media_factory


@pytest.fixture(scope="module")
def short_wav(media_dir: Path) -> Path:
    return media_factory.speak("The quick brown fox jumps over the lazy dog.", media_dir / "defects.wav")


def test_long_non_ascii_file_names_are_cut_by_bytes(client: TestClient, short_wav: Path) -> None:
    name = "声" * 100 + ".wav"  # 300 bytes of UTF-8: over the 255-byte limit of file systems
    safe = sanitize_filename(name)
    assert len(safe.encode()) <= MAX_NAME_BYTES and safe.endswith(".wav") and safe.startswith("声")
    r = client.post("/api/analyze/audio", files={"audio": (name, short_wav.read_bytes())}, data={"language": "en"})
    assert r.status_code == 200, r.text
    reported = r.json()["data"]["metadata"]["filename"]
    assert name.startswith(reported.removesuffix(".wav")) and reported.endswith(".wav")
    r = client.post("/v1/audio/transcriptions", files={"file": (name, short_wav.read_bytes())},
                    data={"model": "tiny.en"})
    assert r.status_code == 200 and "fox" in r.json()["text"].lower()


def test_huge_numbers_are_validation_errors(client: TestClient) -> None:
    r = client.get("/api/jobs", params={"offset": 9223372036854775808})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_openai_paths_answer_400_for_validation(client: TestClient, short_wav: Path) -> None:
    r = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", short_wav.read_bytes())},
                    data={"temperature": "7"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = client.post("/v1/audio/transcriptions", data={"model": "whisper-1"})  # no file
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"


def test_internal_error_is_answered_once_without_server_paths(client: TestClient, short_wav: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    speech = client.app.state.services.speech

    def bug(path, opts, **kwargs):
        raise RuntimeError(f"boom while reading {path}")

    monkeypatch.setattr(speech, "transcribe_file", bug)
    with caplog.at_level(logging.ERROR):
        r = client.post("/api/analyze/audio", files={"audio": ("a.wav", short_wav.read_bytes())})
    assert r.status_code == 500
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == "PROCESSING_FAILED"
    assert "RuntimeError" in body["error"]["message"] and "/" not in body["error"]["message"]
    tracebacks = [rec for rec in caplog.records if rec.exc_info]
    assert len(tracebacks) == 1  # logged once, by the middleware


def test_corrupt_media_message_shows_no_server_path(client: TestClient) -> None:
    r = client.post("/api/analyze/audio", files={"audio": ("bad.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500)})
    assert r.status_code in (415, 422)
    message = r.json()["error"]["message"]
    assert str(client.app.state.services.settings.data_dir) not in message and "/tmp" not in message


def test_openai_streaming_sends_deltas_then_done(client: TestClient, short_wav: Path) -> None:
    from openai import OpenAI

    oa = OpenAI(base_url=str(client.base_url) + "/v1", api_key="not-needed", http_client=client, max_retries=0)
    with open(short_wav, "rb") as fh:
        events = list(oa.audio.transcriptions.create(model="tiny.en", file=fh, stream=True))
    kinds = [e.type for e in events]
    assert kinds[-1] == "transcript.text.done" and kinds.count("transcript.text.delta") >= 1
    text = "".join(e.delta for e in events if e.type == "transcript.text.delta")
    assert text == events[-1].text and "fox" in text.lower()
    r = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", short_wav.read_bytes())},
                    data={"stream": "true", "response_format": "srt"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "stream"


@pytest.mark.usefixtures("shared_models")
def test_health_names_the_command_that_fixes_a_missing_model(client: TestClient) -> None:
    from tests.helpers import weights_missing

    with weights_missing(client.app.state.services.registry, "yolox-nano"):
        health = client.get("/api/health").json()["data"]["result"]
        assert health["status"] == "degraded"
        assert any("sensorium models pull yolox-nano" in fix for fix in health["fix"])
    assert client.get("/api/health").json()["data"]["result"]["fix"] == []
