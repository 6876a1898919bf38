"""OpenAI's `verbose_json` transcription shape, from a Sensorium transcription."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sensorium.speech.schemas import Transcription, Word, given

LANGUAGE_NAMES = {
    "en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian", "pt": "portuguese",
    "nl": "dutch", "ru": "russian", "zh": "chinese", "ja": "japanese", "ko": "korean", "ar": "arabic",
    "hi": "hindi", "pl": "polish", "tr": "turkish", "sv": "swedish", "uk": "ukrainian", "cs": "czech",
    "el": "greek", "fi": "finnish", "da": "danish", "no": "norwegian", "he": "hebrew", "id": "indonesian",
}


def verbose_json(result: Transcription, granularities: set[str], temperature: float) -> dict[str, Any]:
    """`{task, language, duration, text[, segments][, words]}` as OpenAI answers it."""
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": LANGUAGE_NAMES.get(result.language, result.language),
        "duration": result.duration,
        "text": result.transcription,
    }
    if "segment" in granularities:
        body["segments"] = [
            {"id": s.id, "seek": 0, "start": given(s.start), "end": given(s.end), "text": s.text,
             "tokens": [], "temperature": temperature, "avg_logprob": given(s.avg_logprob) or 0.0,
             "compression_ratio": 0.0, "no_speech_prob": given(s.no_speech_prob) or 0.0}
            for s in result.segments
        ]
    if "word" in granularities:
        body["words"] = [w.model_dump() for s in result.segments for w in (given(s.words) or [])]
    return body


class OpenAISegment(BaseModel):
    id: int
    seek: int = 0
    start: float | None
    end: float | None
    text: str
    tokens: list[int] = Field(default_factory=list, description="Not computed (always empty).")
    temperature: float
    avg_logprob: float
    compression_ratio: float = Field(0.0, description="Not computed (always 0).")
    no_speech_prob: float


class OpenAITranscription(BaseModel):
    """`json` answers `{text}`; `verbose_json` adds the other fields (OpenAI's shapes)."""

    text: str = Field(..., description="The transcription.")
    task: str | None = Field(None, description="verbose_json: always `transcribe`.")
    language: str | None = Field(None, description="verbose_json: the language's English name, e.g. `english`.")
    duration: float | None = Field(None, description="verbose_json: seconds of audio.")
    segments: list[OpenAISegment] | None = Field(None, description="verbose_json with `segment` granularity.")
    words: list[Word] | None = Field(None, description="verbose_json with `word` granularity.")
