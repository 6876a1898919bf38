"""The API server process killed with SIGKILL while a job runs (embedded mode: the job runs inside it),
then started again on the same DATA_DIR: the interrupted job is requeued and completes with the right
result, and the jobs that were waiting behind it complete too. Nothing is lost."""

from __future__ import annotations

from pathlib import Path

import httpx
import librosa
import numpy as np
import pytest

from testkit.media_factory import read_wav, write_wav
from testkit.server import ServerProcess
from tests.helpers import wait_until

pytestmark = pytest.mark.slow
TERMINAL = ("succeeded", "failed", "cancelled")
LINES = ("One morning the farmer walked across the wide green field.",
         "He counted the sheep, the cows and the horses twice.",
         "Then he sat under the old oak tree and ate his bread.")


def long_talk(speak, folder: Path, repeat: int = 4) -> Path:
    """~45 s of Piper speech at 16 kHz: long enough to be killed in the middle of its transcription."""
    parts = []
    for line in LINES:
        audio, sr = read_wav(speak(line))
        parts.append(librosa.resample(audio.astype(np.float32), orig_sr=sr, target_sr=16000))
    return write_wav(folder / "long.wav", np.concatenate(parts * repeat), 16000)


def job(base: str, job_id: str) -> dict:
    return httpx.get(f"{base}/api/jobs/{job_id}", timeout=30).json()["data"]["result"]


def submit_jobs(base: str, talk: Path) -> tuple[str, list[str]]:
    """The long transcription (multilingual base model, `auto`), then 3 text emotion jobs queued behind it."""
    r = httpx.post(f"{base}/api/analyze/audio", files={"audio": ("long.wav", talk.read_bytes())},
                   data={"language": "auto", "async": "true"}, timeout=60)
    assert r.status_code == 202, r.text
    long_id = r.json()["data"]["result"]["job_id"]
    queued = []
    for i in range(3):
        r = httpx.post(f"{base}/api/analyze/sentiment", data={"text": f"I love this place ({i}).", "async": "true"},
                       timeout=60)
        assert r.status_code == 202, r.text
        queued.append(r.json()["data"]["result"]["job_id"])
    return long_id, queued


def test_server_killed_mid_job_recovers_every_job(tmp_path: Path, speak, shared_models: Path) -> None:
    talk = long_talk(speak, tmp_path)
    server = ServerProcess(tmp_path, "api", JOB_WORKERS="1")
    server.start()
    try:
        long_id, queued = submit_jobs(server.url, talk)
        running = wait_until(lambda: job(server.url, long_id), lambda j: j["status"] == "running" and
                             j["progress"] > 5, timeout=300, interval=0.2, what="long job running")
        assert running["status"] == "running" and running["attempts"] == 1
        assert all(job(server.url, q)["status"] == "queued" for q in queued)  # one job worker: they wait
        server.kill()
        server.start()  # same DATA_DIR and port
        final = wait_until(lambda: job(server.url, long_id), lambda j: j["status"] in TERMINAL,
                           timeout=600, interval=1.0, what="end of the interrupted job")
        assert final["status"] == "succeeded", final
        assert final["attempts"] == 2  # run again from the start, once
        text = final["result"]["result"]["transcription"].lower()
        assert "farmer" in text and "oak tree" in text
        for q in queued:
            done = wait_until(lambda q=q: job(server.url, q), lambda j: j["status"] in TERMINAL, timeout=300,
                              what="end of a queued job")
            assert done["status"] == "succeeded" and done["attempts"] == 1, done
            assert "I love this place" in done["result"]["result"]["utterances"][0]["text"]
    finally:
        server.stop()
