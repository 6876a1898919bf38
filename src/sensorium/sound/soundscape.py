"""Soundscape synthesis from the top search matches (`synthesize=true`).

A real mix, built from the library clips the search found:

1. each of the top clips (at most `MAX_LAYERS`) is decoded at 44.1 kHz mono, its leading/trailing
   silence trimmed (-50 dBFS), and loudness-normalized to -23 LUFS (ITU-R BS.1770 integrated
   loudness with gating, `sensorium.media.loudness`); a layer below the gate (silent) is left out;
2. each layer is looped to `audio_length_in_s` with equal-power crossfades at the seams (up to
   0.5 s, shorter for short clips) and starts at a staggered offset so that loop points do not line
   up;
3. layers are weighted by rank and similarity (the best match at 0 dB, the next ones -6 dB, -9 dB,
   ..., scaled by similarity) and panned slightly left/right into a stereo mix;
4. the mix is normalized to -20 dB RMS, peak-limited at -1 dBFS (soft clip), and faded in/out
   (50 ms / 300 ms).

AudioLDM2 (text-to-audio diffusion) — the original system's generator — is not shipped: its weights
are not obtainable offline here, and the issue allows that path only if it can be exercised for real
in a test. `audioldm_pipeline` in GET /health therefore reports false.

Pure: waves in, a stereo mix out. Where the clips come from and where the WAV goes is `SoundService`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.audio import load_audio
from sensorium.media.loudness import integrated_loudness
from sensorium.sound.schemas import SoundscapeLayer

SR = 44100
MAX_LAYERS = 4
MAX_SECONDS = 60.0
LAYER_LUFS = -23.0
MIX_RMS_DB = -20.0
PEAK = 10 ** (-1 / 20)


def _db(x: float) -> float:
    return 10 ** (x / 20)


def trim_silence(wave: np.ndarray, floor_db: float = -50.0, sr: int = SR) -> np.ndarray:
    hop = int(0.01 * sr)
    if wave.size < hop * 4:
        return wave
    frames = wave[: wave.size // hop * hop].reshape(-1, hop)
    level = np.sqrt((frames ** 2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(level >= _db(floor_db))
    if loud.size == 0:
        return wave
    return wave[loud[0] * hop: (loud[-1] + 1) * hop]


def loop_to_length(wave: np.ndarray, n: int, offset: int = 0, sr: int = SR) -> np.ndarray:
    """Repeat `wave` to `n` samples with equal-power crossfades at the seams."""
    if wave.size == 0:
        return np.zeros(n, dtype=np.float32)
    xf = int(min(0.5 * sr, wave.size // 4))
    if wave.size >= n + offset or xf < 16:
        reps = int(np.ceil((n + offset) / max(wave.size, 1))) + 1
        out = np.tile(wave, reps)
        return out[offset: offset + n].astype(np.float32)
    t = np.linspace(0, np.pi / 2, xf)
    fade_in, fade_out = np.sin(t) ** 2, np.cos(t) ** 2
    step = wave.size - xf
    total = n + offset
    out = np.zeros(total + wave.size, dtype=np.float64)
    pos = 0
    first = True
    while pos < total:
        seg = wave.astype(np.float64).copy()
        if not first:
            seg[:xf] *= fade_in
        seg[-xf:] *= fade_out
        out[pos: pos + seg.size] += seg
        pos += step
        first = False
    return out[offset: offset + n].astype(np.float32)


def mix_layers(layers: Sequence[tuple[np.ndarray, float]], seconds: float, sr: int = SR) -> np.ndarray:
    """Stereo mix [2, n] of (mono wave, gain) layers, looped to `seconds`."""
    n = int(round(seconds * sr))
    mix = np.zeros((2, n), dtype=np.float64)
    for i, (wave, gain) in enumerate(layers):
        w = trim_silence(np.asarray(wave, dtype=np.float32), sr=sr)
        lufs = integrated_loudness(w, sr)
        if not np.isfinite(lufs):
            continue  # silent (below the BS.1770 gate)
        w = w * _db(LAYER_LUFS - lufs)
        offset = int((i * 0.37 % 1.0) * min(w.size, sr * 2))
        looped = loop_to_length(w, n, offset=offset, sr=sr)
        pan = 0.0 if i == 0 else (0.35 if i % 2 else -0.35)
        left, right = np.cos((pan + 1) * np.pi / 4), np.sin((pan + 1) * np.pi / 4)
        mix[0] += gain * left * looped
        mix[1] += gain * right * looped
    rms = float(np.sqrt(np.mean(mix ** 2))) if mix.size else 0.0
    if rms <= 1e-9:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The matched clips are silent; nothing to mix.")
    mix *= _db(MIX_RMS_DB) / rms
    mix = np.tanh(mix / PEAK) * PEAK  # soft limiter (transparent below ~-6 dBFS)
    fi, fo = int(0.05 * sr), int(0.3 * sr)
    mix[:, :fi] *= np.linspace(0, 1, fi)
    mix[:, -fo:] *= np.linspace(1, 0, fo)
    return mix.astype(np.float32)


def check_length(seconds: float) -> None:
    if not 0.5 <= float(seconds) <= MAX_SECONDS:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"audio_length_in_s must be between 0.5 and {MAX_SECONDS:.0f} seconds.",
                             details={"param": "audio_length_in_s"})


@dataclass
class SoundscapeClip:
    """A matched clip to layer: its file, and what the search said of it."""

    path: Path
    fname: str | None
    id: str | None
    similarity: float = 1.0


def mix_clips(
    clips: Sequence[SoundscapeClip],
    *,
    audio_length_in_s: float = 10.0,
    load: Callable[[Path], np.ndarray] | None = None,
) -> tuple[np.ndarray, list[SoundscapeLayer]]:
    """Mix the files of the top `clips` (best first) into a stereo [2, n] wave at `SR`, and say how.

    `load(path)` decodes a file to mono float32 at `SR` (default: the whole file with `load_audio`).
    """
    check_length(audio_length_in_s)
    if not clips:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED,
                             "No clip matched the search, so there is nothing to build a soundscape from; "
                             "lower similarity_threshold or index more sounds.")
    load = load or (lambda p: load_audio(p, sr=SR, max_seconds=None))
    layers: list[tuple[np.ndarray, float]] = []
    info: list[SoundscapeLayer] = []
    for rank, clip in enumerate(clips[:MAX_LAYERS]):
        try:
            wave = load(clip.path)
        except SensoriumError:
            continue  # a file that vanished or broke since indexing: leave it out of the mix
        gain_db = (0.0 if rank == 0 else -3.0 - 3.0 * rank) + 6.0 * (float(clip.similarity) - 1.0)
        layers.append((wave, _db(gain_db)))
        info.append(SoundscapeLayer(fname=clip.fname, id=clip.id, gain_db=round(gain_db, 2)))
    if not layers:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "None of the matched clips could be decoded.")
    return mix_layers(layers, float(audio_length_in_s)), info
