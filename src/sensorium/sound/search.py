"""Sound library search: by text, by audio example, by video frames (frames-to-sound).

Text -> sound without CLAP
--------------------------
No text-audio joint model (CLAP) is available offline, so text is mapped onto YAMNet's label space:

1. The 521 AudioSet class names, each expanded into a short description ("the sound of Rain on
   surface" plus hand-written hints for common foley classes, `CLASS_HINTS`), are embedded once with
   all-MiniLM-L6-v2. The query — as a whole and split into phrases at commas / "and" / "with" — is
   embedded the same way; each phrase keeps its closest classes (cosine >= 0.35 and within 0.12 of
   its best), softmax-weighted (temperature 0.05). The phrase weights are summed into one weight
   vector `w` over the 521 classes (sum 1): the query's *label profile*.
2. Every indexed clip has a YAMNet profile `p` (per-class 0.5·mean + 0.5·max of frame scores). The
   raw acoustic score is `w · p` (the expected YAMNet score of the classes the text asked for),
   found with a dot-product vector search over the `profile` column. YAMNet's sigmoid scores are
   small even for clearly present classes (white noise scores ~0.25), so the score is calibrated
   as `a = sqrt(w · p)`: 0.01 -> 0.1, 0.09 -> 0.3, 0.25 -> 0.5, 1 -> 1.
3. Text evidence `m` = max(lexical overlap of the query's content words with the clip's filename,
   folder, caption and labels; rescaled MiniLM cosine (0.25 -> 0, 0.75 -> 1) between the query and
   the clip's caption + labels, embedded at indexing time in the `text` vector and also searched
   as candidates).
4. similarity = 1 - (1 - a)·(1 - λ·m), a noisy-OR: text evidence raises a clip, its absence never
   lowers it. λ = 0.6 for clips with a caption or labels, 0.35 when only the filename and folder
   can match. distance = 1 - similarity; `similarity_threshold` filters.

Known weaknesses: the mapping only knows what AudioSet's ontology names (a query for a very specific
sound — "creaky wooden door in a castle" — lands on generic classes like "Door" / "Creak");
negations ("no music") are not understood; YAMNet's profile of a layered clip is dominated by its
loudest source; a long ambience is summarized by one pooled profile; MiniLM similarity between very
short label names is noisy (hence the hints and the thresholds).

Audio example -> sound
----------------------
The example is analysed like an indexed clip. similarity = 0.5·cos(aiSFX) + 0.25·cos(YAMNet
embedding) + 0.25·cos(YAMNet profile) (0.5/0.5 of the YAMNet terms for clips indexed without aiSFX).
Candidates come from the three vector searches.

Frames / video -> sound
-----------------------
Visual findings (YOLOX objects, people, colours, brightness, from the vision capability) of each
frame are merged; motion between frames (mean absolute difference of small grayscale frames, and
displacement of the largest box of each label) adds movement cues (`frames.py`). Findings map to sound
phrases (`OBJECT_SOUNDS`: bus/car/truck -> traffic, engine; person -> people talking, footsteps; dog ->
barking; ...), ordered by salience (area x count x confidence), and become a sentence
(`audio_description`, e.g. "Sounds of traffic, a bus engine and people talking") which is searched as
text with the phrase weights. With an OpenAI-compatible vision endpoint configured (LLM_BASE_URL,
LLM_MODEL) the endpoint writes the description from up to three frames and the findings instead
(`registry.vision_llm()`); if it fails, the findings' description stays and `notes` says why.

This module scores: it takes the vector store and the encoded query as parameters and returns
ranked `SearchResult`s; `SoundService` owns the models, the collection and the caches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.text_embedding import TextEmbedder
from sensorium.sound.schemas import ClipMetadata, LabelWeight, MatchedLabel, SearchResult
from sensorium.sound.text_query import LabelSpace, WordIndex, label_weights, phrases_of, words_of
from sensorium.store.vectors import VectorStore

MAX_QUERY_CHARS = 1000

#: builds the `audio_url` of a clip from its id
ClipUrl = Callable[[str], str]


@dataclass
class TextQuery:
    """A query text mapped onto the label space (see the module docstring, step 1)."""

    text: str
    weights: np.ndarray  # [521], sum 1 (or all zero)
    label_profile: list[LabelWeight]
    embedding: np.ndarray | None  # MiniLM embedding of the whole text
    words: set[str] = field(default_factory=set)


def validate(top_k: int, threshold: float) -> None:
    if not 1 <= int(top_k) <= 100:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "top_k must be between 1 and 100.",
                             details={"param": "top_k"})
    if not -1.0 <= float(threshold) <= 1.0:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "similarity_threshold must be between -1 and 1.",
                             details={"param": "similarity_threshold"})


def clean_query(query: str | None) -> str:
    query = (query or "").strip()
    if not query:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "The query text is empty.", details={"param": "query"})
    if len(query) > MAX_QUERY_CHARS:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "The query is longer than 1000 characters.",
                             details={"param": "query"})
    return query


def encode_text_query(query: str, space: LabelSpace, minilm: TextEmbedder,
                      phrases: Sequence[tuple[str, float]] | None = None) -> TextQuery:
    """Weights over the classes for `query` (or for the given weighted `phrases`), and its embedding."""
    weighted = list(phrases) if phrases else [(p, 1.0 if i == 0 else 0.5) for i, p in enumerate(phrases_of(query))]
    w, matched, embedding = label_weights(weighted, space, minilm, also=query)
    return TextQuery(query, w, matched, embedding, words_of(query))


def result_item(row: dict[str, Any], similarity: float, matched: list[MatchedLabel], reason: str,
                components: dict[str, float], clip_url: ClipUrl) -> SearchResult:
    sim = float(np.clip(similarity, -1.0, 1.0))
    return SearchResult(
        id=row["id"],
        fname=row.get("fname"),
        path=row.get("rel_path"),
        similarity=round(sim, 4),
        distance=round(1.0 - sim, 4),
        split=row.get("split") or "",
        metadata=ClipMetadata(duration=row.get("duration"), orig_sr=row.get("orig_sr"),
                              channels=row.get("channels"), format=row.get("format")),
        caption=row.get("caption") or None,
        labels=row.get("labels") or [],
        top_labels=row.get("top_labels") or [],
        matched_labels=matched,
        reason=reason,
        scores={k: round(float(v), 4) for k, v in components.items()},
        audio_url=clip_url(row["id"]),
    )


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def _best(results: list[SearchResult], threshold: float, top_k: int) -> list[SearchResult]:
    kept = [r for r in results if r.similarity >= threshold]
    kept.sort(key=lambda r: (-r.similarity, r.fname or ""))
    return kept[:top_k]


# --- text search ----------------------------------------------------------------------------------------
def _text_candidates(store: VectorStore, table: str, q: TextQuery, word_index: Callable[[], WordIndex],
                     n: int) -> tuple[list[str], dict[str, tuple[float, list[str]]]]:
    """Candidate ids (profile, word and caption-meaning searches) and the word hits of each clip."""
    cands: dict[str, float] = {}
    if q.weights.sum() > 0:
        for h in store.search(table, q.weights, n, field="profile", metric="dot", columns=["id"]):
            cands[h.id] = 1.0 - h.distance
    lex: dict[str, tuple[float, list[str]]] = {}
    if q.words:
        for rid, words in word_index():
            hits = q.words & words
            if hits:
                lex[rid] = (len(hits) / len(q.words), sorted(hits))
    for rid, _ in sorted(lex.items(), key=lambda kv: -kv[1][0])[:n]:
        cands.setdefault(rid, 0.0)
    if q.embedding is not None:  # captions/labels close in meaning (vector search on their embeddings)
        for h in store.search(table, q.embedding, n, field="text", filter={"has_text": 1}, columns=["id"]):
            cands.setdefault(h.id, 0.0)
    return list(cands), lex


def rank_text(store: VectorStore, table: str, q: TextQuery, *, space: LabelSpace,
              word_index: Callable[[], WordIndex], top_k: int, similarity_threshold: float,
              clip_url: ClipUrl) -> list[SearchResult]:
    """Clips matching a text (see the module docstring for the method), best first."""
    if store.count(table) == 0:
        return []
    ids, lex = _text_candidates(store, table, q, word_index, max(50, top_k * 10))
    w = q.weights
    results = []
    for row in store.get(table, ids):
        profile = np.asarray(row["profile"], dtype=np.float32)
        a = float(np.sqrt(max(0.0, float(w @ profile)))) if w.sum() > 0 else 0.0
        lscore, lhits = lex.get(row["id"], (0.0, []))
        s_sem = 0.0
        if row.get("has_text") and q.embedding is not None:
            s_sem = float(np.clip((float(np.asarray(row["text"]) @ q.embedding) - 0.25) / 0.5, 0.0, 1.0))
        m = max(lscore, s_sem)
        has_text = bool(row.get("caption") or row.get("labels"))
        lam = 0.6 if has_text else 0.35
        sim = 1.0 - (1.0 - a) * (1.0 - lam * m)
        matched = [MatchedLabel(label=c.label, score=round(float(profile[space.names.index(c.label)]), 4),
                                query_weight=c.weight) for c in q.label_profile
                   if profile[space.names.index(c.label)] >= 0.05]
        matched.sort(key=lambda x: -x.score * (x.query_weight or 0.0))
        results.append(result_item(row, sim, matched, _text_reason(matched, lhits, s_sem, row),
                                   {"acoustic": a, "lexical": lscore, "semantic_text": s_sem}, clip_url))
    return _best(results, similarity_threshold, top_k)


def _text_reason(matched: list[MatchedLabel], lex_hits: list[str], sem: float, row: dict[str, Any]) -> str:
    bits = []
    if matched:
        bits.append("YAMNet hears " + ", ".join(f"{m.label} ({m.score:.2f})" for m in matched[:3]))
    if lex_hits:
        bits.append("words matched in name/caption/labels: " + ", ".join(lex_hits))
    if sem >= 0.3 and row.get("caption"):
        bits.append(f"caption is close in meaning ({sem:.2f})")
    return "; ".join(bits) if bits else "weak match: few of the requested sounds were detected"


# --- audio example search ---------------------------------------------------------------------------------
def rank_audio(store: VectorStore, table: str, q: dict[str, Any], *, top_k: int, similarity_threshold: float,
               clip_url: ClipUrl, exclude_ids: Sequence[str] = ()) -> list[SearchResult]:
    """Clips that sound like the example, whose features `q` come from `library.features_from_wave`."""
    if store.count(table) == 0:
        return []
    query_top = [x["label"] for x in q["top_labels"]]
    n = max(50, top_k * 10)
    cands: set[str] = set()
    for fld, flt in (("aisfx", {"has_aisfx": 1}), ("yamnet", None), ("profile", None)):
        cands.update(h.id for h in store.search(table, q[fld], n, field=fld, filter=flt, columns=["id"]))
    cands -= set(exclude_ids)
    results = []
    for row in store.get(table, list(cands)):
        cy = _cos(q["yamnet"], np.asarray(row["yamnet"]))
        cp = _cos(q["profile"], np.asarray(row["profile"]))
        if row.get("has_aisfx"):
            ca = _cos(q["aisfx"], np.asarray(row["aisfx"]))
            sim = 0.5 * ca + 0.25 * cy + 0.25 * cp
        else:
            ca = None
            sim = 0.5 * cy + 0.5 * cp
        clip_top = {x["label"]: x["score"] for x in row.get("top_labels") or []}
        matched = [MatchedLabel(label=lab, score=clip_top[lab]) for lab in query_top if lab in clip_top]
        reason = (f"sounds alike: aiSFX {ca:.2f}, YAMNet embedding {cy:.2f}, profile {cp:.2f}"
                  if ca is not None else f"sounds alike: YAMNet embedding {cy:.2f}, profile {cp:.2f}")
        if matched:
            reason += "; shared sound events: " + ", ".join(m.label for m in matched[:3])
        comps = {"yamnet_embedding": cy, "profile": cp}
        if ca is not None:
            comps["aisfx"] = ca
        results.append(result_item(row, sim, matched, reason, comps, clip_url))
    return _best(results, similarity_threshold, top_k)
