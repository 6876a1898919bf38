"""The text emotion model's private MiniLM: adapter merged, optionally int8, encoding in length-sorted batches.

Same output as `TextEmbedder.encode` (mean of the token states over the real tokens, unit length), but
faster for the short utterances this model reads (measurements: docs/emotion-text-report.md, "Speed"):

* texts are tokenized once, sorted by token count and cut into batches of at most `batch_size` texts
  AND at most `token_budget` tokens after padding, so a call of 50 MELD utterances is not padded to its
  longest one (sentence-transformers pads each batch of 64 to its longest text);
* `torch.inference_mode()` and no sentence-transformers bookkeeping per call;
* `quantize=True`: the transformer's linear layers become dynamic int8 (`torch.ao.quantization.
  quantize_dynamic`, weights per output channel, activations per batch). Changes the embeddings (cosine
  0.88-1.0 to float32 on MELD dev lines); adopted only if dev F1 holds (the report has the figures).

The shared registry MiniLM is never touched: `adapt_encoder` deep-copies it first.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EMBEDDING_DIM = 384


class FastEncoder:
    """`encode(texts)` -> [N, 384] float32 unit vectors, from a private SentenceTransformer copy."""

    def __init__(self, model: SentenceTransformer, quantize: bool = False, token_budget: int = 1024) -> None:
        import torch

        self.model = model  # the (adapted) copy; kept for callers that want the sentence-transformers view
        self.tokenizer = model.tokenizer
        self.max_length = int(model.max_seq_length or 256)
        bert: Any = model[0].auto_model
        bert.eval()
        if quantize:
            from torch.ao.quantization import per_channel_dynamic_qconfig  # per output channel: closer to float

            bert = torch.ao.quantization.quantize_dynamic(bert, {torch.nn.Linear: per_channel_dynamic_qconfig},
                                                          dtype=torch.qint8)
        self.bert = bert
        self.quantized = quantize
        self.token_budget = token_budget
        self._lock = threading.Lock()

    def batches(self, lengths: Sequence[int], batch_size: int) -> list[list[int]]:
        """Indices sorted by length (longest first), cut by count and by padded token budget."""
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        out: list[list[int]] = []
        for i in order:
            if out and len(out[-1]) < batch_size and lengths[out[-1][0]] * (len(out[-1]) + 1) <= self.token_budget:
                out[-1].append(i)
            else:
                out.append([i])
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        import torch

        tok = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        before = torch.get_num_threads()
        with self._lock, torch.inference_mode():
            if len(texts) <= 8:  # as TextEmbedder: a few short texts run faster on one thread
                torch.set_num_threads(1)
            try:
                for batch in self.batches([len(t) for t in tok], batch_size):
                    padded = self.tokenizer.pad({"input_ids": [tok[i] for i in batch]}, return_tensors="pt")
                    mask = padded["attention_mask"]
                    hidden = self.bert(input_ids=padded["input_ids"], attention_mask=mask).last_hidden_state
                    m = mask.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                    out[batch] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
            finally:
                torch.set_num_threads(before)
        return out
