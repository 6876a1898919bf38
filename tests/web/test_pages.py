"""The studio's server side: every page renders with its title and labelled form fields, GET / sends
browsers to /studio and keeps answering JSON to API clients, the JS modules are served as JavaScript."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from sensorium.web import prefers_html
from sensorium.web.routes import PAGES, STATIC

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

#: page -> (title, labels its form must show)
EXPECTED = {
    "analyze": ("Analyze", ["Media file", "Frames to analyse (video)", "Question (optional, image and video)"]),
    "sound": ("Sound search", ["Sound collection", "Text", "Example sound", "Frames (1-20 images)", "Results"]),
    "foley": ("Foley", ["Walking video", "Surface", "Mix", "Footstep detection", "Footstep sound and mix"]),
    "music": ("Music", ["Describe the music", "Tracks", "Video", "Analysis"]),
    "emotion": ("Emotion", ["Text", "Or a recording or video"]),
    "jobs": ("Jobs", ["Status"]),
    "account": ("Account", []),
}


def _labels(html: str) -> dict[str, str]:
    """label text -> the id it labels."""
    return {re.sub(r"<[^>]+>", "", text).strip(): target
            for target, text in re.findall(r'<label[^>]*for="([^"]+)"[^>]*>(.*?)</label>', html, re.S)}


def test_every_page_is_listed() -> None:
    assert [p.slug for p in PAGES] == list(EXPECTED)


@pytest.mark.parametrize("slug", list(EXPECTED))
def test_page_renders_with_title_and_labelled_fields(client: TestClient, slug: str) -> None:
    res = client.get(f"/studio/{slug}")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    html = res.text
    title, labels = EXPECTED[slug]
    assert f"<title>{title} · Sensorium studio</title>" in html
    assert f"<h1>{title}</h1>" in html
    assert f'<script type="module" src="/studio/static/{slug}.js"></script>' in html
    assert f'href="/studio/{slug}" aria-current="page"' in html
    assert 'name="viewport"' in html and 'class="skip" href="#main"' in html
    found = _labels(html)
    for label in labels:
        assert label in found, f"{slug}: no label {label!r} (found {sorted(found)})"
        assert f'id="{found[label]}"' in html, f"{slug}: label {label!r} points at a missing id"
    # every form control has a label
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    assert set(ids) <= set(found.values()), f"{slug}: unlabelled controls {set(ids) - set(found.values())}"


def test_foley_controls_list_the_real_surfaces_and_modes(client: TestClient) -> None:
    from sensorium.foley.schemas import MODES, SURFACES

    html = client.get("/studio/foley").text
    for value in ("auto", *SURFACES, *MODES):
        assert f'<option value="{value}"' in html


def test_no_csrf_meta_without_a_token(client: TestClient) -> None:
    assert 'name="csrf-token"' not in client.get("/studio/analyze").text


def test_studio_root_goes_to_analyze(client: TestClient) -> None:
    res = client.get("/studio", follow_redirects=False)
    assert res.status_code == 307 and res.headers["location"] == "/studio/analyze"


def test_root_redirects_browsers_and_answers_json_to_api_clients(client: TestClient) -> None:
    res = client.get("/", headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
    assert res.status_code in (303, 307) and res.headers["location"] == "/studio"
    for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.9", "text/html;q=0.5, */*"):
        res = client.get("/", headers={"Accept": accept} if accept else {}, follow_redirects=False)
        assert res.status_code == 200, accept
        assert res.json()["status"] == "ok"


@pytest.mark.parametrize(("accept", "html"), [
    (BROWSER_ACCEPT, True), ("text/html", True), ("text/*", True), ("*/*", False), ("", False), (None, False),
    ("application/json", False), ("text/html, application/json", False),
    ("text/html;q=0.1, application/*;q=0.2", False),
    ("text/html;q=1, application/json;q=0.9", True), ("text/html;q=bad", False),
])
def test_prefers_html(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_static_files_have_the_right_content_types(client: TestClient) -> None:
    names = sorted(p.name for p in STATIC.iterdir())
    assert {f"{p.slug}.js" for p in PAGES} <= set(names)
    for name in names:
        res = client.get(f"/studio/static/{name}")
        assert res.status_code == 200, name
        expected = "text/javascript" if name.endswith(".js") else "text/css"
        assert res.headers["content-type"].startswith(expected), name


def test_static_refuses_unknown_and_escaping_names(client: TestClient) -> None:
    for name in ("missing.js", "..%2Froutes.py", "routes.py", "studio.CSS"):
        res = client.get(f"/studio/static/{name}")
        assert res.status_code in (404, 422), name
        assert res.json()["success"] is False


def test_js_sends_credentials_and_csrf_header() -> None:
    api = (STATIC / "api.js").read_text()
    assert 'credentials: "same-origin"' in api and '"X-CSRF-Token"' in api
    # every other module goes through api.js (no bare fetch)
    for path in STATIC.glob("*.js"):
        if path.name != "api.js":
            assert "fetch(" not in path.read_text(), path.name


def test_studio_is_not_in_the_openapi_docs(client: TestClient) -> None:
    assert not [p for p in client.get("/openapi.json").json()["paths"] if p.startswith("/studio")]
