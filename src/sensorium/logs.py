"""Logging: console + rotating file, with the request id on every line."""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
from pathlib import Path

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


_configured: set[str] = set()


def setup_logging(level: str = "INFO", log_dir: Path | None = Path("logs")) -> None:
    """Idempotent: configures the `sensorium` logger tree (and uvicorn's) once per log file."""
    key = f"{level}:{log_dir}"
    root = logging.getLogger("sensorium")
    root.setLevel(level)
    if key in _configured:
        return
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = logging.Formatter(FORMAT)
    flt = RequestIdFilter()
    console = logging.StreamHandler()
    console.setFormatter(fmt)
    console.addFilter(flt)
    root.addHandler(console)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(
            log_dir / "app.log", maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
        )
        fh.setFormatter(fmt)
        fh.addFilter(flt)
        root.addHandler(fh)
    root.propagate = False
    _configured.add(key)
