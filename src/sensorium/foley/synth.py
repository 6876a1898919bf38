"""Footstep sounds: physically motivated synthesis per surface, or a user sample pack.

A footstep is two contact layers — the heel, then the toe/forefoot 50–110 ms later and softer —
and each layer is a sum of components whose parameters come from the surface:

* impact transient: a very short (1–2 ms attack) noise burst, low-passed according to the
  hardness of the contact (hard floors: bright click; carpet: dull);
* body "thump": the mass of the foot/leg on the floor, a damped low sinusoid (60–140 Hz);
* resonant modes of the surface (modal synthesis, damped sinusoids): wood boards ring at a few
  hundred Hz for tens of ms, tiles higher and shorter, metal long and inharmonic;
* granular layer: many tiny band-passed bursts scattered by a Poisson process over the contact
  (gravel stones, sand, snow crunch, grass blades);
* surface noise: band-limited noise with its own envelope (grass rustle, concrete grit);
* puddle: a splash (band noise) plus Minnaert bubbles (rising damped sinusoids).

Every step draws new random values (pitch ±7 %, gain ±2.5 dB, toe delay and level, grains, noise),
so no two steps are identical. Loudness follows the walker's size in the frame (closer = louder),
stereo pan follows x. The track is normalised to a target integrated loudness (ITU-R BS.1770,
`media/loudness.py`), with a peak ceiling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley.schemas import SURFACES, TrackInfo
from sensorium.media.loudness import integrated_loudness, normalize

__all__ = ["SURFACES", "SamplePack", "footstep", "integrated_loudness", "render_track"]
AUDIO_EXTS = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")
TARGET_LUFS = -20.0
PEAK_CEILING_DB = -1.0


@dataclass(frozen=True)
class Surface:
    click_lp: float  # impact click low-pass cutoff (Hz)
    click_decay: float  # s
    click_gain: float
    thump_hz: float
    thump_decay: float
    thump_gain: float
    modes: tuple[tuple[float, float, float], ...] = ()  # (Hz, decay s, gain)
    grains: tuple[float, float, float, float, float] | None = None  # (count, spread s, lo Hz, hi Hz, gain)
    noise: tuple[float, float, float, float, float] | None = None  # (lo Hz, hi Hz, attack s, decay s, gain)
    toe_gain: float = 0.6
    splash: bool = False
    length: float = 0.45  # seconds per layer buffer


MODELS: dict[str, Surface] = {
    "concrete": Surface(5000, 0.006, 1.0, 75, 0.030, 0.8, modes=((420, 0.012, 0.12), (1150, 0.008, 0.08)),
                        noise=(1800, 7000, 0.001, 0.022, 0.35), grains=(6, 0.02, 2500, 7000, 0.15)),
    "wood": Surface(3500, 0.007, 0.8, 95, 0.045, 0.9,
                    modes=((185, 0.070, 0.5), (410, 0.055, 0.35), (760, 0.040, 0.25), (1270, 0.025, 0.15)),
                    noise=(600, 3000, 0.001, 0.020, 0.15)),
    "gravel": Surface(3000, 0.006, 0.6, 70, 0.035, 0.7, grains=(70, 0.16, 1200, 6500, 0.55),
                      noise=(800, 5000, 0.004, 0.060, 0.25), toe_gain=0.8, length=0.5),
    "grass": Surface(1200, 0.008, 0.25, 65, 0.040, 0.6, grains=(35, 0.14, 2500, 9000, 0.25),
                     noise=(2000, 9000, 0.020, 0.110, 0.5), toe_gain=0.7, length=0.5),
    "snow": Surface(1500, 0.010, 0.3, 60, 0.060, 0.6, grains=(140, 0.18, 700, 3500, 0.5),
                    noise=(300, 2500, 0.010, 0.120, 0.45), toe_gain=0.75, length=0.55),
    "carpet": Surface(700, 0.010, 0.35, 70, 0.045, 0.9, noise=(150, 900, 0.003, 0.040, 0.2), toe_gain=0.45),
    "tile": Surface(7000, 0.004, 1.1, 90, 0.022, 0.6,
                    modes=((980, 0.020, 0.3), (1870, 0.014, 0.22), (2950, 0.010, 0.15)),
                    noise=(2500, 9000, 0.001, 0.012, 0.2)),
    "metal": Surface(6000, 0.005, 0.9, 85, 0.040, 0.6,
                     modes=((320, 0.35, 0.35), (870, 0.28, 0.3), (1640, 0.22, 0.22), (2650, 0.16, 0.15),
                            (3910, 0.12, 0.1)),
                     length=0.9),
    "sand": Surface(900, 0.010, 0.25, 60, 0.050, 0.7, grains=(160, 0.15, 500, 2500, 0.3),
                    noise=(300, 2000, 0.008, 0.090, 0.35), toe_gain=0.7, length=0.5),
    "puddle": Surface(2500, 0.006, 0.4, 70, 0.040, 0.6, noise=(800, 6000, 0.003, 0.080, 0.5), splash=True,
                      toe_gain=0.7, length=0.6),
}


def _sos(kind: str, freq: float | tuple[float, float], sr: int) -> np.ndarray:
    from scipy.signal import butter

    nyq = sr / 2
    if kind == "band":
        lo, hi = freq  # type: ignore[misc]
        lo, hi = max(20.0, lo), min(hi, nyq * 0.95)
        if hi <= lo * 1.05:
            hi = min(nyq * 0.95, lo * 1.5)
        return butter(2, [lo / nyq, hi / nyq], btype="band", output="sos")
    f = min(float(freq), nyq * 0.95)  # type: ignore[arg-type]
    return butter(2, f / nyq, btype=kind, output="sos")


def _env(n: int, sr: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / sr
    a = max(1, int(attack * sr))
    env = np.exp(-t / max(decay, 1e-4))
    env[:a] *= np.linspace(0.0, 1.0, a, endpoint=False) if a > 1 else 1.0
    return env


def _layer(s: Surface, sr: int, rng: np.random.Generator, pitch: float, level: float,
           brightness: float = 1.0) -> np.ndarray:
    from scipy.signal import sosfilt

    n = int(s.length * sr)
    t = np.arange(n) / sr
    out = np.zeros(n)
    # impact click
    m = int(min(n, max(0.03, 6 * s.click_decay) * sr))
    click = rng.standard_normal(m) * _env(m, sr, 0.0008, s.click_decay * rng.uniform(0.8, 1.25))
    click = sosfilt(_sos("low", s.click_lp * pitch * brightness, sr), click)
    out[:m] += s.click_gain * click / (np.max(np.abs(click)) + 1e-9)
    # body thump
    f0 = s.thump_hz * pitch * rng.uniform(0.9, 1.1)
    out += s.thump_gain * np.sin(2 * np.pi * f0 * t) * _env(n, sr, 0.002, s.thump_decay * rng.uniform(0.8, 1.2))
    # modes
    for hz, decay, gain in s.modes:
        f = hz * pitch * rng.uniform(0.97, 1.03)
        if f >= sr / 2 * 0.95:
            continue
        phase = rng.uniform(0, 2 * np.pi)
        out += gain * rng.uniform(0.7, 1.2) * np.sin(2 * np.pi * f * t + phase) * _env(
            n, sr, 0.0005, decay * rng.uniform(0.85, 1.15))
    # surface noise
    if s.noise is not None:
        lo, hi, att, dec, gain = s.noise
        nz = rng.standard_normal(n) * _env(n, sr, att * rng.uniform(0.7, 1.3), dec * rng.uniform(0.8, 1.2))
        nz = sosfilt(_sos("band", (lo * pitch, hi * pitch * brightness), sr), nz)
        out += gain * nz / (np.max(np.abs(nz)) + 1e-9)
    # grains
    if s.grains is not None:
        count, spread, lo, hi, gain = s.grains
        k = rng.poisson(count)
        sos = _sos("band", (lo * pitch, hi * pitch * brightness), sr)
        g_len = max(8, int(0.004 * sr))
        grains = np.zeros(n)
        starts = (rng.exponential(spread / 2.5, k) * sr).astype(int)
        for st in starts[starts < n - g_len]:
            gl = int(g_len * rng.uniform(0.3, 1.5))
            if st + gl >= n:
                continue
            amp = rng.uniform(0.2, 1.0) * math.exp(-st / sr / spread)
            grains[st:st + gl] += amp * rng.standard_normal(gl) * np.exp(-np.arange(gl) / (gl / 3))
        grains = sosfilt(sos, grains)
        out += gain * grains / (np.max(np.abs(grains)) + 1e-9)
    # puddle: bubbles with rising pitch (Minnaert resonance of a shrinking bubble)
    if s.splash:
        for _ in range(rng.integers(3, 8)):
            st = int(rng.uniform(0.005, 0.12) * sr)
            ln = int(rng.uniform(0.015, 0.05) * sr)
            if st + ln >= n:
                continue
            tt = np.arange(ln) / sr
            f_start = rng.uniform(500, 1600) * pitch
            freq = f_start * (1 + 2.5 * tt / (ln / sr))
            ph = 2 * np.pi * np.cumsum(freq) / sr
            out[st:st + ln] += rng.uniform(0.15, 0.4) * np.sin(ph) * np.exp(-tt / (ln / sr / 3))
    peak = np.max(np.abs(out)) + 1e-9
    return level * out / peak


def footstep(surface: str, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One footstep (heel + toe layers), mono float, onset at sample 0, peak ~1."""
    s = MODELS[surface]
    pitch = float(np.exp(rng.uniform(np.log(0.93), np.log(1.07))))
    heel = _layer(s, sr, rng, pitch, 1.0)
    toe = _layer(s, sr, rng, pitch * rng.uniform(1.02, 1.12), s.toe_gain * rng.uniform(0.75, 1.1), brightness=1.2)
    delay = int(rng.uniform(0.05, 0.11) * sr)
    out = np.zeros(len(heel) + delay)
    out[:len(heel)] += heel
    out[delay:delay + len(toe)] += toe
    # gentle fade-out of the buffer tail
    fade = min(len(out), int(0.03 * sr))
    out[-fade:] *= np.linspace(1, 0, fade)
    return out / (np.max(np.abs(out)) + 1e-9)


# --- sample packs ---------------------------------------------------------------------------
@dataclass
class SamplePack:
    """A folder per surface (`<pack>/gravel/*.wav`, ...); every step picks one at random."""

    root: Path
    sounds: dict[str, list[Path]] = field(default_factory=dict)
    _cache: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)

    @classmethod
    def open(cls, root: Path | str) -> SamplePack:
        root = Path(root)
        if not root.is_dir():
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Sample pack folder {str(root)!r} does not exist.",
                                 details={"param": "sample_pack"})
        sounds: dict[str, list[Path]] = {}
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            files = sorted(p for p in sub.iterdir() if p.suffix.lower() in AUDIO_EXTS)
            if files:
                sounds[sub.name.lower()] = files
        if not sounds:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 f"Sample pack {str(root)!r} has no sub-folders with sounds "
                                 f"(expected e.g. {root}/gravel/*.wav).", details={"param": "sample_pack"})
        return cls(root, sounds)

    def surfaces(self) -> list[str]:
        return sorted(self.sounds)

    def _load(self, path: Path, sr: int) -> np.ndarray:
        key = (str(path), sr)
        if key not in self._cache:
            from sensorium.media.audio import load_audio

            y = load_audio(path, sr=sr, mono=True, min_seconds=0.01)
            # align the onset: drop leading silence (below 5 % of the peak)
            peak = np.max(np.abs(y)) + 1e-9
            on = int(np.argmax(np.abs(y) > 0.05 * peak))
            y = y[max(0, on - int(0.001 * sr)):]
            self._cache[key] = y / peak
        return self._cache[key]

    def footstep(self, surface: str, sr: int, rng: np.random.Generator) -> np.ndarray:
        from scipy.signal import resample

        files = self.sounds.get(surface) or next(iter(self.sounds.values()))
        y = self._load(files[int(rng.integers(len(files)))], sr)
        factor = float(rng.uniform(0.94, 1.06))  # pitch/speed variation
        y = resample(y, max(16, int(len(y) / factor)))
        return y / (np.max(np.abs(y)) + 1e-9)


# --- the track --------------------------------------------------------------------------------
def pan_gains(x: float, width: float, amount: float = 0.8) -> tuple[float, float]:
    """Equal-power stereo pan from the x position (0..width)."""
    p = float(np.clip((x / max(width, 1.0)) * 2 - 1, -1, 1)) * amount
    ang = (p + 1) * math.pi / 4
    return math.cos(ang), math.sin(ang)


def distance_gain(scale: float) -> float:
    """Walker height as a fraction of the frame -> linear gain (a person filling ~60 % of the frame = 1)."""
    return float(np.clip(scale / 0.6, 0.2, 1.5) ** 0.8)


def render_track(
    events: list[dict[str, Any]],
    duration: float,
    sr: int,
    surface: str,
    *,
    width: float,
    seed: int = 0,
    sample_pack: SamplePack | None = None,
    surfaces_by_person: dict[int, str] | None = None,
    normalize_to: float | None = TARGET_LUFS,
) -> tuple[np.ndarray, TrackInfo]:
    """Stereo footstep track (2, n) at `sr` for the heel strikes in `events`."""
    if surface not in SURFACES and not (sample_pack and surface in sample_pack.sounds):
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"Unknown surface {surface!r}; one of {', '.join(SURFACES)}.",
                             details={"param": "surface"})
    n = int(math.ceil(duration * sr)) + 1
    out = np.zeros((2, n), dtype=np.float64)
    rng = np.random.default_rng(seed)
    placed = 0
    for e in events:
        if e.get("event") != "heel_strike":
            continue
        surf = (surfaces_by_person or {}).get(int(e.get("person_id", 0)), surface)
        if sample_pack is not None:
            y = sample_pack.footstep(surf, sr, rng)
        else:
            y = footstep(surf, sr, rng)
        g = distance_gain(float(e.get("scale", 0.6))) * 10 ** (rng.uniform(-2.5, 2.5) / 20)
        gl, gr = pan_gains(float(e.get("x", width / 2)), width)
        start = int(round(float(e["time_s"]) * sr))
        if start >= n:
            continue
        end = min(n, start + len(y))
        out[0, start:end] += g * gl * y[: end - start]
        out[1, start:end] += g * gr * y[: end - start]
        placed += 1
    gain_db = 0.0
    if normalize_to is not None and placed:
        out, gain_db = normalize(out, sr, normalize_to, PEAK_CEILING_DB)
    info = TrackInfo(surface=surface, steps_sounded=placed, sample_rate=sr,
                     loudness_lufs=round(integrated_loudness(out, sr), 1) if placed else None,
                     normalization_gain_db=round(gain_db, 2),
                     source=f"sample pack {sample_pack.root}" if sample_pack else "synthesis")
    return out.astype(np.float32), info
