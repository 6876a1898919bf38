"""Train the text emotion/sentiment head on MELD-format CSVs: deterministic, seeded, with a report.

    rows = read_meld(train_csv)                      # Utterance, Emotion, Sentiment, Dialogue_ID, Utterance_ID
    with registry.use(MINILM) as base:
        result = train_text_emotion(train_rows, dev_rows, base, out_dir, TrainConfig(seed=0), progress)

Steps (the choices are explained in docs/emotion-text-report.md):
1. Encoder. Optionally (`finetune=True`, the default) a LoRA adapter is trained on MELD train for the
   all-MiniLM-L6-v2 encoder (`sensorium.emotion.finetune`); otherwise the frozen encoder is used.
2. Features: utterance embedding + mean embedding of the previous `context_window` utterances of the
   same dialogue + VADER (`text_model.build_features`).
3. Heads: multinomial logistic regression (scikit-learn, lbfgs) for the 7 emotions and for the 3
   sentiments, class weights (n / (K * n_k)) ** `class_weight_power` against MELD's imbalance.
4. Decision offsets per class, fitted on out-of-fold predictions on TRAIN (dialogue-grouped folds),
   maximising weighted F1; by default only for the frozen encoder (after fine-tuning, out-of-fold
   logits on train are over-confident). Dev is only evaluated, never fitted.
5. Report on dev: accuracy, weighted/macro F1, per-class F1, confusion matrix; utterances per second.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.emotion.finetune import LoraConfig, seed_everything, train_lora
from sensorium.emotion.text_model import (
    ADAPTER_FILE,
    EMOTIONS,
    HEAD_FILE,
    SENTIMENTS,
    Encoder,
    LinearHead,
    LoraAdapter,
    TextEmotionModel,
    TextHead,
    VaderScorer,
    adapt_encoder,
    build_features,
    normalise_text,
)

if TYPE_CHECKING:
    from sensorium.models.text_embedding import TextEmbedder

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class MeldRow:
    text: str
    emotion: int  # index into EMOTIONS
    sentiment: int  # index into SENTIMENTS
    dialogue: int
    utterance: int


@dataclass
class TrainConfig:
    seed: int = 0
    # LoRA seeds: one adapter each, averaged into one ("seed soup", see docs/emotion-text-report.md).
    # None = (seed,), a single adapter.
    seeds: tuple[int, ...] | None = None
    context_window: int = 2
    class_weight_power: float = 0.5  # 0 = none, 1 = fully balanced, 0.5 = square root
    c: float = 1.0  # inverse L2 strength of the logistic regressions
    folds: int = 5  # out-of-fold predictions on train for the decision offsets
    # Offsets from out-of-fold predictions on train: right for the frozen encoder; after fine-tuning, the
    # encoder has seen every train label and out-of-fold logits are over-confident. None = `not finetune`.
    tune_offsets: bool | None = None
    finetune: bool = True
    finetune_epochs: int = 3
    lora_rank: int = 8
    lora_layers: int = 6  # top layers that get an adapter (the others stay frozen)
    learning_rate: float = 5e-4
    batch_size: int = 32

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


@dataclass
class TrainResult:
    head: TextHead
    report: dict[str, Any]
    files: list[Path] = field(default_factory=list)


def read_meld(path: Path, limit: int | None = None) -> list[MeldRow]:
    """MELD CSV rows (normalised text), sorted by dialogue then utterance. `limit`: first N dialogues' rows."""
    rows: list[MeldRow] = []
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for r in csv.DictReader(f):
            emotion, sentiment = r["Emotion"].strip().lower(), r["Sentiment"].strip().lower()
            if emotion not in EMOTIONS or sentiment not in SENTIMENTS:
                raise ValueError(f"{path}: unknown label {emotion!r}/{sentiment!r}")
            rows.append(MeldRow(normalise_text(r["Utterance"]), EMOTIONS.index(emotion), SENTIMENTS.index(sentiment),
                                int(r["Dialogue_ID"]), int(r["Utterance_ID"])))
    rows.sort(key=lambda r: (r.dialogue, r.utterance))
    if limit is not None:
        rows = rows[:limit]
    return rows


def row_previous(rows: Sequence[MeldRow], window: int) -> list[list[int]]:
    """Indices of the up-to-`window` previous rows of the same dialogue, for each row (rows sorted)."""
    out: list[list[int]] = []
    for i, r in enumerate(rows):
        j = i
        while window and j > 0 and i - j < window and rows[j - 1].dialogue == r.dialogue:
            j -= 1
        out.append(list(range(j, i)))
    return out


def row_contexts(rows: Sequence[MeldRow], window: int) -> list[list[str]]:
    """The up-to-`window` previous utterances of the same dialogue, for each row (rows sorted)."""
    return [[rows[k].text for k in prev] for prev in row_previous(rows, window)]


def featurize(rows: Sequence[MeldRow], encoder: Encoder, vader: VaderScorer, window: int) -> np.ndarray:
    texts = [r.text for r in rows]
    unique = list(dict.fromkeys(texts))
    emb = encoder.encode(unique)
    idx = {t: i for i, t in enumerate(unique)}
    utt = emb[[idx[t] for t in texts]]
    ctx = [emb[[idx[c] for c in cs]] if cs else np.zeros((0, emb.shape[1]), np.float32)
           for cs in row_contexts(rows, window)]
    return build_features(utt, ctx, vader.scores(texts), window)


def class_weights(y: np.ndarray, k: int, power: float) -> dict[int, float]:
    n = np.bincount(y, minlength=k).astype(np.float64)
    w = (len(y) / (k * np.maximum(n, 1))) ** power
    return {i: float(w[i]) for i in range(k)}


def fit_linear(x: np.ndarray, y: np.ndarray, k: int, cfg: TrainConfig) -> LinearHead:
    """Multinomial logistic regression (lbfgs: deterministic) -> weights as plain arrays."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=cfg.c, max_iter=3000, class_weight=class_weights(y, k, cfg.class_weight_power),
                               random_state=cfg.seed)
    model.fit(x, y)
    weight = np.zeros((x.shape[1], k), np.float32)
    bias = np.zeros(k, np.float32)
    weight[:, model.classes_] = model.coef_.T
    bias[model.classes_] = model.intercept_
    bias[np.setdiff1d(np.arange(k), model.classes_)] = -1e4  # a class absent from training is never predicted
    return LinearHead(weight, bias, np.zeros(k, np.float32))


def weighted_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, labels=list(range(k)), average="weighted", zero_division=0))


def tune_offsets(logits: np.ndarray, y: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Per-class additive logit offsets maximising weighted F1 (coordinate ascent on a fixed grid)."""
    k = logits.shape[1]
    offsets = np.zeros(k, np.float32)
    grid = np.round(np.arange(-1.5, 1.5001, 0.1), 2)
    best = weighted_f1(y, logits.argmax(1), k)
    for _ in range(rounds):
        improved = False
        for c in range(k):
            for g in grid:
                trial = offsets.copy()
                trial[c] = g
                score = weighted_f1(y, (logits + trial).argmax(1), k)
                if score > best + 1e-9:
                    best, offsets, improved = score, trial, True
        if not improved:
            break
    return offsets


def oof_logits(x: np.ndarray, y: np.ndarray, groups: np.ndarray, k: int, cfg: TrainConfig) -> np.ndarray:
    """Out-of-fold logits on train, folds by dialogue (no dialogue in both halves)."""
    out = np.zeros((len(y), k), np.float32)
    fold_of = {g: i % cfg.folds for i, g in enumerate(np.unique(groups))}
    fold = np.array([fold_of[g] for g in groups])
    for f in range(cfg.folds):
        head = fit_linear(x[fold != f], y[fold != f], k, cfg)
        out[fold == f] = head.logits(x[fold == f])
    return out


def fit_head(x: np.ndarray, y: np.ndarray, groups: np.ndarray, k: int, cfg: TrainConfig) -> LinearHead:
    head = fit_linear(x, y, k, cfg)
    if not (cfg.tune_offsets if cfg.tune_offsets is not None else not cfg.finetune):
        return head
    offsets = tune_offsets(oof_logits(x, y, groups, k, cfg), y)
    return LinearHead(head.weight, head.bias, offsets)


def metrics(y: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    k = list(range(len(labels)))
    per_class = f1_score(y, pred, labels=k, average=None, zero_division=0)
    return {
        "n": len(y),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "weighted_f1": round(float(f1_score(y, pred, labels=k, average="weighted", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(y, pred, labels=k, average="macro", zero_division=0)), 4),
        "per_class_f1": {lab: round(float(v), 4) for lab, v in zip(labels, per_class, strict=True)},
        "support": {lab: int((y == i).sum()) for i, lab in enumerate(labels)},
        "labels": list(labels),
        "confusion_matrix": confusion_matrix(y, pred, labels=k).tolist(),  # rows = true, columns = predicted
    }


def measure_speed(model: TextEmotionModel, rows: Sequence[MeldRow], batch_size: int = 64) -> dict[str, float]:
    """Utterances per second of `predict()` over dev, batch by batch (text only, context included)."""
    texts = [r.text for r in rows]
    ctx = row_contexts(rows, model.context_window)
    t0 = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        model.predict(texts[i:i + batch_size], ctx[i:i + batch_size], batch_size=batch_size)
    seconds = time.perf_counter() - t0
    return {"utterances": len(texts), "seconds": round(seconds, 2),
            "utterances_per_second": round(len(texts) / max(seconds, 1e-9), 1), "batch_size": batch_size,
            "cpus": os.cpu_count() or 0, "load_average_1min": round(os.getloadavg()[0], 2)}


def train_adapter(train_rows: Sequence[MeldRow], base: TextEmbedder, cfg: TrainConfig,
                  progress: Progress | None = None) -> LoraAdapter:
    """One LoRA adapter per seed of `cfg.seeds` (in turn), averaged into one (`LoraAdapter.soup`)."""
    say = progress or (lambda fraction, message: None)
    seeds = cfg.seeds or (cfg.seed,)
    adapters = []
    for k, seed in enumerate(seeds):
        lora = LoraConfig(seed=seed, epochs=cfg.finetune_epochs, rank=cfg.lora_rank, layers=cfg.lora_layers,
                          learning_rate=cfg.learning_rate, batch_size=cfg.batch_size,
                          class_weight_power=cfg.class_weight_power)
        adapters.append(train_lora([r.text for r in train_rows], [r.emotion for r in train_rows],
                                   [r.sentiment for r in train_rows], base, lora,
                                   lambda f, m, k=k, s=seed: say((k + f) / len(seeds), f"seed {s}: {m}")))
    return LoraAdapter.soup(adapters)


def train_text_emotion(
    train_rows: Sequence[MeldRow], dev_rows: Sequence[MeldRow], base: TextEmbedder, out_dir: Path,
    cfg: TrainConfig | None = None, progress: Progress | None = None,
) -> TrainResult:
    """The whole recipe: (LoRA fine-tune per seed -> soup) -> features -> heads -> dev report; writes out_dir.

    `base` is the registry's MiniLM (`MINILM`); it is never modified (fine-tuning works on a copy).
    """
    cfg = cfg or TrainConfig()
    say = progress or (lambda fraction, message: None)
    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    adapter = train_adapter(train_rows, base, cfg, lambda f, m: say(0.75 * f, m)) if cfg.finetune else None
    return fit_heads_and_report(train_rows, dev_rows, base, adapter, out_dir, cfg, say, t0)


def fit_heads_and_report(
    train_rows: Sequence[MeldRow], dev_rows: Sequence[MeldRow], base: TextEmbedder, adapter: LoraAdapter | None,
    out_dir: Path, cfg: TrainConfig, progress: Progress | None = None, started: float | None = None,
) -> TrainResult:
    """Heads on the (adapted) encoder's train features, the dev report; writes the adapter, head and report."""
    say = progress or (lambda fraction, message: None)
    t0 = started if started is not None else time.perf_counter()
    seed_everything(cfg.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    if adapter is not None:
        adapter.save(out_dir / ADAPTER_FILE)
        files.append(out_dir / ADAPTER_FILE)
    say(0.75, "embedding train and dev")
    encoder = adapt_encoder(base, adapter)
    vader = VaderScorer()
    x_tr = featurize(train_rows, encoder, vader, cfg.context_window)
    x_dv = featurize(dev_rows, encoder, vader, cfg.context_window)
    groups = np.array([r.dialogue for r in train_rows])
    say(0.85, "fitting the emotion head")
    emo = fit_head(x_tr, np.array([r.emotion for r in train_rows]), groups, len(EMOTIONS), cfg)
    say(0.92, "fitting the sentiment head")
    sen = fit_head(x_tr, np.array([r.sentiment for r in train_rows]), groups, len(SENTIMENTS), cfg)
    head = TextHead(emo, sen, cfg.context_window, "minilm+lora" if adapter is not None else "minilm",
                    meta={"seed": cfg.seed, "config": cfg.as_dict(), "train_rows": len(train_rows)})
    head.save(out_dir / HEAD_FILE)
    files.append(out_dir / HEAD_FILE)
    say(0.96, "evaluating on dev")
    report = evaluate(head, x_dv, dev_rows)
    report["speed"] = measure_speed(TextEmotionModel(encoder, head, vader), dev_rows)
    report["config"] = cfg.as_dict()
    report["encoder"] = head.encoder
    report["train_rows"], report["dev_rows"] = len(train_rows), len(dev_rows)
    report["offsets"] = {"emotion": {k: round(float(v), 2) for k, v in zip(EMOTIONS, emo.offsets, strict=True)},
                         "sentiment": {k: round(float(v), 2) for k, v in zip(SENTIMENTS, sen.offsets, strict=True)}}
    report["train_seconds"] = round(time.perf_counter() - t0, 1)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    files.append(out_dir / "report.json")
    say(1.0, "done")
    return TrainResult(head, report, files)


def evaluate(head: TextHead, x: np.ndarray, rows: Sequence[MeldRow]) -> dict[str, Any]:
    y_emo = np.array([r.emotion for r in rows])
    y_sen = np.array([r.sentiment for r in rows])
    return {
        "emotion": metrics(y_emo, head.emotion.logits(x).argmax(1), EMOTIONS),
        "sentiment": metrics(y_sen, head.sentiment.logits(x).argmax(1), SENTIMENTS),
    }


def _table(m: dict[str, Any]) -> list[str]:
    labels = list(m["labels"])
    f1 = m["per_class_f1"]
    support = m["support"]
    cm = m["confusion_matrix"]
    lines = [f"accuracy **{m['accuracy']}**, weighted F1 **{m['weighted_f1']}**, macro F1 {m['macro_f1']} "
             f"(n = {m['n']})", "", "| class | F1 | support |", "| --- | ---: | ---: |"]
    lines += [f"| {lab} | {f1[lab]} | {support[lab]} |" for lab in labels]
    lines += ["", "Confusion matrix (rows: true, columns: predicted):", "",
              "| true \\ predicted | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    lines += [f"| {lab} | " + " | ".join(str(v) for v in row) + " |"
              for lab, row in zip(labels, cm, strict=True)]
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    """The dev metrics of one training run as Markdown (the command writes it beside report.json)."""
    speed = report["speed"]
    lines = [f"# Text emotion model: dev report (encoder {report['encoder']}, seed "
             f"{report['config']['seed']})", "",
             f"Trained on {report['train_rows']} MELD train utterances in {report['train_seconds']} s; "
             f"evaluated on {report['dev_rows']} dev utterances. Speed: {speed['utterances_per_second']} "
             f"utterances/s (predict(), batches of {speed['batch_size']}).", "",
             "## Emotions (7)", "", *_table(report["emotion"]), "",
             "## Sentiments (3)", "", *_table(report["sentiment"]), "",
             f"Decision offsets (added to the logits): {json.dumps(report['offsets'])}", ""]
    return "\n".join(lines)
