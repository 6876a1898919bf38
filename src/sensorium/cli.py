"""Command line: `sensorium serve | analyze | models | jobs` (+ capability sub-commands)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "sensorium" / "numba"))

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from sensorium import __version__  # noqa: E402
from sensorium.config import Settings  # noqa: E402
from sensorium.errors import SensoriumError  # noqa: E402

app = typer.Typer(help="Sensorium: offline media understanding and sound design.", no_args_is_help=True,
                  add_completion=False)
models_app = typer.Typer(help="Inspect and verify the models.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect background jobs.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(jobs_app, name="jobs")

console = Console(stderr=True)
out = Console()


def _services(run_jobs: bool = False):  # noqa: ANN202
    from sensorium.logs import setup_logging
    from sensorium.services import build_services

    settings = Settings()
    setup_logging("WARNING", settings.log_dir)
    svc = build_services(settings)
    svc.start(run_jobs=run_jobs)
    return svc


def progress_bar() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                    TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=console)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address (default HOST or 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default PORT or 8000).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default WORKERS or 1).")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Start the HTTP server (API docs at /docs)."""
    import uvicorn

    settings = Settings()
    uvicorn.run(
        "sensorium.api.app:app_factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        reload=reload,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )


@app.command()
def analyze(
    files: Annotated[list[Path], typer.Argument(help="Audio, image or video files.", exists=True,
                                                dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full results as JSON.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", help="Subtitles for audio: srt or vtt.")] = None,
    language: Annotated[str, typer.Option(help="Speech language: auto or a code (en, fr, ...).")] = "auto",
    words: Annotated[bool, typer.Option("--words", help="Word-level timestamps.")] = False,
    num_frames: Annotated[int, typer.Option(help="Frames analyzed per video.")] = 5,
    frame_sampling: Annotated[str, typer.Option(help="Video frames: uniform or keyframes (scene changes).")]
    = "uniform",
    prompt: Annotated[Optional[str], typer.Option(help="A question about images/videos.")] = None,
) -> None:
    """Analyze files with the same pipelines as the server, without a server."""
    from sensorium.pipelines.dispatch import AnalyzeOptions, analyze_path
    from sensorium.subtitles import to_srt, to_vtt

    if fmt not in (None, "srt", "vtt"):
        raise typer.BadParameter("--format must be srt or vtt")
    svc = _services()
    results: list[dict[str, Any]] = []
    failed = 0
    if frame_sampling not in ("uniform", "keyframes"):
        raise typer.BadParameter("--frame-sampling must be uniform or keyframes")
    opts = AnalyzeOptions(language=language, word_timestamps=words, num_frames=num_frames, prompt=prompt,
                          frame_sampling=frame_sampling)
    try:
        with progress_bar() as bar:
            for path in files:
                task = bar.add_task(path.name, total=100)
                try:
                    res = analyze_path(path, svc, opts,
                                       progress=lambda f, t=task: bar.update(t, completed=100 * f))
                    results.append({"file": str(path), "success": True, **res})
                except SensoriumError as exc:
                    failed += 1
                    results.append({"file": str(path), "success": False, "error": exc.to_dict()})
                bar.update(task, completed=100)
    finally:
        svc.close()
    for item in results:
        if as_json:
            continue
        if not item["success"]:
            console.print(f"[red]{item['file']}: {item['error']['code']}: {item['error']['message']}")
            continue
        result = item["result"]
        if fmt and "segments" in result:
            out.print((to_srt if fmt == "srt" else to_vtt)(result["segments"]), markup=False, end="")
            continue
        out.print(f"[bold]{item['file']}[/bold] ({item['type']})")
        if "transcription" in result:
            lang = result.get("language")
            out.print(f"  language: {lang}  duration: {result.get('duration')}s")
            out.print(f"  {result['transcription'] or '(no speech)'}", markup=False)
        if "description" in result:
            out.print(f"  {result['description']}", markup=False)
        if result.get("answer"):
            out.print(f"  answer: {result['answer']}", markup=False)
        summary = result.get("summary")
        if isinstance(summary, dict):
            summary = summary.get("text_summary") or summary.get("text")
        if summary and summary != result.get("description"):
            out.print(f"  summary: {summary}", markup=False)
    if as_json:
        out.print_json(json.dumps(results if len(results) > 1 else results[0]))
    raise typer.Exit(1 if failed else 0)


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Each model: available or not, where its weights come from, licence, loaded or not."""
    from sensorium.models.catalog import build_registry

    registry = build_registry(Settings())
    rows = [registry.status(s.name) for s in registry.specs()]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"Sensorium {__version__} models")
    for col in ("model", "task", "available", "loaded", "licence", "weights"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["task"], "[green]yes" if r["available"] else "[red]no",
                      "yes" if r["loaded"] else "no", r["license"],
                      r["path"] or f"[yellow]{r['install_hint']}")
    out.print(table)


@models_app.command("verify")
def models_verify(
    names: Annotated[Optional[list[str]], typer.Argument(help="Models to verify (default: all).")] = None,
) -> None:
    """Load each model for real and report load time or the error (exit 1 if any fails)."""
    from sensorium.models.catalog import build_registry

    registry = build_registry(Settings())
    wanted = names or [s.name for s in registry.specs()]
    table = Table(title="Model verification")
    for col in ("model", "result", "load s", "weights / error"):
        table.add_column(col)
    bad = 0
    with progress_bar() as bar:
        task = bar.add_task("loading models", total=len(wanted))
        for name in wanted:
            bar.update(task, description=f"loading {name}")
            try:
                registry.get(name)
                st = registry.status(name)
                table.add_row(name, "[green]ok", f"{st['load_seconds']:.2f}", st["path"] or "")
                registry.unload(name)
            except SensoriumError as exc:
                bad += 1
                table.add_row(name, "[red]failed", "-", exc.message)
            bar.advance(task)
    out.print(table)
    raise typer.Exit(1 if bad else 0)


@jobs_app.command("list")
def jobs_list(
    status: Annotated[Optional[str], typer.Option(help="Filter by status.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 20,
) -> None:
    """Recent jobs in this DATA_DIR."""
    svc = _services()
    try:
        jobs, total = svc.jobs.list(status=status, limit=limit)
    finally:
        svc.close()
    table = Table(title=f"{len(jobs)} of {total} jobs")
    for col in ("id", "kind", "status", "progress", "stage", "created"):
        table.add_column(col)
    for j in jobs:
        table.add_row(j["id"], j["kind"], j["status"], f"{j['progress']:.0f}%", j["stage"], j["created_at"])
    out.print(table)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


def _mount_optional() -> None:
    """Capability sub-commands that live in their own modules."""
    import importlib.util

    if importlib.util.find_spec("sensorium.cli_library") is not None:
        from sensorium.cli_library import library_app

        app.add_typer(library_app, name="library")
    if importlib.util.find_spec("sensorium.cli_foley") is not None:
        from sensorium.cli_foley import foley_command

        app.command("foley")(foley_command)


_mount_optional()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
