"""Two API processes (two uvicorn servers on one DATA_DIR and database, jobs run by one of them) serve
the same foley task: the same status answers from both, and a step started from both at once is
started exactly once (one 202, one VALIDATION_ERROR)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from sensorium.media.encode import encode_video
from testkit.settings import REPO, SHARED
from tests.helpers import stop_all, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(root: Path, name: str, job_workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DATA_DIR": str(root / "data"), "LOG_DIR": str(root / f"logs-{name}"),
           "MODEL_DIRS": str(SHARED / "models"),
           "MODEL_CACHE_DIR": os.environ.get("SENSORIUM_TEST_MODEL_CACHE", str(REPO / ".cache" / "models")),
           "MODEL_TTL_SECONDS": "-1", "ALLOW_DOWNLOADS": "false", "HF_HUB_OFFLINE": "1",
           "JOB_WORKERS": str(job_workers), "LOG_LEVEL": "WARNING"}
    log = (root / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "sensorium.api.app:app_factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def health() -> int:
        if proc.poll() is not None:
            raise AssertionError(f"server {name} exited: {(root / f'{name}.log').read_text()[-3000:]}")
        try:
            return httpx.get(f"{base}/api/health", timeout=5).status_code
        except httpx.HTTPError:
            return 0

    wait_until(health, lambda code: code == 200, timeout=120, interval=0.5, what=f"server {name} up")
    return proc, base


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, foley_registry) -> Iterator[tuple[str, str]]:
    """(worker, api-only): the first runs the jobs (JOB_WORKERS=1), the second none (JOB_WORKERS=0)."""
    root = tmp_path_factory.mktemp("two-servers")
    procs: list[subprocess.Popen] = []
    try:
        worker, a = _start(root, "worker", 1)  # first: it creates the tables
        procs.append(worker)
        api_only, b = _start(root, "api-only", 0)
        procs.append(api_only)
        yield a, b
    finally:
        stop_all(procs)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    frames = []
    for i in range(36):  # a floor and a moving box, 1.5 s
        img = np.full((240, 320, 3), 90, np.uint8)
        img[150:] = (150, 160, 170)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        img[160:200, 20 + 6 * i: 60 + 6 * i] = (40, 80, 200)
        frames.append(img)
    return encode_video(tmp_path_factory.mktemp("clip") / "floor.mp4", frames, fps=24)


def _status(base: str, task_id: str) -> dict:
    r = httpx.get(f"{base}/api/status/{task_id}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["data"]["result"]


def _race(urls: list[str]) -> list[httpx.Response]:
    """POST to every url at the same moment."""
    barrier = threading.Barrier(len(urls))
    out: list[httpx.Response | None] = [None] * len(urls)

    def post(i: int, url: str) -> None:
        with httpx.Client(timeout=60) as c:
            barrier.wait()
            out[i] = c.post(url)

    threads = [threading.Thread(target=post, args=(i, u)) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


def _one_started(responses: list[httpx.Response]) -> str:
    codes = sorted(r.status_code for r in responses)
    assert codes == [202, 422], [r.text for r in responses]
    won = next(r for r in responses if r.status_code == 202).json()["data"]["result"]
    lost = next(r for r in responses if r.status_code == 422).json()["error"]
    assert lost["code"] == "VALIDATION_ERROR" and won["job_id"] in lost["message"], lost
    return won["job_id"]


def _wait_step(base: str, task_id: str, step: str) -> dict:
    st = wait_until(lambda: _status(base, task_id),
                    lambda s: s["steps"].get(step, {}).get("status") in ("succeeded", "failed", "cancelled"),
                    timeout=180, what=f"{step} finished")
    assert st["steps"][step]["status"] == "succeeded", st
    return st


def test_two_processes_share_a_task(servers: tuple[str, str], clip: Path) -> None:
    a, b = servers
    with open(clip, "rb") as fh:
        r = httpx.post(f"{b}/api/upload-video", files={"file": ("floor.mp4", fh, "video/mp4")}, timeout=60)
    assert r.status_code == 200, r.text
    tid = r.json()["data"]["result"]["task_id"]
    assert _status(a, tid) == _status(b, tid)
    assert _status(a, tid)["status"] == "uploaded"

    # both processes asked to detect at the same moment: exactly one job
    job_id = _one_started(_race([f"{a}/api/process/{tid}", f"{b}/api/process/{tid}"]))
    assert _status(a, tid)["steps"]["detect"]["job_id"] == job_id == _status(b, tid)["steps"]["detect"]["job_id"]

    _wait_step(a, tid, "detect")
    done_a, done_b = _status(a, tid), _status(b, tid)
    assert done_a == done_b
    assert done_a["summary"] is not None and done_a["exports"]
    assert httpx.get(f"{a}/api/export-json/{tid}").json() == httpx.get(f"{b}/api/export-json/{tid}").json()

    # the same for a generation step, and its result is downloadable from both
    _one_started(_race([f"{b}/api/generate-video/{tid}", f"{a}/api/generate-video/{tid}"]))
    _wait_step(b, tid, "video")
    assert _status(a, tid) == _status(b, tid)
    assert set(_status(b, tid)["downloads"]) == {"annotated"}
    got = [httpx.get(f"{base}/api/download-video/{tid}?kind=annotated", timeout=60) for base in (a, b)]
    assert [g.status_code for g in got] == [200, 200] and got[0].content == got[1].content
