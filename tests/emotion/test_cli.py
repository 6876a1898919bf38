"""`sensorium emotion FILE|--text ... [--json] [--chart out.png]`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from sensorium.cli import app

runner = CliRunner()


def test_text_to_json_and_a_chart(cli_env: Path) -> None:
    chart = cli_env / "timeline.png"
    r = runner.invoke(app, ["emotion", "--text", "I love this place, it is wonderful! This is awful, I hate it.",
                            "--json", "--chart", str(chart)])
    assert r.exit_code == 0, r.output
    start = r.stdout.index("{")
    doc = json.loads(r.stdout[start:])
    assert [u["sentiment"] for u in doc["utterances"]] == ["positive", "negative"]
    with Image.open(chart) as img:
        assert img.format == "PNG" and img.size == (1000, 400)
        # the chart is drawn: more than a blank canvas
        assert len(np.unique(np.asarray(img.convert("RGB")).reshape(-1, 3), axis=0)) > 20


def test_a_recording_as_a_table(cli_env: Path, speak) -> None:
    wav = speak("I am so happy today, this is wonderful news, I love it!")
    r = runner.invoke(app, ["emotion", str(wav)])
    assert r.exit_code == 0, r.output
    assert "overall:" in r.stdout and "positive" in r.stdout


def test_file_and_text_together_or_neither_are_refused(cli_env: Path, speak) -> None:
    assert runner.invoke(app, ["emotion"]).exit_code == 2
    wav = speak("Hello there.")
    assert runner.invoke(app, ["emotion", str(wav), "--text", "hi"]).exit_code == 2


def test_an_error_is_printed_with_its_code(cli_env: Path) -> None:
    r = runner.invoke(app, ["emotion", "--text", "   "])
    assert r.exit_code == 1 and "VALIDATION_ERROR" in r.output
