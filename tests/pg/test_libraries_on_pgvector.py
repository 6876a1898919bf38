"""The same real libraries indexed through LanceDB (embedded services on their own empty data folder: the
session's services hold other tests' tracks, which a whole-library music search would also return) and through
pgvector (services on PostgreSQL with VECTOR_BACKEND=pgvector): the sound and music pipelines run unchanged and give
the same clips, tracks and scores for the same searches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensorium.media.audio import load_audio
from sensorium.services import Services, build_services
from sensorium.store.vectors_pg import PgVectorStore
from testkit import music as gen
from testkit.settings import make_settings
from testkit.sounds import build_library

pytestmark = pytest.mark.slow
NAME = "pgcompare"


@pytest.fixture(scope="module")
def pg_services(postgres, tmp_path_factory: pytest.TempPathFactory, shared_models) -> Services:
    url = postgres.create_database("libraries")
    svc = build_services(make_settings(tmp_path_factory.mktemp("pgsvc"), database_url=url,
                                       vector_backend="pgvector", job_workers=0))
    svc.start(run_jobs=False)
    assert isinstance(svc.vectors, PgVectorStore)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def lance_services(tmp_path_factory: pytest.TempPathFactory, shared_models) -> Services:
    svc = build_services(make_settings(tmp_path_factory.mktemp("lancesvc"), job_workers=0))
    svc.start(run_jobs=False)
    assert not isinstance(svc.vectors, PgVectorStore)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def sound_folder(tmp_path_factory: pytest.TempPathFactory, speak) -> Path:
    root = tmp_path_factory.mktemp("pgsounds")
    build_library(root, speak)
    return root


def _same(a: list, b: list) -> None:
    assert [r.id for r in a] == [r.id for r in b]
    assert np.allclose([r.similarity for r in a], [r.similarity for r in b], atol=1e-4)


def test_a_sound_library_searches_the_same_on_both_backends(lance_services: Services, pg_services: Services,
                                                            sound_folder: Path) -> None:
    lance = lance_services.sound.index_library(sound_folder, NAME)
    pg = pg_services.sound.index_library(sound_folder, NAME)
    assert lance.indexed == pg.indexed > 10 and lance.failed == pg.failed == []
    assert pg_services.vectors.count("sounds__" + NAME) == pg.indexed
    for query in ("rain on a roof", "a beep tone", "someone speaking", "static hiss", "clock ticking"):
        a = lance_services.sound.search_text(query, collection=NAME, top_k=5, similarity_threshold=0.0).results
        b = pg_services.sound.search_text(query, collection=NAME, top_k=5, similarity_threshold=0.0).results
        assert a, query
        _same(a, b)
    example = sorted(sound_folder.rglob("*.wav"))[0]
    wave = load_audio(example, 44100)
    a = lance_services.sound.search_audio(wave, collection=NAME, top_k=5, similarity_threshold=0.0).results
    b = pg_services.sound.search_audio(wave, collection=NAME, top_k=5, similarity_threshold=0.0).results
    _same(a, b)
    assert a[0].path == b[0].path == str(example.relative_to(sound_folder))  # the example finds itself first
    again = pg_services.sound.index_library(sound_folder, NAME)  # re-index: unchanged rows are recognised
    assert again.unchanged == pg.indexed and again.indexed == 0


def test_a_music_library_recommends_the_same_on_both_backends(lance_services: Services, pg_services: Services,
                                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("pgmusic")
    gen.build_music_library(root, seconds=12)
    lance = lance_services.music.index_folder(root)
    pg = pg_services.music.index_folder(root)
    assert lance.indexed == pg.indexed == len(gen.CHARACTERS)
    for query in ("fast bright energetic", "slow dark calm piano", "upbeat major key"):
        a = lance_services.music.recommend_text(query, limit=4)
        b = pg_services.music.recommend_text(query, limit=4)
        assert [s.id for s in a] == [s.id for s in b] and a
        assert np.allclose([s.score for s in a], [s.score for s in b], atol=1e-4)
        assert [s.title for s in a] == [s.title for s in b]
