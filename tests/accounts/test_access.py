"""AUTH_MODE apikey: no access without a valid key; operator keys (API_KEYS) are admin keys; revoked keys
stop working at once; last-used times are kept; AUTH_MODE off behaves as before."""

from __future__ import annotations

from sensorium.store.database import ApiKeyRow
from tests.accounts.conftest import error_code, services_of, user_with_key


def test_apikey_mode_refuses_requests_without_a_valid_key(make_client) -> None:
    client = make_client(auth_mode="apikey")
    assert client.get("/api/health").status_code == 200
    assert client.get("/").status_code == 200
    for method, path in (("GET", "/api/jobs"), ("GET", "/api/models"), ("GET", "/api/account"),
                         ("POST", "/api/analyze/audio"), ("DELETE", "/api/jobs/" + "0" * 32)):
        r = client.request(method, path)
        assert r.status_code == 401, (method, path, r.text)
        assert error_code(r) == "UNAUTHORIZED"
        assert r.headers["www-authenticate"] == "Bearer"
    r = client.post("/v1/audio/transcriptions")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"  # OpenAI's error shape
    for headers in ({"Authorization": "Bearer sk-not-a-key"}, {"X-API-Key": "sk-not-a-key"},
                    {"Authorization": "Basic dXNlcjpwdw=="}):
        assert client.get("/api/jobs", headers=headers).status_code == 401
    # sign-up and login do not exist in apikey mode
    assert client.post("/api/auth/signup", json={"email": "a@b.cd", "password": "x" * 10}).status_code == 404


def test_user_keys_and_operator_keys_open_the_api(make_client) -> None:
    client = make_client(auth_mode="apikey", api_keys=["operator-secret-1"])
    user_id, headers = user_with_key(client, "ann@example.com")
    r = client.get("/api/account", headers=headers)
    assert r.status_code == 200
    me = r.json()["data"]["result"]
    assert me["user"]["id"] == user_id and me["via"] == "key" and me["auth_mode"] == "apikey"
    key = headers["Authorization"][7:]
    assert client.get("/api/jobs", headers={"X-API-Key": key}).status_code == 200
    r = client.get("/api/jobs", headers={"Authorization": "Bearer operator-secret-1"})
    assert r.status_code == 200
    r = client.get("/api/account", headers={"X-API-Key": "operator-secret-1"})
    assert r.json()["data"]["result"]["via"] == "admin-key"


def test_revoked_key_is_refused_and_last_used_is_kept(make_client) -> None:
    client = make_client(auth_mode="apikey")
    _, headers = user_with_key(client, "ann@example.com")
    keys = client.get("/api/account/keys", headers=headers).json()["data"]["result"]
    assert len(keys) == 1 and keys[0]["last_used_at"] is not None  # this very request used it
    first_use = keys[0]["last_used_at"]
    assert keys[0]["prefix"].startswith("sk-") and headers["Authorization"][7:].startswith(keys[0]["prefix"])
    later = client.get("/api/account/keys", headers=headers).json()["data"]["result"][0]["last_used_at"]
    assert later > first_use

    # a second key revokes the first through the API
    r = client.post("/api/account/keys", json={"name": "ci"}, headers=headers)
    assert r.status_code == 201
    new = r.json()["data"]["result"]
    assert new["key"].startswith("sk-") and new["info"]["name"] == "ci"
    r = client.delete(f"/api/account/keys/{keys[0]['id']}", headers={"X-API-Key": new["key"]})
    assert r.status_code == 200 and r.json()["data"]["result"]["revoked_at"]
    r = client.get("/api/jobs", headers=headers)
    assert r.status_code == 401 and error_code(r) == "UNAUTHORIZED"
    assert client.get("/api/jobs", headers={"X-API-Key": new["key"]}).status_code == 200
    with services_of(client).db.session() as s:  # only the digest is stored
        stored = [row.key_hash for row in s.query(ApiKeyRow).all()]
    assert new["key"] not in stored and all(len(h) == 64 for h in stored)


def test_another_users_key_cannot_be_revoked(make_client) -> None:
    client = make_client(auth_mode="apikey")
    _, ann = user_with_key(client, "ann@example.com")
    _, bob = user_with_key(client, "bob@example.com")
    ann_key = client.get("/api/account/keys", headers=ann).json()["data"]["result"][0]["id"]
    r = client.delete(f"/api/account/keys/{ann_key}", headers=bob)
    assert r.status_code == 404 and error_code(r) == "NOT_FOUND"
    assert client.get("/api/jobs", headers=ann).status_code == 200


def test_off_mode_is_unchanged(make_client) -> None:
    client = make_client()
    assert client.get("/api/jobs").status_code == 200
    me = client.get("/api/account").json()["data"]["result"]
    assert me == {"auth_mode": "off", "user": None, "via": None, "csrf_token": None}
    assert client.get("/api/account/keys").status_code == 404
