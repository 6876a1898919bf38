"""OpenAI-compatible speech-to-text: `POST /v1/audio/transcriptions` (+ `GET /v1/models`).

Works with the official `openai` clients (`client.audio.transcriptions.create(...)`). Errors on these
paths use OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field

from sensorium.api.deps import ServicesDep
from sensorium.api.middleware import openai_error
from sensorium.api.uploads import receive_upload
from sensorium.concurrency import checker
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.services import Services
from sensorium.speech.openai_format import OpenAITranscription, verbose_json
from sensorium.speech.schemas import TranscribeOptions, normalize_language
from sensorium.speech.subtitles import to_srt, to_vtt
from sensorium.speech.transcribe import resolve_model_name
from sensorium.store.files import Workspace

router = APIRouter(prefix="/v1", tags=["openai"])

OPENAI_ERRORS = {
    400: {"description": "invalid_request_error, code `validation_error`: a missing or bad parameter, or a "
                         "malformed body (e.g. a broken multipart form) "
                         "(`{\"error\": {\"message\", \"type\", \"param\", \"code\"}}`)."},
    413: {"description": "file_too_large: over the 50 MB audio limit."},
    415: {"description": "invalid_file_type: not a supported audio/video file."},
    422: {"description": "processing_failed: corrupt, empty or too short file."},
    503: {"description": "model_not_loaded or service_unavailable (server_error)."},
    504: {"description": "timeout (server_error)."},
    507: {"description": "storage_full (server_error): the server's disk is full; nothing was kept."},
}


@router.post(
    "/audio/transcriptions",
    summary="Create transcription (OpenAI-compatible)",
    description="Same contract as OpenAI's Audio API. `model`: `whisper-1` (automatic choice), `tiny.en` "
    "or `base`. `response_format`: json | text | srt | vtt | verbose_json. `timestamp_granularities[]`: "
    "`segment` and/or `word` (words need verbose_json, as with OpenAI).",
    responses={200: {"model": OpenAITranscription, "description": "`json`/`verbose_json`: this JSON; `text`, "
                          "`srt`: text/plain; `vtt`: text/vtt.",
                     "content": {"text/plain": {"schema": {"type": "string"}},
                                 "text/vtt": {"schema": {"type": "string"}}}},
               **OPENAI_ERRORS},
)
async def create_transcription(
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="Audio file: mp3, wav, m4a, flac, ogg, or a video's audio.")],
    model: Annotated[str, Form(description="`whisper-1`, `tiny.en` or `base`.", max_length=64)] = "whisper-1",
    language: Annotated[str | None, Form(description="ISO 639-1 code; omit to detect.", max_length=10)] = None,
    prompt: Annotated[str | None, Form(description="Text to guide style or vocabulary.", max_length=2000)] = None,
    temperature: Annotated[float, Form(ge=0, le=1, description="Sampling temperature (0 = greedy/beam).")] = 0.0,
    response_format: Annotated[Literal["json", "text", "srt", "vtt", "verbose_json"],
                               Form(description="Output format.")] = "json",
    timestamp_granularities: Annotated[list[Literal["word", "segment"]] | None, Form(
        alias="timestamp_granularities[]", description="`word` and/or `segment` (verbose_json).")] = None,
    stream: Annotated[bool, Form(description="Stream the text as server-sent events while it is decoded: "
                                 "`transcript.text.delta` events, then one `transcript.text.done` (as OpenAI does). "
                                 "Only with `response_format` json or text.")] = False,
) -> Any:
    settings = services.settings
    lang = normalize_language(language)
    requested = resolve_model_name(model)
    granularities = set(timestamp_granularities or ["segment"])
    words = "word" in granularities and response_format == "verbose_json"
    opts = TranscribeOptions(language=lang, word_timestamps=words, include_timestamps=True,
                             prompt=prompt, temperature=temperature or None, model=requested)
    if stream and response_format not in ("json", "text"):
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "stream=true works with response_format json or text only.",
                             details={"param": "stream"})
    if stream:
        return await _stream_transcription(services, file, opts)
    with Workspace(settings.tmp_dir) as ws:
        up = await receive_upload(file, ws, settings, ("audio", "video"), field="file")
        if not up.info.has_audio:
            raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The file has no audio track.",
                                 details={"param": "file"})
        t0 = time.perf_counter()
        result = await services.limiter.run(
            lambda stop: services.speech.transcribe_file(up.path, opts, check=checker(stop)))
    elapsed = round((time.perf_counter() - t0) * 1000, 1)
    headers = {"X-Processing-Time-Ms": str(elapsed), "X-Model": result.model}
    if response_format == "text":
        return PlainTextResponse(result.transcription + "\n" if result.transcription else "", headers=headers)
    if response_format == "srt":
        return PlainTextResponse(to_srt(result.segments), headers=headers)
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(result.segments), media_type="text/vtt", headers=headers)
    if response_format == "json":
        return JSONResponse({"text": result.transcription}, headers=headers)
    return JSONResponse(verbose_json(result, granularities, temperature), headers=headers)


class OpenAIModel(BaseModel):
    id: str = Field(..., description="The model name to send as `model`.")
    object: Literal["model"] = "model"
    created: int = Field(..., description="Unix time (the server's start).")
    owned_by: str = "sensorium"


class OpenAIModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIModel]


@router.get("/models", summary="List models (OpenAI-compatible)",
            description="The speech models this server accepts in `model`.", response_model=OpenAIModelList)
def list_models(services: ServicesDep) -> dict[str, Any]:
    created = int(services.started_at)
    return {"object": "list", "data": [
        {"id": mid, "object": "model", "created": created, "owned_by": "sensorium"}
        for mid in ("whisper-1", "tiny.en", "base")
    ]}


async def _stream_transcription(services: Services, file: UploadFile, opts: TranscribeOptions) -> StreamingResponse:
    """Transcribe with segments pushed as SSE deltas; errors before the first segment answer as usual."""
    ws = Workspace(services.settings.tmp_dir)
    try:
        up = await receive_upload(file, ws, services.settings, ("audio", "video"), field="file")
        if not up.info.has_audio:
            raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The file has no audio track.", details={"param": "file"})
        loop = asyncio.get_running_loop()
        texts: asyncio.Queue[str] = asyncio.Queue()
        task = asyncio.ensure_future(services.limiter.run(lambda stop: services.speech.transcribe_file(
            up.path, opts, check=checker(stop), on_segment=lambda seg: loop.call_soon_threadsafe(texts.put_nowait,
                                                                                                  seg.text))))
        first = asyncio.ensure_future(texts.get())
        await asyncio.wait({first, task}, return_when=asyncio.FIRST_COMPLETED)
        if task.done() and not first.done() and task.exception() is not None:
            first.cancel()
            raise task.exception()  # type: ignore[misc]
    except BaseException:
        ws.cleanup()
        raise

    async def events() -> AsyncIterator[str]:
        parts: list[str] = []

        def delta(text: str) -> str:
            piece = text if not parts else " " + text
            parts.append(piece)
            return f"data: {json.dumps({'type': 'transcript.text.delta', 'delta': piece})}\n\n"

        try:
            pending: asyncio.Future[str] = first
            while True:
                await asyncio.wait({pending, task}, return_when=asyncio.FIRST_COMPLETED)
                if pending.done():
                    yield delta(pending.result())
                    pending = asyncio.ensure_future(texts.get())
                    continue
                pending.cancel()  # the transcription ended: what is left is already queued
                while not texts.empty():
                    yield delta(texts.get_nowait())
                break
            try:
                result = task.result()
                yield f"data: {json.dumps({'type': 'transcript.text.done', 'text': result.transcription})}\n\n"
            except SensoriumError as exc:
                yield f"data: {json.dumps({'type': 'error', **openai_error(exc)['error']})}\n\n"
        finally:
            ws.cleanup()

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
