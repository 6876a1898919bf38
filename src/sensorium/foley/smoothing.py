"""Signal clean-up for foot trajectories: NaN filling, a running median (despike), Savitzky-Golay smoothing."""

from __future__ import annotations

import functools

import numpy as np

#: seconds: smoothing window (Savitzky-Golay, quadratic) and running-median window
SMOOTH_SECONDS = 0.23
DESPIKE_SECONDS = 0.15


def _odd(n: int) -> int:
    return n | 1


def _interp_nan(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).copy()
    ok = np.isfinite(x)
    if 0 < ok.sum() < len(x):
        idx = np.arange(len(x))
        x[~ok] = np.interp(idx[~ok], idx[ok], x[ok])
    return x


def despike(x: np.ndarray, rate: float) -> np.ndarray:
    """Running median over ~DESPIKE_SECONDS: removes 1-2 frame landmark glitches (MediaPipe briefly
    putting both heels on the same foot), which would otherwise look like a foot swinging."""
    from scipy.signal import medfilt

    x = _interp_nan(x)
    k = _odd(max(3, int(round(DESPIKE_SECONDS * rate))))
    if len(x) < k:
        return x
    pad = k // 2
    return medfilt(np.pad(x, pad, mode="edge"), k)[pad:-pad]


@functools.lru_cache(maxsize=64)
def _savgol_parts(win: int, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Savitzky-Golay convolution coefficients and the edge projections of scipy's ``mode="interp"``
    (a polynomial fitted to the first / last window, evaluated there), computed once per window."""
    from scipy.signal import savgol_coeffs

    t = np.arange(win, dtype=np.float64)
    v = np.vander(t, order + 1)
    proj = v @ np.linalg.pinv(v)
    half = win // 2
    return savgol_coeffs(win, order), proj[:half], proj[win - half:]


def savgol_filter(x: np.ndarray, win: int, order: int) -> np.ndarray:
    """scipy.signal.savgol_filter(x, win, order) (mode "interp") for 1-D float arrays of at least `win`
    samples, without its per-call polynomial fits at the edges (the gait step smooths thousands of
    short series)."""
    coeffs, head, tail = _savgol_parts(win, order)
    y = np.convolve(x, coeffs, mode="same")
    half = win // 2
    y[:half] = head @ x[:win]
    y[len(x) - half:] = tail @ x[len(x) - win:]
    return y


def smooth(x: np.ndarray, rate: float, seconds: float = SMOOTH_SECONDS) -> np.ndarray:
    """Savitzky–Golay (quadratic) over ~`seconds`; NaNs are interpolated first."""
    x = _interp_nan(x)
    win = _odd(int(round(seconds * rate)))
    if win < 5:  # low sample rate (stride): a 3-point moving average, no more
        if len(x) < 3:
            return x
        return savgol_filter(x, 3, 1)
    if len(x) < win:
        win = _odd(max(3, len(x) - 1 if len(x) % 2 == 0 else len(x)))
        if win > len(x) or win < 3:
            return x
        return savgol_filter(x, win, min(2, win - 1))
    return savgol_filter(x, win, 2)
