"""The pure parts of the emotion capability: fusion, sentences, face tracks, the voice rules on real speech."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest

from sensorium.emotion import voice
from sensorium.emotion.face import FaceReading, fer_to_emotions, scores_between, track_faces
from sensorium.emotion.fusion import FUSION_WEIGHTS, fuse, split_sentences, summary, timeline_times
from sensorium.emotion.speakers import cluster
from sensorium.emotion.text_model import EMOTIONS
from testkit.media_factory import espeak, read_wav


def one_hot(label: str) -> np.ndarray:
    v = np.zeros(len(EMOTIONS))
    v[EMOTIONS.index(label)] = 1.0
    return v


def test_fusion_renormalises_over_the_modalities_present() -> None:
    joy, anger = one_hot("joy"), one_hot("anger")
    both = fuse({"text": joy, "face": anger, "voice": None}, FUSION_WEIGHTS)
    assert both is not None and both.sum() == pytest.approx(1.0)
    w = FUSION_WEIGHTS
    assert both[EMOTIONS.index("joy")] == pytest.approx(w["text"] / (w["text"] + w["face"]))
    assert fuse({"text": None, "face": anger}, w)[EMOTIONS.index("anger")] == pytest.approx(1.0)
    assert fuse({"text": None, "face": None}, w) is None


def test_sentences_are_split_and_long_runs_cut() -> None:
    assert split_sentences("Hello there! How are you? Fine.\n\nNew paragraph") == [
        "Hello there!", "How are you?", "Fine.", "New paragraph"]
    long = " ".join(["word"] * 400)  # 1999 characters, no punctuation
    parts = split_sentences(long)
    assert len(parts) >= 4 and all(len(p) <= 600 for p in parts) and " ".join(parts) == long
    assert split_sentences("   \n ") == []


def test_summary_and_timeline_times() -> None:
    dist = summary([one_hot("joy"), one_hot("joy"), one_hot("anger")], [2.0, 1.0, 1.0], EMOTIONS)
    assert dist["joy"] == pytest.approx(0.75) and dist["anger"] == pytest.approx(0.25)
    assert timeline_times(2.5, 1.0) == [0.0, 1.0, 2.0]


def test_fer_labels_map_to_meld_emotions() -> None:
    v = fer_to_emotions({"angry": 0.1, "disgust": 0.0, "fear": 0.0, "happy": 0.7, "sad": 0.1, "surprise": 0.0,
                         "neutral": 0.1})
    assert EMOTIONS[int(v.argmax())] == "joy" and v[EMOTIONS.index("anger")] == pytest.approx(0.1)


def test_faces_are_tracked_by_overlap_and_read_per_interval() -> None:
    joy, sad = one_hot("joy"), one_hot("sadness")
    readings = []
    for i in range(6):  # a face on the left (joy) and one on the right (sadness), moving slowly
        t = i * 0.5
        readings.append(FaceReading(t, (10 + i, 10, 110 + i, 110), joy))
        readings.append(FaceReading(t, (400 - i, 10, 500 - i, 110), sad))
    tracks = track_faces(readings)
    assert len(tracks) == 2
    assert {EMOTIONS[int(t.mean().argmax())] for t in tracks} == {"joy", "sadness"}
    scores, frames = scores_between(readings, 0.0, 1.0, 0.5)
    assert frames == 3 and scores[EMOTIONS.index("joy")] == pytest.approx(0.5)
    assert scores_between(readings, 10.0, 11.0, 0.5) == (None, 0)


def test_speaker_clusters_by_cosine() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=256), rng.normal(size=256)
    emb = np.stack([a + rng.normal(scale=0.2, size=256) for _ in range(3)]
                   + [b + rng.normal(scale=0.2, size=256) for _ in range(3)])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    assert cluster(emb) == [0, 0, 0, 1, 1, 1]
    assert cluster(emb[:3]) == [0, 0, 0]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    d = tmp_path_factory.mktemp("voice")
    out = {}
    text = "I told you already, we have to leave right now, there is no more time to wait for them."
    for name, speed in (("fast", 260), ("slow", 95)):
        audio, sr = read_wav(espeak(text, Path(d) / f"{name}.wav", speed=speed))
        out[name] = librosa.resample(audio.astype(np.float32), orig_sr=sr, target_sr=16000)
    out["text"] = text  # type: ignore[assignment]
    return out


def test_fast_speech_reads_as_more_aroused_than_slow_speech(spoken) -> None:
    fast = voice.prosody(spoken["fast"], spoken["text"], None)
    slow = voice.prosody(spoken["slow"], spoken["text"], None)
    assert fast is not None and slow is not None
    assert fast["rate_sps"] > 5.0 > 3.0 > slow["rate_sps"]
    assert 80 < fast["pitch_hz"] < 200  # espeak's default male voice
    assert fast["arousal"] > slow["arousal"] + 0.5
    top = {k: EMOTIONS[int(voice.emotion_scores(f["arousal"]).argmax())] for k, f in (("fast", fast), ("slow", slow))}
    assert top["slow"] in ("sadness", "neutral") and top["fast"] not in ("sadness",)


def test_too_short_speech_gives_no_prosody() -> None:
    assert voice.prosody(np.zeros(1000, np.float32), "hi", None) is None
    assert voice.syllables("beautiful day, isn't it") == 6
