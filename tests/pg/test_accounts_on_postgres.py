"""The accounts tests (users, keys, sessions, CSRF, login throttling, quotas, rate limits, job and foley-task
ownership), run unchanged on PostgreSQL: `make_client` here gives every app its own PostgreSQL database."""

from __future__ import annotations

from tests.accounts.test_access import *  # noqa: F403
from tests.accounts.test_ownership import *  # noqa: F403
from tests.accounts.test_quotas import *  # noqa: F403
from tests.accounts.test_sessions import *  # noqa: F403


def test_these_apps_really_use_postgresql(make_client) -> None:
    import psycopg

    from tests.accounts.conftest import services_of, signup_and_login

    client = make_client(auth_mode="accounts")
    db = services_of(client).db
    assert db.engine.dialect.name == "postgresql"
    signup_and_login(client, "pg@example.com")
    with psycopg.connect(db.url.replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("pg@example.com",)]
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
