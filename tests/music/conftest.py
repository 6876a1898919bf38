"""Fixtures of the music tests: a generated library of known character (testkit/music.py) in several
formats, with tagged files, a corrupt file, a 0-byte file and a file without tags, indexed once per
session through the HTTP API's folder (DATA_DIR/libraries/music)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from testkit import music as gen

FORMATS = {"fast_bright_loud": "mp3", "fast_bright_loud_2": "flac", "slow_dark_quiet": "ogg",
           "slow_dark_quiet_2": "m4a", "medium_bright_quiet": "wav", "slow_bright_loud": "wav"}
ALIGN_BPM = 125  # beat period 0.48 s = 12 frames at 25 fps


@pytest.fixture(scope="session")
def need_models(shared_dir: Path) -> None:
    if not (shared_dir / "models" / "yamnet" / "yamnet.tflite").is_file():
        pytest.skip("YAMNet weights not found in ../shared/models/yamnet")


@pytest.fixture(scope="session")
def music_library(services, need_models) -> dict[str, Path]:
    root = services.settings.libraries_dir / "music"
    if root.exists():
        shutil.rmtree(root)
    files: dict[str, Path] = {}
    for name, (bpm, key, mode, bright, loud) in gen.CHARACTERS.items():
        audio = gen.track(bpm, key, mode, bright=bright, loud=loud, seconds=20)
        files[name] = gen.save(root / "albums" / f"{name}.{FORMATS[name]}", audio)
    gen.tag_file(files["fast_bright_loud"], title="Neon Sprint", artist="The Generators", album="Synthetic Hits",
                 artwork=gen.jpeg_bytes())
    gen.tag_file(files["fast_bright_loud_2"], title="Major Rush", artist="Numpy; Scipy", album="Synthetic Hits")
    files["align"] = gen.save(root / "align_125.wav", gen.track(ALIGN_BPM, "D", "major", seconds=30))
    (root / "corrupt.mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x13\x37garbage" * 300)
    (root / "empty.flac").write_bytes(b"")
    (root / "notes.txt").write_text("not music")
    return files


@pytest.fixture(scope="session")
def music_indexed(services, music_library) -> dict[str, Any]:
    calls: list[tuple[float, str]] = []
    summary = services.music.index_folder(services.settings.libraries_dir / "music",
                                          progress=lambda f, m: calls.append((f, m))).model_dump()
    summary["_progress"] = calls
    return summary
