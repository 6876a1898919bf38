"""A tiny generated MELD-format dataset: a CSV + `dia{D}_utt{U}.mp4` clips whose labels are visible and audible.

Each emotion class has its own picture (brightness and colour of the background, a bar moving across
it) and its own tone; every clip differs a little (noise, bar speed, phase). All utterances say the
same words by default, so a network that learns the labels must use the frames or the audio.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.media.encode import encode_video

#: emotion -> (sentiment, BGR background, tone Hz)
CLASSES: dict[str, tuple[str, tuple[int, int, int], float]] = {
    "joy": ("positive", (210, 230, 240), 880.0),
    "sadness": ("negative", (60, 30, 20), 220.0),
    "anger": ("negative", (30, 40, 200), 440.0),
}
COLUMNS = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID"]


@dataclass(frozen=True)
class Clip:
    dialogue: int
    utterance: int
    emotion: str
    sentiment: str
    text: str

    @property
    def name(self) -> str:
        return f"dia{self.dialogue}_utt{self.utterance}.mp4"


def _frames(bg: tuple[int, int, int], n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    speed = rng.uniform(0.5, 1.5)
    out = []
    for i in range(n):
        img = np.empty((size, size, 3), np.float32)
        img[:] = bg
        img += rng.normal(0, 8, img.shape)
        x = int((i * speed * size / n) % (size - 8))
        img[:, x:x + 8] = 255 - np.asarray(bg, np.float32)  # a bar of the opposite colour moving right
        out.append(img.clip(0, 255).astype(np.uint8))
    return out


def _tone(freq: float, seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    wave = 0.4 * np.sin(2 * np.pi * freq * t + rng.uniform(0, np.pi))
    return (wave + rng.normal(0, 0.01, t.shape)).astype(np.float32)


def write_clip(path: Path, emotion: str, *, seconds: float = 1.2, fps: int = 20, size: int = 96, seed: int = 0,
               audio: bool = True) -> Path:
    _, bg, freq = CLASSES[emotion]
    rng = np.random.default_rng(seed)
    frames = _frames(bg, int(seconds * fps), size, rng)
    sound = _tone(freq, seconds, 16000, rng) if audio else None
    return encode_video(path, frames, fps, audio=sound, sample_rate=16000)


def write_csv(path: Path, clips: list[Clip]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i, c in enumerate(clips, start=1):
            w.writerow([i, c.text, "Speaker", c.emotion, c.sentiment, c.dialogue, c.utterance])
    return path


def make_dataset(root: Path, per_class: dict[str, int] | None = None, text: str = "Okay.",
                 seconds: float = 1.2) -> tuple[Path, Path, list[Clip]]:
    """`root/train.csv` and `root/clips/`; returns (csv, clips folder, the clips written), one dialogue per class."""
    per_class = per_class or {"joy": 3, "sadness": 3, "anger": 2}
    folder = root / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    clips: list[Clip] = []
    for d, (emotion, n) in enumerate(per_class.items()):
        for u in range(n):
            clip = Clip(d, u, emotion, CLASSES[emotion][0], text)
            write_clip(folder / clip.name, emotion, seconds=seconds, seed=100 * d + u)
            clips.append(clip)
    return write_csv(root / "train.csv", clips), folder, clips
