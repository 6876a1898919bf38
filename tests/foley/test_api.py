"""The foley studio API flow (documented contract), NOT_FOUND, out-of-order VALIDATION_ERROR, range requests."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import TERMINAL, wait_until


def _wait(client, task_id: str, step: str, timeout: float = 120) -> dict:
    def fetch() -> dict:
        r = client.get(f"/api/status/{task_id}")
        assert r.status_code == 200
        return r.json()["data"]["result"]

    data = wait_until(fetch, lambda d: d["steps"].get(step, {}).get("status") in TERMINAL, timeout=timeout,
                      what=f"end of the {step} step")
    assert data["steps"][step]["status"] == "succeeded", data
    return data


def test_unknown_task_is_not_found(client) -> None:
    for method, url in [("get", "/api/status/0123abc"), ("post", "/api/process/0123abc"),
                        ("get", "/api/export-json/0123abc"), ("get", "/api/export-csv/0123abc"),
                        ("post", "/api/generate-video/0123abc"), ("post", "/api/generate-audio-video/0123abc"),
                        ("get", "/api/download-video/0123abc?kind=mixed")]:
        r = getattr(client, method)(url)
        assert r.status_code == 404, url
        assert r.json()["error"]["code"] == "NOT_FOUND"


def test_upload_rejects_non_video(client) -> None:
    r = client.post("/api/upload-video", files={"file": ("notes.mp4", b"just some text, not a video", "video/mp4")})
    assert r.status_code in (400, 415, 422)
    assert r.json()["error"]["code"] == "INVALID_FILE_TYPE"


def test_foley_flow(client, services, short_walk: Path, foley_registry) -> None:
    with open(short_walk, "rb") as fh:
        r = client.post("/api/upload-video", files={"file": ("walk.mp4", fh, "video/mp4")})
    assert r.status_code == 200, r.text
    task = r.json()["data"]["result"]
    tid = task["task_id"]
    assert task["video"]["fps"] > 20

    st = client.get(f"/api/status/{tid}").json()["data"]["result"]
    assert st["status"] == "uploaded" and st["summary"] is None

    # out of order: nothing detected yet
    for method, url in [("get", f"/api/export-json/{tid}"), ("get", f"/api/export-csv/{tid}"),
                        ("post", f"/api/generate-video/{tid}"), ("post", f"/api/generate-audio-video/{tid}"),
                        ("get", f"/api/download-video/{tid}?kind=annotated")]:
        r = getattr(client, method)(url)
        assert r.status_code == 422, url
        body = r.json()["error"]
        assert body["code"] == "VALIDATION_ERROR" and "/api/" in body["message"], url

    # bad parameters
    r = client.post(f"/api/process/{tid}", json={"stride": 0})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = client.post(f"/api/process/{tid}", json={"surface": "lava"})
    assert r.status_code == 422

    r = client.post(f"/api/process/{tid}", json={"stride": 1, "surface": "auto"})
    assert r.status_code == 202, r.text
    st = _wait(client, tid, "detect")
    s = st["summary"]
    assert s["steps"] >= 2 and s["surface"] in ("tile", "concrete", "wood", "carpet", "metal", "snow")
    assert s["surface_reason"]
    assert st["progress"] == 100.0
    walker = max(s["steps_per_person"], key=lambda k: s["steps_per_person"][k])
    assert s["steps_per_person"][walker] >= 2

    doc = client.get(f"/api/export-json/{tid}").json()
    assert doc["schema"] == ["time_s", "frame", "person_id", "foot", "event", "confidence", "x", "y"]
    strikes = [e for e in doc["events"] if e["event"] == "heel_strike"]
    assert len(strikes) == s["steps"]
    assert all(set(e) == set(doc["schema"]) for e in doc["events"])
    csv = client.get(f"/api/export-csv/{tid}")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == ",".join(doc["schema"]) and len(lines) == len(doc["events"]) + 1

    # generation steps
    r = client.post(f"/api/generate-audio-video/{tid}", json={"mode": "loud"})
    assert r.status_code == 422
    assert client.post(f"/api/generate-audio-video/{tid}", json={"mode": "duck"}).status_code == 202
    _wait(client, tid, "audio")
    assert client.post(f"/api/generate-video/{tid}").status_code == 202
    st = _wait(client, tid, "video")
    assert set(st["downloads"]) == {"annotated", "audio", "mixed"}

    for kind, ctype in [("mixed", "video/mp4"), ("annotated", "video/mp4"), ("audio", "audio/wav")]:
        full = client.get(f"/api/download-video/{tid}?kind={kind}")
        assert full.status_code == 200 and full.headers["content-type"].startswith(ctype)
        size = len(full.content)
        assert size > 1000
        part = client.get(f"/api/download-video/{tid}?kind={kind}", headers={"Range": "bytes=100-599"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-599/{size}"
        assert part.content == full.content[100:600]

    # the task survives a restart: a fresh service stack on the same data dir sees it
    from sensorium.services import build_services

    fresh = build_services(services.settings)
    try:
        fresh.start(run_jobs=False)
        assert fresh.foley.tasks.get(tid).id == tid  # a foley task record (NOT_FOUND otherwise)
        assert fresh.jobs.get(fresh.foley.tasks.get(tid).jobs["detect"]).status == "succeeded"
    finally:
        fresh.close()


def test_openapi_documents_the_foley_contract(client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p in ["/api/upload-video", "/api/process/{task_id}", "/api/status/{task_id}", "/api/export-json/{task_id}",
              "/api/export-csv/{task_id}", "/api/generate-video/{task_id}", "/api/download-video/{task_id}",
              "/api/generate-audio-video/{task_id}"]:
        assert p in paths, p
        for op in paths[p].values():
            assert op.get("description"), p
            assert "404" in op["responses"] or p == "/api/upload-video", p
