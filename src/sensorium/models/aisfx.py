"""aiSFX: 512-d sound-effect embeddings (Ma & Lerch, ISMIR 2022; model X-Sequential-CE).

Weights: the checkpoint `aisfx/models/checkpoint.pth` shipped in the PyPI package `aisfx`
(installed `--no-deps`; CC BY 4.0). The checkpoint is a pickled `(state_dict, ds_dict)` tuple, so it
is loaded with `torch.load(weights_only=False)` — it comes from a package we install, never from a
user upload.

Front end (re-implemented here with numpy + librosa's mel filters, because the package's librosa
helper returns a frequency-major matrix that its own blocking code misreads as time-major, and its
Essentia path needs Essentia): 44.1 kHz mono, peak-normalized; 2048-sample Hann frames, hop 1024
(centered); power spectrum; 96 HTK mel bands 0–22050 Hz with unit-sum filters; `log10(1e4·x + 1)`;
divided by 9.4578 (the paper's "original" min-max normalization). The network embeds blocks of 100
frames (~2.3 s). The paper hops 50 frames; we hop a whole block by default (`block_hop=100`, half
the CPU for a clip-level mean that barely moves) and, like the package (`drop_partial_block=True`),
drop a trailing partial block when at least one full block exists; shorter clips are zero-padded.
A clip's embedding is the mean of its block embeddings, L2-normalized (`embed_clip`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sensorium.config import Settings
from sensorium.models.registry import ModelKey, ModelSpec
from sensorium.models.resolver import Resolver

SAMPLE_RATE = 44100
N_FFT = 2048
HOP = 1024
N_MELS = 96
BLOCK = 100
BLOCK_HOP = 100
NORM_MAX = 9.457798957824707
EMBEDDING_DIM = 512


class AisfxEmbedder:
    def __init__(self, checkpoint: Path) -> None:
        import librosa
        import torch
        from aisfx.models.cnn2d import CrossNet, EmbeddingNet

        weights, ds_dict = torch.load(str(checkpoint), map_location="cpu", weights_only=False)
        model = CrossNet(EmbeddingNet("max", 3, 1, 64), ds_dict, "cpu")
        model.load_state_dict(weights)
        model.eval()
        self._net = self._compile(model.embedding_net, torch)
        self._torch = torch
        self._mel = librosa.filters.mel(
            sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=SAMPLE_RATE / 2,
            htk=True, norm=1.0,
        ).astype(np.float32)  # [96, 1025]
        self._window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)

    @staticmethod
    def _compile(net, torch):
        """TorchScript-trace and freeze the CNN (about 25 % faster on CPU than eager mode).

        The traced net is checked against the eager one on other batch sizes; on any mismatch the
        eager net is used.
        """
        try:
            with torch.inference_mode():
                traced = torch.jit.optimize_for_inference(torch.jit.trace(net, torch.randn(2, BLOCK, N_MELS)))
                for b in (1, 3):
                    x = torch.randn(b, BLOCK, N_MELS)
                    if not torch.allclose(traced(x), net(x), atol=1e-3):
                        return net
            return traced
        except Exception:  # pragma: no cover - tracing unsupported: eager is correct, only slower
            return net

    def spectrogram(self, wave44k: np.ndarray) -> np.ndarray:
        """Normalized log-mel spectrogram, time-major [T, 96]."""
        y = np.asarray(wave44k, dtype=np.float32).reshape(-1)
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        if peak > 0:
            y = y / peak
        y = np.pad(y, (N_FFT // 2, N_FFT // 2))
        if y.shape[0] < N_FFT:
            y = np.pad(y, (0, N_FFT - y.shape[0]))
        n_frames = 1 + (y.shape[0] - N_FFT) // HOP
        idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
        spec = np.abs(np.fft.rfft(y[idx] * self._window, axis=1)) ** 2  # [T, 1025]
        mel = spec.astype(np.float32) @ self._mel.T  # [T, 96]
        return (np.log10(mel * 10000.0 + 1.0) / NORM_MAX).astype(np.float32)

    def embed(self, wave44k: np.ndarray, block_hop: int = BLOCK_HOP) -> np.ndarray:
        """Block embeddings [B, 512] (blocks of ~2.3 s; short clips are zero-padded)."""
        spec = self.spectrogram(wave44k)
        t = spec.shape[0]
        n_blocks = 1 if t <= BLOCK else 1 + (t - BLOCK) // block_hop
        padded = np.zeros(((n_blocks - 1) * block_hop + BLOCK, N_MELS), dtype=np.float32)
        keep = min(t, padded.shape[0])
        padded[:keep] = spec[:keep]
        blocks = np.stack([padded[i * block_hop:i * block_hop + BLOCK] for i in range(n_blocks)])
        torch = self._torch
        with torch.inference_mode():  # eval-mode forward is stateless: safe from several threads
            out = self._net(torch.from_numpy(blocks))
        return out.numpy().astype(np.float32)

    def embed_clip(self, wave44k: np.ndarray) -> np.ndarray:
        """One L2-normalized 512-d vector for the whole clip."""
        v = self.embed(wave44k).mean(axis=0)
        n = float(np.linalg.norm(v))
        return (v / n if n > 0 else v).astype(np.float32)


def locate(resolver: Resolver) -> Path:
    return resolver.find(
        "aisfx", ["aisfx/checkpoint.pth"], check=Path.is_file,
        packages=[("aisfx", "models/checkpoint.pth")],
    )


def load(path: Path, settings: Settings) -> AisfxEmbedder:
    return AisfxEmbedder(path)


SPECS = [
    ModelSpec(
        name="aisfx",
        task="sound-effect embeddings (512-d)",
        description="aiSFX X-Sequential-CE CNN trained on UCS sound-effect libraries (ISMIR 2022).",
        license="CC-BY-4.0",
        source="PyPI package aisfx (aisfx/models/checkpoint.pth)",
        install_hint="pip install --no-deps aisfx (see requirements/nodeps.txt).",
        locate=locate,
        load=load,
        capabilities=("audio_embedding",),
    ),
]

AISFX: ModelKey[AisfxEmbedder] = ModelKey("aisfx")
