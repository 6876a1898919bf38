"""Analyze any supported file by its sniffed kind (used by the CLI and the batch endpoint).

audio -> speech transcription; image -> `pipelines.image`; video -> `pipelines.video` (frames,
summary, and the audio track when there is one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sensorium.media.sniff import describe
from sensorium.speech.transcribe import TranscribeOptions, normalize_language


@dataclass
class AnalyzeOptions:
    language: str = "auto"
    word_timestamps: bool = False
    include_timestamps: bool = True
    num_frames: int = 5
    frame_sampling: str = "uniform"
    prompt: str | None = None
    max_length: int = 200


Progress = Callable[[float], None]
Analyzer = Callable[[Path, Any, AnalyzeOptions, "Progress | None"], dict[str, Any]]


def _audio(path: Path, services: Any, opts: AnalyzeOptions, progress: Progress | None) -> dict[str, Any]:
    topts = TranscribeOptions(language=normalize_language(opts.language), word_timestamps=opts.word_timestamps,
                              include_timestamps=opts.include_timestamps or opts.word_timestamps)
    result = services.speech.transcribe_file(path, topts, progress=progress)
    return {"type": "audio_analysis", "result": result.model_dump(mode="json"), "model": result.model}


def _image(path: Path, services: Any, opts: AnalyzeOptions, progress: Progress | None) -> dict[str, Any]:
    from sensorium.vision.image import ImageOptions, analyze_image_file

    result = analyze_image_file(path, services.registry, services.settings,
                                ImageOptions(prompt=opts.prompt, max_length=opts.max_length), progress=progress)
    return {"type": "image_analysis", "result": result, "model": ", ".join(result.get("models") or [])}


def _video(path: Path, services: Any, opts: AnalyzeOptions, progress: Progress | None) -> dict[str, Any]:
    from sensorium.vision.video import VideoOptions, analyze_video_file

    vopts = VideoOptions(num_frames=opts.num_frames, prompt=opts.prompt, include_timestamps=opts.include_timestamps,
                         frame_sampling=opts.frame_sampling, max_length=opts.max_length)
    result = analyze_video_file(path, services.registry, services.settings, vopts, progress=progress)
    return {"type": "video_analysis", "result": result, "model": ", ".join(result.get("models") or [])}


#: kind -> analyzer(path, services, options, progress) -> {"type", "result", "model"}
ANALYZERS: dict[str, Analyzer] = {"audio": _audio, "image": _image, "video": _video}


def analyze_path(path: Path, services: Any, opts: AnalyzeOptions | None = None,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Sniff `path` and run the matching analysis. Returns {"type", "result", "metadata"}."""
    from sensorium.errors import ErrorCode, SensoriumError

    opts = opts or AnalyzeOptions()
    info = describe(path)
    kind = info.kind
    if kind == "video" and "video" not in ANALYZERS and info.has_audio:
        kind = "audio"  # until visual analysis is installed, a video's audio track is analyzed
    analyzer = ANALYZERS.get(kind)
    if analyzer is None:
        raise SensoriumError(ErrorCode.INVALID_FILE_TYPE, f"No analysis available for {info.kind} files.")
    t0 = time.perf_counter()
    out = analyzer(path, services, opts, progress)
    return {"type": out["type"], "result": out["result"],
            "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                         "model": out.get("model"), "format": info.format}}
