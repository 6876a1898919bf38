"""Alembic on PostgreSQL: a new database matches the models; a database made before migrations (here: the
0001 and 0002 shapes, made by those revisions, then stripped of `alembic_version` as the old `create_all` left
them) is adopted and upgraded with its rows; three `sensorium migrate` processes started at once on an empty
database all succeed, and exactly one of them does the work (the advisory lock)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command

from sensorium.store import migrate
from sensorium.store.database import Database, JobRow, utcnow
from testkit.settings import REPO
from tests.store.test_migrations import schema_differences


@pytest.fixture
def db(pg_url: str):
    database = Database(pg_url)
    yield database
    database.dispose()


def test_a_new_postgresql_database_matches_the_tables(db: Database) -> None:
    report = migrate.upgrade(db)
    assert (report.before, report.after) == (None, migrate.head_revision())
    assert db.engine.dialect.name == "postgresql"
    assert schema_differences(db) == []


@pytest.mark.parametrize("shape", ["0001", "0002"])
def test_an_older_postgresql_schema_is_adopted(db: Database, shape: str) -> None:
    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, shape)
        conn.exec_driver_sql("DROP TABLE alembic_version")  # as create_all left it: no revision recorded
        conn.exec_driver_sql(
            "INSERT INTO jobs (id, kind, status, progress, stage, params, attempts, cancel_requested, created_at,"
            " updated_at) VALUES ('old', 'analyze.audio', 'succeeded', 100, 'done', '{\"language\": \"en\"}', 1, 0,"
            " now(), now())")
    report = migrate.upgrade(db)
    assert (report.adopted, report.after) == (shape, "0003")
    assert schema_differences(db) == []
    with db.session() as s:
        row = s.get(JobRow, "old")
        assert (row.status, row.params, row.owner_id) == ("succeeded", {"language": "en"}, None)
        assert row.created_at <= utcnow()


def test_concurrent_migrations_take_turns(pg_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": pg_url, "DATA_DIR": str(tmp_path / "data"),
           "LOG_DIR": str(tmp_path / "logs"), "PYTHONPATH": str(REPO / "src")}
    procs = [subprocess.Popen([sys.executable, "-m", "sensorium.cli", "migrate"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert sum("upgraded an empty database -> 0003" in o for o in outputs) == 1, outputs
    assert sum("already at revision 0003" in o for o in outputs) == 2, outputs
