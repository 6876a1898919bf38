"""Mixing helpers shared by the capabilities that lay one sound under another (foley steps, music beds).

* `duck_gain(active, sr, depth_db)`: a gain curve that dips to `depth_db` while `active` (a per-sample
  gate, e.g. footsteps or speech) is on, with a 5 ms attack and a 250 ms release (one-pole smoothers);
* `peak_safe(x)`: scale down when the peak passes 0.98;
* `load_original(path, sr, n)`: a file's own audio as (2, n) (None without an audio track).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sensorium.errors import SensoriumError
from sensorium.media.audio import load_audio

ATTACK_S = 0.005
RELEASE_S = 0.25


def duck_gain(active: np.ndarray, sr: int, depth_db: float, *, attack_s: float = ATTACK_S,
              release_s: float = RELEASE_S) -> np.ndarray:
    """Per-sample gain (1 .. 10^(depth_db/20)) that follows the 0/1 gate `active`."""
    from scipy.signal import lfilter

    env = np.asarray(active, dtype=np.float64)
    if not env.any():
        return np.ones(len(env))
    a = math.exp(-1 / (attack_s * sr))
    r = math.exp(-1 / (release_s * sr))
    # attack: fast rise; release: slow fall (one-pole smoothers on the gate)
    rise = lfilter([1 - a], [1, -a], env)
    sm = np.maximum(rise, lfilter([1 - r], [1, -r], rise))
    sm = np.clip(sm / (sm.max() + 1e-9), 0, 1)
    return 1 - (1 - 10 ** (depth_db / 20)) * sm


def spans_to_gate(spans: list[list[float]] | list[tuple[float, float]], sr: int, n: int) -> np.ndarray:
    """A 0/1 per-sample gate that is on inside the [start, end] spans (seconds)."""
    gate = np.zeros(n, dtype=np.float64)
    for start, end in spans:
        gate[max(0, int(start * sr)):max(0, min(n, int(end * sr)))] = 1.0
    return gate


def peak_safe(x: np.ndarray, ceiling: float = 0.98) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (ceiling / peak) if peak > ceiling else x).astype(np.float32)


def load_original(path: Path | str, sr: int, n: int) -> np.ndarray | None:
    """The file's own audio as (2, n) at sr (padded or cut), or None when it has no audio track."""
    try:
        y = load_audio(path, sr=sr, mono=False, min_seconds=0.0)
    except SensoriumError:
        return None
    y = np.atleast_2d(y)
    if y.shape[0] == 1:
        y = np.vstack([y, y])
    y = y[:2]
    if y.shape[1] < n:
        y = np.pad(y, ((0, 0), (0, n - y.shape[1])))
    return y[:, :n].astype(np.float32)
