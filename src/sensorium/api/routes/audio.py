"""Audio analysis: transcription with timestamps, language identification (documented contract)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import ANALYSIS_ERRORS, Envelope, error_responses, ok
from sensorium.api.submit import accepted
from sensorium.api.uploads import receive_upload
from sensorium.concurrency import checker
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.speech.schemas import LanguageDetection, TranscribeOptions, Transcription, normalize_language
from sensorium.store.files import Workspace

router = APIRouter(tags=["audio"])

AUDIO_KINDS = ("audio", "video")  # a video's audio track is analyzed too


@router.post(
    "/api/analyze/audio",
    summary="Transcribe speech",
    description=(
        "Speech-to-text with Whisper (faster-whisper, offline). English uses tiny.en (fast) unless "
        "WHISPER_MODEL_SIZE=base; `auto` and other languages use the multilingual base model, which also "
        "detects the language. Voice-activity detection removes silence and music first, so audio without "
        "speech gives an empty `transcription` and `has_speech: false` instead of invented words. "
        "Accepts MP3, WAV, M4A, FLAC, OGG (and the audio track of MP4/AVI/MOV/MKV), up to 50 MB. "
        "`async=true` queues a job and answers 202 with its id (poll `/api/jobs/{id}`)."
    ),
    response_model=Envelope[Transcription],
    responses={202: {"description": "Queued as a job (async=true)."}, **error_responses(*ANALYSIS_ERRORS)},
)
async def analyze_audio(
    services: ServicesDep,
    audio: Annotated[UploadFile, File(description="The audio file (type sniffed from its bytes).")],
    language: Annotated[str, Form(description="`auto` to detect, or an ISO 639-1 code (en, fr, de, ...).",
                                  max_length=10)] = "auto",
    include_timestamps: Annotated[bool, Form(description="Segment start/end times (seconds).")] = True,
    word_level_timestamps: Annotated[bool, Form(description="Per-word start/end/probability.")] = False,
    run_async: Annotated[bool, Form(alias="async", description="Run as a background job (202 + job id).")] = False,
) -> Any:
    settings = services.settings
    lang = normalize_language(language)
    opts = TranscribeOptions(language=lang, word_timestamps=word_level_timestamps,
                             include_timestamps=include_timestamps or word_level_timestamps)
    with Workspace(settings.tmp_dir) as ws:
        up = await receive_upload(audio, ws, settings, AUDIO_KINDS, field="audio")
        if up.info.kind == "video" and not up.info.has_audio:
            raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The video has no audio track to analyze.")
        if run_async:
            return accepted(services.speech.submit_transcription(up.path, up.filename, opts))
        t0 = time.perf_counter()
        result = await services.limiter.run(
            lambda stop: services.speech.transcribe_file(up.path, opts, check=checker(stop)))
    return ok("audio", result,
              processing_time_ms=round((time.perf_counter() - t0) * 1000, 1),
              model=result.model, filename=up.filename, format=up.info.format)


@router.post(
    "/api/analyze/audio/detect-language",
    summary="Identify the spoken language",
    description="Whisper base language identification on the speech parts (VAD) of the audio: the most "
    "likely language, its probability and the top 5 alternatives.",
    response_model=Envelope[LanguageDetection],
    responses=error_responses(*ANALYSIS_ERRORS),
)
async def detect_language(
    services: ServicesDep,
    audio: Annotated[UploadFile, File(description="The audio file (type sniffed from its bytes).")],
) -> dict[str, Any]:
    settings = services.settings
    with Workspace(settings.tmp_dir) as ws:
        up = await receive_upload(audio, ws, settings, AUDIO_KINDS, field="audio")
        t0 = time.perf_counter()
        result = await services.limiter.run(lambda stop: services.speech.detect_language_file(up.path))
    return ok("language_detection", result,
              processing_time_ms=round((time.perf_counter() - t0) * 1000, 1),
              model=result.model, filename=up.filename)
