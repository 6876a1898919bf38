"""The records schema is managed by Alembic (`store/migrations/`), on SQLite and PostgreSQL alike.

`upgrade(db)` brings a database to the newest revision: a new database gets every revision in order; one
made before Alembic (tables created by `create_all`, with no `alembic_version` table) is recognised by its
shape and *stamped* with the revision it already has, then upgraded from there, so nothing is wiped.
Several processes may start at once (API, uvicorn workers, Celery workers): the upgrade runs under a lock
(PostgreSQL: a transaction-level advisory lock; SQLite: an exclusive lock on `<file>.migrate.lock`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import make_url

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.store.database import Database

log = logging.getLogger(__name__)

SCRIPTS = Path(__file__).with_name("migrations")
#: pg_advisory_xact_lock key of the schema upgrade (any constant shared by every Sensorium process)
PG_LOCK_KEY = 0x5E2502


@dataclass(frozen=True)
class MigrationReport:
    before: str | None  # the revision found (None: an empty database)
    after: str
    adopted: str | None = None  # a pre-Alembic database: the revision its shape matched (stamped)

    @property
    def start(self) -> str | None:
        """The revision the schema really had (an adopted database: the one its shape matched)."""
        return self.adopted or self.before

    @property
    def changed(self) -> bool:
        return self.start != self.after


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def legacy_revision(conn: Connection) -> str | None:
    """The revision a database made before Alembic already has, read from its tables; None when it is
    empty or already managed by Alembic. The shapes are the ones the shipped versions created:
    `jobs` only (0001), + `foley_tasks` (0002), + `owner_id` columns and the account tables (0003)."""
    insp = inspect(conn)
    tables = set(insp.get_table_names())
    if "alembic_version" in tables or "jobs" not in tables:
        return None
    if "owner_id" in {c["name"] for c in insp.get_columns("jobs")}:
        missing = {"foley_tasks", "users", "api_keys", "sessions", "usage_counters", "rate_windows",
                   "login_failures"} - tables
        if missing:
            raise SensoriumError(ErrorCode.PROCESSING_FAILED,
                                 f"The database has jobs.owner_id but not the tables {sorted(missing)}: it was "
                                 "not made by a Sensorium version; run `sensorium migrate` after fixing it.")
        return "0003"
    return "0002" if "foley_tasks" in tables else "0001"


@contextmanager
def _file_lock(db: Database) -> Iterator[None]:
    """An exclusive lock beside a SQLite file (nothing for in-memory databases or other dialects)."""
    url = make_url(db.url)
    path = url.database if url.get_backend_name() == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: one process migrates at a time by convention
        yield
        return
    with open(f"{path}.migrate.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(db: Database, revision: str = "head") -> MigrationReport:
    """Bring `db` to `revision` (default the newest), adopting a pre-Alembic database first."""
    cfg = alembic_config()
    with _file_lock(db), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
        before = current_revision(conn)
        adopted = legacy_revision(conn) if before is None else None
        cfg.attributes["connection"] = conn
        if adopted is not None:
            log.info("database made before migrations: its tables match revision %s; stamping it", adopted)
            command.stamp(cfg, adopted)
        command.upgrade(cfg, revision)
        after = current_revision(conn)
    report = MigrationReport(before=before, after=after or "", adopted=adopted)
    if report.changed:
        log.info("database schema upgraded from %s to %s", report.start or "nothing", after)
    return report


def check_current(db: Database) -> str | None:
    """Raise SERVICE_UNAVAILABLE when the database is not at the newest revision (AUTO_MIGRATE=false)."""
    with db.engine.connect() as conn:
        current = current_revision(conn)
    head = head_revision()
    if current != head:
        raise SensoriumError(ErrorCode.SERVICE_UNAVAILABLE,
                             f"The database schema is at revision {current or 'none'}, this version needs {head}: "
                             "run `sensorium migrate` (or set AUTO_MIGRATE=true).")
    return current


def sql_script(url: str, start: str | None = None) -> str:
    """The SQL that upgrades a database of `url`'s dialect from `start` (default: empty) to the newest
    revision, for a DBA to read or run (Alembic's offline mode; no connection is made)."""
    cfg = alembic_config(url)
    buf = io.StringIO()
    cfg.output_buffer = buf
    command.upgrade(cfg, f"{start}:head" if start else "head", sql=True)
    return buf.getvalue()



def prepare(db: Database, *, auto: bool) -> MigrationReport | None:
    """At process start: upgrade (AUTO_MIGRATE=true, the default) or only check the revision."""
    if auto:
        return upgrade(db)
    check_current(db)
    return None
