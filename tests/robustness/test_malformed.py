"""The malformed-media corpus (testkit/malformed.py) sent to every upload endpoint: only documented error
codes with their documented statuses, never a 500, jobs that end with a documented error, the server still
answering afterwards, and no file left in the upload temp folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sensorium.errors import STATUS, ErrorCode
from testkit.malformed import Case, corpus
from testkit.sounds import save as save_sound
from testkit.sounds import tone
from tests.helpers import wait_job

COLLECTION = "malformed"
#: what a bad upload may be answered with (errors.py); anything else (500, 503, 504...) is a defect
UPLOAD_CODES = {ErrorCode.INVALID_FILE_TYPE, ErrorCode.FILE_TOO_LARGE, ErrorCode.PROCESSING_FAILED,
                ErrorCode.VALIDATION_ERROR}
#: an exception class name at the start of a job's error message: an unexpected exception, not a clear error
BUG_MESSAGE = re.compile(r"^[A-Z]\w*(Error|Exception|Warning)\b")

# (path[#variant], file field, extra form fields, media kinds the endpoint accepts)
ENDPOINTS: list[tuple[str, str, dict[str, str], tuple[str, ...]]] = [
    ("/api/analyze/image", "image", {}, ("image",)),
    ("/api/analyze/video", "video", {"num_frames": "2"}, ("video",)),
    ("/api/analyze/audio", "audio", {"language": "en"}, ("audio", "video")),
    ("/v1/audio/transcriptions", "file", {"language": "en"}, ("audio", "video")),
    ("/api/sound/search", "audio", {"collection": COLLECTION, "top_k": "3"}, ("audio", "video")),
    ("/api/upload-video", "file", {}, ("video",)),
    ("/api/analyze/sentiment", "audio", {"language": "en", "diarize": "false"}, ("audio", "video")),
    ("/api/recommendations/analyze-video", "video", {"limit": "3"}, ("video",)),
    # and the other endpoints that take files
    ("/api/analyze/audio/detect-language", "audio", {}, ("audio", "video")),
    ("/api/sound/search#video", "video", {"collection": COLLECTION, "top_k": "3"}, ("video",)),
    ("/process_frames", "frames", {"collection": COLLECTION}, ("image",)),
    ("/api/analyze/batch", "files", {"num_frames": "2"}, ("image", "video", "audio")),
]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    return corpus(tmp_path_factory.mktemp("malformed"))


@pytest.fixture(scope="module")
def app(client: TestClient, shared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The session's app, with a tiny sound collection so that search-by-audio reads the upload."""
    services = client.app.state.services
    lib = tmp_path_factory.mktemp("malformed-lib")
    for f in (440, 880):
        save_sound(lib / f"tone{f}.wav", tone(1.0, f))
    services.sound.index_library(lib, COLLECTION, sfx_embeddings=False)
    return client


def _tmp_files(client: TestClient) -> list[Path]:
    return [p for p in client.app.state.services.settings.tmp_dir.rglob("*") if p.is_file()]


def _error_code(path: str, body: dict[str, Any]) -> ErrorCode:
    if path.startswith("/v1/"):  # OpenAI's shape: {"error": {"message", "type", "param", "code"}}
        assert body["error"]["message"] and body["error"]["type"] == "invalid_request_error", body
        return ErrorCode(body["error"]["code"].upper())
    assert body["success"] is False and body["error"]["message"], body
    return ErrorCode(body["error"]["code"])


def _check_job(client: TestClient, job_id: str, what: str) -> str:
    job = wait_job(client, job_id, timeout=300)
    assert job["status"] in ("succeeded", "failed"), (what, job)
    if job["status"] == "failed":
        code, message = job["error"]["code"], job["error"]["message"] or ""
        assert ErrorCode(code) in UPLOAD_CODES, (what, job["error"])
        assert not BUG_MESSAGE.match(message), (what, job["error"])  # an unexpected exception, not an answer
    return job["status"]


def _send(client: TestClient, case: Case, endpoint: tuple) -> tuple[int, str]:
    """One upload; checks the answer's shape. (status, code or 'ok')."""
    path, field, form, _ = endpoint
    if path == "/api/analyze/sentiment" and case.family == "video":
        field = "video"
    path = path.partition("#")[0]
    r = client.post(path, files={field: (case.name, case.path.read_bytes())}, data=form)
    what = f"{case.name} -> {path}"
    assert r.status_code != 500, (what, r.text)
    if r.status_code in (200, 202):
        body = r.json()
        result = body["data"]["result"] if "data" in body else body
        job_id = (result.get("job_id") or result.get("task_id")) if r.status_code == 202 else None
        if job_id and path != "/api/upload-video":
            return r.status_code, _check_job(client, job_id, what)
        if path == "/api/analyze/batch":  # one answer per file: a failed file carries its own error code
            (entry,) = result["results"]
            if not entry["success"]:
                code = ErrorCode(entry["error"]["code"])
                assert code in UPLOAD_CODES, (what, entry)
                return STATUS[code], code.value
        return r.status_code, "ok"
    code = _error_code(path, r.json())
    assert code in UPLOAD_CODES, (what, r.status_code, r.text)
    expected = 400 if path.startswith("/v1/") and code is ErrorCode.VALIDATION_ERROR else STATUS[code]
    assert r.status_code == expected, (what, r.status_code, r.text)
    return r.status_code, code.value


def test_every_upload_endpoint_answers_the_corpus_with_documented_errors(app: TestClient,
                                                                           cases: list[Case]) -> None:
    assert _tmp_files(app) == []
    outcomes: dict[tuple[str, str], tuple[int, str]] = {}
    for endpoint in ENDPOINTS:
        for case in cases:
            outcomes[(case.name, endpoint[0])] = _send(app, case, endpoint)  # key: the label, "#" included
            leftovers = _tmp_files(app)
            assert leftovers == [], (case.name, endpoint[0], leftovers)
    assert app.get("/api/health").status_code == 200  # still up and answering

    # content the endpoint does not take is refused by type, whatever its name says
    for (name, path), (status, code) in outcomes.items():
        family = next(c.family for c in cases if c.name == name)
        accepts = next(e[3] for e in ENDPOINTS if e[0] == path)
        if family not in accepts and name != "empty.wav":
            assert code in ("INVALID_FILE_TYPE", "PROCESSING_FAILED"), (name, path, status, code)
    # bombs and huge declared sizes are refused before decoding, by size
    for name in ("png-bomb-900mp.png", "png-huge-header.png", "jpeg-huge-header.jpg"):
        assert outcomes[(name, "/api/analyze/image")] == (413, "FILE_TOO_LARGE"), name
    # nothing to decode: a clear PROCESSING_FAILED on every endpoint that takes the kind
    for name, kinds in (("mp4-no-moov.mp4", ("video",)), ("empty.wav", ("audio", "video", "image")),
                        ("wav-no-data-chunk.wav", ("audio",)), ("mp3-id3-only.mp3", ("audio",))):
        for path, _, _, accepts in ENDPOINTS:
            if set(kinds) & set(accepts):
                assert outcomes[(name, path)] == (422, "PROCESSING_FAILED"), (name, path, outcomes[(name, path)])
