"""`sensorium foley VIDEO -o out.mp4 [--surface gravel|auto] [--annotate a.mp4] [--csv e.csv] [--json e.json]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from sensorium.cli.common import console, open_services, progress_bar
from sensorium.errors import SensoriumError
from sensorium.foley.schemas import MAX_STRIDE, SURFACES

SURFACE_HELP = ("Floor surface: auto (estimated from the floor under the feet), vision (the configured "
                f"OpenAI-compatible vision endpoint), or {', '.join(SURFACES)}.")


def foley_command(
    video: Annotated[Path, typer.Argument(help="The video with people walking.", exists=True, dir_okay=False)],
    output: Annotated[Optional[Path], typer.Option("-o", "--output",
                                                   help="MP4 with the footstep track muxed in.")] = None,
    surface: Annotated[str, typer.Option(help=SURFACE_HELP)] = "auto",
    annotate: Annotated[Optional[Path], typer.Option(help="Also write an annotated video here.")] = None,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Write the events as CSV.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the events as JSON.")] = None,
    stride: Annotated[int, typer.Option(min=1, max=MAX_STRIDE,
                                        help="Process every Nth frame (faster, a bit less accurate).")] = 1,
    mode: Annotated[str, typer.Option(help="Audio: replace | mix | duck (with the original sound).")] = "mix",
    sample_pack: Annotated[Optional[Path], typer.Option(help="Folder with one sub-folder of samples per surface "
                                                        "(e.g. pack/gravel/*.wav) instead of synthesis.")] = None,
) -> None:
    """Detect footsteps and give the video a synchronized footstep track."""
    if output is None and annotate is None and csv is None and json_out is None:
        raise typer.BadParameter("nothing to write: give -o/--output, --annotate, --csv or --json")
    services = open_services()
    try:
        with progress_bar() as bar:
            task = bar.add_task("starting", total=100)
            result = services.foley.run_once(
                video, output=output, annotate_to=annotate, csv=csv, json_out=json_out, stride=stride,
                surface=surface, mode=mode, sample_pack=sample_pack,
                progress=lambda f, stage: bar.update(task, completed=100 * f, description=stage))
    except SensoriumError as exc:
        console.print(f"[red]{exc.code.value}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    finally:
        services.close()
    s = result.summary
    table = Table(title=f"{video.name}: {s.steps} steps, surface {s.surface}")
    table.add_column("person")
    table.add_column("steps", justify="right")
    table.add_column("cadence (steps/min)", justify="right")
    for pid, n in s.steps_per_person.items():
        cad = s.cadence_spm.get(pid)
        table.add_row(pid, str(n), "-" if cad is None else f"{cad:.0f}")
    console.print(table)
    console.print(f"surface: {result.surface.surface} ({result.surface.reason})")
    for kind, path in result.outputs.items():
        console.print(f"{kind}: {path}")
    typer.echo(json.dumps({"summary": s.model_dump(mode="json"), "outputs": result.outputs}))
