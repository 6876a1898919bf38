"""Train the multimodal network on MELD-format data (CSV + clips): seeded, deterministic, with a report.

    cfg = load_config(Path("cfg.yaml"))
    with registry.use(MINILM) as base:
        result = train_multimodal(cfg, base, progress)

1. Rows from the CSVs (`data.read_rows`); every clip decoded once into the .npz cache (`data.prepare`);
   missing and undecodable clips are skipped and counted in the report.
2. Adam with three parameter groups (`MultimodalNet.param_groups`: fusion and heads at `lr`, the encoders
   at `encoder_lr`, unfrozen MiniLM layers at `text_lr`), weight decay, gradient clipping, and a schedule:
   `plateau` (x0.1 after `patience` epochs without a lower dev loss, train loss without dev), `cosine`, `none`.
3. Loss: cross-entropy on the 7 emotions + cross-entropy on the 3 sentiments (label smoothing, optional
   class weights n / (K * n_k)). Training batches get a random crop and flip of their frames.
4. After each epoch: loss, accuracy and weighted F1 of both heads on train (a clean pass: eval mode, no
   augmentation) and on dev. Written to `output_dir`: `model.pt` (last epoch), `best.pt` (best dev emotion
   weighted F1, when there is a dev set) and `report.json`. model.pt and report.json are rewritten after
   every epoch; the report's `finished` turns true, with the full final metrics, at the end.

Determinism: one seed for Python, NumPy and torch (weights, shuffling, augmentation), deterministic
kernels, and a fixed thread count (`threads`): the same config gives the same report, loss for loss.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from sensorium.emotion.finetune import deterministic_torch, seed_everything
from sensorium.emotion.multimodal.config import MultimodalConfig
from sensorium.emotion.multimodal.data import ClipSet, Progress, batches, make_batch, prepare, read_rows
from sensorium.emotion.multimodal.network import MultimodalNet, build_network
from sensorium.emotion.text_model import EMOTIONS, SENTIMENTS
from sensorium.emotion.training import metrics
from sensorium.errors import ErrorCode, SensoriumError

if TYPE_CHECKING:
    from sensorium.models.text_embedding import TextEmbedder

CHECKPOINT = "model.pt"
BEST_CHECKPOINT = "best.pt"
REPORT = "report.json"
CHECKPOINT_FORMAT = 1


@dataclass
class MultimodalResult:
    report: dict[str, Any]
    checkpoint: Path
    best_checkpoint: Path | None


def _class_weights(y: Sequence[int], k: int) -> torch.Tensor:
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=k).astype(np.float64)
    return torch.tensor(counts.sum() / (k * np.maximum(counts, 1)), dtype=torch.float32)


class Losses:
    """Cross-entropy on both heads; `loss = emotion + sentiment`."""

    def __init__(self, cfg: MultimodalConfig, rows: Sequence[Any]) -> None:
        emo_w = _class_weights([r.emotion for r in rows], len(EMOTIONS)) if cfg.class_weights else None
        sen_w = _class_weights([r.sentiment for r in rows], len(SENTIMENTS)) if cfg.class_weights else None
        self.emotion = nn.CrossEntropyLoss(weight=emo_w, label_smoothing=cfg.label_smoothing)
        self.sentiment = nn.CrossEntropyLoss(weight=sen_w, label_smoothing=cfg.label_smoothing)

    def __call__(self, logits: tuple[torch.Tensor, torch.Tensor], rows: Sequence[Any]) -> torch.Tensor:
        y_emo = torch.tensor([r.emotion for r in rows])
        y_sen = torch.tensor([r.sentiment for r in rows])
        return self.emotion(logits[0], y_emo) + self.sentiment(logits[1], y_sen)


def _scheduler(cfg: MultimodalConfig, opt: torch.optim.Optimizer) -> Any:
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=cfg.patience)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    return None


def _forward(net: MultimodalNet, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    return net(batch["input_ids"], batch["attention_mask"], batch["frames"], batch["mel"])


def evaluate(net: MultimodalNet, data: ClipSet, tokenizer: Any, cfg: MultimodalConfig, losses: Losses
             ) -> dict[str, Any]:
    """Loss and full metrics of both heads over `data` (eval mode, no augmentation)."""
    net.eval()
    emo, sen, total = [], [], 0.0
    with torch.no_grad():
        for idx in batches(len(data.rows), cfg.batch_size):
            rows = [data.rows[i] for i in idx]
            batch = make_batch([data.files[i] for i in idx], [r.text for r in rows], tokenizer, cfg)
            logits = _forward(net, batch)
            total += float(losses(logits, rows)) * len(idx)
            emo += logits[0].argmax(1).tolist()
            sen += logits[1].argmax(1).tolist()
    return {"loss": round(total / max(1, len(data.rows)), 5),
            "emotion": metrics(np.array([r.emotion for r in data.rows]), np.array(emo), EMOTIONS),
            "sentiment": metrics(np.array([r.sentiment for r in data.rows]), np.array(sen), SENTIMENTS)}


def _short(m: dict[str, Any]) -> dict[str, Any]:
    """An epoch's line of the report: loss, accuracy and weighted F1 of both heads."""
    return {"loss": m["loss"], **{head: {k: m[head][k] for k in ("accuracy", "weighted_f1", "macro_f1")}
                                  for head in ("emotion", "sentiment")}}


def _train_epoch(net: MultimodalNet, data: ClipSet, tokenizer: Any, cfg: MultimodalConfig, opt: Any,
                 losses: Losses, gen: torch.Generator, tick: Any) -> float:
    net.train()
    params = [p for g in opt.param_groups for p in g["params"]]
    total = 0.0
    plan = batches(len(data.rows), cfg.batch_size, gen)
    for k, idx in enumerate(plan):
        rows = [data.rows[i] for i in idx]
        batch = make_batch([data.files[i] for i in idx], [r.text for r in rows], tokenizer, cfg, gen)
        loss = losses(_forward(net, batch), rows)
        opt.zero_grad()
        loss.backward()
        if cfg.grad_clip:
            nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        total += loss.item() * len(idx)
        tick(k + 1, len(plan), f"loss {loss.item():.3f}")
    return total / len(data.rows)


def save_checkpoint(path: Path, net: MultimodalNet, cfg: MultimodalConfig, epoch: int,
                    scores: dict[str, Any]) -> Path:
    """Weights (without the untrained MiniLM weights: they come from the registry) + config + labels."""
    tmp = path.with_suffix(".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "config": cfg.as_dict(), "emotions": list(EMOTIONS),
                "sentiments": list(SENTIMENTS), "epoch": epoch, "scores": scores, "state": net.saved_state()}, tmp)
    tmp.replace(path)
    return path


def _load_data(cfg: MultimodalConfig, say: Progress) -> tuple[ClipSet, ClipSet | None]:
    cfg.check_paths()
    train_rows = read_rows(cfg.train_csv, cfg.limit)
    dev_rows = read_rows(cfg.dev_csv, cfg.limit) if cfg.dev_csv is not None else None
    train = prepare(train_rows, cfg.train_clips, cfg, say, "train clips")
    if len(train.rows) < 2:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             f"only {len(train.rows)} usable training clip(s) of {len(train_rows)} rows in "
                             f"{cfg.train_clips} ({len(train.missing)} missing, {len(train.corrupt)} corrupt); "
                             "at least 2 are needed")
    dev = prepare(dev_rows, cfg.dev_clips, cfg, say, "dev clips") if dev_rows is not None and cfg.dev_clips else None
    return train, dev


def _report(cfg: MultimodalConfig, net: MultimodalNet, train: ClipSet, dev: ClipSet | None,
            epochs: list[dict[str, Any]], final: dict[str, Any] | None, best: int | None, t0: float
            ) -> dict[str, Any]:
    """report.json: `finished` is false (and `final` null) while the run is still going."""
    return {"finished": final is not None, "config": cfg.as_dict(), "train_data": train.summary(),
            "dev_data": dev.summary() if dev else None, "epochs": epochs, "final": final, "best_epoch": best,
            "pretrained": {"text": "all-MiniLM-L6-v2 (registry MINILM)", "video": None, "audio": None},
            "parameters": sum(p.numel() for p in net.parameters()),
            "trainable_parameters": sum(p.numel() for p in net.parameters() if p.requires_grad),
            "train_seconds": round(time.perf_counter() - t0, 2), "checkpoint": CHECKPOINT,
            "best_checkpoint": BEST_CHECKPOINT if best else None}


def _write_report(out_dir: Path, report: dict[str, Any]) -> None:
    tmp = out_dir / f"{REPORT}.tmp"
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(out_dir / REPORT)


def train_multimodal(cfg: MultimodalConfig, base: TextEmbedder, progress: Progress | None = None
                     ) -> MultimodalResult:
    """Train on `cfg.train_csv` + `cfg.train_clips`; `base` is the registry's MiniLM (copied, never changed)."""
    say: Progress = progress or (lambda task, done, total, message: None)
    t0 = time.perf_counter()
    out_dir = cfg.output_dir
    with deterministic_torch(cfg.threads):
        seed_everything(cfg.seed)
        train, dev = _load_data(cfg, say)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / BEST_CHECKPOINT).unlink(missing_ok=True)  # an earlier run's best is not this run's
        net, tokenizer = build_network(base, mel_bins=cfg.mel_bins, freeze_text=cfg.freeze_text,
                                       text_trainable_layers=cfg.text_trainable_layers, dropout=cfg.dropout)
        losses = Losses(cfg, train.rows)
        opt = torch.optim.Adam(net.param_groups(cfg.lr, cfg.encoder_lr, cfg.text_lr), weight_decay=cfg.weight_decay)
        sched = _scheduler(cfg, opt)
        gen = torch.Generator().manual_seed(cfg.seed)
        epochs, best, best_f1 = [], None, -math.inf
        for epoch in range(1, cfg.epochs + 1):
            started = time.perf_counter()
            task = f"epoch {epoch}/{cfg.epochs}"
            train_loss = _train_epoch(net, train, tokenizer, cfg, opt, losses, gen,
                                      lambda done, total, msg, task=task: say(task, done, total, msg))
            line: dict[str, Any] = {"epoch": epoch, "train_loss": round(train_loss, 5),
                                    "lr": {g["name"]: g["lr"] for g in opt.param_groups}}
            final_train = evaluate(net, train, tokenizer, cfg, losses) if cfg.eval_train else None
            final_dev = evaluate(net, dev, tokenizer, cfg, losses) if dev is not None and dev.rows else None
            line |= {"train": _short(final_train) if final_train else None,
                     "dev": _short(final_dev) if final_dev else None}
            if cfg.schedule == "plateau":
                sched.step(final_dev["loss"] if final_dev else train_loss)
            elif sched is not None:
                sched.step()
            if final_dev and final_dev["emotion"]["weighted_f1"] > best_f1:
                best_f1, best = final_dev["emotion"]["weighted_f1"], epoch
                save_checkpoint(out_dir / BEST_CHECKPOINT, net, cfg, epoch, {"dev": _short(final_dev)})
            # after every epoch, so that a long run that stops early leaves its last weights and figures
            checkpoint = save_checkpoint(out_dir / CHECKPOINT, net, cfg, epoch, {"train": line["train"],
                                                                               "dev": line["dev"]})
            line["seconds"] = round(time.perf_counter() - started, 2)
            epochs.append(line)
            _write_report(out_dir, _report(cfg, net, train, dev, epochs, None, best, t0))
    report = _report(cfg, net, train, dev, epochs, {"train": final_train, "dev": final_dev}, best, t0)
    _write_report(out_dir, report)
    return MultimodalResult(report, checkpoint, out_dir / BEST_CHECKPOINT if best else None)
