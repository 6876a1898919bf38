"""Alembic environment: the tables of `store/database.py`, on the connection `store/migrate.py` hands over
(online), or SQL text for a URL's dialect (offline, `sensorium migrate --sql`)."""

from __future__ import annotations

from alembic import context

from sensorium.store.database import Base


def _ours(name: str | None, type_: str, _parent: dict) -> bool:
    """Autogenerate compares only the records' tables (not the pgvector store's own `vec_*` tables)."""
    return type_ != "table" or name in Base.metadata.tables


def _online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                      include_name=_ours, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _offline() -> None:
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _offline()
else:
    _online()
