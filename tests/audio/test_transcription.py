"""Real Whisper models on generated speech (Piper, espeak-ng), music and noise."""

from __future__ import annotations

import re
from pathlib import Path

import jiwer
import numpy as np
import pytest
from fastapi.testclient import TestClient

from testkit import media_factory
from tests.helpers import wait_job

SENTENCE = ("Please call Stella and ask her to bring these things with her from the store: "
            "six spoons of fresh snow peas and a big toy frog for her brother.")
# espeak-ng voices are robotic: sentences of 8-10 s give Whisper enough to go on
LANG_SENTENCES = {
    "fr": ("fr", "Bonjour à tous. Aujourd'hui, nous allons parler de la météo de demain, du marché de la "
                 "ville et des vacances d'été en Bretagne. Il fera beau et chaud."),
    "de": ("de", "Guten Morgen, heute sprechen wir über das Wetter und den Markt in der Stadt. "
                 "Morgen wird es regnen und kalt sein."),
    "es": ("es", "Buenos días a todos, hoy vamos a hablar del tiempo y del mercado de la ciudad. "
                 "Mañana va a llover."),
}


def _norm(text: str) -> str:
    text = text.lower().replace(":", " ").replace("-", " ")
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text).split())


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(_norm(reference), _norm(hypothesis))


@pytest.fixture(scope="module")
def sentence_wav(speak) -> Path:
    return speak(SENTENCE, "sentence.wav")


def _analyze(client: TestClient, path: Path, **data: str) -> dict:
    with open(path, "rb") as fh:
        r = client.post("/api/analyze/audio", files={"audio": (path.name, fh)}, data=data)
    assert r.status_code == 200, r.text
    return r.json()["data"]


@pytest.mark.parametrize("language, model, bound", [("en", "whisper-tiny.en", 0.15), ("auto", "whisper-base", 0.15)])
def test_spoken_sentence_is_transcribed(client: TestClient, sentence_wav: Path, language: str, model: str,
                                        bound: float) -> None:
    data = _analyze(client, sentence_wav, language=language)
    result = data["result"]
    error = wer(SENTENCE, result["transcription"])
    assert error <= bound, f"WER {error:.2f} > {bound}: {result['transcription']!r}"
    assert data["metadata"]["model"] == model
    assert result["language"] == "en" and result["has_speech"] is True
    if language == "auto":
        assert result["language_detected"] is True and result["language_probability"] > 0.8


def test_word_timestamps_are_ordered_and_inside_the_audio(client: TestClient, sentence_wav: Path) -> None:
    result = _analyze(client, sentence_wav, language="en", word_level_timestamps="true")["result"]
    duration = result["duration"]
    words = [w for seg in result["segments"] for w in seg["words"]]
    assert len(words) >= 20
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)
    for w in words:
        assert 0 <= w["start"] <= w["end"] <= duration + 1e-6 and 0 <= w["probability"] <= 1
    for seg in result["segments"]:
        assert seg["start"] <= seg["words"][0]["start"] + 0.05 and seg["words"][-1]["end"] <= seg["end"] + 0.05
    # "frog" is spoken late in the sentence, "Stella" early
    t = {_norm(w["word"]): w["start"] for w in words}
    assert t["stella"] < duration / 3 < t["frog"]


def test_without_timestamps(client: TestClient, sentence_wav: Path) -> None:
    result = _analyze(client, sentence_wav, language="en", include_timestamps="false")["result"]
    assert result["segments"] and all("start" not in s for s in result["segments"])


@pytest.mark.parametrize("code", sorted(LANG_SENTENCES))
def test_languages_are_told_apart(client: TestClient, media_dir: Path, sentence_wav: Path, code: str) -> None:
    voice, text = LANG_SENTENCES[code]
    wav = media_factory.espeak(text, media_dir / f"lang-{code}.wav", voice=voice)
    with open(wav, "rb") as fh:
        r = client.post("/api/analyze/audio/detect-language", files={"audio": ("x.wav", fh)})
    result = r.json()["data"]["result"]
    assert result["language"] == code, result
    assert len(result["alternatives"]) == 5 and result["alternatives"][0]["language"] == code
    probs = [a["probability"] for a in result["alternatives"]]
    assert probs == sorted(probs, reverse=True)
    # and English is English
    with open(sentence_wav, "rb") as fh:
        en = client.post("/api/analyze/audio/detect-language", files={"audio": ("en.wav", fh)}).json()
    assert en["data"]["result"]["language"] == "en"


def test_other_language_transcribed_with_base(client: TestClient, media_dir: Path) -> None:
    voice, text = LANG_SENTENCES["es"]
    wav = media_factory.espeak(text, media_dir / "es-transcribe.wav", voice=voice)
    data = _analyze(client, wav, language="es")
    assert data["metadata"]["model"] == "whisper-base"
    assert {"tiempo", "mercado", "ciudad"} & set(_norm(data["result"]["transcription"]).split())
    r = client.post("/api/analyze/audio", files={"audio": ("x.wav", wav.read_bytes())},
                    data={"language": "es"})
    assert r.status_code == 200


@pytest.mark.parametrize("kind", ["music", "noise", "silence"])
def test_no_invented_words_without_speech(client: TestClient, media_dir: Path, kind: str) -> None:
    sr = 16000
    signal = {"music": media_factory.music(12.0, sr), "noise": media_factory.noise(12.0, sr, level=0.2),
              "silence": np.zeros(12 * sr, dtype=np.float32)}[kind]
    wav = media_factory.write_wav(media_dir / f"{kind}.wav", signal, sr)
    for language in ("auto", "en"):
        result = _analyze(client, wav, language=language)["result"]
        assert result["transcription"] == "" and result["segments"] == [], (kind, language, result)
        assert result["has_speech"] is False


def test_speech_in_compressed_formats(client: TestClient, sentence_wav: Path, media_dir: Path) -> None:
    mp3 = media_factory.transcode(sentence_wav, media_dir / "sentence.mp3", "libmp3lame")
    m4a = media_factory.transcode(sentence_wav, media_dir / "sentence.m4a", "aac", "ipod")
    for path in (mp3, m4a):
        data = _analyze(client, path, language="en")
        assert data["metadata"]["format"] == path.suffix[1:]
        assert wer(SENTENCE, data["result"]["transcription"]) <= 0.2


SRT_BLOCK = re.compile(r"^(\d+)\n(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)\n(.+)$")
VTT_CUE = re.compile(r"^(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)\n(.+)$")


def _secs(stamp: str) -> float:
    h, m, s = stamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_srt_and_vtt_are_well_formed(client: TestClient, speak) -> None:
    text = "This is the first sentence. After a pause, here comes the second sentence. And a third one to end."
    wav = speak(text, "three.wav")
    srt = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav.read_bytes())},
                      data={"response_format": "srt", "language": "en"}).text
    blocks = srt.strip().split("\n\n")
    assert blocks and all(SRT_BLOCK.match(b) for b in blocks), srt
    last_end = 0.0
    for i, b in enumerate(blocks, start=1):
        num, a, z, _ = SRT_BLOCK.match(b).groups()
        assert int(num) == i and last_end <= _secs(a) < _secs(z)
        last_end = _secs(z)
    vtt = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav.read_bytes())},
                      data={"response_format": "vtt", "language": "en"}).text
    assert vtt.startswith("WEBVTT\n\n")
    cues = vtt[len("WEBVTT\n\n"):].strip().split("\n\n")
    assert len(cues) == len(blocks) and all(VTT_CUE.match(c) for c in cues)
    assert wer(text, " ".join(VTT_CUE.match(c).group(3) for c in cues)) <= 0.15


def test_openai_client_round_trip(client: TestClient, sentence_wav: Path) -> None:
    from openai import BadRequestError, OpenAI, UnprocessableEntityError

    oa = OpenAI(base_url=str(client.base_url) + "/v1", api_key="not-needed", http_client=client, max_retries=0)
    with open(sentence_wav, "rb") as fh:
        tr = oa.audio.transcriptions.create(model="whisper-1", file=fh, language="en")
    assert wer(SENTENCE, tr.text) <= 0.15
    with open(sentence_wav, "rb") as fh:
        verbose = oa.audio.transcriptions.create(model="whisper-1", file=fh, response_format="verbose_json",
                                                 timestamp_granularities=["word", "segment"])
    assert verbose.language == "english" and verbose.duration > 5
    assert verbose.words and verbose.segments and len(verbose.words) >= 20
    assert verbose.words[0].start <= verbose.words[-1].start
    with open(sentence_wav, "rb") as fh:
        text = oa.audio.transcriptions.create(model="tiny.en", file=fh, response_format="text")
    assert wer(SENTENCE, str(text)) <= 0.15
    # errors come back in OpenAI's shape, which the client turns into its exceptions
    with pytest.raises((BadRequestError, UnprocessableEntityError)) as exc:
        oa.audio.transcriptions.create(model="whisper-9", file=("x.wav", sentence_wav.read_bytes()))
    assert exc.value.body["message"].startswith("Unknown model")  # type: ignore[index]
    r = client.post("/v1/audio/transcriptions", files={"file": ("x.mp3", b"not audio at all")})
    assert r.status_code == 415 and r.json()["error"]["type"] == "invalid_request_error"
    assert "success" not in r.json()


def test_async_job_transcribes(client: TestClient, sentence_wav: Path) -> None:
    r = client.post("/api/analyze/audio", files={"audio": ("s.wav", sentence_wav.read_bytes())},
                    data={"language": "en", "async": "true"})
    assert r.status_code == 202
    job_id = r.json()["data"]["result"]["job_id"]
    job = wait_job(client, job_id)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 100
    assert wer(SENTENCE, job["result"]["result"]["transcription"]) <= 0.15
    assert job["result"]["type"] == "audio"


def test_french_recording_in_aiff_is_transcribed(client: TestClient, media_dir: Path) -> None:
    """A French recording saved as AIFF (big-endian PCM, as Macs and many recorders write it)."""
    from sensorium.media.audio import encode_audio, load_audio

    voice, text = LANG_SENTENCES["fr"]
    wav = media_factory.espeak(text, media_dir / "fr-aiff-source.wav", voice=voice)
    aiff = encode_audio(media_dir / "fr-recording.aiff", load_audio(wav, 22050), 22050, codec="pcm_s16be",
                        container_format="aiff")
    assert aiff.read_bytes()[8:12] == b"AIFF"
    data = _analyze(client, aiff)  # language auto
    assert data["metadata"]["format"] == "aiff"
    assert data["result"]["language"] == "fr" and data["result"]["has_speech"]
    words = set(re.sub(r"[^\w' ]", " ", data["result"]["transcription"].lower()).split())
    assert len({"bonjour", "tous", "demain", "parler", "météo", "marché", "ville"} & words) >= 2, words
