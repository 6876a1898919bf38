"""A full data folder, for real: DATA_DIR on a small tmpfs filled up (ENOSPC), or the server process under
RLIMIT_FSIZE (EFBIG), never a fake file system. Uploads and results that cannot be written answer 507
STORAGE_FULL, leave no part file behind (nothing half-written can be served later), the server keeps
answering, and once space is back the same requests succeed without a restart."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import wave
from pathlib import Path

import httpx
import pytest

from testkit.media_factory import tone, write_wav
from testkit.server import ServerProcess
from testkit.sounds import save as save_sound
from testkit.sounds import tone as sound_tone
from tests.helpers import wait_until

pytestmark = pytest.mark.slow
COLLECTION = "fulldisk"
FILE_LIMIT = 1024 * 1024  # RLIMIT_FSIZE of the second variant: no file over 1 MiB


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


def _expect_full(r: httpx.Response) -> None:
    assert r.status_code == 507, r.text
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == "STORAGE_FULL", body
    assert "full" in body["error"]["message"]


def _index(server: ServerProcess, lib: Path) -> None:
    r = httpx.post(f"{server.url}/api/library/sounds/index", json={"directory": str(lib), "name": COLLECTION,
                                                                   "sfx_embeddings": False}, timeout=60)
    assert r.status_code == 202, r.text
    job_id = r.json()["data"]["result"]["job_id"]
    job = wait_until(lambda: httpx.get(f"{server.url}/api/jobs/{job_id}", timeout=30).json()["data"]["result"],
                     lambda j: j["status"] in ("succeeded", "failed"), timeout=300, what="indexing")
    assert job["status"] == "succeeded", job


def _search(server: ServerProcess) -> httpx.Response:
    return httpx.post(f"{server.url}/api/sound/search", data={
        "query": "a steady beep", "collection": COLLECTION, "synthesize": "true", "audio_length_in_s": "12",
        "similarity_threshold": "0"}, timeout=300)


def _check_refusals(server: ServerProcess, data: Path, big_wav: Path) -> None:
    """The upload and the soundscape cannot be written: 507, and nothing of them is left on disk."""
    r = httpx.post(f"{server.url}/api/analyze/audio", files={"audio": ("big.wav", big_wav.read_bytes())},
                   data={"language": "en"}, timeout=300)
    _expect_full(r)
    assert _files(data / "tmp") == []  # the partial upload is gone
    _expect_full(_search(server))
    assert _files(data / "soundscapes") == []  # no half-written WAV to serve
    assert httpx.get(f"{server.url}/api/health", timeout=30).status_code == 200  # still answering


def _check_success(server: ServerProcess, big_wav: Path) -> None:
    r = httpx.post(f"{server.url}/api/analyze/audio", files={"audio": ("big.wav", big_wav.read_bytes())},
                   data={"language": "en"}, timeout=300)
    assert r.status_code == 200, r.text
    assert abs(r.json()["data"]["result"]["duration"] - 40.0) < 0.5
    r = _search(server)
    assert r.status_code == 200, r.text
    url = r.json()["data"]["result"]["soundscape"]["audio_url"]
    wav = httpx.get(f"{server.url}{url}", timeout=60)
    assert wav.status_code == 200
    path = server.root / "scape.wav"
    path.write_bytes(wav.content)
    with wave.open(str(path)) as w:  # complete: the header's length is all there
        assert abs(w.getnframes() / w.getframerate() - 12.0) < 0.1


@pytest.fixture()
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    lib = tmp_path / "lib"
    lib.mkdir()
    for f in (440, 660, 880):
        save_sound(lib / f"beep{f}.wav", sound_tone(2.0, f))
    return lib, write_wav(tmp_path / "big.wav", tone(40.0, 300, 16000, 0.2), 16000)  # 1.28 MB


def test_disk_full_on_a_real_tmpfs(tmp_path: Path, inputs, shared_models: Path) -> None:
    lib, big_wav = inputs
    data = tmp_path / "data"
    data.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(data)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}); the RLIMIT_FSIZE test runs")
    server = ServerProcess(tmp_path, "api", SOUND_LIBRARY_DIR=str(lib), JOB_WORKERS="1")
    try:
        server.start()
        pid = server.pid
        _index(server, lib)
        filler = data / "filler"
        free = shutil.disk_usage(data).free
        with open(filler, "wb") as fh:  # leave 256 KiB: the database still works, uploads and results don't fit
            fh.truncate(0)
            chunk = b"\0" * (1 << 20)
            left = free - 256 * 1024
            while left > 0:
                fh.write(chunk[:min(left, len(chunk))])
                left -= len(chunk)
        _check_refusals(server, data, big_wav)
        filler.unlink()  # space is back: the same requests work, same process
        _check_success(server, big_wav)
        assert server.pid == pid and server.alive()
    finally:
        server.stop()
        subprocess.run(["umount", "-l", str(data)], capture_output=True)


def _limit_file_size() -> None:  # runs in the server child before exec
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write over the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def test_file_size_limit_gives_the_same_answers(tmp_path: Path, inputs, shared_models: Path) -> None:
    lib, big_wav = inputs
    server = ServerProcess(tmp_path, "api", preexec=_limit_file_size, SOUND_LIBRARY_DIR=str(lib), JOB_WORKERS="1")
    try:
        server.start()
        _index(server, lib)
        _check_refusals(server, tmp_path / "data", big_wav)
        small = write_wav(tmp_path / "small.wav", tone(5.0, 300, 16000, 0.2), 16000)  # fits under the limit
        r = httpx.post(f"{server.url}/api/analyze/audio", files={"audio": ("small.wav", small.read_bytes())},
                       data={"language": "en"}, timeout=300)
        assert r.status_code == 200, r.text
        assert server.alive()
    finally:
        server.stop()
    assert os.path.getsize(big_wav) > FILE_LIMIT  # the refusal above was the limit's doing
