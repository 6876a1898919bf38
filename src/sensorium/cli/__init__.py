"""Command line (Typer + Rich): thin faces on the capability services. `app` is the entry point."""

from __future__ import annotations

from sensorium.cli.main import app

__all__ = ["app"]
