"""SQLAlchemy engine and tables (SQLite by default, PostgreSQL when DATABASE_URL says so)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, Integer, String, Text, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(200), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cancel_requested: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)  # None: the local user
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FoleyTaskRow(Base):
    """A foley task: the uploaded video (in `DATA_DIR/foley/{id}/`) and the latest job of each step.

    Check-then-submit of a step happens in one transaction that locks this row (see `foley/tasks.py`)."""

    __tablename__ = "foley_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    filename: Mapped[str | None] = mapped_column(String(300), nullable=True)  # the upload's (sanitized) name
    file: Mapped[str] = mapped_column(String(200))  # the stored video's name in the task folder
    video: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # VideoFacts
    detect_job: Mapped[str | None] = mapped_column(String(36), nullable=True)
    video_job: Mapped[str | None] = mapped_column(String(36), nullable=True)
    audio_job: Mapped[str | None] = mapped_column(String(36), nullable=True)
    last_step: Mapped[str | None] = mapped_column(String(16), nullable=True)
    outputs: Mapped[list[str]] = mapped_column(JSON, default=list)  # result kinds whose file is in place
    owner_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)  # None: the local user
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)


class UserRow(Base):
    """An account (AUTH_MODE=accounts or apikey). Quota columns: None = the settings' defaults."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)  # stored lower-cased
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)  # argon2id; None: keys only
    role: Mapped[str] = mapped_column(String(16), default="user")  # user | admin
    quota_requests: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quota_processing_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    quota_upload_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is kept (the key itself is shown once, at creation)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))  # the key's first characters, to recognise it
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SessionRow(Base):
    """A browser session: the cookie's SHA-256 (the cookie value itself is never stored)."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class UsageRow(Base):
    """Usage per subject (`user:ID` for quotas, `key:ID` for reporting) per UTC day (`YYYY-MM-DD`)."""

    __tablename__ = "usage_counters"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    processing_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    upload_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class RateWindowRow(Base):
    """Requests per subject per minute (epoch minute), for RATE_LIMIT_PER_MINUTE across processes."""

    __tablename__ = "rate_windows"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class LoginFailureRow(Base):
    """A failed login, by account (`account`, the e-mail) and by client address (`address`)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


#: seconds a client should wait before retrying while the database cannot answer
DATABASE_RETRY_AFTER = 5


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database cannot answer right now (a server down or restarting, a lost connection, a full
    pool, SQLite busy), or None when `exc` is some other error. The API answers these with 503
    SERVICE_UNAVAILABLE; the next request reconnects (connections are pinged before use)."""
    if isinstance(exc, PoolTimeout):
        return "all database connections are busy"
    if isinstance(exc, DisconnectionError):
        return "the connection to the database was lost"
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return "the connection to the database was lost"
    if isinstance(exc, (OperationalError, InterfaceError)):
        orig = exc.orig
        message = str(orig).lower()
        if type(orig).__module__.startswith("sqlite3"):
            return "the database is busy" if "locked" in message or "busy" in message else None
        return "the database server is unreachable or restarting"
    return None


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:  # a server: drop connections it closed (a restart) before handing them out
            kwargs.update(pool_pre_ping=True, pool_timeout=10)
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):

            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        """The tables as they are now, without migrations: for throwaway test databases only. Real
        databases are created and upgraded by `store.migrate.upgrade` (a database made here is recognised
        there as the newest pre-Alembic shape and stamped)."""
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
