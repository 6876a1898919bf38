"""`sensorium emotion FILE|--text "..."`: emotion and sentiment per utterance (mounted by cli/main.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from sensorium.cli.common import console, fail, open_services, out, progress_bar
from sensorium.emotion.schemas import EmotionOptions, EmotionResult
from sensorium.errors import SensoriumError


def emotion_command(
    file: Annotated[Optional[Path], typer.Argument(help="An audio or video file.", exists=True, dir_okay=False,
                                                   readable=True)] = None,
    text: Annotated[Optional[str], typer.Option("--text", help="Analyse this text instead of a file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
    chart: Annotated[Optional[Path], typer.Option("--chart", help="Write the emotion timeline as a PNG here.",
                                                  dir_okay=False)] = None,
    language: Annotated[str, typer.Option(help="Spoken language: auto or an ISO 639-1 code.")] = "auto",
    faces: Annotated[bool, typer.Option("--faces/--no-faces", help="Read faces (video).")] = True,
    diarize: Annotated[bool, typer.Option("--speakers/--no-speakers", help="Find speaker turns.")] = True,
) -> None:
    """Emotion (7) and sentiment (3) per utterance, from the words, faces and voice."""
    from sensorium.emotion.chart import timeline_png
    from sensorium.speech.schemas import normalize_language

    if (file is None) == (text is None):
        console.print("[red]Give a FILE or --text, not both or neither.[/red]")
        raise typer.Exit(2)
    svc = open_services()
    try:
        opts = EmotionOptions(language=normalize_language(language), faces=faces, diarize=diarize)
        with progress_bar() as bar:
            task = bar.add_task("emotion", total=100)

            def progress(fraction: float, stage: str) -> None:
                bar.update(task, completed=100 * fraction, description=stage)

            if text is not None:
                result = svc.emotion.analyze_text(text, opts, progress)
            else:
                result = svc.emotion.analyze_file(file, opts, progress=progress)
            bar.update(task, completed=100, description="done")
    except SensoriumError as exc:
        fail(exc)
    finally:
        svc.close()
    if chart is not None:
        chart.write_bytes(timeline_png(result))
        console.print(f"timeline chart: {chart}")
    if as_json:
        out.print_json(json.dumps(result.model_dump(mode="json")))
        return
    _print(result)


def _print(result: EmotionResult) -> None:
    table = Table(title=f"Emotion ({result.source})", show_lines=False)
    for col in ("#", "time", "speaker", "text", "emotion", "sentiment", "face", "voice"):
        table.add_column(col, overflow="fold")
    for u in result.utterances:
        when = f"{u.start:.1f}-{u.end:.1f}s" if u.start is not None and u.end is not None else ""
        m = u.modalities
        table.add_row(str(u.index), when, u.speaker or "", u.text[:80],
                      f"{u.emotion} {u.emotion_scores[u.emotion]:.2f}",
                      f"{u.sentiment} {u.sentiment_scores[u.sentiment]:.2f}",
                      m.face.emotion or "-", m.voice.emotion or "-")
    out.print(table)
    o = result.overall
    out.print(f"overall: [bold]{o.emotion or '-'}[/bold], sentiment [bold]{o.sentiment or '-'}[/bold]")
    for track in result.faces:
        out.print(f"face {track.track}: {track.emotion} ({track.frames} frames, "
                  f"{track.first_seen:.1f}-{track.last_seen:.1f}s)")
    for note in result.notes:
        out.print(f"[yellow]note[/yellow]: {note}")
