"""Speaker turns: one Resemblyzer voice embedding per utterance, clustered by cosine similarity.

Pure: an encoder and 16 kHz utterance samples in, speaker labels (`S1`, `S2`, ...) out.

Average-linkage agglomerative clustering merges utterances while the mean cosine similarity of
two clusters is at least SAME_SPEAKER (chosen on generated dialogues, see docs/emotion.md).
Utterances shorter than MIN_SECONDS carry too little voice: they take the speaker of the nearest
longer utterance in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from sensorium.config import Settings
from sensorium.models.registry import ModelKey, ModelSpec
from sensorium.models.resolver import Resolver

SR = 16000
SAME_SPEAKER = 0.80
MIN_SECONDS = 1.5


class VoiceEmbedder(Protocol):
    def embed_utterance(self, wav: np.ndarray) -> np.ndarray: ...


def cluster(embeddings: np.ndarray, threshold: float = SAME_SPEAKER) -> list[int]:
    """Cluster ids (0-based, numbered by first appearance) of unit-length embeddings."""
    n = len(embeddings)
    if n == 0:
        return []
    if n == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage

    z = linkage(embeddings, method="average", metric="cosine")
    raw = fcluster(z, t=1.0 - threshold, criterion="distance")
    order: dict[int, int] = {}
    return [order.setdefault(int(c), len(order)) for c in raw]


def speaker_labels(
    encoder: VoiceEmbedder, segments: Sequence[np.ndarray], mids: Sequence[float],
    threshold: float = SAME_SPEAKER,
) -> tuple[list[str], np.ndarray | None]:
    """(`S1`.. per segment, the embeddings of the long-enough segments). Needs two long-enough segments."""
    from resemblyzer import preprocess_wav

    long_idx = [i for i, s in enumerate(segments) if len(s) >= MIN_SECONDS * SR]
    if len(long_idx) < 2:
        return ["S1"] * len(segments), None
    emb = np.stack([encoder.embed_utterance(preprocess_wav(segments[i].astype(np.float32), source_sr=SR))
                    for i in long_idx])
    ids = cluster(emb, threshold)
    labels = [""] * len(segments)
    for i, c in zip(long_idx, ids, strict=True):
        labels[i] = f"S{c + 1}"
    for i, lab in enumerate(labels):
        if not lab:
            nearest = min(long_idx, key=lambda j: abs(mids[j] - mids[i]))
            labels[i] = labels[nearest]
    return labels, emb


# --- the registry's view of it -----------------------------------------------------------------------
def _locate(resolver: Resolver) -> Path:
    return resolver.find("resemblyzer", ["resemblyzer/pretrained.pt"], packages=[("resemblyzer", "pretrained.pt")])


def _load(path: Path, settings: Settings) -> VoiceEmbedder:
    from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", weights_fpath=path, verbose=False)


VOICE_ENCODER_SPEC = ModelSpec(
    name="resemblyzer",
    task="speaker embeddings (256-d)",
    description="Resemblyzer's GE2E voice encoder (speaker turns in emotion analysis).",
    license="Apache-2.0",
    source="PyPI resemblyzer (pretrained.pt inside the package)",
    install_hint="pip install --no-deps resemblyzer webrtcvad-wheels (see requirements/nodeps.txt).",
    locate=_locate,
    load=_load,
    capabilities=("emotion",),
)
VOICE_ENCODER: ModelKey[VoiceEmbedder] = ModelKey("resemblyzer")
