"""Text queries on a sound library: free text -> weights over the 521 AudioSet classes, and words.

Pure functions (the method is described in `search.py`). The label space (embeddings of every class
description) is built once by whoever owns the models' lifetime (`SoundService` keeps it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensorium.models.text_embedding import TextEmbedder
from sensorium.sound.schemas import LabelWeight
from sensorium.sound.vocabulary import CLASS_HINTS, GENERIC, STOP
from sensorium.store.vectors import VectorStore

MIN_CLASS_SIM = 0.35
CLASS_SIM_WINDOW = 0.12
CLASS_TEMPERATURE = 0.05
MAX_CLASSES_PER_PHRASE = 6

#: (clip id, words of its name/folder/caption/labels) for every clip of a collection
WordIndex = list[tuple[str, set[str]]]


# --- label space -----------------------------------------------------------------------------------
@dataclass
class LabelSpace:
    names: list[str]
    matrix: np.ndarray  # [521, 384] unit rows
    allowed: np.ndarray  # bool [521]: may be chosen from free text


def class_text(name: str) -> str:
    hint = CLASS_HINTS.get(name)
    return f"the sound of {name.lower()}" + (f": {hint}" if hint else "")


def build_label_space(minilm: TextEmbedder, class_names: Sequence[str]) -> LabelSpace:
    """Embed every class description (about 0.5 s on a CPU: build it once and keep it)."""
    names = list(class_names)
    matrix = minilm.encode([class_text(n) for n in names])
    allowed = np.array([n not in GENERIC for n in names])
    return LabelSpace(names, matrix, allowed)


_SPLIT = re.compile(r"\s*(?:,|;|\.|\band\b|\bwith\b|\bplus\b|&)\s*", re.I)


def phrases_of(text: str) -> list[str]:
    parts = [p.strip() for p in _SPLIT.split(text) if p and len(p.strip()) > 1]
    out = [text.strip()]
    if len(parts) > 1:
        out += parts
    return list(dict.fromkeys(p for p in out if p))


def label_weights(
    phrases: Sequence[tuple[str, float]], space: LabelSpace, minilm: TextEmbedder, *, also: str | None = None,
) -> tuple[np.ndarray, list[LabelWeight], np.ndarray | None]:
    """Weight vector over the classes (sum 1) for weighted phrases, the matched classes, and the
    embedding of `also` (computed in the same batch)."""
    texts = [p for p, _ in phrases]
    all_emb = minilm.encode(texts + ([also] if also is not None else []))
    emb = all_emb[: len(texts)]
    extra = all_emb[len(texts)] if also is not None else None
    sims = emb @ space.matrix.T  # [P, 521]
    w = np.zeros(len(space.names), dtype=np.float64)
    for i, (phrase, pw) in enumerate(phrases):
        s = sims[i].copy()
        exact = [j for j, n in enumerate(space.names) if n.lower() == phrase.lower()]
        s[~space.allowed] = -1.0
        for j in exact:
            s[j] = max(s[j], sims[i, j], 0.9)
        best = float(s.max())
        if best < MIN_CLASS_SIM:
            continue
        keep = np.flatnonzero(s >= max(MIN_CLASS_SIM, best - CLASS_SIM_WINDOW))
        keep = keep[np.argsort(-s[keep])][:MAX_CLASSES_PER_PHRASE]
        soft = np.exp((s[keep] - best) / CLASS_TEMPERATURE)
        w[keep] += pw * soft / soft.sum()
    total = w.sum()
    if total <= 0:
        return w.astype(np.float32), [], extra
    w /= total
    order = np.argsort(-w)
    matched = [LabelWeight(label=space.names[j], weight=round(float(w[j]), 4))
               for j in order if w[j] >= 0.01][:12]
    return w.astype(np.float32), matched, extra


# --- words ------------------------------------------------------------------------------------------
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    for suf in ("ing", "ies", "es", "s", "ed"):
        if len(word) > len(suf) + 2 and word.endswith(suf):
            return word[: -len(suf)] + ("y" if suf == "ies" else "")
    return word


def words_of(text: str) -> set[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text or "").lower()
    return {_stem(w) for w in _WORD.findall(text) if w not in STOP and not w.isdigit()}


def clip_words(row: dict[str, Any]) -> set[str]:
    stem = str(row.get("fname") or "").rsplit(".", 1)[0]
    labels = row.get("labels") or []
    return words_of(" ".join([stem, str(row.get("split") or ""), str(row.get("caption") or ""),
                              " ".join(map(str, labels))]))


def word_index_stamp(store: VectorStore, table: str) -> tuple[Any, int]:
    """Changes whenever the collection does (a new revision per indexing run, or another row count)."""
    return store.get_info(table).get("revision"), store.count(table)


def build_word_index(store: VectorStore, table: str) -> WordIndex:
    light = store.rows(table, ["id", "fname", "split", "caption", "labels"])
    return [(r["id"], clip_words(r)) for r in light]
