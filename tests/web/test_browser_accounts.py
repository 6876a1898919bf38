"""The studio with AUTH_MODE=accounts in a real browser (Debian's Chromium via Playwright) against a real
server with small quotas: sign up, sign out, log in, create and revoke API keys on the Account page, use a
key from httpx, use up the daily request quota (429 QUOTA_EXCEEDED + Retry-After), and a second user (a
second browser context) gets 404 for the first user's job URL."""

from __future__ import annotations

import httpx

from tests.web.conftest import ACCOUNTS_REQUESTS_PER_DAY, shoot

PASSWORD = "correct horse battery"


def _context(browser, base: str):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=base)
    pg = context.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.set_default_timeout(30_000)
    return context, pg


def _sign_up(pg, email: str) -> None:
    """From a guarded page: redirected to sign in, over to sign up, back to the page asked for."""
    pg.goto("/studio/account")
    assert "/studio/login?next=/studio/account" in pg.url
    pg.get_by_role("link", name="Create one").click()
    pg.wait_for_url("**/studio/signup?next=*")
    pg.get_by_label("E-mail or user name").fill(email)
    pg.get_by_label("Password", exact=True).fill(PASSWORD)
    pg.get_by_label("Password again").fill(PASSWORD)
    pg.get_by_role("button", name="Create account").click()
    pg.wait_for_url(lambda url: url.endswith("/studio/account") and "next=" not in url)
    pg.wait_for_selector("#user-section:not([hidden])")
    assert pg.locator("#user-email").inner_text() == email


def test_accounts_in_the_studio(browser, accounts_server) -> None:
    base, _ = accounts_server
    ctx_a, pg = _context(browser, base)
    ctx_a.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)

    # sign up (which signs in), then sign out and log in again through the login page
    _sign_up(pg, "ann@example.org")
    assert pg.get_by_role("button", name="Sign out").is_visible()
    assert pg.locator('meta[name="csrf-token"]').get_attribute("content")
    pg.get_by_role("button", name="Sign out").click()
    pg.wait_for_url(lambda url: url.endswith("/studio/login"))
    assert pg.get_by_role("link", name="Sign in").is_visible()
    pg.goto("/studio/jobs")
    assert "/studio/login?next=/studio/jobs" in pg.url
    pg.get_by_label("E-mail or user name").fill("ann@example.org")
    pg.get_by_label("Password").fill("wrong password!")
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_selector("#status[data-kind=error]")
    assert "UNAUTHORIZED" in pg.locator("#status").inner_text()
    pg.get_by_label("Password").fill(PASSWORD)
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url(lambda url: url.endswith("/studio/jobs") and "next=" not in url)
    pg.goto("/studio/account")
    pg.wait_for_selector("#keys-section:not([hidden])")
    assert pg.locator("#keys-caption").inner_text() == "0 key(s), 0 active"

    # create a key: shown once, with a copy button
    pg.get_by_label("Key name").fill("my-script")
    pg.get_by_role("button", name="Create key").click()
    pg.wait_for_selector("#new-key:not([hidden])")
    key = pg.locator("#new-key-value").inner_text()
    assert key.startswith("sk-")
    pg.get_by_role("button", name="Copy").click()
    pg.wait_for_selector("#status:has-text('copied')")
    assert pg.evaluate("navigator.clipboard.readText()") == key
    row = pg.locator("#keys tbody tr").first
    assert "my-script" in row.inner_text() and "active" in row.inner_text()
    assert row.locator("code").inner_text().rstrip("…") == key[:len(row.locator("code").inner_text()) - 1]

    # use it from a program
    auth = {"Authorization": f"Bearer {key}"}
    me = httpx.get(f"{base}/api/account", headers=auth, timeout=30)
    assert me.status_code == 200 and me.json()["data"]["result"]["user"]["email"] == "ann@example.org"
    made = httpx.post(f"{base}/api/analyze/sentiment", data={"text": "What a day.", "async": "true"}, headers=auth,
                      timeout=30)
    assert made.status_code == 202, made.text
    job_id = made.json()["data"]["result"]["job_id"]
    assert httpx.get(f"{base}/api/jobs/{job_id}", headers=auth, timeout=30).status_code == 200

    # a second key, revoked on the page: the API refuses it at once
    pg.get_by_label("Key name").fill("spare")
    pg.get_by_role("button", name="Create key").click()
    pg.wait_for_selector("#keys-caption:has-text('2 key(s), 2 active')")
    spare = pg.locator("#new-key-value").inner_text()
    pg.once("dialog", lambda dialog: dialog.accept())
    pg.get_by_role("button", name="Revoke key spare").click()
    pg.wait_for_selector("#keys-caption:has-text('2 key(s), 1 active')")
    assert "revoked" in pg.locator("#keys tbody tr", has_text="spare").inner_text()
    assert httpx.get(f"{base}/api/account", headers={"X-API-Key": spare}, timeout=30).status_code == 401

    # the page shows the key's last use and today's usage against the quota
    pg.reload()
    pg.wait_for_selector("#usage-section:not([hidden])")
    used_row = pg.locator("#keys tbody tr", has_text="my-script")
    assert "never" not in used_row.locator("td").nth(3).inner_text()
    requests_row = pg.locator("#usage tr[data-quota=Requests]")
    assert str(ACCOUNTS_REQUESTS_PER_DAY) in requests_row.inner_text()
    assert pg.locator("#usage tr[data-quota=Requests] meter").count() == 1
    shoot(pg, "account", docs=True)
    assert pg.errors == [], pg.errors

    # use up the daily request quota: 429 QUOTA_EXCEEDED with Retry-After
    last = None
    with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
        for _ in range(ACCOUNTS_REQUESTS_PER_DAY + 5):
            last = client.get(f"/api/jobs/{job_id}")
            if last.status_code != 200:
                break
    assert last is not None and last.status_code == 429, last.text
    assert last.json()["error"]["code"] == "QUOTA_EXCEEDED"
    assert int(last.headers["Retry-After"]) > 0
    # the studio says so too (the session counts against the same user)
    pg.reload()
    pg.wait_for_selector("#status[data-kind=error]")
    assert "QUOTA_EXCEEDED" in pg.locator("#status").inner_text()
    shoot(pg, "account-quota-exceeded")

    # a second user, in a second browser context, cannot open the first user's job
    ctx_b, pg_b = _context(browser, base)
    _sign_up(pg_b, "bob@example.org")
    answer = pg_b.goto(f"/api/jobs/{job_id}")
    assert answer is not None and answer.status == 404
    assert "NOT_FOUND" in pg_b.content()
    assert pg_b.evaluate(f"fetch('/api/jobs/{job_id}').then((r) => r.status)") == 404
    shoot(pg_b, "account-second-user")

    # a session that ends while a page is open: the page offers to sign in again
    pg_b.goto("/studio/account")
    pg_b.wait_for_selector("#keys-section:not([hidden])")
    ctx_b.clear_cookies()
    pg_b.get_by_role("button", name="Create key").click()
    again = pg_b.get_by_role("link", name="Sign in again")
    again.wait_for()
    assert again.get_attribute("href") == "/studio/login?next=%2Fstudio%2Faccount"
    pg_b.goto("/studio/jobs")
    assert "/studio/login?next=/studio/jobs" in pg_b.url
    assert pg_b.errors == [], pg_b.errors
    ctx_b.close()
    ctx_a.close()
