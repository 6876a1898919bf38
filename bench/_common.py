"""Shared benchmark helpers: machine facts, percentiles, table + JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem_gib = round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "python": sys.version.split()[0],
            "platform": platform.platform()}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def write(name: str, inputs: dict[str, Any], figures: dict[str, Any], rows: list[list[Any]],
          headers: list[str]) -> Path:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bench: {name}")
    for h in headers:
        table.add_column(h)
    for row in rows:
        table.add_row(*[f"{c:.3f}" if isinstance(c, float) else str(c) for c in row])
    Console().print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps({
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "inputs": inputs,
        "figures": figures,
    }, indent=2))
    print(f"wrote {out}")
    return out
