"""MELD-format data for the multimodal network: CSV rows + `dia{D}_utt{U}.mp4` clips -> cached tensors -> batches.

* `read_rows(csv)`: the CSV's rows (checked for MELD's columns first, then `training.read_meld`).
* `decode_clip(path, cfg)`: `cfg.frames` RGB frames sampled uniformly over the clip, squashed to
  `image_size` x `image_size` (uint8), and a `mel_bins` x `steps` log-mel spectrogram of the clip's audio
  (16 kHz mono, per-clip standardised, cut or zero-padded at the end; zeros when the clip has no audio).
  Decoding goes through `sensorium.media` (PyAV).
* `prepare(rows, folder, cfg)`: decode every clip once into `cfg.cache_folder/<folder>-<hash>/dia{D}_utt{U}.npz`
  (later epochs and later runs with the same sizes only read the .npz; an entry is remade when its clip's
  size or modification time changed); clips that are missing or do not decode are skipped and counted.
  Disk: about frames x size x size x 3 bytes per clip (4.5 MB at 30 x 224 x 224).
* `make_batch(...)`: stacks cached clips into tensors, tokenises the utterances, and (training only)
  applies one random crop (side `crop_scale`..1 of the frame, resized back) and horizontal flip per clip.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.emotion.multimodal.config import MultimodalConfig
from sensorium.emotion.training import MeldRow, read_meld
from sensorium.errors import ErrorCode, SensoriumError

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("Utterance", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")
#: (task name, done, total, message)
Progress = Callable[[str, int, int, str], None]


def read_rows(path: Path, limit: int | None = None) -> list[MeldRow]:
    """MELD CSV rows, sorted by dialogue and utterance; a clear error for missing columns or bad labels."""
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        header = next(csv.reader(f), [])
    missing = [c for c in REQUIRED_COLUMNS if c not in [h.strip() for h in header]]
    if missing:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"{path.name}: missing MELD column(s) {', '.join(missing)} "
                             f"(needs {', '.join(REQUIRED_COLUMNS)})")
    try:
        return read_meld(path, limit=limit)
    except (ValueError, KeyError) as exc:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"{path.name}: {exc}") from None


def clip_name(row: MeldRow) -> str:
    return f"dia{row.dialogue}_utt{row.utterance}"


def _frames(path: Path, cfg: MultimodalConfig) -> tuple[np.ndarray, float]:
    """[frames, S, S, 3] RGB uint8 sampled uniformly over the clip, and the clip's duration."""
    import cv2

    from sensorium.media.video import frames_at, probe_video, uniform_times

    info = probe_video(path)
    size = cfg.image_size
    sampled = frames_at(path, uniform_times(info.duration, cfg.frames), max_side=2 * size)
    # frames_at drops duplicates (short clips): spread what was decoded over the wanted count
    pick = np.linspace(0, len(sampled) - 1, cfg.frames).round().astype(int)
    out = np.empty((cfg.frames, size, size, 3), np.uint8)
    for i, j in enumerate(pick):
        img = cv2.resize(sampled[j].image, (size, size), interpolation=cv2.INTER_AREA)
        out[i] = img[:, :, ::-1]  # BGR -> RGB
    return out, info.duration


def log_mel(audio: np.ndarray, cfg: MultimodalConfig) -> np.ndarray:
    """[mel_bins, steps] float32: log mel power, standardised over the clip, cut or zero-padded at the end."""
    import librosa

    mel = librosa.feature.melspectrogram(y=audio, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                                         n_mels=cfg.mel_bins)
    logmel = np.log(mel + 1e-6)
    logmel = (logmel - logmel.mean()) / (logmel.std() + 1e-5)
    out = np.zeros((cfg.mel_bins, cfg.steps), np.float32)
    n = min(cfg.steps, logmel.shape[1])
    out[:, :n] = logmel[:, :n]
    return out


def decode_clip(path: Path, cfg: MultimodalConfig) -> tuple[np.ndarray, np.ndarray, bool]:
    """(frames [T, S, S, 3] uint8 RGB, log-mel [mels, steps] float32, has_audio). Raises SensoriumError
    (PROCESSING_FAILED) when the video does not decode; a clip without usable audio gets a zero spectrogram."""
    from sensorium.media.audio import load_audio

    frames, _ = _frames(path, cfg)
    try:
        # only the audio the spectrogram can hold is decoded (MELD has clips of 30 s and more)
        head = (cfg.steps * cfg.hop_length + cfg.n_fft) / cfg.sample_rate
        audio = load_audio(path, sr=cfg.sample_rate, min_seconds=0.05, head_seconds=head)
    except SensoriumError as exc:  # no audio stream, or an audio stream that does not decode
        log.info("%s: no usable audio (%s): silent spectrogram", path.name, exc.message)
        return frames, np.zeros((cfg.mel_bins, cfg.steps), np.float32), False
    return frames, log_mel(audio, cfg), True


@dataclass
class ClipSet:
    """The rows whose clips decoded, each with its cached .npz, and what was skipped."""

    rows: list[MeldRow] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    no_audio: int = 0
    decoded: int = 0  # clips decoded in this run (the others came from the cache)

    def summary(self) -> dict[str, Any]:
        return {"clips": len(self.rows), "skipped_missing": len(self.missing), "skipped_corrupt": len(self.corrupt),
                "no_audio": self.no_audio, "decoded_now": self.decoded,
                "examples_missing": self.missing[:5], "examples_corrupt": self.corrupt[:5]}


def _source_key(clip: Path) -> str:
    st = clip.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _write_npz(target: Path, frames: np.ndarray, mel: np.ndarray, has_audio: bool, source: str) -> None:
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.npz")
    # uncompressed: fast to read back every epoch
    np.savez(tmp, frames=frames, mel=mel, has_audio=np.array(has_audio), source=np.array(source))
    tmp.replace(target)  # atomic: a crash never leaves a half-written cache entry


def _cached(target: Path, source: str) -> bool | None:
    """has_audio of a cache entry made from this very clip (same size and mtime), else None."""
    try:
        with np.load(target) as z:
            return bool(z["has_audio"]) if str(z["source"]) == source else None
    except (OSError, ValueError, KeyError):
        return None


def cache_dir_for(folder: Path, cfg: MultimodalConfig) -> Path:
    """The cache of one clips folder at the config's sizes (two folders named alike never share one)."""
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:8]
    return cfg.cache_folder / f"{folder.name}-{digest}"


def _load_one(row: MeldRow, folder: Path, cache: Path, cfg: MultimodalConfig, out: ClipSet) -> None:
    stem = clip_name(row)
    clip = folder / f"{stem}.mp4"
    if not clip.is_file():
        out.missing.append(stem)
        return
    target, source = cache / f"{stem}.npz", _source_key(clip)
    has_audio = _cached(target, source)
    if has_audio is None:
        try:
            frames, mel, has_audio = decode_clip(clip, cfg)
        except SensoriumError as exc:
            log.warning("%s: skipped (%s)", clip.name, exc.message)
            out.corrupt.append(stem)
            return
        _write_npz(target, frames, mel, has_audio, source)
        out.decoded += 1
    out.no_audio += int(not has_audio)
    out.rows.append(row)
    out.files.append(target)


def prepare(rows: Sequence[MeldRow], folder: Path, cfg: MultimodalConfig, progress: Progress | None = None,
            name: str = "clips") -> ClipSet:
    """Decode (or find cached) every row's clip; missing and undecodable clips are skipped and counted."""
    cache = cache_dir_for(folder, cfg)
    cache.mkdir(parents=True, exist_ok=True)
    out = ClipSet()
    for i, row in enumerate(rows):
        _load_one(row, folder, cache, cfg, out)
        if progress is not None:
            progress(f"decoding {name}", i + 1, len(rows), clip_name(row))
    return out


def batches(n: int, batch_size: int, generator: Any | None = None) -> list[list[int]]:
    """Index batches (shuffled with `generator`, in order without). A last batch of one joins the one before
    it: batch norm cannot train on a single sample."""
    import torch

    order = torch.randperm(n, generator=generator).tolist() if generator is not None else list(range(n))
    out = [order[k:k + batch_size] for k in range(0, n, batch_size)]
    if len(out) > 1 and len(out[-1]) == 1:
        last = out.pop()
        out[-1] += last
    return out


def augment(frames: Any, crop_scale: float, flip: bool, generator: Any) -> Any:
    """One random square-ish crop (sides crop_scale..1 of the frame, resized back) and a coin-flip mirror,
    the same for every frame of the clip. `frames`: [T, 3, H, W] float."""
    import torch
    import torch.nn.functional as F

    _, _, h, w = frames.shape
    if crop_scale < 1:
        s = crop_scale + (1 - crop_scale) * float(torch.rand(1, generator=generator))
        ch, cw = max(1, round(h * s)), max(1, round(w * s))
        y = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
        x = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
        frames = F.interpolate(frames[:, :, y:y + ch, x:x + cw], size=(h, w), mode="bilinear", align_corners=False)
    if flip and float(torch.rand(1, generator=generator)) < 0.5:
        frames = frames.flip(-1)
    return frames


def make_batch(files: Sequence[Path], texts: Sequence[str], tokenizer: Any, cfg: MultimodalConfig,
               generator: Any | None = None) -> dict[str, Any]:
    """Tensors for the network: input_ids, attention_mask, frames [B, T, 3, S, S] in [0, 1], mel [B, M, steps].
    With a `generator`, frames are augmented (training)."""
    import torch

    frames, mels = [], []
    for path in files:
        with np.load(path) as z:
            clip = torch.from_numpy(z["frames"]).permute(0, 3, 1, 2).float().div_(255.0)  # [T, 3, S, S]
            mels.append(torch.from_numpy(z["mel"]))
        if generator is not None:
            clip = augment(clip, cfg.crop_scale, cfg.flip, generator)
        frames.append(clip)
    tok = tokenizer(list(texts), padding=True, truncation=True, max_length=cfg.max_tokens, return_tensors="pt")
    return {"input_ids": tok["input_ids"], "attention_mask": tok["attention_mask"],
            "frames": torch.stack(frames), "mel": torch.stack(mels)}
