"""YAMNet: 521 AudioSet sound-event classes and 1024-d audio embeddings (TF Lite, ai-edge-litert).

Weights: `yamnet/yamnet.tflite` + `yamnet/yamnet_class_map.csv` (Google, Apache-2.0), found in
MODEL_PATHS["yamnet"], MODEL_DIRS or MODEL_CACHE_DIR.

The TF Lite graph takes one frame of 15600 float32 samples (0.975 s at 16 kHz, mono, [-1, 1]) and
outputs 521 class scores (sigmoid). Longer audio is framed with a hop of 0.48 s (7680 samples), the
last frame zero-padded, exactly like the original YAMNet patching. The 1024-d embedding is the
intermediate tensor `global_average_pooling2d/Mean`, readable because the interpreter is built with
`experimental_preserve_all_tensors=True` (verified: scores are identical with and without it).

Stable API (used by other capabilities, e.g. sound events in videos):

    with registry.use("yamnet") as yam:
        scores, embeddings, times = yam.analyze(wave16k)   # [F,521], [F,1024], [F,2] (start, end s)
        events = yam.sound_events(wave16k, threshold=0.3)  # [{label, start, end, score}]
        yam.class_names                                     # 521 display names
"""

from __future__ import annotations

import csv
import logging
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.models.registry import ModelKey, ModelSpec
from sensorium.models.resolver import Resolver

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME_SAMPLES = 15600  # 0.975 s
HOP_SAMPLES = 7680  # 0.48 s
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
HOP_SECONDS = HOP_SAMPLES / SAMPLE_RATE
NUM_CLASSES = 521
EMBEDDING_DIM = 1024
EMBEDDING_TENSOR = "global_average_pooling2d/Mean"


def read_class_map(path: Path) -> tuple[list[str], list[str]]:
    """(mids, display_names) from yamnet_class_map.csv (index, mid, display_name)."""
    mids, names = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if [h.strip().lower() for h in header[:3]] != ["index", "mid", "display_name"]:
            raise ValueError(f"unexpected header in {path}: {header}")
        for row in reader:
            mids.append(row[1])
            names.append(row[2])
    if len(names) != NUM_CLASSES:
        raise ValueError(f"{path} lists {len(names)} classes, expected {NUM_CLASSES}")
    return mids, names


def frame_audio(wave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split mono 16 kHz audio into YAMNet frames: (frames [F,15600], times [F,2] start/end seconds)."""
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    n = wave.shape[0]
    count = 1 if n <= FRAME_SAMPLES else 1 + int(np.ceil((n - FRAME_SAMPLES) / HOP_SAMPLES))
    total = (count - 1) * HOP_SAMPLES + FRAME_SAMPLES
    padded = np.zeros(total, dtype=np.float32)
    padded[:n] = wave
    idx = np.arange(FRAME_SAMPLES)[None, :] + HOP_SAMPLES * np.arange(count)[:, None]
    frames = padded[idx]
    starts = np.arange(count) * HOP_SECONDS
    duration = n / SAMPLE_RATE
    ends = np.minimum(starts + FRAME_SECONDS, max(duration, 1e-3))
    return frames, np.stack([starts, ends], axis=1)


class Yamnet:
    """A loaded YAMNet interpreter (thread-safe: invocations are serialized by a lock)."""

    def __init__(self, model_path: Path, class_map: Path, num_threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "preserve_all_tensors is for debugging" warning
            self._it = Interpreter(
                model_path=str(model_path), experimental_preserve_all_tensors=True,
                num_threads=num_threads,
            )
        self._it.allocate_tensors()
        inp = self._it.get_input_details()[0]
        if list(inp["shape"]) != [FRAME_SAMPLES]:
            raise ValueError(f"unexpected YAMNet input shape {inp['shape']}")
        self._in = inp["index"]
        out = self._it.get_output_details()[0]
        if list(out["shape"]) != [1, NUM_CLASSES]:
            raise ValueError(f"unexpected YAMNet output shape {out['shape']}")
        self._out = out["index"]
        emb = [d for d in self._it.get_tensor_details()
               if EMBEDDING_TENSOR in d["name"] and list(d["shape"]) == [1, EMBEDDING_DIM]]
        if not emb:
            raise ValueError(f"tensor {EMBEDDING_TENSOR!r} not found in {model_path}")
        self._emb = emb[0]["index"]
        self.mids, self.class_names = read_class_map(class_map)
        self.model_path = model_path
        self._lock = threading.Lock()

    def label_index(self, name: str) -> int:
        return self.class_names.index(name)

    def analyze(self, wave16k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores [F,521], embeddings [F,1024] and frame times [F,2] (start, end seconds)."""
        frames, times = frame_audio(wave16k)
        scores = np.empty((len(frames), NUM_CLASSES), dtype=np.float32)
        embs = np.empty((len(frames), EMBEDDING_DIM), dtype=np.float32)
        with self._lock:
            for i, frame in enumerate(frames):
                self._it.set_tensor(self._in, frame)
                self._it.invoke()
                scores[i] = self._it.get_tensor(self._out)[0]
                embs[i] = self._it.get_tensor(self._emb)[0]
        return scores, embs, times

    def sound_events(
        self,
        wave16k: np.ndarray,
        threshold: float = 0.3,
        *,
        exclude: tuple[str, ...] = ("Silence",),
        analysis: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> list[dict[str, Any]]:
        """Labelled time spans where a class scores >= threshold.

        Consecutive frames of the same label are merged into one event; `score` is the event's peak
        frame score. Sorted by start time, then score. Pass `analysis` (the output of `analyze`) to
        avoid running the model twice.
        """
        scores, _, times = analysis if analysis is not None else self.analyze(wave16k)
        return events_from_scores(scores, times, self.class_names, threshold, exclude=exclude)


def events_from_scores(
    scores: np.ndarray, times: np.ndarray, names: list[str], threshold: float,
    *, exclude: tuple[str, ...] = ("Silence",),
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    active = scores >= threshold
    for c in np.flatnonzero(active.any(axis=0)):
        label = names[c]
        if label in exclude:
            continue
        run_start = None
        for i in range(len(scores) + 1):
            on = i < len(scores) and active[i, c]
            if on and run_start is None:
                run_start = i
            elif not on and run_start is not None:
                events.append({
                    "label": label,
                    "start": round(float(times[run_start, 0]), 3),
                    "end": round(float(times[i - 1, 1]), 3),
                    "score": round(float(scores[run_start:i, c].max()), 4),
                })
                run_start = None
    events.sort(key=lambda e: (e["start"], -e["score"]))
    return events


def pool_profile(scores: np.ndarray) -> np.ndarray:
    """Per-clip sound profile: mean of frame scores blended with their max (short events count)."""
    if scores.ndim == 1:
        return scores.astype(np.float32)
    return (0.5 * scores.mean(axis=0) + 0.5 * scores.max(axis=0)).astype(np.float32)


def locate(resolver: Resolver) -> Path:
    return resolver.find(
        "yamnet", ["yamnet/yamnet.tflite", "yamnet.tflite"],
        check=lambda p: p.is_file() and (p.parent / "yamnet_class_map.csv").is_file(),
    )


def load(path: Path, settings: Settings) -> Yamnet:
    return Yamnet(path, path.parent / "yamnet_class_map.csv", num_threads=1)


SPECS = [
    ModelSpec(
        name="yamnet",
        task="sound event classification (521 AudioSet classes) + 1024-d audio embeddings",
        description="Google YAMNet (MobileNet v1 on log-mel patches) as TF Lite, run with ai-edge-litert.",
        license="Apache-2.0",
        source="TF Hub / Kaggle Models google/yamnet (yamnet.tflite) + yamnet_class_map.csv from "
        "tensorflow/models research/audioset/yamnet",
        install_hint="Run `sensorium models pull yamnet` (or put yamnet.tflite and "
        "yamnet_class_map.csv in MODEL_DIRS/yamnet/).",
        locate=locate,
        load=load,
        capabilities=("sound_events", "audio_embedding"),
    ),
]

YAMNET: ModelKey[Yamnet] = ModelKey("yamnet")
