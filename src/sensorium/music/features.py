"""Audio features of a music track with librosa: tempo and beat grid, beat strength, key and mode,
loudness and energy over time, spectral brightness, onset density.

All features are computed on mono audio at `SR` (16 kHz: the rate YAMNet needs too, so one decode
serves both; 8 kHz of bandwidth is plenty for rhythm, harmony and brightness).

* **Tempo**: librosa's onset envelope and beat tracker, then an octave check: of the tempo T, T/2 and
  2T (within 50-200 BPM) the one whose beat period has the strongest onset autocorrelation wins,
  with a mild preference for 80-160 BPM (log-Gaussian prior around 115 BPM, sigma one octave). The
  tracked beats are then re-spaced to the chosen octave. Documented limit: tracks whose pulse is
  truly ambiguous (swing, half-time feels) may still be reported at double or half tempo.
* **Beat strength**: mean onset strength at the beats over the mean onset strength (1 = no pulse).
* **Key and mode**: mean chroma (STFT) correlated with the 24 rotated Krumhansl-Kessler profiles;
  `key_confidence` is the winning correlation.
* **Loudness/energy**: RMS in dBFS per 0.5 s (the `energy_curve`, 0-1) and its mean; integrated
  loudness per BS.1770 comes from `media.loudness` over the analysed audio.
* **Brightness**: mean spectral centroid (Hz) and the fraction of energy above 2 kHz.
* **Onset density**: detected onsets per second.

Long tracks are analysed in windows (`windows.py` decides where); `merge_windows` combines them.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.expanduser("~/.cache/sensorium/numba"))

SR = 16000
HOP = 256
MIN_BPM, MAX_BPM = 50.0, 200.0
PRIOR_BPM, PRIOR_OCTAVES = 115.0, 1.0
CURVE_STEP = 0.5  # seconds per energy-curve point
#: Krumhansl-Kessler key profiles (C major / C minor), index 0 = tonic
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


@dataclass
class AudioFeatures:
    """Features of a track (or of one analysis window)."""

    duration: float
    tempo: float
    beats: list[float] = field(default_factory=list)  # seconds, from the track start
    beat_strengths: list[float] = field(default_factory=list)  # onset strength at each beat, 0-1
    beat_strength: float = 1.0
    key: str = "C"
    mode: str = "major"
    key_confidence: float = 0.0
    chroma: list[float] = field(default_factory=lambda: [0.0] * 12)
    rms_db: float = -90.0
    energy_curve: list[float] = field(default_factory=list)  # 0-1 per CURVE_STEP s
    centroid_hz: float = 0.0
    high_ratio: float = 0.0
    onset_density: float = 0.0
    seconds_analysed: float = 0.0


def estimate_key(chroma_mean: np.ndarray) -> tuple[str, str, float]:
    """(key, mode, correlation) by Krumhansl-Kessler profile matching."""
    c = np.asarray(chroma_mean, dtype=np.float64)
    if not np.any(c > 0) or np.std(c) < 1e-9:
        return "C", "major", 0.0
    best = ("C", "major", -2.0)
    for mode, prof in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for k in range(12):
            r = float(np.corrcoef(c, np.roll(prof, k))[0, 1])
            if r > best[2]:
                best = (NOTES[k], mode, r)
    return best


def _autocorr_at(env: np.ndarray, lag: float) -> float:
    """Normalized autocorrelation of the onset envelope at a (fractional) lag in frames."""
    x = env - env.mean()
    denom = float(np.dot(x, x)) or 1.0
    lo = int(math.floor(lag))
    frac = lag - lo
    if lo + 1 >= len(x) or lo < 1:
        return 0.0
    a = float(np.dot(x[:-lo], x[lo:])) / denom
    b = float(np.dot(x[:-(lo + 1)], x[lo + 1:])) / denom
    return (1 - frac) * a + frac * b


def choose_octave(tempo: float, env: np.ndarray, sr: int = SR, hop: int = HOP) -> float:
    """Of T/2, T, 2T in [MIN_BPM, MAX_BPM]: the best onset autocorrelation at the beat period
    (summed over the first 4 multiples) times a log-Gaussian prior (see the module docstring)."""
    if tempo <= 0:
        return 0.0
    best, best_score = tempo, -math.inf
    for cand in (tempo / 2, tempo, tempo * 2):
        if not MIN_BPM <= cand <= MAX_BPM:
            continue
        period = 60.0 / cand * sr / hop
        ac = sum(_autocorr_at(env, period * m) for m in (1, 2, 3, 4)) / 4
        prior = math.exp(-0.5 * (math.log2(cand / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
        score = ac * (0.5 + 0.5 * prior)
        if score > best_score:
            best, best_score = cand, score
    return best


def _respace(beats: np.ndarray, tracked: float, chosen: float) -> np.ndarray:
    """Beats at the chosen octave: every other beat for half tempo, midpoints added for double."""
    if len(beats) < 2 or abs(chosen - tracked) < 1e-6:
        return beats
    if chosen < tracked:
        return beats[::2]
    mids = (beats[:-1] + beats[1:]) / 2
    return np.sort(np.concatenate([beats, mids]))


def _rhythm(y: np.ndarray, sr: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(tempo, beat times, beat strengths 0-1, onset envelope)."""
    import librosa

    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP)
    if not np.any(env > 0):
        return 0.0, np.zeros(0), np.zeros(0), env
    tempo_arr, frames = librosa.beat.beat_track(onset_envelope=env, sr=sr, hop_length=HOP, units="frames")
    tracked = float(np.atleast_1d(tempo_arr)[0])
    beats = librosa.frames_to_time(frames, sr=sr, hop_length=HOP)
    if len(beats) >= 4:  # the beat grid's own period is steadier than the global estimate
        tracked = 60.0 / float(np.median(np.diff(beats)))
    chosen = choose_octave(tracked, env, sr)
    beats = _respace(beats, tracked, chosen)
    idx = np.clip(np.round(beats * sr / HOP).astype(int), 0, len(env) - 1)
    # each beat snapped to the envelope's peak within +-3 frames (the tracker's grid lags the onsets by
    # ~1-2 frames); its strength is that peak (raw; normalized in analyze_window)
    peaks = np.array([max(0, i - 3) + int(np.argmax(env[max(0, i - 3):i + 4])) for i in idx], dtype=int)
    if len(peaks):
        beats = librosa.frames_to_time(peaks, sr=sr, hop_length=HOP)
    strengths = env[peaks] if len(peaks) else np.zeros(0)
    return chosen, beats, strengths, env


def analyze_window(y: np.ndarray, sr: int = SR, offset: float = 0.0) -> AudioFeatures:
    """Features of mono audio `y` (beats shifted by `offset` s, the window's place in the track)."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    duration = len(y) / sr
    tempo, beats, strengths, env = _rhythm(y, sr)
    beat_strength = 1.0
    if len(beats) and env.mean() > 0:
        beat_strength = float(np.mean(strengths) / env.mean())
        strengths = np.clip(strengths / (np.percentile(strengths, 95) or 1.0), 0, 1)
    n_fft = 2048
    spec = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=512)) ** 2
    with warnings.catch_warnings():  # silence: "estimate tuning from empty frequency set"
        warnings.simplefilter("ignore", UserWarning)
        chroma = librosa.feature.chroma_stft(S=spec, sr=sr, n_chroma=12)
    chroma_mean = chroma.mean(axis=1) if chroma.size else np.zeros(12)
    key, mode, conf = estimate_key(chroma_mean)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    power = spec.sum(axis=1)
    total = float(power.sum()) or 1.0
    centroid = float((freqs * power).sum() / total)
    high = float(power[freqs >= 2000].sum() / total)
    step = int(CURVE_STEP * sr)
    blocks = [y[i:i + step] for i in range(0, len(y), step)] or [y]
    rms = np.array([math.sqrt(float(np.mean(b.astype(np.float64) ** 2))) if len(b) else 0.0 for b in blocks])
    rms_db_blocks = 20 * np.log10(np.maximum(rms, 1e-5))
    rms_db = float(20 * math.log10(max(math.sqrt(float(np.mean(y.astype(np.float64) ** 2))), 1e-5)))
    onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=HOP) if env.size else []
    return AudioFeatures(
        duration=duration, tempo=round(tempo, 2), beats=[round(float(b) + offset, 3) for b in beats],
        beat_strengths=[round(float(s), 3) for s in strengths], beat_strength=round(beat_strength, 3),
        key=key, mode=mode, key_confidence=round(conf, 3), chroma=[round(float(c), 4) for c in chroma_mean],
        rms_db=round(rms_db, 2), energy_curve=[round(float(v), 3) for v in np.clip((rms_db_blocks + 60) / 60, 0, 1)],
        centroid_hz=round(centroid, 1), high_ratio=round(high, 4),
        onset_density=round(len(onsets) / max(duration, 1e-3), 3), seconds_analysed=round(duration, 3))


def merge_windows(parts: list[AudioFeatures], duration: float) -> AudioFeatures:
    """One track's features from its windows: tempo = duration-weighted median, key from the summed
    chroma, levels averaged (energy from the mean power), beats and energy curves concatenated."""
    if len(parts) == 1:
        only = parts[0]
        only.duration = duration
        return only
    w = np.array([p.seconds_analysed for p in parts], dtype=np.float64)
    tempos = np.array([p.tempo for p in parts])
    order = np.argsort(tempos)
    cum = np.cumsum(w[order])
    tempo = float(tempos[order][np.searchsorted(cum, cum[-1] / 2)])
    chroma = np.average(np.array([p.chroma for p in parts]), axis=0, weights=w)
    key, mode, conf = estimate_key(chroma)
    power = np.average([10 ** (p.rms_db / 10) for p in parts], weights=w)

    def avg(name: str) -> float:
        return float(np.average([getattr(p, name) for p in parts], weights=w))

    return AudioFeatures(
        duration=duration, tempo=round(tempo, 2), beats=[b for p in parts for b in p.beats],
        beat_strengths=[s for p in parts for s in p.beat_strengths], beat_strength=round(avg("beat_strength"), 3),
        key=key, mode=mode, key_confidence=round(conf, 3), chroma=[round(float(c), 4) for c in chroma],
        rms_db=round(10 * math.log10(max(power, 1e-10)), 2), energy_curve=[v for p in parts for v in p.energy_curve],
        centroid_hz=round(avg("centroid_hz"), 1), high_ratio=round(avg("high_ratio"), 4),
        onset_density=round(avg("onset_density"), 3), seconds_analysed=round(float(w.sum()), 3))
