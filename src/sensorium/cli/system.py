"""`sensorium serve | version | models list|verify | jobs list`."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from sensorium import __version__
from sensorium.cli.common import open_services, out, progress_bar
from sensorium.config import Settings
from sensorium.errors import SensoriumError

models_app = typer.Typer(help="Inspect and verify the models.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect background jobs.", no_args_is_help=True)


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
    svc = open_services()
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


def version() -> None:
    """Print the version."""
    out.print(__version__)
