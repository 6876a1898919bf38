"""POST /api/analyze/sentiment on real text, speech and video (Piper, espeak, skimage's astronaut photo)."""

from __future__ import annotations

from pathlib import Path

import cv2
import librosa
import numpy as np
import pytest

from sensorium.media.encode import encode_video
from testkit.media_factory import espeak, read_wav
from tests.helpers import wait_job

URL = "/api/analyze/sentiment"


def post(client, **kw):
    return client.post(URL, **kw)


def result_of(resp) -> dict:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] and body["data"]["type"] == "sentiment"
    return body["data"]["result"]


def samples16(path: Path) -> np.ndarray:
    audio, sr = read_wav(path)
    return librosa.resample(audio.astype(np.float32), orig_sr=sr, target_sr=16000)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    skimage_data = pytest.importorskip("skimage.data")
    return cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)


def video_of(path: Path, frame: np.ndarray, seconds: float, audio: np.ndarray | None) -> Path:
    return encode_video(path, [frame] * int(seconds * 10 + 2), fps=10, audio=audio, sample_rate=16000)


# --- text ------------------------------------------------------------------------------------------
def test_text_sentences_get_the_right_sentiment(client) -> None:
    text = ("I am so happy, this is the most wonderful day of my life! "
            "I hate you, you ruined everything and I am furious. What time is the meeting tomorrow?")
    res = result_of(post(client, data={"text": text}))
    assert res["source"] == "text" and res["duration"] is None
    utts = res["utterances"]
    assert [u["text"][:9] for u in utts] == ["I am so h", "I hate yo", "What time"]
    assert [u["sentiment"] for u in utts[:2]] == ["positive", "negative"]
    assert utts[0]["emotion"] == "joy" and utts[1]["emotion"] in ("anger", "disgust", "sadness", "fear")
    for u in utts:
        assert set(u["emotion_scores"]) == {"anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"}
        assert sum(u["emotion_scores"].values()) == pytest.approx(1.0, abs=1e-3)
        assert u["modalities"]["text"]["available"] is True
        assert u["modalities"]["face"] == {**u["modalities"]["face"], "available": False, "reason": "text input"}
        assert u["modalities"]["voice"]["available"] is False
        assert u["start"] is None and u["speaker"] is None
    assert [p["time"] for p in res["timeline"]] == [0.0, 1.0, 2.0]
    assert sum(res["overall"]["distribution"].values()) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("data, message", [
    ({"text": ""}, "exactly one"),  # an empty form field is no field at all
    ({"text": "   \n  "}, "empty"),
    ({}, "exactly one"),
])
def test_missing_or_empty_input_is_a_validation_error(client, data, message) -> None:
    resp = post(client, data=data)
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["code"] == "VALIDATION_ERROR" and message in err["message"]


def test_text_and_a_file_together_are_refused(client, speak) -> None:
    wav = speak("Hello there.")
    resp = post(client, data={"text": "hi"}, files={"audio": ("a.wav", wav.read_bytes(), "audio/wav")})
    assert resp.status_code == 422 and "exactly one" in resp.json()["error"]["message"]


def test_text_over_the_limit_is_refused(client, services) -> None:
    limit = services.settings.emotion_max_text_chars
    resp = post(client, data={"text": "a" * (limit + 1)})
    assert resp.status_code == 422 and "EMOTION_MAX_TEXT_CHARS" in resp.json()["error"]["message"]


@pytest.mark.slow
def test_a_100000_character_text_is_analysed(client) -> None:
    paragraph = ("The rain kept falling on the old town. I loved walking there with you, it made me happy. "
                 "Now the streets feel empty and I miss those days terribly. ")
    text = (paragraph * (100_000 // len(paragraph) + 1))[:100_000]
    res = result_of(post(client, data={"text": text}))
    assert len(res["utterances"]) > 1000
    assert {"positive", "negative"} <= {u["sentiment"] for u in res["utterances"]}


def test_non_english_text_gets_a_result_and_a_note(client) -> None:
    res = result_of(post(client, data={"text": "Я очень счастлив сегодня. Это прекрасный день!"}))
    assert len(res["utterances"]) == 2
    assert any("English" in n for n in res["notes"])


def test_text_as_a_job(client) -> None:
    resp = post(client, data={"text": "I am terrified, somebody is in the house!", "async": "true"})
    assert resp.status_code == 202, resp.text
    job = wait_job(client, resp.json()["data"]["result"]["job_id"])
    assert job["status"] == "succeeded", job
    res = job["result"]["result"]
    assert res["utterances"][0]["sentiment"] == "negative"


# --- audio -----------------------------------------------------------------------------------------
def test_spoken_sentences_get_the_right_sentiment(client, speak) -> None:
    happy = speak("I am so happy today, this is wonderful news, I love it!")
    angry = speak("I hate this, it is terrible, disgusting and I am furious with you.")
    for wav, expected in ((happy, "positive"), (angry, "negative")):
        res = result_of(post(client, files={"audio": ("talk.wav", wav.read_bytes(), "audio/wav")}))
        assert res["source"] == "audio" and res["language"] == "en"
        assert res["utterances"], res
        assert res["overall"]["sentiment"] == expected
        u = res["utterances"][0]
        assert u["start"] is not None and u["end"] > u["start"]
        assert u["modalities"]["voice"]["available"] is True
        assert u["modalities"]["voice"]["features"]["rate_sps"] > 1.0
        assert u["modalities"]["face"]["reason"] == "audio input"
        assert res["timeline"] and all(p["sources"] for p in res["timeline"])


def test_audio_without_speech_gives_no_utterances(client, tmp_path) -> None:
    from testkit.media_factory import tone, write_wav

    wav = write_wav(tmp_path / "tone.wav", tone(3.0, 440.0), 16000)
    res = result_of(post(client, files={"audio": ("tone.wav", wav.read_bytes(), "audio/wav")}))
    assert res["utterances"] == [] and res["overall"]["emotion"] is None
    assert any("No speech" in n for n in res["notes"])


def test_two_voices_give_two_speakers(client, tmp_path, speak) -> None:
    lines = ["I really did not expect to see you here today, what a surprise.",
             "The train was late again, so I walked the whole way from the station.",
             "Could you pass me the salt and the pepper, please, if you do not mind?",
             "We should paint the kitchen a much brighter colour this coming spring."]
    parts = []
    for i, line in enumerate(lines):
        wav = speak(line) if i % 2 == 0 else espeak(line, tmp_path / f"e{i}.wav", voice="en+f3")
        parts += [samples16(wav), np.zeros(8000, np.float32)]
    from testkit.media_factory import write_wav

    dialogue = write_wav(tmp_path / "dialogue.wav", np.concatenate(parts), 16000)
    res = result_of(post(client, files={"audio": ("dialogue.wav", dialogue.read_bytes(), "audio/wav")}))
    assert res["speakers"] == 2, [(u["text"], u["speaker"]) for u in res["utterances"]]
    speakers = [u["speaker"] for u in res["utterances"]]
    assert speakers[0] != speakers[-1] and set(speakers) == {"S1", "S2"}


# --- video -----------------------------------------------------------------------------------------
def test_smiling_face_gives_joy_from_the_face(client, tmp_path, speak, astronaut) -> None:
    speech = samples16(speak("Well, here we are again, the report is on the table."))
    clip = video_of(tmp_path / "talk.mp4", astronaut, len(speech) / 16000 + 0.5, speech)
    res = result_of(post(client, files={"video": ("talk.mp4", clip.read_bytes(), "video/mp4")}))
    assert res["source"] == "video" and res["utterances"]
    face = res["utterances"][0]["modalities"]["face"]
    assert face["available"] and face["emotion"] == "joy" and face["frames"] >= 1
    assert len(res["faces"]) == 1 and res["faces"][0]["emotion"] == "joy"
    assert any("face" in p["sources"] for p in res["timeline"])


def test_silent_video_reads_the_faces_only(client, tmp_path, astronaut) -> None:
    clip = video_of(tmp_path / "silent.mp4", astronaut, 3.0, None)
    res = result_of(post(client, files={"video": ("silent.mp4", clip.read_bytes(), "video/mp4")}))
    assert res["utterances"] == []
    assert res["overall"]["emotion"] == "joy" and res["overall"]["sentiment"] == "positive"
    assert any("No audio track" in n for n in res["notes"])
    assert res["timeline"] and all(p["sources"] == ["face"] for p in res["timeline"])


def test_video_without_a_face_reports_the_face_unavailable(client, tmp_path, speak) -> None:
    speech = samples16(speak("I am so happy today, this is wonderful news, I love it!"))
    wall = np.full((240, 320, 3), (90, 140, 200), np.uint8)
    clip = video_of(tmp_path / "wall.mp4", wall, len(speech) / 16000 + 0.5, speech)
    res = result_of(post(client, files={"video": ("wall.mp4", clip.read_bytes(), "video/mp4")}))
    u = res["utterances"][0]
    assert u["modalities"]["face"] == {**u["modalities"]["face"], "available": False,
                                       "reason": "no face seen in the video"}
    assert u["sentiment"] == "positive" and res["faces"] == []


def test_corrupt_video_is_a_clear_error(client) -> None:
    junk = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
    resp = post(client, files={"video": ("broken.mp4", junk, "video/mp4")})
    assert resp.status_code in (400, 415, 422), resp.text
    assert resp.json()["error"]["code"] in ("PROCESSING_FAILED", "INVALID_FILE_TYPE", "VALIDATION_ERROR")


def test_an_image_is_not_accepted(client, shared_dir) -> None:
    bus = shared_dir / "testdata" / "images" / "bus.jpg"
    if not bus.is_file():
        pytest.skip("bus.jpg not in ../shared/testdata/images")
    resp = post(client, files={"video": ("bus.jpg", bus.read_bytes(), "image/jpeg")})
    assert resp.status_code == 415 and resp.json()["error"]["code"] == "INVALID_FILE_TYPE"
