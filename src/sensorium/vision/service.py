"""The vision workflows: analyze an image or a video (now or as a job), any file by its sniffed kind,
a batch of files, and frames for other capabilities.

Routes, the CLI and the sound capability call these methods; the pure algorithms are in `image.py`,
`video.py` and the modules they use. A video's audio track goes through the speech capability
(`SpeechService.load` / `transcribe_samples`). Job kind: `analyze.video` (`async=true`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.jobs.schemas import JobRecord
from sensorium.jobs.service import JobContext, JobService
from sensorium.media.sniff import describe
from sensorium.models.llm import VisionLLM
from sensorium.models.registry import ModelRegistry
from sensorium.speech.schemas import TranscribeOptions, normalize_language
from sensorium.speech.service import SpeechService
from sensorium.vision import image, video
from sensorium.vision.runs import Run
from sensorium.vision.schemas import (
    AnalyzedFile,
    AnalyzeOptions,
    AudioTrack,
    BatchEntry,
    BatchResult,
    ErrorEntry,
    FileMetadata,
    Findings,
    ImageAnalysis,
    ImageOptions,
    RunInfo,
    VideoAnalysis,
    VideoOptions,
)
from sensorium.vision.soundtrack import MIN_TRACK_SECONDS, analyze_track

VIDEO_JOB = "analyze.video"
#: what sound matching needs of a frame: objects, people, colours and brightness
SCENE_OPTIONS = ImageOptions(faces=False, face_mesh=False, pose=False, ocr=False, nsfw=False, colors=True,
                             use_llm=False)
Progress = Callable[[float], None]
Check = Callable[[], None]


@dataclass
class BatchItem:
    """One file of a batch: where it was stored, or why it could not be received."""

    filename: str | None
    path: Path | None = None
    error: SensoriumError | None = None


class VisionService:
    def __init__(self, settings: Settings, registry: ModelRegistry, jobs: JobService, speech: SpeechService) -> None:
        self.settings = settings
        self.registry = registry
        self.jobs = jobs
        self.speech = speech
        # OCR and NSFW run beside the people stages of every image and frame (shared by all requests)
        self._side = ThreadPoolExecutor(max_workers=2, thread_name_prefix="image-side")
        jobs.register(VIDEO_JOB, self._run_video_job)

    def _llm(self, wanted: bool) -> VisionLLM | None:
        return self.registry.vision_llm() if wanted else None

    # -- images and frames ----------------------------------------------------------------------
    def analyze_image_file(self, path: Path, opts: ImageOptions, *, progress: Progress | None = None,
                           check: Check | None = None) -> ImageAnalysis:
        return image.analyze_image_file(path, self.registry, self.settings, opts, llm=self._llm(opts.use_llm),
                                        pool=self._side, progress=progress, check=check)

    def analyze_frames(self, frames: Sequence[np.ndarray], opts: ImageOptions = SCENE_OPTIONS) -> list[Findings]:
        """Findings of each BGR frame (by default objects, people, colours and brightness; no LLM)."""
        run = Run(self.registry, self._side)
        return [image.analyze_bgr(frame, run, opts) for frame in frames]

    # -- videos ------------------------------------------------------------------------------------
    def analyze_video_file(self, path: Path, opts: VideoOptions, *, progress: Progress | None = None,
                           check: Check | None = None) -> VideoAnalysis:
        return video.analyze_video(path, self.registry, self.settings, opts,
                                   soundtrack=lambda run: self._soundtrack(path, run, check),
                                   llm=self._llm(opts.use_llm), pool=self._side, progress=progress, check=check)

    def _soundtrack(self, path: Path, run: Run, check: Check | None) -> AudioTrack:
        return analyze_track(
            decode=lambda: self.speech.load(path, check=check, min_seconds=MIN_TRACK_SECONDS),
            transcribe=lambda wave: self.speech.transcribe_samples(wave, TranscribeOptions(language=None), check=check),
            run=run,
        )

    def submit_video(self, path: Path, filename: str | None, opts: VideoOptions) -> JobRecord:
        """Queue a video analysis of `path` (moved into the job's folder)."""
        opts.checked()
        return self.jobs.submit_file(VIDEO_JOB, path, {"options": opts.model_dump(), "filename": filename})

    def _run_video_job(self, ctx: JobContext) -> dict[str, Any]:
        opts = VideoOptions.model_validate(ctx.params["options"])
        ctx.progress(1, "decoding video")
        t0 = time.perf_counter()

        def progress(fraction: float) -> None:
            stage = ("sampling frames" if fraction < 0.15 else "analyzing frames" if fraction < 0.8
                     else "analyzing audio")
            ctx.progress(100 * fraction, stage)

        result = self.analyze_video_file(ctx.workdir / ctx.params["file"], opts, progress=progress, check=ctx.check)
        return {
            "type": "video",
            "result": result.dump_with_run_info(),
            "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                         "model": ", ".join(result.models), "filename": ctx.params.get("filename")},
        }

    # -- any file, batches --------------------------------------------------------------------------
    def analyze_path(self, path: Path, opts: AnalyzeOptions | None = None,
                     progress: Progress | None = None) -> AnalyzedFile:
        """Sniff `path` and run the matching analysis: audio -> speech, image, video."""
        opts = opts or AnalyzeOptions()
        info = describe(path)
        t0 = time.perf_counter()
        result: ImageAnalysis | VideoAnalysis
        if info.kind == "audio":
            topts = TranscribeOptions(language=normalize_language(opts.language), word_timestamps=opts.word_timestamps,
                                      include_timestamps=opts.include_timestamps or opts.word_timestamps)
            speech = self.speech.transcribe_file(path, topts, progress=progress)
            return AnalyzedFile(type="audio", result=speech, metadata=FileMetadata(
                processing_time_ms=round((time.perf_counter() - t0) * 1000, 1), model=speech.model, format=info.format))
        if info.kind == "image":
            kind = "image"
            result = self.analyze_image_file(path, ImageOptions(prompt=opts.prompt, max_length=opts.max_length),
                                             progress=progress)
        elif info.kind == "video":
            kind = "video"
            result = self.analyze_video_file(path, VideoOptions(
                num_frames=opts.num_frames, prompt=opts.prompt, include_timestamps=opts.include_timestamps,
                frame_sampling=opts.frame_sampling, max_length=opts.max_length), progress=progress)
        else:
            raise SensoriumError(ErrorCode.INVALID_FILE_TYPE, f"No analysis available for {info.kind} files.")
        return AnalyzedFile(type=kind, result=result, metadata=FileMetadata(
            processing_time_ms=round((time.perf_counter() - t0) * 1000, 1), model=", ".join(result.models),
            format=info.format))

    def analyze_batch(self, items: Sequence[BatchItem], opts: AnalyzeOptions, *,
                      check: Check | None = None) -> BatchResult:
        """Each file by its kind, in order; a bad file gets an error entry and never fails the batch."""
        entries = [self._batch_entry(i, item, opts, check) for i, item in enumerate(items)]
        succeeded = sum(1 for e in entries if e.success)
        return BatchResult(results=entries, total=len(entries), succeeded=succeeded, failed=len(entries) - succeeded)

    def _batch_entry(self, index: int, item: BatchItem, opts: AnalyzeOptions, check: Check | None) -> BatchEntry:
        def failed(error: dict[str, Any]) -> BatchEntry:
            return BatchEntry(index=index, filename=item.filename, success=False,
                              error=ErrorEntry.model_validate(error))

        if item.error is not None or item.path is None:
            return failed(item.error.to_dict() if item.error else {"code": ErrorCode.PROCESSING_FAILED.value,
                                                                    "message": "The file was not received."})
        if check:
            check()
        try:
            res = self.analyze_path(item.path, opts)
        except SensoriumError as exc:
            return failed(exc.to_dict())
        except MemoryError:
            return failed({"code": ErrorCode.OUT_OF_MEMORY.value, "message": "Out of memory."})
        run_info = res.result if isinstance(res.result, RunInfo) else None
        res.metadata.models = run_info.models if run_info else None
        res.metadata.timings_ms = run_info.timings_ms if run_info else None
        return BatchEntry(index=index, filename=item.filename, success=True, type=res.type, result=res.result,
                          metadata=res.metadata)
