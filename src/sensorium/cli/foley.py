"""`sensorium foley VIDEO -o out.mp4 [--surface gravel|auto] [--annotate a.mp4] [--csv e.csv] [--json e.json]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sensorium.errors import SensoriumError

SURFACE_HELP = ("Floor surface: auto (estimated from the floor under the feet), vision (the configured "
                "OpenAI-compatible vision endpoint), or concrete, wood, gravel, grass, snow, carpet, tile, metal, sand, "
                "puddle.")


def foley_command(
    video: Annotated[Path, typer.Argument(help="The video with people walking.", exists=True, dir_okay=False)],
    output: Annotated[Optional[Path], typer.Option("-o", "--output",
                                                   help="MP4 with the footstep track muxed in.")] = None,
    surface: Annotated[str, typer.Option(help=SURFACE_HELP)] = "auto",
    annotate: Annotated[Optional[Path], typer.Option(help="Also write an annotated video here.")] = None,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Write the events as CSV.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the events as JSON.")] = None,
    stride: Annotated[int, typer.Option(min=1, max=8, help="Process every Nth frame (faster, a bit less accurate).")] = 1,
    mode: Annotated[str, typer.Option(help="Audio: replace | mix | duck (with the original sound).")] = "mix",
    sample_pack: Annotated[Optional[Path], typer.Option(help="Folder with one sub-folder of samples per surface "
                                                        "(e.g. pack/gravel/*.wav) instead of synthesis.")] = None,
) -> None:
    """Detect footsteps and give the video a synchronized footstep track."""
    from sensorium.config import Settings
    from sensorium.foley.studio import run_foley
    from sensorium.models.catalog import build_registry

    console = Console(stderr=True)
    if output is None and annotate is None and csv is None and json_out is None:
        raise typer.BadParameter("nothing to write: give -o/--output, --annotate, --csv or --json")
    settings = Settings()
    registry = build_registry(settings)
    bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                   TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=console)
    try:
        with bar:
            task = bar.add_task("starting", total=100)
            result = run_foley(video, output, surface, annotate, csv, json_out, stride,
                               lambda f, stage: bar.update(task, completed=100 * f, description=stage),
                               mode=mode, sample_pack=sample_pack, registry=registry, settings=settings)
    except SensoriumError as exc:
        console.print(f"[red]{exc.code.value}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    s = result["summary"]
    table = Table(title=f"{video.name}: {s['steps']} steps, surface {s['surface']}")
    table.add_column("person")
    table.add_column("steps", justify="right")
    table.add_column("cadence (steps/min)", justify="right")
    for pid, n in s["steps_per_person"].items():
        cad = s["cadence_spm"].get(pid)
        table.add_row(pid, str(n), "-" if cad is None else f"{cad:.0f}")
    console.print(table)
    console.print(f"surface: {result['surface']['surface']} ({result['surface']['reason']})")
    for kind, path in result["outputs"].items():
        console.print(f"{kind}: {path}")
    typer.echo(json.dumps({"summary": s, "outputs": result["outputs"]}))
