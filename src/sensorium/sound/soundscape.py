"""Soundscape synthesis from the top search matches (`synthesize=true`).

A real mix, built from the library clips the search found:

1. each of the top clips (at most `MAX_LAYERS`) is decoded at 44.1 kHz mono, its leading/trailing
   silence trimmed (-50 dBFS), and loudness-normalized to -23 dB RMS with a K-weighting-like
   pre-filter (a 2nd-order high-pass at 60 Hz and a +4 dB shelf above 1.5 kHz, a cheap stand-in for
   ITU-R BS.1770; no LUFS gating);
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
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError

SR = 44100
MAX_LAYERS = 4
MAX_SECONDS = 60.0
LAYER_RMS_DB = -23.0
MIX_RMS_DB = -20.0
PEAK = 10 ** (-1 / 20)


def _db(x: float) -> float:
    return 10 ** (x / 20)


def weighted_rms(wave: np.ndarray, sr: int = SR) -> float:
    from scipy.signal import butter, sosfilt

    hp = butter(2, 60, "high", fs=sr, output="sos")
    y = sosfilt(hp, wave)
    shelf = sosfilt(butter(1, 1500, "high", fs=sr, output="sos"), y) * (_db(4.0) - 1.0)
    y = y + shelf
    return float(np.sqrt(np.mean(y ** 2))) if y.size else 0.0


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
        rms = weighted_rms(w, sr)
        if rms <= 1e-6:
            continue
        w = w * (_db(LAYER_RMS_DB) / rms)
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


def build_soundscape(
    clips: Sequence[dict[str, Any]],
    out_path: Path,
    *,
    audio_length_in_s: float = 10.0,
    load: Any = None,
) -> dict[str, Any]:
    """Mix the files of the top `clips` (dicts with `path`, `fname`, `similarity`) into a WAV.

    Returns {file, duration, sample_rate, channels, layers: [{fname, gain_db}]}.
    """
    from sensorium.media.audio import load_audio, write_wav

    if not 0.5 <= float(audio_length_in_s) <= MAX_SECONDS:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"audio_length_in_s must be between 0.5 and {MAX_SECONDS:.0f} seconds.",
                             details={"param": "audio_length_in_s"})
    if not clips:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED,
                             "No clip matched the search, so there is nothing to build a soundscape from; "
                             "lower similarity_threshold or index more sounds.")
    load = load or (lambda p: load_audio(p, sr=SR, max_seconds=None))
    layers, info = [], []
    for rank, clip in enumerate(clips[:MAX_LAYERS]):
        try:
            wave = load(Path(clip["abs_path"]))
        except SensoriumError:
            continue  # a file that vanished or broke since indexing: leave it out of the mix
        gain_db = (0.0 if rank == 0 else -3.0 - 3.0 * rank) + 6.0 * (float(clip.get("similarity", 1.0)) - 1.0)
        layers.append((wave, _db(gain_db)))
        info.append({"fname": clip.get("fname"), "id": clip.get("id"), "gain_db": round(gain_db, 2)})
    if not layers:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "None of the matched clips could be decoded.")
    mix = mix_layers(layers, float(audio_length_in_s))
    write_wav(out_path, mix, SR)
    return {"file": out_path.name, "duration": round(mix.shape[1] / SR, 3), "sample_rate": SR,
            "channels": 2, "layers": info, "method": "mix"}


def soundscape_from_results(
    settings: Any, collection: str, results: Sequence[dict[str, Any]], out_path: Path,
    *, audio_length_in_s: float = 10.0,
) -> dict[str, Any]:
    """Mix the top search results of `collection` (their files are looked up by id)."""
    from sensorium.sound.library import table_name
    from sensorium.store.vectors import open_vector_store

    top = list(results[:MAX_LAYERS])
    rows = {r["id"]: r for r in open_vector_store(settings).get(table_name(collection), [r["id"] for r in top])}
    clips = [{"abs_path": rows[r["id"]]["path"], "fname": r.get("fname"), "id": r["id"],
              "similarity": r.get("similarity", 1.0)} for r in top if r["id"] in rows]
    return build_soundscape(clips, out_path, audio_length_in_s=audio_length_in_s)
