"""`sensorium library ...`: index, list, search and delete sound collections (mounted by cli/main.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sensorium.cli.common import fail, open_services, out, progress_bar
from sensorium.errors import SensoriumError
from sensorium.sound.schemas import DEFAULT_COLLECTION, DEFAULT_MAX_SECONDS, DEFAULT_THRESHOLD, DEFAULT_TOP_K

library_app = typer.Typer(help="Sound libraries: index a folder, list, search, delete.", no_args_is_help=True)


@library_app.command("index")
def index(
    directory: Annotated[Path, typer.Argument(help="Folder of sound files (searched recursively).",
                                              exists=True, file_okay=False, readable=True)],
    name: Annotated[str, typer.Option("--name", "-n", help="Collection name.")] = DEFAULT_COLLECTION,
    max_seconds: Annotated[float, typer.Option(help="Analyse at most this many seconds per file.")] = (
        DEFAULT_MAX_SECONDS),
    sfx: Annotated[bool, typer.Option("--sfx/--no-sfx", help="aiSFX embeddings (slower, better "
                                                             "audio-example search).")] = True,
    workers: Annotated[int, typer.Option(help="Files analysed at once.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Index DIRECTORY into a collection (incremental: unchanged files are skipped)."""
    svc = open_services()
    try:
        with progress_bar() as bar:
            task = bar.add_task(f"indexing {directory}", total=100)

            def progress(fraction: float, message: str) -> None:
                bar.update(task, completed=100 * fraction, description=message[:60])

            summary = svc.sound.index_library(directory, name, progress, max_seconds=max_seconds,
                                              sfx_embeddings=sfx, workers=workers)
    except SensoriumError as exc:
        fail(exc)
    finally:
        svc.close()
    if as_json:
        out.print_json(summary.model_dump_json())
        return
    out.print(f"[bold]{name}[/bold]: {summary.total} clips "
              f"({summary.indexed} new, {summary.reindexed} re-analysed, {summary.updated} updated, "
              f"{summary.unchanged} unchanged, {summary.removed} removed) in {summary.seconds:.1f}s")
    for f in summary.failed:
        out.print(f"  [yellow]skipped[/yellow] {f.path}: {f.error}")


@library_app.command("list")
def list_collections() -> None:
    """List the sound collections."""
    from rich.table import Table

    svc = open_services()
    try:
        cols = svc.sound.list_collections().collections
    finally:
        svc.close()
    table = Table("name", "clips", "duration (s)", "folder", "updated")
    for c in cols:
        table.add_row(c.name, str(c.clips), f"{c.total_duration:.1f}", str(c.root), str(c.updated_at))
    out.print(table)


@library_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What the sound is, e.g. 'rain on a tin roof'.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Collection name.")] = DEFAULT_COLLECTION,
    top_k: Annotated[int, typer.Option(help="Results.")] = DEFAULT_TOP_K,
    threshold: Annotated[float, typer.Option(help="Minimum similarity.")] = DEFAULT_THRESHOLD,
) -> None:
    """Search a collection by text."""
    from rich.table import Table

    svc = open_services()
    try:
        res = svc.sound.search_text(query, collection=name, top_k=top_k, similarity_threshold=threshold)
    except SensoriumError as exc:
        fail(exc)
    finally:
        svc.close()
    table = Table("similarity", "file", "reason")
    for r in res.results:
        table.add_row(f"{r.similarity:.3f}", r.path, r.reason)
    out.print(table)


@library_app.command("delete")
def delete(name: Annotated[str, typer.Argument(help="Collection name.")]) -> None:
    """Delete a collection's index (the sound files are not touched)."""
    svc = open_services()
    try:
        svc.sound.delete_collection(name)
    except SensoriumError as exc:
        fail(exc)
    finally:
        svc.close()
    out.print(f"deleted {name}")
