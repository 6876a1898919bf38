"""What every CLI module shares: the consoles, a progress bar, the services, error output."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "sensorium" / "numba"))

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from sensorium.config import Settings
from sensorium.errors import SensoriumError
from sensorium.services import Services, build_services

console = Console(stderr=True)
out = Console()


def open_services(run_jobs: bool = False) -> Services:
    """Settings from the environment, the same services the server builds (close them when done)."""
    from sensorium.logs import setup_logging

    settings = Settings()
    setup_logging("WARNING", settings.log_dir)
    svc = build_services(settings)
    svc.start(run_jobs=run_jobs)
    return svc


def progress_bar() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                    TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=console)


def fail(exc: SensoriumError) -> None:
    """Print a Sensorium error the same way everywhere and exit 1."""
    console.print(f"[red]{exc.code.value}[/red]: {exc.message}")
    raise typer.Exit(1)
