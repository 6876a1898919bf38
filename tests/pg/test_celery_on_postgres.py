"""The whole scale-out trio: an API-side Services and two `sensorium worker` processes on Redis, with the
records in PostgreSQL and the sound vectors in pgvector (DATABASE_URL + VECTOR_BACKEND=pgvector + BROKER_URL).
Transcriptions, text emotion and a sound-library indexing run once each; the indexed clips are in PostgreSQL
and searchable from the API side."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sensorium.emotion.schemas import EmotionOptions
from sensorium.services import build_services
from sensorium.sound.schemas import IndexRequest
from sensorium.speech.schemas import TranscribeOptions
from sensorium.store.vectors_pg import PgVectorStore
from testkit.settings import make_settings
from testkit.sounds import save as save_sound
from testkit.sounds import tone
from tests.helpers import wait_until
from tests.scaleout.conftest import Workers

pytestmark = pytest.mark.slow


def test_workers_on_redis_with_postgresql_and_pgvector(postgres, redis, tmp_path: Path, speak,
                                                       monkeypatch: pytest.MonkeyPatch, shared_models) -> None:
    url = postgres.create_database("celery")
    root = tmp_path / "cluster"
    (root / "logs").mkdir(parents=True)
    settings = make_settings(root, broker_url=redis.url, celery_visibility_timeout=20, database_url=url,
                             vector_backend="pgvector")
    api = build_services(settings)
    api.start()
    monkeypatch.setenv("DATABASE_URL", url)  # the workers' environment is this process's, plus theirs
    monkeypatch.setenv("VECTOR_BACKEND", "pgvector")
    workers = Workers(settings.data_dir, redis.url, root / "logs")
    workers.start(2)
    try:
        wav = speak("The quick brown fox jumps over the lazy dog near the river bank.")
        jobs = []
        for i in range(3):
            copy = tmp_path / f"talk{i}.wav"
            shutil.copy(wav, copy)
            jobs.append(api.speech.submit_transcription(copy, "talk.wav", TranscribeOptions(language="en")))
        jobs.append(api.emotion.submit_text("I am so happy today! This is awful.", EmotionOptions()))
        lib = settings.libraries_dir / "tones"
        lib.mkdir(parents=True)
        for f in (440, 880, 1320):
            save_sound(lib / f"tone{f}.wav", tone(1.5, f))
        jobs.append(api.sound.submit_index(IndexRequest(directory="tones", name="tones", sfx_embeddings=False)))
        done = wait_until(lambda: [api.jobs.get(j.id) for j in jobs],
                          lambda rows: all(r.status in ("succeeded", "failed", "cancelled") for r in rows),
                          timeout=900, interval=1.0, what="every job")
        assert [j.status for j in done] == ["succeeded"] * 5, [(j.kind, j.error_message) for j in done]
        log = workers.log_text()
        for j in done:
            assert j.attempts == 1 and len(re.findall(rf"job {j.id} succeeded", log)) == 1, j.id
        assert all("quick brown fox" in j.result["result"]["transcription"].lower() for j in done[:3])
        assert done[4].result["result"]["indexed"] == 3
        assert isinstance(api.vectors, PgVectorStore) and api.vectors.count("sounds__tones") == 3
        hits = api.sound.search_text("a beep tone", collection="tones", top_k=3, similarity_threshold=0.0)
        assert len(hits.results) == 3
    finally:
        workers.stop()
        api.close()
