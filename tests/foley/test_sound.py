"""Footstep synthesis, the track (onsets at the strikes, silence elsewhere), loudness, mixing and muxing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensorium.errors import SensoriumError
from sensorium.foley import render, synth

SR = 44100


def _centroid(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(len(y), 1 / sr)
    return float((spec * freqs).sum() / (spec.sum() + 1e-12))


def test_every_surface_synthesizes_a_distinct_varied_footstep() -> None:
    rng = np.random.default_rng(0)
    centroids = {}
    for surface in synth.SURFACES:
        a, b = synth.footstep(surface, SR, rng), synth.footstep(surface, SR, rng)
        assert np.isfinite(a).all() and 0.99 <= np.max(np.abs(a)) <= 1.0001
        # impact transient: the sound starts at once (peak-level energy within the first 15 ms)
        assert np.max(np.abs(a[: int(0.015 * SR)])) > 0.3, surface
        # not a beep: no third-octave band holds most of the energy; and no two steps are identical
        power = np.abs(np.fft.rfft(a)) ** 2
        freqs = np.fft.rfftfreq(len(a), 1 / SR)
        bands = [power[(freqs >= f) & (freqs < f * 2 ** (1 / 3))].sum() for f in 20 * 2 ** (np.arange(30) / 3)]
        assert max(bands) < 0.8 * power.sum(), surface
        m = min(len(a), len(b))
        assert abs(np.corrcoef(a[:m], b[:m])[0, 1]) < 0.95, surface
        centroids[surface] = _centroid(a, SR)
    assert centroids["carpet"] < centroids["tile"]
    assert centroids["carpet"] < centroids["gravel"]
    # metal rings: much more energy after 300 ms than a tile step
    metal, tile = synth.footstep("metal", SR, rng), synth.footstep("tile", SR, rng)
    tail = int(0.3 * SR)
    assert np.sum(metal[tail:] ** 2) > 5 * np.sum(tile[tail:] ** 2)


def test_loudness_meter_matches_bs1770_reference() -> None:
    t = np.arange(3 * SR) / SR
    assert synth.integrated_loudness(np.sin(2 * np.pi * 997 * t), SR) == pytest.approx(-3.01, abs=0.05)
    assert synth.integrated_loudness(np.zeros(SR), SR) == float("-inf")


def _events(times: list[float], width: float = 960) -> list[dict]:
    return [{"time_s": t, "event": "heel_strike", "person_id": 1, "foot": "left" if i % 2 else "right",
             "x": width * (0.2 + 0.6 * i / max(1, len(times) - 1)), "y": 500, "scale": 0.8, "confidence": 0.9}
            for i, t in enumerate(times)]


def test_track_is_audible_at_each_strike_and_silent_elsewhere(labelled_detections) -> None:
    import librosa

    det = labelled_detections["gait_abnormal_08_no_arm_swing.mp4"]
    strikes = [e for e in det.events if e["event"] == "heel_strike"]
    assert len(strikes) >= 8
    track, info = synth.render_track(det.events, det.video["duration"], SR, "gravel", width=det.video["width"])
    assert track.shape == (2, int(np.ceil(det.video["duration"] * SR)) + 1)
    assert info.steps_sounded == len(strikes)
    assert info.loudness_lufs <= synth.TARGET_LUFS + 0.1
    assert np.max(np.abs(track)) <= 10 ** (synth.PEAK_CEILING_DB / 20) + 1e-4
    mono = track.mean(0)
    onsets = librosa.onset.onset_detect(y=mono, sr=SR, hop_length=128, backtrack=True, units="time")
    for e in strikes:
        assert np.min(np.abs(onsets - e["time_s"])) <= 0.020, e["time_s"]
    # silence: before the first strike, and after the last step's sound has died away
    first = min(e["time_s"] for e in strikes)
    last = max(e["time_s"] for e in strikes)
    assert np.max(np.abs(track[:, : int((first - 0.01) * SR)])) == 0.0
    tail = track[:, int((last + 0.7) * SR):]  # empty when the last step is under 0.7 s from the end
    assert tail.size == 0 or np.max(np.abs(tail)) == 0.0
    # every gap between steps clearly longer than the sound holds silence
    times = sorted(e["time_s"] for e in strikes)
    for a, b in zip(times, times[1:], strict=False):
        if b - a > 0.8:  # the sound holds ~0.6 s (its last -100 dB tail a little longer)
            seg = track[:, int((a + 0.6) * SR): int((b - 0.01) * SR)]
            assert np.max(np.abs(seg)) == 0.0


def test_pan_follows_x_and_loudness_follows_size() -> None:
    left = dict(_events([0.5])[0], x=50.0)
    right = dict(_events([0.5])[0], x=910.0)
    tl, _ = synth.render_track([left], 1.5, SR, "wood", width=960, normalize_to=None)
    tr, _ = synth.render_track([right], 1.5, SR, "wood", width=960, normalize_to=None)
    assert np.sum(tl[0] ** 2) > 4 * np.sum(tl[1] ** 2)
    assert np.sum(tr[1] ** 2) > 4 * np.sum(tr[0] ** 2)
    near = dict(_events([0.5])[0], scale=0.9)
    far = dict(_events([0.5])[0], scale=0.2)
    tn, _ = synth.render_track([near], 1.5, SR, "wood", width=960, normalize_to=None, seed=3)
    tf, _ = synth.render_track([far], 1.5, SR, "wood", width=960, normalize_to=None, seed=3)
    assert np.sum(tn ** 2) > 4 * np.sum(tf ** 2)


def test_sample_pack_is_used_with_variation(tmp_path: Path) -> None:
    from sensorium.media.audio import write_wav

    rng = np.random.default_rng(5)
    (tmp_path / "gravel").mkdir()
    for i in range(2):
        y = np.zeros(int(0.4 * SR))
        tail = len(y) - int(0.05 * SR)
        y[int(0.05 * SR):] = rng.normal(0, 0.3, tail) * np.exp(-np.arange(tail) / 2000)
        write_wav(tmp_path / "gravel" / f"step{i}.wav", y, SR)
    pack = synth.SamplePack.open(tmp_path)
    assert pack.surfaces() == ["gravel"]
    a, b = pack.footstep("gravel", SR, rng), pack.footstep("gravel", SR, rng)
    assert np.max(np.abs(a[: int(0.003 * SR)])) > 0.05  # leading silence trimmed: onset at the event
    assert len(a) != len(b) or not np.allclose(a, b)
    track, info = synth.render_track(_events([0.5, 1.2]), 2.0, SR, "gravel", width=960, sample_pack=pack)
    assert info.steps_sounded == 2 and "sample pack" in info.source
    with pytest.raises(SensoriumError):
        synth.SamplePack.open(tmp_path / "missing")


def test_unknown_surface_and_mode_are_validation_errors() -> None:
    with pytest.raises(SensoriumError) as e:
        synth.render_track(_events([0.5]), 1.0, SR, "lava", width=960)
    assert e.value.code.value == "VALIDATION_ERROR"
    with pytest.raises(SensoriumError):
        render.mix_audio(None, np.zeros((2, 10), np.float32), SR, "loud")


@pytest.mark.parametrize("mode", ["replace", "duck"])
def test_muxed_mp4_plays_to_the_end_with_matching_durations(short_walk: Path, foley_registry, tmp_path: Path,
                                                             mode: str) -> None:
    import av
    import librosa

    from sensorium.foley import studio
    from sensorium.foley.schemas import AudioParams, ProcessParams
    from sensorium.media.audio import load_audio

    doc, _ = studio.detect(short_walk, foley_registry, ProcessParams(surface="auto"))
    strikes = [e for e in doc.events if e.event == "heel_strike"]
    assert strikes, "the short walk has heel strikes"
    out = tmp_path / f"mixed-{mode}.mp4"
    info = studio.footstep_audio(short_walk, doc, AudioParams(mode=mode, surface="concrete"), out_video=out)
    assert info.video == "copied" and info.sample_rate == 44100
    durations = {}
    with av.open(str(short_walk)) as src:
        src_packets = sum(1 for p in src.demux(src.streams.video[0]) if p.size)
    for kind in ("video", "audio"):
        with av.open(str(out)) as c:
            assert sorted(s.type for s in c.streams) == ["audio", "video"]
            fps = float(c.streams.video[0].average_rate)
            stream = c.streams.video[0] if kind == "video" else c.streams.audio[0]
            last, count = 0.0, 0
            for frame in c.decode(stream):
                count += 1
                last = float(frame.pts * frame.time_base) + (
                    frame.samples / frame.sample_rate if kind == "audio" else 1 / fps)
            durations[kind] = last
            if kind == "video":
                assert count == src_packets  # every frame is there: the video was copied, not re-timed
    assert abs(durations["video"] - durations["audio"]) <= 1 / fps + 1e-3, durations
    if mode == "replace":  # the muxed audio is the footstep track: onsets at the strikes
        y = load_audio(out, sr=44100)
        onsets = librosa.onset.onset_detect(y=y, sr=44100, hop_length=128, backtrack=True, units="time")
        for e in strikes:
            assert np.min(np.abs(onsets - e.time_s)) <= 0.020
