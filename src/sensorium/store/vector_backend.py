"""The vector store the settings choose (VECTOR_BACKEND): LanceDB in DATA_DIR/vectors (default) or pgvector
in DATABASE_URL's PostgreSQL. Only `build_services` calls this (once per process); everything else is given
that store."""

from __future__ import annotations

from pathlib import Path

from sensorium.config import Settings
from sensorium.store.vectors import LanceVectorStore, VectorStore


def open_vector_store(settings: Settings) -> VectorStore:
    if settings.vector_backend == "pgvector":
        from sensorium.store.vectors_pg import PgVectorStore

        return PgVectorStore(settings.db_url)
    return LanceVectorStore((Path(settings.data_dir) / "vectors").resolve())
