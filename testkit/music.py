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


def scene_video(path: Path, *, seconds: float, fps: int = 25, cut_frames: list[int] | None = None,
                moving: bool = True, bright: bool = True, audio: np.ndarray | None = None,
                audio_sr: int = 16000, size: tuple[int, int] = (320, 240), shift: int = 12) -> Path:
    """An H.264 clip: scenes of coloured blocks (a new palette at each cut frame), moving fast when
    `moving` (blocks slide `shift` px per frame), bright or dark; optional mono audio."""
    from sensorium.media.encode import encode_video

    w, h = size
    n = int(round(seconds * fps))
    cuts = set(cut_frames or [])
    rng = np.random.default_rng(1)
    level = 1.0 if bright else 0.12

    def palette() -> np.ndarray:
        return (rng.integers(40, 255, (6, 8, 3)) * level).astype(np.uint8)

    tiles = palette()

    def frames():
        nonlocal tiles
        for i in range(n):
            if i in cuts:
                tiles = palette()
            img = np.kron(tiles, np.ones((h // 6 + 1, w // 8 + 1, 1), dtype=np.uint8))[:h, :w]
            if moving:
                img = np.roll(img, shift * i, axis=1)
            yield np.ascontiguousarray(img)

    return encode_video(path, frames(), fps, audio=audio, sample_rate=audio_sr)


def tag_file(path: Path, *, title: str, artist: str, album: str, artwork: bytes | None = None) -> Path:
    """Write tags (and a front cover) into an MP3 (ID3) or FLAC (Vorbis comments) file with mutagen."""
    if path.suffix.lower() == ".flac":
        from mutagen.flac import FLAC, Picture

        f = FLAC(str(path))
        f["title"], f["artist"], f["album"] = title, artist, album
        if artwork:
            pic = Picture()
            pic.type, pic.mime, pic.data = 3, "image/jpeg", artwork
            f.add_picture(pic)
        f.save()
        return path
    from mutagen.id3 import APIC, ID3, TALB, TIT2, TPE1

    tags = ID3()
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TPE1(encoding=3, text=artist))
    tags.add(TALB(encoding=3, text=album))
    if artwork:
        tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="cover", data=artwork))
    tags.save(str(path))
    return path


def jpeg_bytes(size: tuple[int, int] = (500, 400), color: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


def long_wav(path: Path, minutes: float = 60.0, sr: int = 8000, bpm: float = 96.0) -> Path:
    """A long, cheap WAV (8 kHz mono 16-bit, written in blocks): a click on every beat over a soft hum."""
    import soundfile as sf

    block = 60 * sr
    period = 60.0 / bpm
    n = int(minutes * 60 * sr)
    click = (0.8 * np.exp(-np.arange(int(0.03 * sr)) / (0.004 * sr))).astype(np.float32)
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, subtype="PCM_16") as out:
        for start in range(0, n, block):
            m = min(block, n - start)
            t = (start + np.arange(m)) / sr
            y = (0.05 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
            for b in np.arange(np.ceil(start / sr / period) * period, (start + m) / sr, period):
                i = int(round(b * sr)) - start
                k = min(len(click), m - i)
                if k > 0:
                    y[i:i + k] += click[:k]
            out.write(y)
    return path
