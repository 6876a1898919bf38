"""`sensorium music ...`: index a music folder, recommend tracks for a video or a text (mounted by cli/main.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sensorium.cli.common import console, fail, open_services, out, progress_bar
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.music.schemas import DEFAULT_LIMIT

music_app = typer.Typer(help="Music library: index a folder, recommend tracks for a video or a text.",
                        no_args_is_help=True)


@music_app.command("index")
def index(
    directory: Annotated[Path, typer.Argument(help="Music folder (searched recursively).", exists=True,
                                              file_okay=False, readable=True)],
    max_tracks: Annotated[Optional[int], typer.Option(help="Index at most this many tracks.")] = None,
    workers: Annotated[int, typer.Option(help="Tracks analysed at once.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Index DIRECTORY into the music library (incremental: unchanged files are skipped)."""
    svc = open_services()
    try:
        with progress_bar() as bar:
            task = bar.add_task(f"indexing {directory}", total=100)
            summary = svc.music.index_folder(
                directory, max_tracks=max_tracks, workers=workers,
                progress=lambda f, m: bar.update(task, completed=100 * f, description=m[:60]))
    except SensoriumError as exc:
        fail(exc)
    finally:
        svc.close()
    if as_json:
        out.print_json(summary.model_dump_json())
        return
    out.print(f"[bold]music[/bold]: {summary.total} tracks ({summary.indexed} new, {summary.reindexed} re-analysed, "
              f"{summary.unchanged} unchanged, {summary.removed} removed) in {summary.seconds:.1f}s"
              + (f", {summary.tracks_per_minute:.1f} tracks/min" if summary.tracks_per_minute else ""))
    for f in summary.failed:
        out.print(f"  [yellow]skipped[/yellow] {f.path}: {f.error}")


@music_app.command("recommend")
def recommend(
    video: Annotated[Optional[Path], typer.Argument(help="A video to find music for.", exists=True,
                                                    dir_okay=False, readable=True)] = None,
    text: Annotated[Optional[str], typer.Option("--text", "-t", help='Or a text, e.g. "calm piano".')] = None,
    limit: Annotated[int, typer.Option(help="How many tracks.", min=1, max=100)] = DEFAULT_LIMIT,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Recommend tracks for VIDEO or for --text."""
    from rich.table import Table

    if (video is None) == (text is None):
        fail(SensoriumError(ErrorCode.VALIDATION_ERROR, "Give a VIDEO or --text (exactly one)."))
    svc = open_services()
    try:
        if video is not None:
            svc.music.check_video(video)
            with console.status("analysing the video"):
                res = svc.music.analyze_video(video, limit)
            songs, analysis = res.songs, res.analysis
        else:
            songs, analysis = svc.music.recommend_text(text or "", limit), None
    except SensoriumError as exc:
        fail(exc)
    finally:
        svc.close()
    if as_json:
        out.print_json(data={"analysis": analysis.model_dump(mode="json") if analysis else None,
                             "songs": [s.model_dump(mode="json") for s in songs], "total": len(songs)})
        return
    if analysis is not None:
        out.print(f"[bold]{analysis.mood}[/bold], energy {analysis.energy_level}, tempo {analysis.tempo}: "
                  f"{analysis.music_recommendation}\n{analysis.description}")
    table = Table("score", "title", "artists", "tempo", "key", "start", "why")
    for s in songs:
        table.add_row(f"{s.score:.3f}", s.title, ", ".join(s.artists), f"{s.tempo_bpm or 0:.0f}", s.key or "",
                      "" if s.start_offset is None else f"{s.start_offset:.2f}s", s.why)
    out.print(table)
    if not songs:
        out.print("[yellow]The music library is empty: run `sensorium music index DIR` first.[/yellow]")
