"""YAMNet, aiSFX and MiniLM really run and give sensible outputs."""

from __future__ import annotations

import numpy as np
import pytest

from testkit.sounds import clicks, noise, rain, tone


@pytest.fixture(scope="module")
def yamnet(services, need_models):
    with services.registry.use("yamnet") as y:
        yield y


def resample(x: np.ndarray, up: int, down: int) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(x, up, down).astype(np.float32)


def test_yamnet_analyze_shapes_and_classes(yamnet) -> None:
    wave = resample(tone(5.0, 1000.0), 320, 441)  # 22.05 -> 16 kHz
    scores, embs, times = yamnet.analyze(wave)
    assert scores.shape == (10, 521) and embs.shape == (10, 1024) and times.shape == (10, 2)
    assert times[1, 0] == pytest.approx(0.48) and times[0, 1] == pytest.approx(0.975)
    assert len(yamnet.class_names) == 521 and yamnet.class_names[0] == "Speech"
    top = {yamnet.class_names[i] for i in np.argsort(-scores.mean(axis=0))[:5]}
    assert top & {"Sine wave", "Beep, bleep", "Dial tone", "Busy signal", "Telephone", "Sidetone"}
    assert np.abs(embs).sum() > 0 and not np.allclose(embs[0], 0)


def test_yamnet_sound_events_merge_frames(yamnet) -> None:
    sr = 16000
    silence = np.zeros(3 * sr, dtype=np.float32)
    beep = resample(tone(3.0, 1000.0), 320, 441)
    events = yamnet.sound_events(np.concatenate([silence, beep]), threshold=0.3)
    assert events, "a loud tone must produce events"
    tonal = [e for e in events if e["label"] in ("Sine wave", "Beep, bleep", "Dial tone", "Busy signal",
                                                  "Telephone", "Sidetone")]
    assert tonal
    first = min(tonal, key=lambda e: e["start"])
    assert 1.9 <= first["start"] <= 3.0  # the first frame overlapping the tone starts at 2.4 s
    assert first["end"] >= 5.5  # consecutive frames merged up to (nearly) the end of the audio
    assert all(e["label"] != "Silence" for e in events)
    # one merged event per run: no two events of the same label overlap
    for lab in {e["label"] for e in events}:
        spans = sorted((e["start"], e["end"]) for e in events if e["label"] == lab)
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_yamnet_short_audio_is_padded(yamnet) -> None:
    scores, embs, times = yamnet.analyze(np.zeros(4000, dtype=np.float32))
    assert scores.shape == (1, 521) and times[0, 1] == pytest.approx(0.25)


def test_aisfx_embeddings_group_same_kinds(services, need_models) -> None:
    with services.registry.use("aisfx") as a:
        def emb(x: np.ndarray) -> np.ndarray:
            return a.embed_clip(resample(x, 2, 1))  # 22.05 -> 44.1 kHz

        r1, r2 = emb(rain(4, 1)), emb(rain(4, 2))
        c1, c2 = emb(clicks(4, 3, 1)), emb(clicks(4, 4, 2))
        n1 = emb(noise(4, 5))
    assert r1.shape == (512,) and np.linalg.norm(r1) == pytest.approx(1.0, abs=1e-4)
    assert r1 @ r2 > r1 @ c1 and c1 @ c2 > c1 @ r1 and c1 @ c2 > c1 @ n1


def test_minilm_embeds_offline(services) -> None:
    with services.registry.use("minilm") as m:
        v = m.encode(["rain on a tin roof", "the sound of rain on surface", "a dog barking"])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
