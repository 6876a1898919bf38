"""Emotion and sentiment of a text, a recording or a video (the Video Sentiment Analysis contract)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from sensorium.api.deps import ServicesDep
from sensorium.api.envelope import ANALYSIS_ERRORS, Envelope, error_responses, ok
from sensorium.api.submit import accepted
from sensorium.api.uploads import receive_upload
from sensorium.concurrency import checker
from sensorium.emotion.schemas import EmotionOptions, EmotionResult
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.speech.schemas import normalize_language
from sensorium.store.files import Workspace

router = APIRouter(tags=["emotion"])
TEXT_HARD_LIMIT = 5_000_000  # a bound for the form parser; EMOTION_MAX_TEXT_CHARS is the real limit

DESCRIPTION = (
    "Send exactly one of `video`, `audio` (files) or `text` (a form field). Utterances are Whisper's segments "
    "(audio, video) or the text's sentences. Each utterance gets 7 emotion scores (anger, disgust, fear, joy, "
    "neutral, sadness, surprise) and 3 sentiment scores (negative, neutral, positive), fused from up to three "
    "modalities, each reported with its own scores or the reason it is unavailable: **text** (the project's "
    "MELD-trained model on MiniLM + VADER; dev weighted F1 0.595), **face** (MediaPipe faces + FER mini-Xception "
    "on frames sampled every EMOTION_FACE_STEP seconds; video only) and **voice** (prosody rules: pitch, energy, "
    "rate, pauses -> arousal; no sentiment). Speaker turns (`S1`, `S2`) come from Resemblyzer voice embeddings "
    "when more than one voice is heard. `timeline` holds the fused scores every EMOTION_TIMELINE_STEP seconds "
    "(for text: one point per sentence). `async=true` queues a job (202) with progress. docs/emotion.md has "
    "the method, the figures and the limits."
)


@router.post(
    "/api/analyze/sentiment",
    summary="Emotion and sentiment per utterance",
    description=DESCRIPTION,
    response_model=Envelope[EmotionResult],
    responses={202: {"description": "Queued as a job (async=true)."}, **error_responses(*ANALYSIS_ERRORS)},
)
async def analyze_sentiment(
    services: ServicesDep,
    video: Annotated[UploadFile | None, File(description="A video (MP4, MOV, MKV, WEBM, AVI).")] = None,
    audio: Annotated[UploadFile | None, File(description="A recording (WAV, MP3, M4A, FLAC, OGG).")] = None,
    text: Annotated[str | None, Form(description="Plain text; split into sentences (at most "
                                      "EMOTION_MAX_TEXT_CHARS characters).", max_length=TEXT_HARD_LIMIT)] = None,
    language: Annotated[str, Form(description="Spoken language: `auto` or an ISO 639-1 code.",
                                  max_length=10)] = "auto",
    faces: Annotated[bool, Form(description="Read faces (video).")] = True,
    voice: Annotated[bool, Form(description="Read the voice's prosody (audio, video).")] = True,
    diarize: Annotated[bool, Form(description="Find speaker turns (Resemblyzer).")] = True,
    timeline_step: Annotated[float | None, Form(description="Seconds between timeline points "
                                                "(default EMOTION_TIMELINE_STEP).", ge=0.1, le=60)] = None,
    run_async: Annotated[bool, Form(alias="async", description="Run as a background job (202 + job id).")] = False,
) -> Any:
    given = [name for name, value in (("video", video), ("audio", audio), ("text", text)) if value is not None]
    if len(given) != 1:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "Send exactly one of `video`, `audio` or `text` "
                             f"(got {', '.join(given) or 'none'}).", details={"param": "video|audio|text"})
    opts = EmotionOptions(language=normalize_language(language), timeline_step=timeline_step, diarize=diarize,
                          faces=faces, voice=voice)
    emotion = services.emotion
    t0 = time.perf_counter()
    if text is not None:
        if run_async:
            return accepted(emotion.submit_text(text, opts))
        result = await services.limiter.run(lambda stop: emotion.analyze_text(text, opts))
        return ok("sentiment", result, processing_time_ms=round((time.perf_counter() - t0) * 1000, 1),
                  model=emotion.models_used(result))
    upload, field = (video, "video") if video is not None else (audio, "audio")
    with Workspace(services.settings.tmp_dir) as ws:
        up = await receive_upload(upload, ws, services.settings, ("video", "audio"), field=field)
        if run_async:
            return accepted(emotion.submit_file(up.path, up.filename, opts))
        result = await services.limiter.run(lambda stop: emotion.analyze_file(up.path, opts, check=checker(stop)))
    return ok("sentiment", result, processing_time_ms=round((time.perf_counter() - t0) * 1000, 1),
              model=emotion.models_used(result), filename=up.filename, format=up.info.format)
