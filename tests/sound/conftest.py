"""Fixtures of the sound tests: a generated library (tones, noise, clicks, rain, Piper speech) indexed
once per session into the collection `sndtest`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from testkit.sounds import build_library

COLLECTION = "sndtest"


@pytest.fixture(scope="session")
def need_models(shared_dir: Path) -> None:
    if not (shared_dir / "models" / "yamnet" / "yamnet.tflite").is_file():
        pytest.skip("YAMNet weights not found in ../shared/models/yamnet")


@pytest.fixture(scope="session")
def sound_library(session_tmp: Path, speak, need_models) -> tuple[Path, dict[str, list[Path]]]:
    root = session_tmp / "soundlib"
    if root.exists():
        shutil.rmtree(root)
    kinds = build_library(root, speak)
    (root / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00garbage" * 50)
    (root / "empty.flac").write_bytes(b"")
    (root / "readme.txt").write_text("not a sound")
    return root, kinds


@pytest.fixture(scope="session")
def indexed(sound_library, services) -> dict[str, Any]:
    root, _ = sound_library
    calls: list[tuple[float, str]] = []
    summary = services.sound.index_library(root, COLLECTION, lambda f, m: calls.append((f, m))).model_dump()
    summary["_progress"] = calls
    return summary
