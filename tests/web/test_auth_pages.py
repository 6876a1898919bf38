"""The studio with AUTH_MODE=accounts, server side: pages redirect to /studio/login without a session,
the nav offers "Sign in" / "Sign out", a signed-in page carries the session's CSRF token in its meta tag;
with accounts off the login pages and the nav item do not exist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sensorium.api.app import create_app
from sensorium.web.routes import PAGES
from testkit.settings import make_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path, auth_mode="accounts", job_workers=0))) as c:
        yield c


def _meta_csrf(html: str) -> str | None:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    return found.group(1) if found else None


@pytest.mark.parametrize("slug", [p.slug for p in PAGES])
def test_pages_redirect_to_login_without_a_session(accounts_client: TestClient, slug: str) -> None:
    res = accounts_client.get(f"/studio/{slug}", follow_redirects=False)
    assert res.status_code == 303
    assert res.headers["location"] == f"/studio/login?next=/studio/{slug}"


def test_login_and_signup_pages_render_with_labelled_fields(accounts_client: TestClient) -> None:
    for slug, button in (("login", "Sign in"), ("signup", "Create account")):
        res = accounts_client.get(f"/studio/{slug}")
        assert res.status_code == 200
        html = res.text
        assert 'for="email"' in html and 'for="password"' in html and f">{button}</button>" in html
        assert 'href="/studio/login"' in html  # the nav's Sign in item
        assert 'id="sign-out"' not in html and _meta_csrf(html) is None
        assert f"/studio/static/{slug}.js" in html


def test_signed_in_pages_carry_the_csrf_token_and_sign_out(accounts_client: TestClient) -> None:
    c = accounts_client
    assert c.post("/api/auth/signup", json={"email": "ann@example.org", "password": PASSWORD}).status_code == 201
    login = c.post("/api/auth/login", json={"email": "ann@example.org", "password": PASSWORD})
    token = login.json()["data"]["result"]["csrf_token"]
    res = c.get("/studio/account")
    assert res.status_code == 200
    assert _meta_csrf(res.text) == token
    assert 'id="sign-out"' in res.text and "ann@example.org" in res.text
    assert "/studio/static/session.js" in res.text
    assert res.headers["cache-control"] == "no-store"
    # the token of the meta tag is what the API wants on state-changing calls
    assert c.post("/api/account/keys", json={"name": "x"}).status_code == 403
    assert c.post("/api/account/keys", json={"name": "x"}, headers={"X-CSRF-Token": token}).status_code == 201
    assert c.post("/api/auth/logout", headers={"X-CSRF-Token": token}).status_code == 200
    assert c.get("/studio/account", follow_redirects=False).status_code == 303


def test_with_accounts_off_there_is_no_login(client: TestClient) -> None:
    res = client.get("/studio/login", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/studio/analyze"
    html = client.get("/studio/analyze").text
    assert 'href="/studio/login"' not in html and 'id="sign-out"' not in html
    assert 'data-auth-mode="off"' in html


def test_static_modules_of_the_auth_pages_are_served(client: TestClient) -> None:
    for name in ("login.js", "signup.js", "auth.js", "session.js", "account.js"):
        res = client.get(f"/studio/static/{name}")
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")


def test_login_page_without_signup_says_so(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth_mode="accounts", job_workers=0, signup_enabled=False)
    with TestClient(create_app(settings)) as c:
        html = c.get("/studio/login").text
        assert 'id="to-signup"' not in html and "Sign-up is closed" in html
