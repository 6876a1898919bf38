"""Generated music of known character (numpy): drum patterns at a known tempo, major or minor chord
progressions with a bright or dark timbre, quiet or loud. Shared by the music tests and the benchmark.

    track(bpm=140, key="C", mode="major", bright=True, loud=True, seconds=20)  -> mono float32 at SR
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 22050
NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
#: chords as semitones above the key's tonic: major I-IV-V-I, harmonic minor i-iv-V-i (the raised
#: leading tone makes the minor key unambiguous against its relative major)
PROGRESSIONS = {"major": [(0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7)],
                "minor": [(0, 3, 7), (5, 8, 12), (7, 11, 14), (0, 3, 7)]}


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.18 * sr)) / sr
    freq = 50 + 90 * np.exp(-t / 0.03)
    return (np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.06)).astype(np.float32)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.15 * sr)) / sr
    body = 0.4 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.03)
    return ((0.7 * rng.standard_normal(len(t)) * np.exp(-t / 0.04)) + body).astype(np.float32)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.04 * sr)
    x = rng.standard_normal(n)
    x = np.diff(x, prepend=0.0)  # brighter
    return (0.25 * x * np.exp(-np.arange(n) / (0.008 * sr))).astype(np.float32)


def beat_times(bpm: float, seconds: float, start: float = 0.0) -> np.ndarray:
    """The quarter-note grid of a pattern: start, start + 60/bpm, ..."""
    return np.arange(start, seconds - 0.05, 60.0 / bpm)


def drums(bpm: float, seconds: float, sr: int = SR, seed: int = 0, start: float = 0.0) -> np.ndarray:
    """Kick on beats 1 and 3, snare on 2 and 4, a hi-hat on every beat (the pulse is the quarter note)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * sr), dtype=np.float32)
    kick, snare, hat = _kick(sr), _snare(sr, rng), _hat(sr, rng)
    for k, t in enumerate(beat_times(bpm, seconds, start)):
        i = int(round(t * sr))
        for sound, gain in ((kick, 1.0) if k % 2 == 0 else (snare, 0.6), (hat, 0.5)):
            n = min(len(sound), len(out) - i)
            out[i:i + n] += gain * sound[:n]
    return out


def _voice(freq: float, n: int, sr: int, bright: bool) -> np.ndarray:
    t = np.arange(n) / sr
    if bright:  # many harmonics (saw-like), an octave up
        partials = [(h, 1.0 / h) for h in range(1, 12)]
        freq *= 2
    else:  # nearly pure, low
        partials = [(1, 1.0), (2, 0.08)]
        freq /= 2
    x = sum(a * np.sin(2 * np.pi * freq * h * t) for h, a in partials if freq * h < sr / 2)
    return np.asarray(x, dtype=np.float32)


def chords(key: str, mode: str, bpm: float, seconds: float, *, bright: bool, sr: int = SR) -> np.ndarray:
    """The progression of `mode` in `key`, one chord per bar (4 beats), looped to `seconds`."""
    tonic = 261.63 * 2 ** (NOTES.index(key) / 12)
    bar = int(round(4 * 60.0 / bpm * sr))
    out = np.zeros(int(seconds * sr), dtype=np.float32)
    env = np.minimum(1, np.minimum(np.arange(bar), np.arange(bar)[::-1]) / (0.02 * sr)).astype(np.float32)
    cache: dict[tuple[int, ...], np.ndarray] = {}
    prog = PROGRESSIONS[mode]
    for b, i in enumerate(range(0, len(out), bar)):
        ch = prog[b % len(prog)]
        if ch not in cache:
            cache[ch] = sum(_voice(tonic * 2 ** (s / 12), bar, sr, bright) for s in ch) * env
        n = min(bar, len(out) - i)
        out[i:i + n] += cache[ch][:n]
    return out / (np.abs(out).max() + 1e-9)


def track(bpm: float, key: str = "C", mode: str = "major", *, bright: bool = True, loud: bool = True,
          seconds: float = 20.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Drums + chords; loud peaks near 0.9, quiet near 0.1 (about 19 dB apart)."""
    mix = 0.55 * drums(bpm, seconds, sr, seed) + 0.45 * chords(key, mode, bpm, seconds, bright=bright, sr=sr)
    mix /= np.abs(mix).max() + 1e-9
    return (mix * (0.9 if loud else 0.1)).astype(np.float32)


#: the character library of the tests: name -> (bpm, key, mode, bright, loud)
CHARACTERS = {
    "fast_bright_loud": (140, "C", "major", True, True),
    "fast_bright_loud_2": (132, "G", "major", True, True),
    "slow_dark_quiet": (70, "A", "minor", False, False),
    "slow_dark_quiet_2": (76, "E", "minor", False, False),
    "medium_bright_quiet": (100, "D", "major", True, False),
    "slow_bright_loud": (72, "F", "major", True, True),
}


def save(path: Path, audio: np.ndarray, sr: int = SR) -> Path:
    """Write by suffix (.wav, .flac, .mp3, .ogg, .m4a) with testkit.sounds' writer."""
    from testkit.sounds import save as save_sound

    return save_sound(path, audio, sr)


def build_music_library(root: Path, seconds: float = 20.0, fmt: str = "wav") -> dict[str, Path]:
    """One file per entry of CHARACTERS (named `<name>.<fmt>`)."""
    out = {}
    for name, (bpm, key, mode, bright, loud) in CHARACTERS.items():
        audio = track(bpm, key, mode, bright=bright, loud=loud, seconds=seconds)
        out[name] = save(root / f"{name}.{fmt}", audio)
    return out
