"""Alembic migrations on SQLite: a new database, and real database files made by the shipped versions before
migrations existed (tests/store/data, written by those versions' own code) are upgraded without losing a row.

The files: v1_jobs (jobs table only), v2_foley (+ foley_tasks), v3_accounts (made by the accounts version:
owner_id and the account tables, with a user and an API key), v2_then_v3 (a v2 file opened by the accounts
version, which patched in owner_id at start-up)."""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from sensorium.accounts.service import AccountService
from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.jobs.service import JobService
from sensorium.store import migrate
from sensorium.store.database import Base, Database
from testkit.settings import REPO

DATA = Path(__file__).with_name("data")
#: the key `sensorium keys create` printed when v3_accounts.db was made (only its hash is in the file)
OLD_KEY = "sk-6_ic9bzPOmklq6zmWKX0OHQ1KnMR5Tl31TclO7Xch4Y"


def old_database(tmp_path: Path, name: str) -> Database:
    path = tmp_path / f"{name}.db"
    with gzip.open(DATA / f"{name}.db.gz", "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return Database(f"sqlite:///{path}")


def schema_differences(db: Database) -> list:
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def test_a_new_database_gets_every_revision_and_matches_the_tables(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        report = migrate.upgrade(db)
        assert (report.before, report.after, report.adopted) == (None, "0003", None)
        assert migrate.head_revision() == "0003"
        assert schema_differences(db) == []
        again = migrate.upgrade(db)  # idempotent
        assert (again.before, again.after, again.changed) == ("0003", "0003", False)
    finally:
        db.dispose()


@pytest.mark.parametrize(("name", "shape"), [("v1_jobs", "0001"), ("v2_foley", "0002"),
                                             ("v3_accounts", "0003"), ("v2_then_v3", "0003")])
def test_a_database_made_before_migrations_is_adopted_and_upgraded(tmp_path: Path, name: str, shape: str) -> None:
    db = old_database(tmp_path, name)
    try:
        with db.engine.connect() as conn:
            assert migrate.current_revision(conn) is None
            assert migrate.legacy_revision(conn) == shape
        report = migrate.upgrade(db)
        assert (report.before, report.adopted, report.after) == (None, shape, "0003")
        assert report.changed is (shape != "0003")
        assert schema_differences(db) == []
        jobs = JobService(db, tmp_path / "jobs")
        jobs.register("analyze.audio", lambda ctx: {})
        stage = name.split("_")[1]
        old = jobs.get(f"job-{stage if stage != 'then' else 'foley'}")
        assert (old.kind, old.status, old.params["language"]) == ("analyze.audio", "queued", "en")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT owner_id FROM jobs").scalar() is None
            tasks = conn.exec_driver_sql("SELECT id, filename FROM foley_tasks").fetchall()
        assert tasks == ([] if name == "v1_jobs" else [(f"task-{'accounts' if name == 'v3_accounts' else 'foley'}",
                                                         "walk.mp4")])
        new = jobs.submit("analyze.audio", {"language": "fr"}, owner_id="someone")  # the new columns work
        assert jobs.get(new.id).params == {"language": "fr"}
    finally:
        db.dispose()


def test_accounts_made_before_migrations_still_sign_in(tmp_path: Path) -> None:
    db = old_database(tmp_path, "v3_accounts")
    try:
        migrate.upgrade(db)
        accounts = AccountService(Settings(data_dir=tmp_path), db)
        principal = accounts.principal_for_key(OLD_KEY)
        assert principal is not None and accounts.user(principal.user_id).email == "old@example.com"
        assert accounts.principal_for_key(OLD_KEY[:-1] + "x") is None
    finally:
        db.dispose()


def test_auto_migrate_off_refuses_an_old_schema_until_migrated(tmp_path: Path) -> None:
    db = old_database(tmp_path, "v2_foley")
    try:
        with pytest.raises(SensoriumError) as err:
            migrate.prepare(db, auto=False)
        assert err.value.code is ErrorCode.SERVICE_UNAVAILABLE and "sensorium migrate" in err.value.message
        assert "users" not in inspect(db.engine).get_table_names()  # nothing was changed
        assert migrate.prepare(db, auto=True).after == "0003"
        assert migrate.prepare(db, auto=False) is None
    finally:
        db.dispose()


def test_cli_migrate_upgrades_checks_and_prints_sql(tmp_path: Path) -> None:
    db = old_database(tmp_path, "v1_jobs")
    db.dispose()
    env = {"DATABASE_URL": db.url, "DATA_DIR": str(tmp_path / "data"), "LOG_DIR": str(tmp_path / "logs"),
           "PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sensorium.cli", "migrate", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    assert cli("--check").returncode == 1
    done = cli()
    assert done.returncode == 0, done.stderr
    assert "upgraded 0001 -> 0003" in done.stdout and "recognised as revision 0001" in done.stderr
    check = cli("--check")
    assert check.returncode == 0 and "revision 0003 (newest 0003)" in check.stdout
    with sqlite3.connect(tmp_path / "v1_jobs.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0003",)]
    env["DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # --sql connects to nothing
    sql = cli("--sql", "--since", "0002")
    assert sql.returncode == 0, sql.stderr
    assert "ALTER TABLE jobs ADD COLUMN owner_id VARCHAR(36)" in sql.stdout
    assert "CREATE TABLE users" in sql.stdout and "CREATE TABLE foley_tasks" not in sql.stdout
    assert "UPDATE alembic_version SET version_num='0003'" in sql.stdout
    refused = cli()  # nothing listens on port 1: a clear error, not a traceback
    assert refused.returncode == 1 and "SERVICE_UNAVAILABLE" in refused.stderr and "Traceback" not in refused.stderr
