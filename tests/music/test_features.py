"""The audio features on generated music of known character: tempo, key and mode, energy, brightness."""

from __future__ import annotations

import pytest

from sensorium.music.features import SR, analyze_window, estimate_key, merge_windows
from sensorium.music.labels import brightness_of, energy_of, tempo_class
from testkit import music as gen


@pytest.mark.parametrize("name", list(gen.CHARACTERS))
def test_tempo_key_mode_of_generated_tracks(name: str) -> None:
    bpm, key, mode, bright, loud = gen.CHARACTERS[name]
    f = analyze_window(gen.track(bpm, key, mode, bright=bright, loud=loud, seconds=20, sr=SR), SR)
    assert f.tempo == pytest.approx(bpm, rel=0.04)  # no octave error on these clear patterns
    assert (f.key, f.mode) == (key, mode)
    assert f.key_confidence > 0.7


def test_loud_bright_vs_quiet_dark() -> None:
    loud = analyze_window(gen.track(140, "C", "major", bright=True, loud=True, seconds=15, sr=SR), SR)
    quiet = analyze_window(gen.track(70, "A", "minor", bright=False, loud=False, seconds=15, sr=SR), SR)
    assert energy_of(loud) > 0.6 > 0.4 > energy_of(quiet)
    assert brightness_of(loud) > 0.5 > 0.3 > brightness_of(quiet)
    assert loud.rms_db - quiet.rms_db == pytest.approx(19, abs=3)
    assert tempo_class(loud.tempo) == "Fast" and tempo_class(quiet.tempo) == "Slow"


def test_beats_follow_the_pattern() -> None:
    f = analyze_window(gen.drums(120, 12, SR), SR)
    truth = gen.beat_times(120, 12)
    errors = [min(abs(b - t) for t in truth) for b in f.beats]
    assert len(f.beats) >= 0.8 * len(truth)
    assert max(errors) < 0.04


def test_silence_and_windows_merge() -> None:
    import numpy as np

    silent = analyze_window(np.zeros(SR * 3, np.float32), SR)
    assert silent.tempo == 0 and silent.beats == [] and silent.rms_db <= -90
    a = analyze_window(gen.track(100, "D", "major", seconds=10, sr=SR), SR, offset=0.0)
    b = analyze_window(gen.track(100, "D", "major", seconds=10, sr=SR), SR, offset=600.0)
    m = merge_windows([a, b], 1200.0)
    assert m.duration == 1200.0 and m.tempo == pytest.approx(100, rel=0.04) and m.key == "D"
    assert m.beats[-1] > 600 and m.seconds_analysed == pytest.approx(20, abs=0.1)
    assert estimate_key(np.zeros(12)) == ("C", "major", 0.0)
