"""`sensorium serve | version | models list|pull|verify | jobs list`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich import box
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from sensorium import __version__
from sensorium.cli.common import console, open_services, out, progress_bar
from sensorium.config import Settings
from sensorium.errors import SensoriumError

if TYPE_CHECKING:
    from sensorium.models.registry import ModelRegistry

models_app = typer.Typer(help="Inspect, download and verify the models.", no_args_is_help=True)
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


def _where(path: str | None, name: str, settings: Settings) -> str:
    """Which search location holds the weights, in a word (the full path is in `--json`)."""
    if path is None:
        return "-"
    p = Path(path).resolve()
    if name in settings.model_paths:
        return "MODEL_PATHS"
    if any(p.is_relative_to(d.resolve()) for d in settings.model_dirs):
        return "MODEL_DIRS"
    if p.is_relative_to(settings.model_cache_dir.resolve()):
        return "cache"
    return "package" if "site-packages" in p.parts else "elsewhere"


def _short(text: str, width: int) -> str:
    text = text.split(" (")[0].split(" +")[0]
    return text if len(text) <= width else text[: width - 1] + "…"


def _model_rows(registry: ModelRegistry) -> list[dict[str, Any]]:
    from sensorium.models.manifest import bundle, pull_command

    rows = []
    for spec in registry.specs():
        row = registry.status(spec.name)
        row["optional"] = spec.optional
        row["pull"] = pull_command(spec.name) if bundle(spec.name) else None
        rows.append(row)
    return rows


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table (every field).")] = False,
) -> None:
    """Each model: available or not, what it does, licence, where its weights are, how to get them."""
    from sensorium.services import build_model_registry

    settings = Settings()
    rows = _model_rows(build_model_registry(settings))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"Sensorium {__version__} models", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("model", "status", "task", "licence", "weights"):
        table.add_column(col, overflow="fold")
    missing, on_request = [], []
    for r in rows:
        if r["loaded"]:
            status = "[green]loaded"
        elif r["available"]:
            status = "[green]ready"
        elif r["optional"]:
            status, _ = "[dim]optional", on_request.append(r)
        else:
            status, _ = "[red]missing", missing.append(r)
        table.add_row(r["name"], status, _short(r["task"], 16), r["license"],
                      _where(r["path"], r["name"], settings))
    out.print(table)
    pulls = [r["name"] for r in missing if r["pull"]]
    if pulls:
        out.print(f"[red]Missing[/red]: run [bold]sensorium models pull {' '.join(pulls)}[/bold]")
    for r in missing:
        if not r["pull"]:
            out.print(f"[red]{r['name']}[/red]: {r['install_hint']}")
    if on_request:
        names = " | ".join(r["name"] for r in on_request)
        out.print(f"[dim]Optional, on request: sensorium models pull {names}[/dim]")
    out.print("[dim]Full paths and sources: sensorium models list --json[/dim]")


class _DownloadBar:
    """`models.pull.PullProgress` drawn with Rich (bytes, speed, time left)."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: TaskID | None = None

    def start(self, label: str, total: int | None, done: int) -> None:
        self.task = self.bar.add_task(label, total=total, completed=done)

    def advance(self, nbytes: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, nbytes)

    def finish(self) -> None:
        if self.task is not None:
            self.bar.stop_task(self.task)
            self.task = None


@models_app.command("pull")
def models_pull(
    names: Annotated[Optional[list[str]], typer.Argument(
        help="Models to download. Default: those no installed package ships (yolox-nano, yamnet). "
        "Whisper only by name: whisper-tiny.en, whisper-base, whisper-small, whisper-medium.")] = None,
    mirror: Annotated[Optional[str], typer.Option(
        help="HTTP folder laid out like the cache (URL/yolox-nano/yolox_nano.onnx, ...) to download "
        "from instead of the publishers (default: MODEL_MIRROR_URL).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Download into MODEL_CACHE_DIR even when the model is available elsewhere.")] = False,
) -> None:
    """Download models into MODEL_CACHE_DIR, resumably, verifying each file's sha256."""
    from sensorium.models.pull import Puller, PullError, resolve_names
    from sensorium.services import build_model_registry

    settings = Settings()
    try:
        bundles = resolve_names(names)
        registry = build_model_registry(settings)
        todo = []
        for b in bundles:
            where = registry.locate(b.name)
            cache = settings.model_cache_dir.resolve()
            if where is not None and not force and not where.resolve().is_relative_to(cache):
                out.print(f"{b.name}: already available ({where}); --force downloads it anyway")
            else:
                todo.append(b)
        source = mirror or settings.model_mirror_url
        out.print(f"Downloading into {settings.model_cache_dir} from {source or 'the publishers'}")
        bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), TimeRemainingColumn(), console=console)
        with bar, Puller(settings.model_cache_dir, mirror=source, progress=_DownloadBar(bar)) as puller:
            results = [puller.pull(b) for b in todo]
    except PullError as exc:
        console.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(1) from None
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("model", "file", "result", "sha256"):
        table.add_column(col, overflow="fold")
    for res in results:
        for f in res.files:
            table.add_row(res.name, f.path.rsplit("/", 1)[-1], f.status + (f" ({f.note})" if f.note else ""),
                          (f.sha256 or "")[:16])
    if any(r.files for r in results):
        out.print(table)
    failed = [r for r in results if not r.ok]
    for r in failed:
        console.print(f"[red]{r.name} failed[/red]: {r.error}")
    raise typer.Exit(1 if failed else 0)


@models_app.command("verify")
def models_verify(
    names: Annotated[Optional[list[str]], typer.Argument(help="Models to verify (default: all).")] = None,
) -> None:
    """Load each model for real and report load time or the error (exit 1 if any fails)."""
    from sensorium.services import build_model_registry

    registry = build_model_registry(Settings())
    # by default every model, except the on-request ones (whisper-small, ...) that are not here
    wanted = names or [s.name for s in registry.specs() if not s.optional or registry.locate(s.name)]
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
