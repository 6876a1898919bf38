"""Video -> music: the rule set on generated videos, beat-to-cut offsets, the preview render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensorium.music.align import align
from sensorium.music.schemas import COLLECTION, VideoSignals
from sensorium.music.video_rules import apply_rules
from testkit import music as gen
from tests.music.conftest import ALIGN_BPM

pytestmark = pytest.mark.usefixtures("shared_models")  # YOLOX-nano looks at the frames
CUT_FRAMES = [17, 41, 77, 101, 137, 161, 197, 221]  # 25 fps: gaps of 2 and 3 beats at 125 BPM


@pytest.fixture(scope="module")
def fast_video(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("vid")
    return gen.scene_video(d / "fast.mp4", seconds=10, cut_frames=CUT_FRAMES, moving=True, bright=True, shift=6)


@pytest.fixture(scope="module")
def still_video(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("vid")
    return gen.scene_video(d / "still.mp4", seconds=8, moving=False, bright=False)


def test_fast_cuts_and_motion_is_high_energy(services, music_indexed, fast_video) -> None:
    res = services.music.analyze_video(fast_video, 5)
    a, s = res.analysis, res.analysis.signals
    assert [round(c * 25) for c in s.cuts] == CUT_FRAMES
    assert a.energy_level == "High" and a.tempo == "Fast" and s.motion > 10
    assert a.mood in ("energetic", "driving") and a.genre_suggestions and a.keywords and a.rules
    assert len(res.songs) == 5 and all(x.why and x.start_offset is not None for x in res.songs)
    assert {res.songs[0].title, res.songs[1].title} <= {"Neon Sprint", "Major Rush", "align 125"}


def test_still_dark_video_is_low_energy(services, music_indexed, still_video) -> None:
    res = services.music.analyze_video(still_video, 3)
    a = res.analysis
    assert a.energy_level == "Low" and a.tempo == "Slow" and a.signals.cuts == []
    assert a.mood == "melancholic" and a.valence < 0
    assert {s.title for s in res.songs[:2]} == {"slow dark quiet", "slow dark quiet 2"}
    assert res.songs[0].alignment_score is None


def test_beat_to_cut_offset_within_40ms(services, music_indexed, fast_video) -> None:
    row = next(r for r in services.vectors.rows(COLLECTION) if r["fname"] == "align_125.wav")
    cuts = [f / 25 for f in CUT_FRAMES]
    a = align(cuts, row["beats"], row["beat_strengths"], row["duration"], 10.0)
    truth = gen.beat_times(ALIGN_BPM, 30)
    errors = [float(np.min(np.abs(truth - (a.offset + c)))) for c in cuts]
    assert max(errors) < 0.040, errors
    assert a.score > 0.6 and a.on_beat == len(cuts) and 0 <= a.offset <= 20


def test_alignment_edge_cases() -> None:
    assert align([], [0.5, 1.0, 1.5], [1, 1, 1], 10, 5).score is None
    assert align([1.0], [], [], 10, 5).offset == 0.0
    off = align([0.3, 0.8], [0.0, 0.5, 1.0, 1.5, 2.0], [1, 1, 1, 1, 1], 2.0, 5.0)  # track shorter than video
    assert off.offset == 0.0


def test_rule_set_is_documented_and_testable() -> None:
    base = dict(duration=30, cuts=[], cuts_per_minute=0, motion=0.5, brightness=0.5, colorfulness=30)
    calm = apply_rules(VideoSignals(**base))
    assert calm.energy_level == "Low" and calm.tempo == "Slow"
    loud = apply_rules(VideoSignals(**{**base, "audio_loudness_lufs": -8.0, "cuts_per_minute": 20, "motion": 8}))
    assert loud.energy_level == "High"
    music = apply_rules(VideoSignals(**{**base, "audio_tempo": 128.0, "music_score": 0.6}))
    assert music.tempo == "Fast"
    happy = apply_rules(VideoSignals(**{**base, "expressions": {"happy": 4}}))
    sad = apply_rules(VideoSignals(**{**base, "expressions": {"sad": 4}}))
    assert happy.valence > 0.1 > -0.1 > sad.valence


def test_preview_render_ducks_under_speech(services, music_indexed, tmp_path, speak) -> None:
    from sensorium.media.audio import load_audio
    from sensorium.media.video import probe_video
    from sensorium.music.preview import render_preview

    wav = load_audio(speak("The quick brown fox jumps over the lazy dog near the river bank."), sr=16000)
    audio = np.concatenate([np.zeros(16000 * 3, np.float32), wav, np.zeros(16000 * 3, np.float32)])
    seconds = len(audio) / 16000
    video = gen.scene_video(tmp_path / "talk.mp4", seconds=seconds, moving=False, audio=audio)
    track = next(Path(r["path"]) for r in services.vectors.rows(COLLECTION) if r["fname"] == "align_125.wav")
    spans = [[3.0, 3.0 + len(wav) / 16000]]
    out = tmp_path / "preview.mp4"
    done = render_preview(video, seconds, track, 0.48, spans, out, duck_db=-12)
    assert done["original_audio"] and out.is_file() and probe_video(out).has_audio
    mix = load_audio(out, sr=16000)
    speech_only = load_audio(video, sr=16000)
    n = min(len(mix), len(speech_only))
    music = mix[:n] - speech_only[:n]  # what the preview added
    def rms(a, b):
        return float(np.sqrt(np.mean(music[int(a * 16000):int(b * 16000)] ** 2)))
    assert rms(0.5, 2.5) > 2.5 * rms(3.5, 3.0 + len(wav) / 16000 - 0.5)  # about -12 dB under speech
