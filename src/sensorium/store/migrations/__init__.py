"""Alembic migrations of the records database (SQLite and PostgreSQL); run them with `store/migrate.py`."""
