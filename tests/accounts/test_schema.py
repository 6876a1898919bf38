"""A database made before accounts existed gets the owner columns at start-up; its rows have no owner."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import inspect

from sensorium.store.database import Database


def test_owner_columns_are_added_to_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the shape of the tables before accounts
        conn.execute("CREATE TABLE jobs (id VARCHAR(36) PRIMARY KEY, kind VARCHAR(64), status VARCHAR(16))")
        conn.execute("CREATE TABLE foley_tasks (id VARCHAR(36) PRIMARY KEY, file VARCHAR(200))")
        conn.execute("INSERT INTO jobs VALUES ('a', 'analyze.audio', 'queued')")
    db = Database(f"sqlite:///{path}")
    try:
        db.create_all()
        db.create_all()  # idempotent
        insp = inspect(db.engine)
        for table in ("jobs", "foley_tasks"):
            assert "owner_id" in {c["name"] for c in insp.get_columns(table)}
        assert {"users", "api_keys", "sessions", "usage_counters", "rate_windows", "login_failures"} \
            <= set(insp.get_table_names())
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT owner_id FROM jobs").scalar() is None
    finally:
        db.dispose()
