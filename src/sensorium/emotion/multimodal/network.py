"""The original Video Sentiment Analysis network, in plain PyTorch (no torchvision).

    text  (token ids)         -> MiniLM (all-MiniLM-L6-v2, pretrained) -> mean pool (384) -> Linear -> 128
    video [B, T, 3, H, W]     -> small 3D CNN (from scratch)            -> global pool (128) -> Linear, ReLU -> 128
    audio [B, mels, steps]    -> 1D CNN over time, mel bins as channels -> global pool (128) -> Linear, ReLU -> 128
    concat (384) -> Linear 256, BatchNorm, ReLU, Dropout -> emotion head (256 -> 64 -> 7)
                                                         -> sentiment head (256 -> 64 -> 3)

Differences from the original, and why: the original used BERT-base (768-d) and torchvision's R3D-18
pretrained on Kinetics-400. Neither is obtainable offline here, so the text encoder is the registry's
MiniLM (the only pretrained backbone, frozen or with its top layers trainable) and the video encoder is a
small 3D CNN trained from scratch (about 2.9 GMAC per 30x224x224 clip). The audio CNN (two Conv1d layers
with batch norm), the fusion and head widths follow the original's design as we recall it (its source is not
here). Input sizes are parameters; the defaults are the original's.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sensorium.emotion.text_model import EMOTIONS, SENTIMENTS

FEATURE_DIM = 128  # per modality; fused: 3 * 128 = 384
FUSED_DIM = 256
HEAD_HIDDEN = 64
#: frames arrive as float in [0, 1]; the video encoder centres them with these (ImageNet's statistics)
PIXEL_MEAN = (0.485, 0.456, 0.406)
PIXEL_STD = (0.229, 0.224, 0.225)
BACKBONE_PREFIX = "text.backbone."


class TextEncoder(nn.Module):
    """A BERT-like transformers model (MiniLM) -> mean of the token states -> Linear(hidden, 128).

    `trainable_layers` = 0 keeps the backbone frozen (always in eval mode, no gradients); N > 0 trains
    its top N transformer layers."""

    def __init__(self, backbone: Any, trainable_layers: int = 0, out_dim: int = FEATURE_DIM) -> None:
        super().__init__()
        self.backbone = backbone
        self.trainable_layers = trainable_layers
        for p in backbone.parameters():
            p.requires_grad = False
        if trainable_layers:
            for layer in backbone.encoder.layer[-trainable_layers:]:
                for p in layer.parameters():
                    p.requires_grad = True
        self.proj = nn.Linear(backbone.config.hidden_size, out_dim)

    def train(self, mode: bool = True) -> TextEncoder:
        super().train(mode)
        if not self.trainable_layers:
            self.backbone.eval()  # frozen: no dropout, the same features every epoch
        return self

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.trainable_layers > 0):
            hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self.proj(pooled)


def _conv3d(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> list[nn.Module]:
    pad = tuple(k // 2 for k in kernel)
    return [nn.Conv3d(cin, cout, kernel, stride=stride, padding=pad, bias=False), nn.BatchNorm3d(cout),
            nn.ReLU(inplace=True)]


class VideoEncoder(nn.Module):
    """[B, T, 3, H, W] in [0, 1] -> [B, 128]: a 3D CNN (stem 3x7x7, three 3x3x3 stages, stride 2 in time and
    space each), global average pooling, Linear + ReLU + Dropout."""

    def __init__(self, out_dim: int = FEATURE_DIM, dropout: float = 0.2, widths: tuple[int, ...] = (16, 32, 64, 128)
                 ) -> None:
        super().__init__()
        layers = [*_conv3d(3, widths[0], (3, 7, 7), (1, 2, 2)), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))]
        for cin, cout in zip(widths[:-1], widths[1:], strict=True):
            layers += _conv3d(cin, cout, (3, 3, 3), (2, 2, 2))
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.proj = nn.Sequential(nn.Linear(widths[-1], out_dim), nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.register_buffer("mean", torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(PIXEL_STD).view(1, 3, 1, 1, 1), persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.permute(0, 2, 1, 3, 4)  # [B, 3, T, H, W], as Conv3d wants
        return self.proj(self.features((x - self.mean) / self.std))


class AudioEncoder(nn.Module):
    """[B, mels, steps] log-mel -> [B, 128]: the original's Conv1d(mels, 64) + BN + ReLU + MaxPool,
    Conv1d(64, 128) + BN + ReLU + global average pooling, then Linear + ReLU + Dropout."""

    def __init__(self, mel_bins: int = 64, out_dim: int = FEATURE_DIM, dropout: float = 0.2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(mel_bins, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU(inplace=True), nn.MaxPool1d(2),
            nn.Conv1d(64, 128, 3, padding=1), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(),
        )
        self.proj = nn.Sequential(nn.Linear(128, out_dim), nn.ReLU(inplace=True), nn.Dropout(dropout))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(mel))


def _head(k: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(FUSED_DIM, HEAD_HIDDEN), nn.ReLU(inplace=True), nn.Dropout(dropout),
                         nn.Linear(HEAD_HIDDEN, k))


class MultimodalNet(nn.Module):
    """forward(input_ids, attention_mask, frames, mel) -> (emotion logits [B, 7], sentiment logits [B, 3])."""

    def __init__(self, text_backbone: Any, *, mel_bins: int = 64, trainable_text_layers: int = 0,
                 dropout: float = 0.3) -> None:
        super().__init__()
        self.text = TextEncoder(text_backbone, trainable_text_layers)
        self.video = VideoEncoder()
        self.audio = AudioEncoder(mel_bins)
        self.fusion = nn.Sequential(nn.Linear(3 * FEATURE_DIM, FUSED_DIM), nn.BatchNorm1d(FUSED_DIM),
                                    nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.emotion_head = _head(len(EMOTIONS), 0.2)
        self.sentiment_head = _head(len(SENTIMENTS), 0.2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, frames: torch.Tensor,
                mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fused = self.fusion(torch.cat([self.text(input_ids, attention_mask), self.video(frames),
                                       self.audio(mel)], dim=1))
        return self.emotion_head(fused), self.sentiment_head(fused)

    def param_groups(self, lr: float, encoder_lr: float, text_lr: float) -> list[dict[str, Any]]:
        """Adam groups: slow encoders, faster fusion and heads; MiniLM slowest (when trained)."""
        backbone = [p for p in self.text.backbone.parameters() if p.requires_grad]
        groups = [
            {"params": backbone, "lr": text_lr, "name": "text_backbone"},
            {"params": [*self.text.proj.parameters(), *self.video.parameters(), *self.audio.parameters()],
             "lr": encoder_lr, "name": "encoders"},
            {"params": [*self.fusion.parameters(), *self.emotion_head.parameters(),
                        *self.sentiment_head.parameters()], "lr": lr, "name": "fusion_heads"},
        ]
        return [g for g in groups if g["params"]]

    def saved_state(self) -> dict[str, torch.Tensor]:
        """The state to checkpoint: everything except the backbone weights that were not trained (those
        come from the registry's MiniLM at load time)."""
        trained = {BACKBONE_PREFIX + n for n, p in self.text.backbone.named_parameters() if p.requires_grad}
        return {k: v.detach().clone() for k, v in self.state_dict().items()
                if not k.startswith(BACKBONE_PREFIX) or k in trained}

    def load_saved_state(self, state: dict[str, torch.Tensor]) -> None:
        result = self.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith(BACKBONE_PREFIX)]
        if missing or result.unexpected_keys:
            raise ValueError(f"checkpoint does not fit the network: missing {missing[:5]}, "
                             f"unexpected {result.unexpected_keys[:5]}")


def build_network(base: Any, *, mel_bins: int, freeze_text: bool, text_trainable_layers: int,
                  dropout: float) -> tuple[MultimodalNet, Any]:
    """A fresh network on a private copy of `base`'s MiniLM (a registry `TextEmbedder`: the shared model is
    never changed), and its tokenizer."""
    import copy

    backbone = copy.deepcopy(base.model[0].auto_model)
    net = MultimodalNet(backbone, mel_bins=mel_bins, trainable_text_layers=0 if freeze_text else text_trainable_layers,
                        dropout=dropout)
    return net, base.model.tokenizer
