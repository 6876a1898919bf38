"""`sensorium train ...`: train the project's own models (mounted by cli/main.py as `train`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from sensorium.cli.common import console, fail, open_services, out, progress_bar
from sensorium.errors import SensoriumError

train_app = typer.Typer(help="Train the project's own models (deterministic, seeded).", no_args_is_help=True)



@train_app.callback()
def _group() -> None:
    """Train the project's own models (deterministic, seeded)."""


_CSV = {"exists": True, "dir_okay": False, "readable": True}


@train_app.command("text-emotion")
def text_emotion(
    train: Annotated[Path, typer.Option("--train", help="MELD-format training CSV (train_sent_emo.csv).", **_CSV)],
    dev: Annotated[Path, typer.Option("--dev", help="MELD-format dev CSV (dev_sent_emo.csv), for the report.",
                                      **_CSV)],
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Where to write text_head.npz, lora_adapter.npz and report.json "
                      "(default: the package's emotion/data folder, i.e. replace the committed model).",
        file_okay=False)] = None,
    seeds: Annotated[str, typer.Option(
        help="Comma-separated LoRA seeds: one adapter per seed, trained in turn and averaged into one "
             "(a 'seed soup'; the committed model is 0,1,2,3). The first also seeds the heads.")] = "0,1,2,3",
    finetune: Annotated[bool, typer.Option(
        "--finetune/--frozen", help="Fine-tune LoRA adapters of MiniLM (about 8-16 min per seed on 2 cores) "
                                    "or keep the encoder frozen (about 5-8 min).")] = True,
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs.", min=1)] = 3,
    limit: Annotated[Optional[int], typer.Option(help="Use only the first N training rows (quick runs).",
                                                 min=10)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Train the text emotion (7) and sentiment (3) model on MELD train, report on MELD dev."""
    from sensorium.emotion.text_model import default_dir
    from sensorium.emotion.training import TrainConfig, read_meld, render_markdown, train_text_emotion
    from sensorium.models.text_embedding import MINILM

    target = out_dir or default_dir()
    try:
        train_rows, dev_rows = read_meld(train, limit=limit), read_meld(dev)
    except (KeyError, ValueError) as exc:
        console.print(f"[red]bad MELD CSV[/red]: {exc}")
        raise typer.Exit(2) from None
    try:
        seed_list = tuple(int(v) for v in seeds.split(",") if v.strip())
    except ValueError:
        seed_list = ()
    if not seed_list:
        console.print(f"[red]bad --seeds[/red]: {seeds!r} (expected e.g. 0,1,2,3)")
        raise typer.Exit(2)
    cfg = TrainConfig(seed=seed_list[0], seeds=seed_list, finetune=finetune, finetune_epochs=epochs)
    svc = open_services()
    try:
        with svc.registry.use(MINILM) as base, progress_bar() as bar:
            task = bar.add_task("text emotion", total=100)

            def progress(fraction: float, message: str) -> None:
                bar.update(task, completed=100 * fraction, description=message[:60])

            result = train_text_emotion(train_rows, dev_rows, base, target, cfg, progress)
    except SensoriumError as exc:
        fail(exc)
    finally:
        svc.close()
    (target / "report.md").write_text(render_markdown(result.report))
    if as_json:
        out.print_json(json.dumps(result.report))
        return
    emo, sen = result.report["emotion"], result.report["sentiment"]
    out.print(f"dev emotion: weighted F1 [bold]{emo['weighted_f1']:.4f}[/bold], accuracy {emo['accuracy']:.4f}, "
              f"macro F1 {emo['macro_f1']:.4f}")
    out.print(f"dev sentiment: weighted F1 [bold]{sen['weighted_f1']:.4f}[/bold], accuracy {sen['accuracy']:.4f}")
    out.print(f"{result.report['speed']['utterances_per_second']} utterances/s; "
              f"trained in {result.report['train_seconds']} s; wrote {target}")


@train_app.command("multimodal")
def multimodal(
    config: Annotated[Path, typer.Option("--config", help="YAML training config (paths relative to the file); "
                                                          "see configs/multimodal.example.yaml.")],
    epochs: Annotated[Optional[int], typer.Option(help="Override the config's epochs.", min=1)] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Override the config's output_dir.",
                                                    file_okay=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Train the multimodal network (MiniLM text + 3D-CNN video + audio CNN, 7 emotions + 3 sentiments) on
    MELD-format data: a CSV and a folder of dia{D}_utt{U}.mp4 clips. Writes model.pt and report.json."""
    from sensorium.emotion.multimodal.config import load_config
    from sensorium.emotion.multimodal.data import read_rows
    from sensorium.emotion.multimodal.training import train_multimodal
    from sensorium.models.text_embedding import MINILM

    try:
        cfg = load_config(config, epochs=epochs, output_dir=out_dir.resolve() if out_dir else None)
        cfg.check_paths()
        read_rows(cfg.train_csv, limit=2)  # bad columns or labels: say so before loading anything
        if cfg.dev_csv is not None:
            read_rows(cfg.dev_csv, limit=2)
    except SensoriumError as exc:
        console.print(f"[red]bad config[/red]: {exc.message}")
        raise typer.Exit(2) from None
    svc = open_services()
    try:
        with svc.registry.use(MINILM) as base, progress_bar() as bar:
            tasks: dict[str, object] = {}

            def progress(name: str, done: int, total: int, message: str) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done, total=total, description=f"{name} {message}"[:60])

            result = train_multimodal(cfg, base, progress)
    except SensoriumError as exc:
        fail(exc)
    finally:
        svc.close()
    report = result.report
    if as_json:
        out.print_json(json.dumps(report))
        return
    data = report["train_data"]
    out.print(f"train clips: {data['clips']} used, {data['skipped_missing']} missing, "
              f"{data['skipped_corrupt']} corrupt, {data['no_audio']} without audio")
    for split in ("train", "dev"):
        m = report["final"][split]
        if m:
            out.print(f"{split}: emotion accuracy {m['emotion']['accuracy']:.4f}, weighted F1 "
                      f"[bold]{m['emotion']['weighted_f1']:.4f}[/bold]; sentiment accuracy "
                      f"{m['sentiment']['accuracy']:.4f}, weighted F1 {m['sentiment']['weighted_f1']:.4f}")
    out.print(f"trained in {report['train_seconds']} s; wrote {result.checkpoint} and {cfg.output_dir / 'report.json'}")
