"""Scores for one clip from a trained multimodal checkpoint.

    with registry.use(MINILM) as base:
        model = load_multimodal(Path("runs/multimodal/model.pt"), base)
        model.predict(Path("dia0_utt0.mp4"), "Oh my God, he's lost it.")

The checkpoint holds the trained weights, the config it was trained with (input sizes) and the label
order; the MiniLM weights that were not trained come from `base` (the registry's all-MiniLM-L6-v2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from sensorium.emotion.multimodal.config import MultimodalConfig
from sensorium.emotion.multimodal.data import decode_clip
from sensorium.emotion.multimodal.network import MultimodalNet, build_network
from sensorium.emotion.text_model import EMOTIONS, SENTIMENTS, normalise_text
from sensorium.errors import ErrorCode, SensoriumError

if TYPE_CHECKING:
    from sensorium.models.text_embedding import TextEmbedder


@dataclass(frozen=True)
class ClipPrediction:
    emotion: str
    emotion_scores: dict[str, float]
    sentiment: str
    sentiment_scores: dict[str, float]
    has_audio: bool


class MultimodalModel:
    """A trained network in eval mode with its tokenizer and input sizes."""

    def __init__(self, net: MultimodalNet, tokenizer: Any, cfg: MultimodalConfig) -> None:
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.cfg = cfg

    def predict(self, clip: Path, text: str) -> ClipPrediction:
        """Decode `clip` (frames + audio, as in training, without augmentation) and score it with `text`."""
        frames, mel, has_audio = decode_clip(Path(clip), self.cfg)
        tok = self.tokenizer([normalise_text(text)], truncation=True, max_length=self.cfg.max_tokens,
                             return_tensors="pt")
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255.0).unsqueeze(0)
        with torch.no_grad():
            emo, sen = self.net(tok["input_ids"], tok["attention_mask"], x, torch.from_numpy(mel).unsqueeze(0))
        e, s = emo.softmax(-1)[0].tolist(), sen.softmax(-1)[0].tolist()
        return ClipPrediction(
            emotion=EMOTIONS[max(range(len(e)), key=e.__getitem__)],
            emotion_scores={k: round(v, 4) for k, v in zip(EMOTIONS, e, strict=True)},
            sentiment=SENTIMENTS[max(range(len(s)), key=s.__getitem__)],
            sentiment_scores={k: round(v, 4) for k, v in zip(SENTIMENTS, s, strict=True)},
            has_audio=has_audio,
        )


def load_multimodal(checkpoint: Path, base: TextEmbedder) -> MultimodalModel:
    """A checkpoint written by `train_multimodal` (model.pt or best.pt), on top of the registry's MiniLM."""
    try:
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise SensoriumError(ErrorCode.NOT_FOUND, f"checkpoint not found: {checkpoint}") from None
    except Exception as exc:  # not a torch file, truncated, unsafe pickle
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, f"not a readable checkpoint: {checkpoint} ({exc})") from None
    if tuple(ckpt.get("emotions", ())) != EMOTIONS or tuple(ckpt.get("sentiments", ())) != SENTIMENTS:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, f"{checkpoint}: label order differs from this code's")
    cfg = MultimodalConfig.model_validate(ckpt["config"])
    net, tokenizer = build_network(base, mel_bins=cfg.mel_bins, freeze_text=cfg.freeze_text,
                                   text_trainable_layers=cfg.text_trainable_layers, dropout=cfg.dropout)
    net.load_saved_state(ckpt["state"])
    return MultimodalModel(net, tokenizer, cfg)
