"""The studio in a real browser (Debian's Chromium, headless, via Playwright) against a real server:
each scenario drives a page the way a person would and checks what it shows against the API's answer."""

from __future__ import annotations

from tests.web.conftest import shoot


def test_emotion_text_draws_the_timeline_chart(page) -> None:
    page.goto("/studio/emotion")
    page.get_by_label("Text", exact=True).fill(
        "I love this wonderful sunny morning. The train was late again and I am furious. "
        "I am so sad that she left.")
    page.get_by_role("button", name="Analyse emotion").click()
    page.wait_for_selector("#chart svg.chart polyline")
    assert page.locator("#chart svg polyline").count() == 7
    rows = page.locator("#utterances tbody tr")
    assert rows.count() == 3
    assert "love" in rows.nth(0).inner_text()
    raw = page.locator("#raw").text_content()
    assert '"timeline"' in raw
    shoot(page, "emotion", docs=True)
    assert page.errors == []


def test_every_page_loads_without_script_errors(page, browser, server) -> None:
    for slug in ("analyze", "sound", "foley", "music", "jobs", "account"):
        page.goto(f"/studio/{slug}")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() == 1
    page.goto("/studio/account")
    page.wait_for_selector("#account-off:not([hidden])")
    assert "Accounts are off on this server" in page.locator("#account-off").inner_text()
    shoot(page, "account-off")
    page.goto("/studio/jobs")
    page.wait_for_selector("#jobs-caption:has-text('job(s)')")
    assert page.errors == [], page.errors
    # phone width: the navigation wraps, nothing overflows sideways
    phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=server[0]).new_page()
    phone.goto("/studio/foley")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, width
    shoot(phone, "foley-phone")
    phone.context.close()


def test_browser_asking_for_root_lands_in_the_studio(page) -> None:
    page.goto("/")
    assert page.url.endswith("/studio/analyze")
    assert page.title() == "Analyze · Sensorium studio"


def test_keyboard_reaches_the_form(page) -> None:
    page.goto("/studio/analyze")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_jobs_page_lists_a_job_with_its_details(page, server) -> None:
    import httpx

    base, _ = server
    res = httpx.post(f"{base}/api/analyze/sentiment", data={"text": "What a lovely day.", "async": "true"}, timeout=30)
    assert res.status_code == 202, res.text
    job_id = res.json()["data"]["result"]["job_id"]
    page.goto("/studio/jobs")
    row = page.locator(f"tr[data-job='{job_id}']")
    row.wait_for()
    page.wait_for_function(f"document.querySelector(\"tr[data-job='{job_id}'] .badge\").textContent === 'succeeded'",
                           timeout=60_000)
    row.get_by_role("button", name="Details").click()
    page.wait_for_selector("#detail:not([hidden])")
    detail = page.locator("#detail-json").inner_text()
    assert job_id in detail and '"utterances"' in detail
    shoot(page, "jobs")
    assert page.errors == [], page.errors


def test_music_text_search_shows_what_the_api_answered(page) -> None:
    page.goto("/studio/music")
    page.wait_for_selector("#stats:has-text('track(s)')")
    assert "0 track(s)" in page.locator("#stats").inner_text()  # nothing indexed on this server
    page.get_by_label("Describe the music").fill("calm piano for a rainy scene")
    page.get_by_role("button", name="Recommend").click()
    page.wait_for_selector("#results:not([hidden])")
    assert "no tracks" in page.locator("#songs").inner_text()
    assert '"data": []' in page.locator("#raw").text_content()
    shoot(page, "music")
    assert page.errors == [], page.errors
