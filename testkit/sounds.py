"""Generated sound-library material: tones, noise, clicks, rain-like noise (numpy) and speech (Piper)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sensorium.media.audio import encode_audio, write_wav

SR = 22050


def tone(seconds: float, freq: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    fade = np.minimum(1, np.minimum(t, t[::-1]) / 0.02)
    return (0.5 * np.sin(2 * np.pi * freq * t) * fade).astype(np.float32)


def noise(seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal(int(seconds * sr))).clip(-1, 1).astype(np.float32)


def clicks(seconds: float, rate_hz: float, seed: int = 0, sr: int = SR) -> np.ndarray:
    """A click track: short decaying impulses at a steady rate (metronome / ticking)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * sr), dtype=np.float32)
    n = int(0.004 * sr)
    click = (np.exp(-np.arange(n) / (0.0008 * sr)) * rng.choice([-1, 1], n)).astype(np.float32)
    for start in np.arange(0.05, seconds - 0.01, 1.0 / rate_hz):
        i = int(start * sr)
        out[i:i + n] += 0.9 * click[: len(out) - i]
    return out


def rain(seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    """Rain-like noise: low-passed noise bed plus many random droplet transients."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    bed = sosfilt(butter(4, 4000, "low", fs=sr, output="sos"), rng.standard_normal(n)) * 0.15
    drops = np.zeros(n)
    for i in rng.integers(0, n - 400, int(seconds * 250)):
        length = int(rng.integers(40, 300))
        env = np.exp(-np.arange(length) / (length / 5))
        drops[i:i + length] += rng.uniform(0.05, 0.4) * env * rng.standard_normal(length)
    hp = butter(2, 1500, "high", fs=sr, output="sos")
    return np.clip(bed + sosfilt(hp, drops), -1, 1).astype(np.float32)


def save(path: Path, audio: np.ndarray, sr: int = SR) -> Path:
    """Write by suffix: .wav (PCM), .flac, .mp3, .ogg (Opus), .m4a (AAC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".wav":
        return write_wav(path, audio, sr)
    if suffix == ".ogg":  # Opus in Ogg (this FFmpeg build has no libvorbis); Opus runs at 48 kHz
        from scipy.signal import resample_poly

        g = np.gcd(48000, sr)
        audio48 = resample_poly(audio, 48000 // g, sr // g).astype(np.float32)
        return encode_audio(path, audio48, 48000, codec="libopus", container_format="ogg")
    codec = {".flac": "flac", ".mp3": "libmp3lame", ".m4a": "aac"}[suffix]
    fmt = {".m4a": "ipod", ".flac": "flac", ".mp3": "mp3"}[suffix]
    return encode_audio(path, audio, sr, codec=codec, container_format=fmt)


SENTENCES = [
    "Good morning everyone, thank you for coming to the meeting today.",
    "Please remember to lock the door when you leave the building tonight.",
    "The weather will be sunny tomorrow with a light breeze in the afternoon.",
]


def build_library(root: Path, speak, seconds: float = 4.0) -> dict[str, list[Path]]:
    """A small library whose names say nothing about the content (so that search must *listen*).

    Files `a/sound_NN.ext` and `b/sound_NN.ext` mix the kinds; `metadata.csv` gives each file a split
    (train/test). Returns {kind: [paths]}.
    """
    plan: list[tuple[str, np.ndarray | Path, str]] = []
    for f, ext in ((440, "wav"), (880, "flac"), (1320, "mp3")):
        plan.append(("tones", tone(seconds, f), ext))
    for i, ext in ((1, "wav"), (2, "ogg"), (3, "wav")):
        plan.append(("noise", noise(seconds, i), ext))
    for r, ext in ((2, "wav"), (4, "m4a"), (3, "wav")):
        plan.append(("clicks", clicks(seconds, r, seed=r), ext))
    for i, ext in ((1, "wav"), (2, "flac"), (3, "wav")):
        plan.append(("rain", rain(seconds, 10 + i), ext))
    for text in SENTENCES:
        plan.append(("speech", Path(speak(text)), "wav"))
    kinds: dict[str, list[Path]] = {}
    rows = ["fname,split"]
    order = [5, 11, 0, 8, 13, 2, 7, 14, 4, 10, 1, 9, 12, 3, 6]  # interleave kinds
    for n, idx in enumerate(order):
        kind, data, ext = plan[idx]
        path = root / ("a" if n % 2 else "b") / f"sound_{n:02d}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Path):
            path.write_bytes(data.read_bytes())
        else:
            save(path, data)
        kinds.setdefault(kind, []).append(path)
        rows.append(f"{path.name},{'test' if n % 3 == 0 else 'train'}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return kinds
