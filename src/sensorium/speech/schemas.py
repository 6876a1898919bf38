"""Speech results and options, shared by the API, the CLI and jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import MISSING, BaseModel, Field

from sensorium.errors import ErrorCode, SensoriumError

T = TypeVar("T")


def given(value: T | MISSING) -> T | None:
    """A field left MISSING as None (MISSING itself is truthy: never test it directly)."""
    return None if value is MISSING else value


class Word(BaseModel):
    word: str = Field(..., description="The word as recognised (no surrounding spaces).")
    start: float = Field(..., description="Start time in seconds.")
    end: float = Field(..., description="End time in seconds.")
    probability: float = Field(..., description="Whisper's confidence in the word, 0-1.")


class Segment(BaseModel):
    id: int = Field(..., description="0-based index of the segment.")
    text: str = Field(..., description="The segment's text.")
    # fields not asked for (timestamps, words) are left out of the JSON, not sent as null
    start: float | MISSING = Field(MISSING, description="Start time in seconds (when timestamps are included).")
    end: float | MISSING = Field(MISSING, description="End time in seconds (when timestamps are included).")
    avg_logprob: float | MISSING = Field(MISSING, description="Mean token log-probability (closer to 0 is surer).")
    no_speech_prob: float | MISSING = Field(MISSING, description="Whisper's probability that the window was "
                                            "not speech.")
    words: list[Word] | MISSING = Field(MISSING, description="Per-word timing (with `word_level_timestamps=true`).")


class Transcription(BaseModel):
    """The result of an audio analysis (`data.type` `audio`)."""

    transcription: str = Field(..., description="The whole text; empty when there is no speech.")
    language: str = Field(..., description="ISO 639-1 code: detected (auto) or the one requested.")
    language_probability: float | None = Field(None, description="Confidence of the detected language; "
                                               "null when the language was given.")
    language_detected: bool = Field(..., description="True when the language was detected, not given.")
    duration: float = Field(..., description="Length of the audio in seconds.")
    speech_duration: float = Field(..., description="Seconds of speech kept by voice-activity detection.")
    has_speech: bool = Field(..., description="False for music, noise or silence (no segments).")
    segments: list[Segment] = Field(..., description="Recognised segments in time order.")
    model: str = Field("", description="The Whisper model that transcribed it (in `metadata.model`).", exclude=True)


class LanguageScore(BaseModel):
    language: str = Field(..., description="ISO 639-1 code.")
    probability: float = Field(..., description="0-1.")


class LanguageDetection(BaseModel):
    """The `language_detection` result."""

    language: str = Field(..., description="The most likely language (ISO 639-1).")
    probability: float = Field(..., description="Its probability, 0-1.")
    alternatives: list[LanguageScore] = Field(..., description="The top 5 languages, most likely first.")
    duration: float = Field(..., description="Length of the audio in seconds.")
    model: str = Field("", description="The model used (in `metadata.model`).", exclude=True)


# ISO 639-1 codes Whisper knows (validation of the `language` parameter)
WHISPER_LANGUAGES = [
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi",
    "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la",
    "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy",
    "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be",
    "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
    "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue",
]


@dataclass
class TranscribeOptions:
    language: str | None = None  # None: detect
    word_timestamps: bool = False
    include_timestamps: bool = True
    prompt: str | None = None
    temperature: float | None = None
    model: str | None = None  # explicit registry name
    beam_size: int | None = None  # None: WHISPER_BEAM_SIZE, or the model's default
    vad: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def normalize_language(value: str | None) -> str | None:
    """'auto'/'' -> None; validates a Whisper language code (case-insensitive)."""
    if value is None:
        return None
    code = value.strip().lower()
    if code in ("", "auto", "detect"):
        return None
    if code not in WHISPER_LANGUAGES:
        raise SensoriumError(
            ErrorCode.VALIDATION_ERROR,
            f"Unknown language {value!r}: use 'auto' or an ISO 639-1 code Whisper knows (e.g. en, fr, de).",
            details={"param": "language"},
        )
    return code
