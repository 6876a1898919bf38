"""Search by text, by audio example and by frames, on the generated library."""

from __future__ import annotations

import numpy as np
import pytest

from sensorium.errors import SensoriumError
from sensorium.sound import frames as sf
from sensorium.sound.schemas import Motion
from testkit.sounds import clicks, rain, tone
from tests.sound.conftest import COLLECTION

pytestmark = pytest.mark.usefixtures("shared_models")  # these tests run YOLOX-nano / YAMNet


def names(paths) -> set[str]:
    return {p.name for p in paths}


def text(services, q: str, **kw):
    return services.sound.search_text(q, collection=COLLECTION, **kw)


def test_text_speech_ranks_speech_first(indexed, sound_library, services) -> None:
    _, kinds = sound_library
    res = text(services, "speech", top_k=5)
    top3 = [r.fname for r in res.results[:3]]
    assert set(top3) == names(kinds["speech"]), res.results
    first = res.results[0]
    assert first.matched_labels[0].label == "Speech"
    assert first.scores["lexical"] == 0.0  # names say nothing: the match is acoustic
    assert first.similarity > 0.8 and first.distance == pytest.approx(1 - first.similarity, abs=1e-4)
    assert "Speech" in first.reason
    assert first.audio_url == f"/api/library/sounds/{COLLECTION}/{first.id}/audio"
    assert res.label_profile[0].label == "Speech"
    # the default threshold (0.3) drops what does not sound like speech
    assert all(r.fname in names(kinds["speech"]) for r in res.results)


def test_text_rain_finds_rain(indexed, sound_library, services) -> None:
    _, kinds = sound_library
    res = text(services, "rain on a tin roof", top_k=3)
    assert {r.fname for r in res.results[:2]} <= names(kinds["rain"])
    assert any(c.label.startswith("Rain") for c in res.label_profile)


def test_text_unrelated_query_returns_nothing_above_threshold(indexed, services) -> None:
    res = text(services, "a dog barking")
    assert res.label_profile[0].label in ("Bark", "Dog", "Bow-wow", "Yip")
    assert res.results == []
    low = text(services, "a dog barking", similarity_threshold=0.0, top_k=3)
    assert len(low.results) == 3 and all(r.similarity < 0.3 for r in low.results)


@pytest.mark.parametrize("kind,make", [
    ("rain", lambda: rain(4.0, 99)),
    ("clicks", lambda: clicks(4.0, 5, seed=7)),
    ("tones", lambda: tone(4.0, 600)),
])
def test_audio_example_returns_its_own_kind_first(indexed, sound_library, services, kind, make) -> None:
    from scipy.signal import resample_poly

    _, kinds = sound_library
    wave = resample_poly(make(), 2, 1).astype(np.float32)  # 22.05 -> 44.1 kHz
    res = services.sound.search_audio(wave, collection=COLLECTION, top_k=3, similarity_threshold=0.0)
    got = [r.fname for r in res.results]
    assert got[0] in names(kinds[kind]), got
    assert len(set(got[:3]) & names(kinds[kind])) >= 2, got
    assert "aisfx" in res.results[0].scores and res.results[0].reason.startswith("sounds alike")


def test_frames_of_a_bus_describe_traffic(indexed, services, shared_dir) -> None:
    import cv2

    bgr = cv2.imread(str(shared_dir / "testdata" / "images" / "bus.jpg"))
    res = services.sound.search_frames([bgr], collection=COLLECTION, top_k=3)
    desc = res.audio_description.lower()
    assert "traffic" in desc or "vehicle" in desc or "engine" in desc, desc
    assert "bus" in res.visual_summary.objects and res.visual_summary.people >= 2
    assert res.description_source == "findings" and res.num_frames == 1
    assert res.sound_phrases[0].phrase == "traffic"


def test_motion_between_frames(services) -> None:
    a = np.zeros((240, 320, 3), np.uint8)
    b = a.copy()
    b[60:180, 100:220] = 255
    m = sf.motion_cues([a, b, a], [{"objects": []}] * 3)
    assert m.level in ("some movement", "fast movement") and m.frame_difference > 0.02
    assert sf.motion_cues([a, a], [{"objects": []}] * 2).level == "static"


def test_description_wording() -> None:
    assert sf.describe_sounds([("traffic", 0.5), ("bus engine", 0.3), ("people talking", 0.2)]) == \
        "Sounds of traffic, a bus engine and people talking."


def test_search_validation(indexed, services) -> None:
    with pytest.raises(SensoriumError) as err:
        text(services, "   ")
    assert err.value.code.value == "VALIDATION_ERROR"
    with pytest.raises(SensoriumError) as err:
        text(services, "rain", top_k=0)
    assert err.value.code.value == "VALIDATION_ERROR"
    with pytest.raises(SensoriumError) as err:
        services.sound.search_text("rain", collection="never_indexed")
    assert err.value.code.value == "NOT_FOUND" and "index" in err.value.message


def test_captions_and_labels_match_by_meaning(tmp_path, services) -> None:
    import json

    from testkit.sounds import save

    save(tmp_path / "take_1.wav", rain(3.0, 5))
    save(tmp_path / "take_2.wav", rain(3.0, 6))
    save(tmp_path / "take_3.wav", tone(3.0, 500))
    (tmp_path / "take_1.wav.json").write_text(json.dumps({"caption": "heavy downpour drumming on a car roof"}))
    (tmp_path / "sheet.csv").write_text("file,tags\ntake_3.wav,alarm;beeper\n")
    summary = services.sound.index_library(tmp_path, "captions", sfx_embeddings=False)
    assert summary.indexed == 3
    try:
        res = services.sound.search_text("a cloudburst hammering a vehicle", collection="captions", top_k=3,
                                         similarity_threshold=0.0)
        first = res.results[0]
        assert first.fname == "take_1.wav" and first.scores["semantic_text"] > 0.2
        assert first.scores["lexical"] == 0.0  # no shared word: matched by meaning
        beep = services.sound.search_text("beeper", collection="captions", top_k=1,
                                          similarity_threshold=0.0).results[0]
        assert beep.fname == "take_3.wav" and beep.labels == ["alarm", "beeper"]
        assert "beeper" in beep.reason
    finally:
        services.sound.delete_collection("captions")


def test_frame_findings_to_phrases(services, shared_dir) -> None:
    import cv2

    bgr = cv2.imread(str(shared_dir / "testdata" / "images" / "bus.jpg"))
    f = services.sound.frame_findings([bgr])[0]
    phrases, summary = sf.sound_phrases([f], sf.motion_cues([bgr], [f]), [(bgr.shape[1], bgr.shape[0])])
    assert "bus" in summary.objects and phrases[0][0] == "traffic"


@pytest.fixture()
def fake_llm():
    """A local OpenAI-compatible chat endpoint (http.server on 127.0.0.1) that records requests."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "body": body})
            answer = {"choices": [{"message": {"role": "assistant", "content":
                                               "Sounds of rain drumming on a bus roof, and people talking."}}]}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    server.shutdown()


def llm_search(settings, frames):
    """search_frames on services built with these settings (the registry holds the vision endpoint client)."""
    from sensorium.services import build_services

    svc = build_services(settings)
    try:
        return svc.sound.search_frames(frames, collection=COLLECTION, top_k=3, similarity_threshold=0.0)
    finally:
        svc.close()


def test_vision_endpoint_writes_the_description(indexed, services, shared_dir, fake_llm) -> None:
    import cv2

    url, seen = fake_llm
    settings = services.settings.model_copy(update={"llm_base_url": url, "llm_model": "fake-vlm"})
    bgr = cv2.imread(str(shared_dir / "testdata" / "images" / "bus.jpg"))
    res = llm_search(settings, [bgr, bgr])
    assert res.description_source == "llm"
    assert res.audio_description == "Sounds of rain drumming on a bus roof, and people talking."
    req = seen[0]
    assert req["path"] == "/v1/chat/completions" and req["body"]["model"] == "fake-vlm"
    parts = req["body"]["messages"][-1]["content"]
    assert sum(p["type"] == "image_url" for p in parts) == 2
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert "bus" in parts[0]["text"]  # the findings ground the prompt
    assert res.sound_phrases[0].phrase.startswith("rain drumming")
    # an unreachable endpoint falls back on the findings and says so
    down = services.settings.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "x"})
    res2 = llm_search(down, [bgr])
    assert res2.description_source == "findings" and "traffic" in res2.audio_description.lower()
    assert res2.notes and "vision endpoint failed" in res2.notes[0]


def test_scene_cues_without_sounding_objects() -> None:
    dark = {"objects": [], "quality": {"brightness": 0.1}}
    phrases, summary = sf.sound_phrases([dark], Motion(moving=[]), [(640, 480)])
    assert phrases[0][0].startswith("quiet night ambience") and summary.brightness == 0.1
    green = {"objects": [], "quality": {"brightness": 0.5}, "colors": {"dominant": [{"name": "dark green"}]}}
    assert "birds" in sf.sound_phrases([green], Motion(moving=[]), [(640, 480)])[0][0][0]
    walkers = [{"objects": [{"label": "person", "score": 0.9, "box": [0, 0, 100, 300]}]}] * 2
    phrases, _ = sf.sound_phrases(walkers, Motion(moving=["person"]), [(640, 480)] * 2)
    assert phrases[0][0] == "footsteps"  # a moving person: footsteps lead
