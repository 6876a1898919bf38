"""The emotion workflow: what the people in a text, a recording or a video feel, utterance by utterance.

Routes, the CLI and jobs call these methods; the pure parts are `text_model` (text), `face` (FER on
faces), `voice` (prosody rules), `speakers` (Resemblyzer turns), `fusion` and `assemble`.
Job kind: `analyze.sentiment` (`async=true`). Models: `text-emotion` and `resemblyzer` (MODEL_SPECS,
registered by `services.build_model_registry`), plus the registry's `mediapipe-face` and `fer-expression`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.emotion import voice as voice_rules
from sensorium.emotion.assemble import Readings, build_result
from sensorium.emotion.face import FaceReading, read_faces
from sensorium.emotion.fusion import split_sentences
from sensorium.emotion.schemas import EmotionOptions, EmotionResult
from sensorium.emotion.speakers import VOICE_ENCODER, VOICE_ENCODER_SPEC, speaker_labels
from sensorium.emotion.text_model import TEXT_EMOTION, TEXT_EMOTION_SPEC, TextEmotion
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.jobs.schemas import JobRecord
from sensorium.jobs.service import JobContext, JobService
from sensorium.media.sniff import describe
from sensorium.media.video import frames_at
from sensorium.models.registry import ModelRegistry
from sensorium.models.vision import FACE, FER
from sensorium.speech.schemas import Segment, TranscribeOptions
from sensorium.speech.service import SpeechService

log = logging.getLogger(__name__)
JOB_KIND = "analyze.sentiment"
#: models whose loaders are emotion code: `services.build_model_registry` registers them
MODEL_SPECS = (TEXT_EMOTION_SPEC, VOICE_ENCODER_SPEC)
SR = 16000
Progress = Callable[[float, str], None]
Check = Callable[[], None]


def _quiet(fraction: float, stage: str) -> None:
    pass


def _looks_non_english(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(not c.isascii() for c in letters) / len(letters) > 0.3


class EmotionService:
    def __init__(self, settings: Settings, registry: ModelRegistry, jobs: JobService, speech: SpeechService) -> None:
        self.settings = settings
        self.registry = registry
        self.jobs = jobs
        self.speech = speech
        jobs.register(JOB_KIND, self._run_job)

    # -- text ------------------------------------------------------------------------------------
    def validate_text(self, text: str) -> None:
        """VALIDATION_ERROR for empty text or text over EMOTION_MAX_TEXT_CHARS."""
        if not text or not text.strip():
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, "The text is empty: send at least one word.",
                                 details={"param": "text"})
        limit = self.settings.emotion_max_text_chars
        if len(text) > limit:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"The text has {len(text)} characters; the limit is "
                                 f"{limit} (EMOTION_MAX_TEXT_CHARS). Split it and send the parts.",
                                 details={"param": "text", "limit": limit})

    def analyze_text(self, text: str, opts: EmotionOptions | None = None,
                     progress: Progress = _quiet) -> EmotionResult:
        """Sentences of `text`, each with the text model's emotion and sentiment (in dialogue order)."""
        self.validate_text(text)
        sentences = split_sentences(text)
        progress(0.1, "reading the text")
        with self.registry.use(TEXT_EMOTION) as model:
            scores = model.predict_dialogue(sentences)
        notes = ["The text model was trained on English (MELD); other languages get unreliable scores."
                 ] if _looks_non_english(text) else []
        return build_result(Readings(
            source="text", duration=None, language=None, spans=[(None, None)] * len(sentences), texts=sentences,
            text=list(scores), voice=[None] * len(sentences), speakers=[None] * len(sentences), faces=None,
            face_reason="text input", voice_reason="text input", face_step=1.0, timeline_step=None, notes=notes))

    # -- audio and video ---------------------------------------------------------------------------
    def analyze_file(self, path: Path, opts: EmotionOptions | None = None, *, progress: Progress = _quiet,
                     check: Check | None = None) -> EmotionResult:
        """Whisper utterances of an audio or video file with text, voice and (video) face readings fused."""
        opts = opts or EmotionOptions()
        info = describe(path)
        if info.kind not in ("audio", "video"):
            raise SensoriumError(ErrorCode.INVALID_FILE_TYPE,
                                 f"Emotion analysis takes audio or video, not {info.kind}.")
        notes: list[str] = []
        audio = self._audio(path, info.kind, info.has_audio, notes, check)
        duration = float(info.duration or (len(audio) / SR if audio is not None else 0.0))
        segments, language = self._utterances(audio, opts, progress, check, notes)
        spans = [(round(float(s.start), 3), round(float(s.end), 3)) for s in segments]
        texts = [s.text.strip() for s in segments]
        progress(0.45, "reading the words")
        text_scores = self._text_scores(texts)
        pieces = [audio[int(a * SR):int(b * SR)] for a, b in spans] if audio is not None else []
        voice, voice_reason = self._voice(audio, pieces, texts, opts, progress, notes)
        speakers, count = self._speakers(pieces, spans, opts, notes)
        faces, face_reason, face_step = None, "audio input", self.settings.emotion_face_step
        if info.kind == "video" and opts.faces:
            faces, face_reason, face_step = self._faces(path, duration, progress, check, notes)
        elif info.kind == "video":
            face_reason = "faces=false"
        progress(0.97, "fusing")
        return build_result(Readings(
            source="video" if info.kind == "video" else "audio", duration=round(duration, 3), language=language,
            spans=spans, texts=texts, text=text_scores, voice=voice, speakers=speakers, faces=faces,
            face_reason=face_reason, voice_reason=voice_reason, face_step=face_step,
            timeline_step=opts.timeline_step or self.settings.emotion_timeline_step, speaker_count=count,
            notes=notes))

    def _audio(self, path: Path, kind: str, has_audio: bool, notes: list[str],
               check: Check | None) -> np.ndarray | None:
        """The 16 kHz sound; for a video whose sound is missing or unreadable, None and a note."""
        if kind == "audio":
            return self.speech.load(path, check=check)
        if not has_audio:
            notes.append("No audio track: no words and no voice; emotion from faces only.")
            return None
        try:
            return self.speech.load(path, check=check, min_seconds=0.0)
        except SensoriumError as exc:
            if exc.code is not ErrorCode.PROCESSING_FAILED:
                raise
            notes.append(f"The audio could not be read ({exc.message}); emotion from faces only.")
            return None

    def _utterances(self, audio: np.ndarray | None, opts: EmotionOptions, progress: Progress,
                    check: Check | None, notes: list[str]) -> tuple[list[Segment], str | None]:
        if audio is None or len(audio) < SR // 4:
            return [], None
        progress(0.05, "transcribing")
        result = self.speech.transcribe_samples(
            audio, TranscribeOptions(language=opts.language, word_timestamps=False),
            progress=lambda f: progress(0.05 + 0.35 * f, "transcribing"), check=check)
        segments = [s for s in result.segments if s.text.strip()]
        if not segments:
            notes.append("No speech found: no utterances; the timeline comes from faces (if any).")
        elif result.language != "en":
            notes.append(f"Speech is in {result.language!r}; the text model was trained on English only.")
        return segments, result.language if segments else None

    def _text_scores(self, texts: list[str]) -> list[TextEmotion | None]:
        if not texts:
            return []
        with self.registry.use(TEXT_EMOTION) as model:
            return list(model.predict_dialogue(texts))

    def _voice(self, audio: np.ndarray | None, pieces: list[np.ndarray], texts: list[str], opts: EmotionOptions,
               progress: Progress, notes: list[str]) -> tuple[list[dict[str, float] | None], str]:
        if audio is None:
            return [None] * len(texts), "no audio track"
        if not opts.voice:
            return [None] * len(texts), "voice=false"
        progress(0.5, "measuring the voice")
        reference = voice_rules.speech_level(np.concatenate(pieces)) if pieces else None
        feats = [voice_rules.prosody(p, t, reference) for p, t in zip(pieces, texts, strict=True)]
        return feats, "utterance shorter than 0.3 s"

    def _speakers(self, pieces: list[np.ndarray], spans: list[tuple[float, float]], opts: EmotionOptions,
                  notes: list[str]) -> tuple[list[str | None], int | None]:
        if not opts.diarize or len(pieces) < 2:
            return [None] * len(pieces), (1 if pieces and opts.diarize else None)
        try:
            with self.registry.use(VOICE_ENCODER) as encoder:
                labels, _ = speaker_labels(encoder, pieces, [(a + b) / 2 for a, b in spans])
        except SensoriumError as exc:
            if exc.code is not ErrorCode.MODEL_NOT_LOADED:
                raise
            notes.append(f"Speaker turns skipped: {exc.message}")
            return [None] * len(pieces), None
        count = len(set(labels))
        return (list(labels) if count > 1 else [None] * len(pieces)), count

    # one sampling loop with its own progress and cut-off bookkeeping
    def _faces(self, path: Path, duration: float, progress: Progress, check: Check | None,
               notes: list[str]) -> tuple[list[FaceReading] | None, str, float]:
        step = max(self.settings.emotion_face_step, duration / self.settings.emotion_max_face_frames)
        if step > self.settings.emotion_face_step + 1e-9:
            notes.append(f"Faces read every {step:.2f} s (EMOTION_MAX_FACE_FRAMES caps the frames per video).")
        times = [round(i * step + step / 2, 3) for i in range(max(1, int(duration / step)))]
        progress(0.6, "reading faces")
        readings: list[FaceReading] = []
        try:
            with self.registry.use(FACE) as finder, self.registry.use(FER) as reader:
                frames = frames_at(path, times, max_side=960, check=check)
                for n, frame in enumerate(frames):
                    readings.extend(read_faces(frame.image, frame.timestamp, finder, reader))
                    if n % 10 == 0:
                        progress(0.6 + 0.35 * n / max(len(frames), 1), "reading faces")
        except SensoriumError as exc:
            if exc.code is not ErrorCode.MODEL_NOT_LOADED:
                raise
            notes.append(f"Faces skipped: {exc.message}")
            return None, "face models not installed", step
        if not readings:
            return None, "no face seen in the video", step
        return readings, "no face seen during the utterance", step

    # -- as a job -------------------------------------------------------------------------------------
    def submit_file(self, path: Path, filename: str | None, opts: EmotionOptions) -> JobRecord:
        return self.jobs.submit_file(JOB_KIND, path, {"options": asdict(opts), "filename": filename})

    def submit_text(self, text: str, opts: EmotionOptions) -> JobRecord:
        self.validate_text(text)
        return self.jobs.submit(JOB_KIND, {"options": asdict(opts), "text": text})

    def _run_job(self, ctx: JobContext) -> dict[str, Any]:
        opts = EmotionOptions(**ctx.params["options"])
        t0 = time.perf_counter()

        def progress(fraction: float, stage: str) -> None:
            ctx.progress(100 * fraction, stage)

        if "text" in ctx.params:
            result = self.analyze_text(ctx.params["text"], opts, progress)
        else:
            result = self.analyze_file(ctx.workdir / ctx.params["file"], opts, progress=progress, check=ctx.check)
        return {"type": "sentiment", "result": result.model_dump(mode="json"),
                "metadata": {"processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
                             "model": self.models_used(result), "filename": ctx.params.get("filename")}}

    @staticmethod
    def models_used(result: EmotionResult) -> str:
        used = ["text-emotion"]
        if result.source != "text":
            used.insert(0, "whisper")
        if result.faces:
            used += ["face-detection", "fer-expression"]
        if result.speakers and result.speakers > 1:
            used.append("resemblyzer")
        return ", ".join(used)
