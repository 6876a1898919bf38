"""AUTH_MODE accounts: sign-up, login, logout; cookie flags; a new session id at every login (no
fixation); CSRF tokens on state-changing requests; failed logins slowed per account and per address;
passwords, keys, session ids and CSRF tokens never in the logs."""

from __future__ import annotations

import logging
from pathlib import Path

from sensorium.api.access import SESSION_COOKIE
from tests.accounts.conftest import PASSWORD, error_code, services_of, signup_and_login


def test_signup_login_logout(make_client) -> None:
    client = make_client(auth_mode="accounts")
    assert client.get("/api/account").status_code == 401
    r = client.post("/api/auth/signup", json={"email": "Ann@Example.com", "password": PASSWORD})
    assert r.status_code == 201 and r.json()["data"]["result"]["email"] == "ann@example.com"
    assert client.post("/api/auth/signup", json={"email": "ann@example.com", "password": PASSWORD}).status_code == 422
    assert client.post("/api/auth/signup", json={"email": "bob@example.com", "password": "short"}).status_code == 422
    r = client.post("/api/auth/login", json={"email": "ann@example.com", "password": "wrong password"})
    assert r.status_code == 401 and error_code(r) == "UNAUTHORIZED"

    r = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # COOKIE_SECURE=false by default (http://localhost)
    csrf = r.json()["data"]["result"]["csrf_token"]
    me = client.get("/api/account").json()["data"]["result"]
    assert me["user"]["email"] == "ann@example.com" and me["via"] == "session" and me["csrf_token"] == csrf

    r = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert client.get("/api/account").status_code == 401


def test_secure_cookie_setting(make_client) -> None:
    client = make_client(auth_mode="accounts", cookie_secure=True)
    client.post("/api/auth/signup", json={"email": "ann@example.com", "password": PASSWORD})
    r = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert "Secure" in r.headers["set-cookie"]


def test_session_id_changes_at_login(make_client) -> None:
    client = make_client(auth_mode="accounts")
    client.post("/api/auth/signup", json={"email": "ann@example.com", "password": PASSWORD})

    def use(session_id: str) -> None:
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, session_id)

    fixed = "attacker-chosen-session-id"
    use(fixed)
    r = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
    first = r.cookies[SESSION_COOKIE]
    assert first != fixed and len(first) >= 43
    use(fixed)
    assert client.get("/api/account").status_code == 401  # the fixed id never became a session

    use(first)
    assert client.get("/api/account").status_code == 200
    second = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD}) \
        .cookies[SESSION_COOKIE]
    assert second != first
    use(first)  # the session presented at login was ended
    assert client.get("/api/account").status_code == 401
    use(second)
    assert client.get("/api/account").status_code == 200


def test_csrf_token_is_required_on_state_changing_session_requests(make_client) -> None:
    client = make_client(auth_mode="accounts")
    csrf = signup_and_login(client, "ann@example.com")
    r = client.post("/api/account/keys", json={"name": "no token"})
    assert r.status_code == 403 and error_code(r) == "UNAUTHORIZED" and "CSRF" in r.json()["error"]["message"]
    r = client.post("/api/account/keys", json={"name": "bad token"}, headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    assert r.status_code == 403
    assert client.post("/api/auth/logout").status_code == 403
    assert client.delete("/api/jobs/" + "0" * 32).status_code == 403
    assert client.get("/api/account/keys").status_code == 200  # reads need no token
    r = client.post("/api/account/keys", json={"name": "good"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    key = r.json()["data"]["result"]["key"]
    # a program with an API key needs no CSRF token (and sends no cookie)
    client.cookies.clear()
    r = client.post("/api/account/keys", json={"name": "by key"}, headers={"X-API-Key": key})
    assert r.status_code == 201


def test_failed_logins_are_slowed_per_account(make_client) -> None:
    client = make_client(auth_mode="accounts", login_max_failures_per_account=3)
    client.post("/api/auth/signup", json={"email": "ann@example.com", "password": PASSWORD})
    for _ in range(3):
        r = client.post("/api/auth/login", json={"email": "ann@example.com", "password": "guess guess"})
        assert r.status_code == 401
    for password in ("guess again", PASSWORD):  # even the right password waits
        r = client.post("/api/auth/login", json={"email": "ann@example.com", "password": password})
        assert r.status_code == 429 and error_code(r) == "RATE_LIMITED"
        assert 1 <= int(r.headers["retry-after"]) <= 900


def test_failed_logins_are_slowed_per_address(make_client) -> None:
    client = make_client(auth_mode="accounts", login_max_failures_per_address=4)
    for i in range(4):  # a different (unknown) account each time: only the address limit counts them
        r = client.post("/api/auth/login", json={"email": f"user{i}@example.com", "password": "guess guess"})
        assert r.status_code == 401
    r = client.post("/api/auth/login", json={"email": "other@example.com", "password": "guess guess"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_secrets_never_reach_the_logs(make_client, tmp_path: Path, capfd) -> None:
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    root = logging.getLogger("sensorium")
    root.addHandler(handler)
    try:
        client = make_client(auth_mode="accounts", log_level="DEBUG")
        password = "Very-Secret-Password-42"
        csrf = signup_and_login(client, "ann@example.com", password)
        client.post("/api/auth/login", json={"email": "ann@example.com", "password": "Wrong-Secret-99"})
        session_id = client.cookies[SESSION_COOKIE]
        key = client.post("/api/account/keys", json={"name": "k"}, headers={"X-CSRF-Token": csrf}) \
            .json()["data"]["result"]["key"]
        client.cookies.clear()
        assert client.get("/api/jobs", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/api/jobs", headers={"X-API-Key": key + "x"}).status_code == 401
    finally:
        root.removeHandler(handler)
    log_dir = services_of(client).settings.log_dir
    text = "\n".join(records) + "\n".join(p.read_text() for p in log_dir.glob("*.log*"))
    out, err = capfd.readouterr()
    text += out + err
    assert "logged in" in text and "api key" in text  # the events are logged...
    for secret in (password, "Wrong-Secret-99", session_id, csrf, key, key[11:]):
        assert secret not in text  # ...the secrets are not


def test_signup_can_be_disabled(make_client) -> None:
    client = make_client(auth_mode="accounts", signup_enabled=False)
    r = client.post("/api/auth/signup", json={"email": "ann@example.com", "password": PASSWORD})
    assert r.status_code == 403 and error_code(r) == "UNAUTHORIZED"
