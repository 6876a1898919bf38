"""Emotion results and options, shared by the API, the CLI and jobs (docs/emotion.md).

Emotions are MELD's seven (anger, disgust, fear, joy, neutral, sadness, surprise) and sentiments its
three (negative, neutral, positive), always in that order in score maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

Source = Literal["text", "audio", "video"]


@dataclass(frozen=True)
class EmotionOptions:
    language: str | None = None  # None: detect (speech); the text model itself is English-only
    timeline_step: float | None = None  # None: the EMOTION_TIMELINE_STEP setting
    diarize: bool = True  # speaker turns (when the speaker model is installed)
    faces: bool = True  # the face modality (video)
    voice: bool = True  # the voice modality (audio, video)


class ModalityResult(BaseModel):
    available: bool = Field(..., description="Whether this modality contributed to the utterance.")
    reason: str | None = Field(None, description="Why it is unavailable (no face seen, no speech, ...).")
    emotion: str | None = Field(None, description="Its top emotion.")
    emotion_scores: dict[str, float] | None = Field(None, description="Its 7 emotion probabilities.")
    sentiment: str | None = Field(None, description="Its top sentiment (null for voice: prosody does not "
                                  "tell positive from negative reliably).")
    sentiment_scores: dict[str, float] | None = Field(None, description="Its 3 sentiment probabilities.")
    frames: int | None = Field(None, description="Face: frames with a readable face inside the utterance.")
    features: dict[str, float] | None = Field(None, description="Voice: the prosody measured (pitch, "
                                              "energy, rate, pauses, arousal).")


class Modalities(BaseModel):
    text: ModalityResult
    face: ModalityResult
    voice: ModalityResult


class Utterance(BaseModel):
    index: int = Field(..., description="0-based position.")
    start: float | None = Field(..., description="Start in seconds (null for text input).")
    end: float | None = Field(..., description="End in seconds (null for text input).")
    speaker: str | None = Field(..., description="`S1`, `S2`, ... when speaker turns were found; null when "
                                "there is one voice, for text, or when diarization is off.")
    text: str = Field(..., description="What was said (Whisper) or the sentence (text input).")
    emotion: str = Field(..., description="The fused top emotion.")
    emotion_scores: dict[str, float] = Field(..., description="The fused 7 emotion probabilities.")
    sentiment: str = Field(..., description="The fused top sentiment.")
    sentiment_scores: dict[str, float] = Field(..., description="The fused 3 sentiment probabilities.")
    modalities: Modalities


class Overall(BaseModel):
    emotion: str | None = Field(..., description="Most common fused emotion, weighted by utterance length "
                                "(null when nothing could be read).")
    sentiment: str | None = Field(..., description="Most common fused sentiment, weighted the same way.")
    distribution: dict[str, float] = Field(..., description="Share of each emotion (sums to 1, or empty).")
    sentiment_distribution: dict[str, float] = Field(..., description="Share of each sentiment.")


class TimelinePoint(BaseModel):
    time: float = Field(..., description="Seconds from the start (text input: the sentence index).")
    emotion: str = Field(..., description="Top emotion at this time.")
    scores: dict[str, float] = Field(..., description="The 7 emotion probabilities at this time.")
    sources: list[str] = Field(..., description="Modalities that were present here (text, face, voice).")


class FaceTrack(BaseModel):
    track: int = Field(..., description="1-based id of a face followed across sampled frames.")
    first_seen: float = Field(..., description="Seconds.")
    last_seen: float = Field(..., description="Seconds.")
    frames: int = Field(..., description="Sampled frames it was read in.")
    emotion: str = Field(..., description="Its most likely emotion over those frames.")
    emotion_scores: dict[str, float] = Field(..., description="Its mean 7 emotion probabilities.")


class EmotionResult(BaseModel):
    """The result of `/api/analyze/sentiment` (`data.type` `sentiment`)."""

    source: Source = Field(..., description="What was analysed: text, audio or video.")
    duration: float | None = Field(..., description="Media length in seconds (null for text).")
    language: str | None = Field(..., description="Spoken language (Whisper) or null for text input.")
    utterances: list[Utterance] = Field(..., description="One per Whisper segment or sentence, in order.")
    overall: Overall
    timeline: list[TimelinePoint] = Field(..., description="Emotion scores at a fixed step, for plotting.")
    timeline_step: float | None = Field(..., description="Seconds between timeline points (1 sentence for text).")
    faces: list[FaceTrack] = Field(..., description="Faces followed through the video with their emotion.")
    speakers: int | None = Field(..., description="Distinct voices found (null when not measured).")
    fusion_weights: dict[str, float] = Field(..., description="Late-fusion weights of text, face and voice.")
    notes: list[str] = Field(..., description="What was missing or cut, in plain words.")
