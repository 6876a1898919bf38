"""Loudness (ITU-R BS.1770-4, gated integrated LUFS) via pyloudnorm, and normalisation to a target.

Short clips: BS.1770 measures in 400 ms blocks, so audio shorter than one block is padded with
silence to one block before measuring (the gate then ignores the padding).
"""

from __future__ import annotations

import math

import numpy as np


def integrated_loudness(audio: np.ndarray, sr: int) -> float:
    """LUFS of (channels, n) or (n,) float audio; -inf for silence."""
    import pyloudnorm  # local: it pulls scipy.signal (~1 s), not needed to start the server

    x = np.asarray(audio, dtype=np.float64)
    x = x.T if x.ndim == 2 else x  # pyloudnorm wants (n, channels)
    block = int(0.4 * sr)
    if x.shape[0] < block:
        pad = [(0, block - x.shape[0])] + ([(0, 0)] if x.ndim == 2 else [])
        x = np.pad(x, pad)
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(sr).integrated_loudness(x))


def normalize(audio: np.ndarray, sr: int, target_lufs: float, ceiling_db: float = -1.0) -> tuple[np.ndarray, float]:
    """Scale to `target_lufs`, then down if the peak would pass `ceiling_db` dBFS. Returns (audio, gain dB)."""
    lufs = integrated_loudness(audio, sr)
    if not np.isfinite(lufs):
        return audio, 0.0
    gain_db = target_lufs - lufs
    peak = float(np.max(np.abs(audio))) * 10 ** (gain_db / 20)
    ceiling = 10 ** (ceiling_db / 20)
    if peak > ceiling:
        gain_db += 20 * math.log10(ceiling / peak)
    return audio * 10 ** (gain_db / 20), gain_db
