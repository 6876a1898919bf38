"""Scale-out with real servers: two `sensorium worker` processes on Redis run 20 mixed jobs (transcription,
emotion, video analysis, sound indexing, foley detection) exactly once,
with the same results as the embedded mode; a worker killed with SIGKILL mid-job loses nothing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import cv2
import librosa
import numpy as np
import pytest

from sensorium.emotion.schemas import EmotionOptions
from sensorium.foley.schemas import ProcessParams
from sensorium.jobs.schemas import JobRecord
from sensorium.media.encode import encode_video
from sensorium.services import Services, build_services
from sensorium.sound.schemas import IndexRequest
from sensorium.speech.schemas import TranscribeOptions
from sensorium.store.database import JobRow
from sensorium.vision.schemas import VideoOptions
from testkit.media_factory import read_wav
from testkit.settings import make_settings
from testkit.sounds import save as save_sound
from testkit.sounds import tone
from tests.helpers import wait_until
from tests.scaleout.conftest import Workers

pytestmark = pytest.mark.slow
TERMINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis):
    """An API-side Services on BROKER_URL (it only sends jobs) and two workers sharing its DATA_DIR."""
    root = tmp_path_factory.mktemp("cluster")
    (root / "logs").mkdir()
    settings = make_settings(root, broker_url=redis.url, celery_visibility_timeout=20)
    services = build_services(settings)
    services.start()
    workers = Workers(settings.data_dir, redis.url, root / "logs")
    workers.start(2)
    yield services, workers
    workers.stop()
    services.close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, speak, shared_dir: Path) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    wav = speak("The quick brown fox jumps over the lazy dog near the river bank.")
    audio, sr = read_wav(wav)
    speech = librosa.resample(audio.astype(np.float32), orig_sr=sr, target_sr=16000)
    frame = np.full((240, 320, 3), 60, np.uint8)
    cv2.rectangle(frame, (100, 60), (220, 180), (0, 200, 255), -1)
    video = encode_video(d / "clip.mp4", [frame] * 30, fps=10, audio=speech[:3 * 16000], sample_rate=16000)
    return {"wav": wav, "video": video, "walk": short_walk(d / "walk.mp4", shared_dir)}


def short_walk(dst: Path, shared_dir: Path) -> Path:
    """The first 3 s of a real walking clip (../shared/testdata/walk, clip 02: strikes at frames 24, 41, 59, 77)."""
    import av

    src = shared_dir / "testdata" / "walk" / "gait_abnormal_02_slouch_posture.mp4"
    if not src.is_file():
        pytest.skip(f"walking clip not found: {src}")
    with av.open(str(src)) as c:
        frames = [f.to_ndarray(format="bgr24") for f, _ in zip(c.decode(video=0), range(90), strict=False)]
    return encode_video(dst, frames, fps=30, crf=20)


def submit_mix(services: Services, inputs: dict[str, Path], tmp: Path, lib_tag: str) -> list[JobRecord]:
    """20 jobs: 6 transcriptions, 6 emotion (text), 4 video analyses, 2 sound library indexings, 2 foley
    footstep detections."""
    jobs = []
    for i in range(6):
        copy = tmp / f"talk{i}.wav"
        shutil.copy(inputs["wav"], copy)
        jobs.append(services.speech.submit_transcription(copy, "talk.wav", TranscribeOptions(language="en")))
    for i in range(6):
        jobs.append(services.emotion.submit_text(f"I am so happy today! Number {i}. This is awful.",
                                                 EmotionOptions()))
    for i in range(4):
        copy = tmp / f"clip{i}.mp4"
        shutil.copy(inputs["video"], copy)
        jobs.append(services.vision.submit_video(copy, "clip.mp4", VideoOptions(num_frames=2, ocr=False,
                                                                                use_llm=False)))
    for i in range(2):
        lib = services.settings.libraries_dir / f"{lib_tag}{i}"
        lib.mkdir(parents=True, exist_ok=True)
        for f in (440, 880):
            save_sound(lib / f"tone{f}.wav", tone(1.5, f))
        jobs.append(services.sound.submit_index(IndexRequest(directory=f"{lib_tag}{i}", name=f"{lib_tag}{i}",
                                                             sfx_embeddings=False)))
    for i in range(2):
        copy = tmp / f"walk{i}.mp4"
        shutil.copy(inputs["walk"], copy)
        task = services.foley.create_task(copy, "walk.mp4")
        jobs.append(services.jobs.get(services.foley.process(task.task_id, ProcessParams()).job_id))
    return jobs


def finished(services: Services, jobs: list[JobRecord], timeout: float) -> list[JobRecord]:
    return wait_until(lambda: [services.jobs.get(j.id) for j in jobs],
                      lambda rows: all(r.status in TERMINAL for r in rows), timeout=timeout, interval=1.0,
                      what="end of every job")


def essence(job: JobRecord) -> object:
    """What must not depend on where a job ran (no timings, ids or paths)."""
    r = job.result or {}
    if job.kind == "analyze.audio":
        return r["result"]["transcription"]
    if job.kind == "analyze.sentiment":
        return [(u["text"], u["emotion"], u["sentiment"]) for u in r["result"]["utterances"]]
    if job.kind == "analyze.video":
        return sorted(o.get("label") or o.get("name") for o in r["result"].get("objects", []))
    if job.kind == "library.sounds.index":
        counts = (r["result"]["total"], r["result"]["indexed"])
        assert counts == (2, 2), counts  # the two tones of the library
        return counts
    if job.kind == "foley.detect":
        s = r["summary"]
        assert s["steps"] >= 2, s  # the walker's strikes in the 3 s (see tests/foley for their timing)
        return (s["people"], s["walkers"], s["steps"], sorted(s["steps_per_person"].values()), s["surface"])
    raise AssertionError(f"no essence defined for job kind {job.kind}")


def test_two_workers_run_20_mixed_jobs_exactly_once_like_the_embedded_mode(cluster, inputs, tmp_path,
                                                                            services) -> None:
    api, workers = cluster
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    jobs = submit_mix(api, inputs, tmp_path / "a", "lib")
    done = finished(api, jobs, timeout=900)
    assert [j.status for j in done] == ["succeeded"] * 20, [(j.kind, j.error_message) for j in done]
    assert all(j.attempts == 1 for j in done)
    log = workers.log_text()
    for j in done:  # each job ran once, in one worker
        assert len(re.findall(rf"job {j.id} succeeded", log)) == 1, j.id
    # the same inputs in the embedded mode (the session's in-process services) give the same results
    embedded = finished(services, submit_mix(services, inputs, tmp_path / "b", "emb"), timeout=900)
    assert [essence(j) for j in done] == [essence(j) for j in embedded]
    assert "fox" in essence(done[0]).lower()


def test_a_worker_killed_mid_job_loses_nothing(cluster, tmp_path, speak) -> None:
    api, workers = cluster
    parts = []
    for line in ("One morning the farmer walked across the wide green field.",
                 "He counted the sheep, the cows and the horses twice.",
                 "Then he sat under the old oak tree and ate his bread."):
        audio, sr = read_wav(speak(line))
        parts.append(librosa.resample(audio.astype(np.float32), orig_sr=sr, target_sr=16000))
    from testkit.media_factory import write_wav

    long_talk = write_wav(tmp_path / "long.wav", np.concatenate(parts * 4), 16000)  # ~45 s of speech
    job = api.speech.submit_transcription(long_talk, "long.wav", TranscribeOptions(language="en",
                                                                                   model="whisper-base"))
    running = wait_until(lambda: api.jobs.get(job.id), lambda j: j.status == "running" and j.progress > 5,
                         timeout=300, interval=0.2, what="job running")
    with api.db.session() as s:
        worker = s.get(JobRow, running.id).worker  # "host:pid" of the pool process running it
    pid = int(worker.rpartition(":")[2])
    os.kill(pid, signal.SIGKILL)  # the pool process running it dies at once
    final = wait_until(lambda: api.jobs.get(job.id), lambda j: j.status in TERMINAL, timeout=600, interval=1.0,
                       what="end of the killed job")
    assert final.status == "succeeded", final.error_message
    assert final.attempts == 2 and "farmer" in final.result["result"]["transcription"].lower()
    time.sleep(1)
    assert api.jobs.get(job.id).status == "succeeded"  # not run a third time


def test_jobs_sent_while_redis_is_down_run_once_it_is_back(cluster, redis) -> None:
    api, _ = cluster
    redis.stop()
    jobs = [api.emotion.submit_text(f"What a wonderful surprise, thank you! ({i})", EmotionOptions())
            for i in range(3)]  # the sends fail (logged); the jobs wait in the database
    assert {api.jobs.get(j.id).status for j in jobs} == {"queued"}
    redis.start()  # the workers reconnect; the API's sweeper re-sends jobs queued for more than 30 s
    done = finished(api, jobs, timeout=300)
    assert [j.status for j in done] == ["succeeded"] * 3 and all(j.attempts == 1 for j in done)
