"""`sensorium foley VIDEO -o out.mp4 --annotate ... --csv ... --json ...` end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensorium.cli import app
from testkit.settings import REPO, SHARED

runner = CliRunner()


def test_cli_writes_all_outputs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, short_walk: Path,
                                foley_registry) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("MODEL_DIRS", str(SHARED / "models"))
    monkeypatch.setenv("MODEL_CACHE_DIR", str(REPO / ".cache" / "models"))
    monkeypatch.chdir(tmp_path)
    out, ann, ev_csv, ev_json = (tmp_path / n for n in ("out.mp4", "ann.mp4", "ev.csv", "ev.json"))
    r = runner.invoke(app, ["foley", str(short_walk), "-o", str(out), "--surface", "wood", "--annotate", str(ann),
                            "--csv", str(ev_csv), "--json", str(ev_json)])
    assert r.exit_code == 0, r.output
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert last["summary"]["surface"] == "wood" and last["summary"]["steps"] >= 2
    for p in (out, ann, ev_csv, ev_json):
        assert p.is_file() and p.stat().st_size > 100, p
    rows = list(csv.DictReader(ev_csv.open()))
    doc = json.loads(ev_json.read_text())
    assert len(rows) == len(doc["events"]) and rows[0].keys() == set(doc["schema"])
    r = runner.invoke(app, ["foley", str(short_walk)])
    assert r.exit_code != 0  # nothing to write
