"""The speech workflows: transcribe or identify the language of a file, now or as a job.

Routes, the CLI and other capabilities (video analysis) call these methods; the pure algorithms are
in `transcribe.py`. Job kind: `analyze.audio` (long recordings, `async=true`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.jobs.schemas import JobRecord
from sensorium.jobs.service import JobContext, JobService
from sensorium.media.audio import MIN_AUDIO_SECONDS, load_audio
from sensorium.models.registry import ModelRegistry
from sensorium.speech.schemas import LanguageDetection, Segment, TranscribeOptions, Transcription
from sensorium.speech.transcribe import SR, detect_language, transcribe

JOB_KIND = "analyze.audio"
Check = Callable[[], None]


class SpeechService:
    def __init__(self, settings: Settings, registry: ModelRegistry, jobs: JobService) -> None:
        self.settings = settings
        self.registry = registry
        self.jobs = jobs
        jobs.register(JOB_KIND, self._run_job)

    # -- synchronous ---------------------------------------------------------------------
    def load(self, path: Path, *, check: Check | None = None, min_seconds: float = MIN_AUDIO_SECONDS) -> np.ndarray:
        """Decode any audio (or a video's audio track) to 16 kHz mono float32."""
        return load_audio(path, SR, max_seconds=self.settings.max_media_duration_seconds, check=check,
                          min_seconds=min_seconds)

    def transcribe_file(self, path: Path, opts: TranscribeOptions, *,
                        progress: Callable[[float], None] | None = None, check: Check | None = None,
                        on_segment: Callable[[Segment], None] | None = None) -> Transcription:
        """Decode and transcribe; `on_segment` sees each kept segment as soon as it is decoded (streaming)."""
        audio = self.load(path, check=check)
        if progress:
            progress(0.05)
        inner = (lambda f: progress(0.05 + 0.95 * f)) if progress else None
        return self.transcribe_samples(audio, opts, progress=inner, check=check, on_segment=on_segment)

    def transcribe_samples(self, audio: np.ndarray, opts: TranscribeOptions, *,
                           progress: Callable[[float], None] | None = None, check: Check | None = None,
                           on_segment: Callable[[Segment], None] | None = None) -> Transcription:
        """Transcribe 16 kHz mono samples (used by video analysis for a video's sound track)."""
        return transcribe(audio, self.registry, self.settings, opts, progress=progress, check=check,
                          on_segment=on_segment)

    def detect_language_file(self, path: Path) -> LanguageDetection:
        return detect_language(self.load(path), self.registry, self.settings)

    # -- as a job --------------------------------------------------------------------------
    def submit_transcription(self, path: Path, filename: str | None, opts: TranscribeOptions) -> JobRecord:
        """Queue a transcription of `path` (moved into the job's folder)."""
        return self.jobs.submit_file(JOB_KIND, path, {"options": asdict(opts), "filename": filename})

    def _run_job(self, ctx: JobContext) -> dict[str, Any]:
        opts = TranscribeOptions(**ctx.params["options"])
        ctx.progress(1, "decoding audio")
        t0 = time.perf_counter()
        result = self.transcribe_file(ctx.workdir / ctx.params["file"], opts,
                                      progress=lambda f: ctx.progress(100 * f, "transcribing"), check=ctx.check)
        return {
            "type": "audio",
            "result": result.model_dump(mode="json"),
            "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                         "model": result.model, "filename": ctx.params.get("filename")},
        }
