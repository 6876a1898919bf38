"""The job-service tests of tests/platform/test_jobs.py (progress, failures, cancel, restart recovery, the
exclusive claim), run unchanged on PostgreSQL: their `Database` is swapped for one on a new PostgreSQL
database per test (the same one when a test "restarts" on the same folder), migrated by Alembic."""

from __future__ import annotations

import itertools

import pytest

import tests.platform.test_jobs as platform_jobs
from sensorium.store import migrate
from sensorium.store.database import Database
from tests.platform.test_jobs import (  # noqa: F401
    test_cancel_queued_and_running,
    test_claim_is_exclusive,
    test_failures_are_recorded_not_raised,
    test_job_runs_with_progress_and_result,
    test_jobs_survive_restart,
)

_numbers = itertools.count()


@pytest.fixture(autouse=True)
def jobs_on_postgres(monkeypatch: pytest.MonkeyPatch, postgres) -> list[Database]:
    urls: dict[str, str] = {}
    made: list[Database] = []

    class PgDatabase(Database):
        def __init__(self, sqlite_url: str) -> None:
            if sqlite_url not in urls:
                urls[sqlite_url] = postgres.create_database(f"jobs{next(_numbers)}")
            super().__init__(urls[sqlite_url])
            made.append(self)

        def create_all(self) -> None:
            migrate.upgrade(self)

    monkeypatch.setattr(platform_jobs, "Database", PgDatabase)
    yield made
    assert made and all(db.engine.dialect.name == "postgresql" for db in made)  # they really ran on PG
    for db in made:
        db.dispose()
