"""The studio's media scenarios in Chromium against a real server: analyze a generated video with speech
(frames on canvases, the transcript following playback), search a generated sound library and play a
result, run foley on a real walking clip until the mixed video loads."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from testkit.settings import SHARED
from testkit.sounds import build_library
from tests.helpers import wait_until
from tests.web.conftest import shoot

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


@pytest.fixture(scope="module")
def speech_video(media_dir: Path, speak) -> Path:
    """Two real photos (a bus street, two people) as a slideshow, with a Piper voice reading SENTENCE."""
    import cv2

    from sensorium.media.audio import load_audio
    from sensorium.media.encode import encode_video

    images = SHARED / "testdata" / "images"
    if not (images / "bus.jpg").is_file():
        pytest.skip(f"test photos not found in {images}")
    audio = load_audio(speak(SENTENCE, "fox.wav"), 16000)
    audio = np.concatenate([np.zeros(4000, np.float32), audio, np.zeros(8000, np.float32)])
    seconds, fps, (w, h) = len(audio) / 16000, 10, (640, 480)
    frames = []
    for name in ("bus.jpg", "zidane.jpg"):
        img = cv2.imread(str(images / name))
        r = min(w / img.shape[1], h / img.shape[0])
        small = cv2.resize(img, (int(img.shape[1] * r), int(img.shape[0] * r)), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((h, w, 3), np.uint8)
        y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
        canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        frames += [canvas] * int(round(seconds * fps / 2))
    return encode_video(media_dir / "studio-speech.mp4", frames, fps, audio=audio, sample_rate=16000)


def test_analyze_video_shows_frames_with_boxes_and_a_followed_transcript(page, speech_video: Path,
                                                                         shared_models: Path) -> None:
    page.goto("/studio/analyze")
    page.set_input_files("#file", str(speech_video))
    page.get_by_label("Frames to analyse (video)").fill("2")
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_selector(".word", timeout=180_000)
    canvases = page.locator("canvas.frame")
    assert canvases.count() == 2
    # the frames were really decoded and drawn (not the blank fallback): many distinct pixel values
    spread = page.evaluate("""() => [...document.querySelectorAll('canvas.frame')].map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set(); for (let i = 0; i < d.length; i += 40) seen.add(d[i]); return seen.size; })""")
    assert min(spread) > 50, spread
    labels = canvases.evaluate_all("cs => cs.map((c) => c.getAttribute('aria-label'))")
    assert any("bus" in (lbl or "") or "person" in (lbl or "") for lbl in labels), labels
    words = page.locator(".word").all_inner_texts()
    assert any("fox" in w.lower() for w in words), words
    assert page.locator("#description").inner_text().strip()
    # playback highlights the words as they are spoken
    page.evaluate("document.getElementById('playback').play()")
    page.wait_for_selector(".word.current", timeout=20_000)
    page.evaluate("document.getElementById('playback').pause()")
    assert page.locator("#srt-btn").is_visible() and page.locator("#vtt-btn").is_visible()
    with page.expect_download(timeout=60_000) as dl:
        page.locator("#srt-btn").click()
    srt = Path(dl.value.path()).read_text()
    assert "-->" in srt and "fox" in srt.lower()
    shoot(page, "analyze", docs=True)
    assert page.errors == [], page.errors


@pytest.fixture(scope="module")
def sound_collection(server, speak, shared_models: Path) -> str:
    base, data = server
    build_library(data / "libraries" / "studio-sounds", speak, seconds=3.0)
    res = httpx.post(f"{base}/api/library/sounds/index", json={"directory": "studio-sounds", "name": "studio",
                                                               "sfx_embeddings": False}, timeout=30)
    assert res.status_code == 202, res.text
    job_id = res.json()["data"]["result"]["job_id"]
    job = wait_until(lambda: httpx.get(f"{base}/api/jobs/{job_id}", timeout=10).json()["data"]["result"],
                     lambda j: j["status"] in ("succeeded", "failed", "cancelled"), timeout=300, what="indexing")
    assert job["status"] == "succeeded", job
    return "studio"


def test_sound_search_lists_results_that_play(page, sound_collection: str) -> None:
    page.goto("/studio/sound")
    page.wait_for_selector(f"#collection option[value='{sound_collection}']", state="attached")
    page.get_by_label("Sound collection").select_option(sound_collection)
    page.get_by_label("Text", exact=True).fill("heavy rain")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector(".hit audio", timeout=120_000)
    hits = page.locator(".hit")
    assert hits.count() >= 1
    assert hits.first.locator(".reason").inner_text().strip()
    played = page.evaluate("""async () => { const a = document.querySelector('.hit audio'); await a.play();
        await new Promise((r) => setTimeout(r, 800)); return [a.currentTime, a.error && a.error.code]; }""")
    assert played[0] > 0 and played[1] is None, played
    shoot(page, "sound", docs=True)
    assert page.errors == [], page.errors


@pytest.fixture(scope="module")
def walk_clip(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> Path:
    """The first 3.3 s of a real walking clip (one walker), re-encoded with its audio."""
    import av

    from sensorium.media.audio import load_audio
    from sensorium.media.encode import encode_video

    src = SHARED / "testdata" / "walk" / "gait_abnormal_05_limping.mp4"
    if not src.is_file():
        pytest.skip(f"walking clip not found: {src}")
    n = 80
    with av.open(str(src)) as c:
        fps = float(c.streams.video[0].average_rate)
        frames = [f.to_ndarray(format="bgr24") for _, f in zip(range(n), c.decode(video=0), strict=False)]
    audio = load_audio(src, sr=44100, mono=True)[: int(n / fps * 44100)]
    dst = tmp_path_factory.mktemp("studio-foley") / "short_walk.mp4"
    return encode_video(dst, frames, fps=int(round(fps)), audio=audio, sample_rate=44100, crf=20)


def test_foley_progress_reaches_100_and_the_mixed_video_loads(page, walk_clip: Path) -> None:
    page.goto("/studio/foley")
    page.set_input_files("#video", str(walk_clip))
    page.get_by_label("Surface").select_option("gravel")
    page.get_by_label("Mix", exact=True).select_option("mix")
    page.get_by_role("button", name="Upload and process").click()
    page.wait_for_function("document.getElementById('detect-progress').value === 100", timeout=300_000)
    page.wait_for_function("document.getElementById('audio-progress').value === 100", timeout=300_000)
    page.wait_for_selector("#results:not([hidden])")
    page.wait_for_function("document.getElementById('mixed').readyState >= 1", timeout=30_000)
    assert page.locator("#audio-text").inner_text() == "100 %"
    assert page.locator("#timeline svg line.step").count() >= 1
    assert "gravel" in page.locator("#summary").inner_text()
    csv = page.locator("#csv-link").get_attribute("href")
    assert csv.startswith("/api/export-csv/")
    shoot(page, "foley", docs=True)
    assert page.errors == [], page.errors


def test_analyze_image_draws_the_returned_boxes(page, shared_models: Path) -> None:
    photo = SHARED / "testdata" / "images" / "bus.jpg"
    if not photo.is_file():
        pytest.skip(f"test photo not found: {photo}")
    page.goto("/studio/analyze")
    page.set_input_files("#file", str(photo))
    page.get_by_label("Question (optional, image and video)").fill("how many people are there?")
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_selector("canvas.frame", timeout=120_000)
    result = json.loads(page.locator("#raw").text_content())["data"]["result"]
    caption = page.locator("figure figcaption").inner_text()
    assert caption.count("%") == len(result["objects"]) and "bus" in caption
    assert page.locator("#description").inner_text() == result["description"]
    assert page.locator("#answer").inner_text() == f"Answer: {result['answer']}"
    assert page.locator("#transcript-section").is_hidden()
    assert page.errors == [], page.errors
