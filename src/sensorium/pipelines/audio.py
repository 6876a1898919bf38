"""Audio analysis of a file: decode, then transcribe or identify the language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sensorium.config import Settings
from sensorium.media.audio import load_audio
from sensorium.models.registry import ModelRegistry
from sensorium.pipelines.speech import SR, TranscribeOptions, detect_language, transcribe


def analyze_audio_file(
    path: Path,
    registry: ModelRegistry,
    settings: Settings,
    opts: TranscribeOptions,
    *,
    progress: Callable[[float], None] | None = None,
    check: Callable[[], None] | None = None,
) -> dict[str, Any]:
    audio = load_audio(path, SR, max_seconds=settings.max_media_duration_seconds, check=check)
    if progress:
        progress(0.05)
    return transcribe(
        audio, registry, settings, opts,
        progress=(lambda f: progress(0.05 + 0.95 * f)) if progress else None, check=check,
    )


def detect_language_file(path: Path, registry: ModelRegistry, settings: Settings) -> dict[str, Any]:
    audio = load_audio(path, SR, max_seconds=settings.max_media_duration_seconds)
    return detect_language(audio, registry, settings)


def options_to_params(opts: TranscribeOptions) -> dict[str, Any]:
    return asdict(opts)


def options_from_params(params: dict[str, Any]) -> TranscribeOptions:
    return TranscribeOptions(**params)
