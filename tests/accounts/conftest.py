"""Accounts fixtures: an app per test on its own DATA_DIR in the AUTH_MODE the test asks for (no job
workers: jobs stay queued, which is all ownership tests need), and small helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sensorium.services import Services
from testkit.settings import make_settings
from tests.helpers import app_clients

PASSWORD = "correct horse battery"


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Any]:
    """make_client(**settings) -> TestClient (its services at `client.app.state.services`)."""
    with app_clients(lambda n, overrides: make_settings(tmp_path / f"app{n}",
                                                       **{"job_workers": 0, **overrides})) as make:
        yield make


def services_of(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined]


def user_with_key(client: TestClient, email: str, *, role: str = "user") -> tuple[str, dict[str, str]]:
    """A user made through AccountService (as the CLI does) and the headers of a fresh key of theirs."""
    accounts = services_of(client).accounts
    user = accounts.create_user(email, PASSWORD, role=role)  # type: ignore[arg-type]
    key = accounts.create_key(user.id, "test").key
    return user.id, {"Authorization": f"Bearer {key}"}


def signup_and_login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign up and log in through the API; the client keeps the cookie. Returns the CSRF token."""
    r = client.post("/api/auth/signup", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["data"]["result"]["csrf_token"]


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]
