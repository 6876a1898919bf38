"""`sensorium migrate`: bring the records database (DATA_DIR's SQLite or DATABASE_URL) to this version's
schema, show its revision, or print the SQL for a DBA. Servers and workers also upgrade at start unless
AUTO_MIGRATE=false (docs/scaleout.md, "Upgrading")."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from sqlalchemy.exc import SQLAlchemyError

from sensorium.cli.common import console, fail, out
from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.store import migrate as migrations
from sensorium.store.database import Database, unavailable_reason


def migrate(
    sql: Annotated[bool, typer.Option("--sql", help="Print the SQL (for DATABASE_URL's dialect) instead of "
                                                    "running it; connects to nothing.")] = False,
    since: Annotated[Optional[str], typer.Option(help="With --sql: start from this revision (default: an "
                                                      "empty database).")] = None,
    check: Annotated[bool, typer.Option("--check", help="Change nothing: print the revision, exit 1 when it "
                                                        "is not the newest.")] = False,
) -> None:
    """Upgrade the database schema to this version (Alembic; a database made before migrations is adopted)."""
    settings = Settings()
    if sql:
        out.print(migrations.sql_script(settings.db_url, since), markup=False, highlight=False, end="")
        return
    settings.ensure_dirs()
    db = Database(settings.db_url)
    try:
        if check:
            with db.engine.connect() as conn:
                current = migrations.current_revision(conn)
            head = migrations.head_revision()
            out.print(f"revision {current or 'none'} (newest {head})")
            raise typer.Exit(0 if current == head else 1)
        report = migrations.upgrade(db)
    except SensoriumError as exc:
        fail(exc)
    except SQLAlchemyError as exc:
        reason = unavailable_reason(exc)
        if reason is None:
            raise
        fail(SensoriumError(ErrorCode.SERVICE_UNAVAILABLE, f"Cannot reach the database ({reason}): {exc.orig}"))
    finally:
        db.dispose()
    if report.adopted:
        console.print(f"database made before migrations: recognised as revision {report.adopted}, stamped")
    if report.changed:
        out.print(f"upgraded {report.start or 'an empty database'} -> {report.after}")
    else:
        out.print(f"already at revision {report.after}")
