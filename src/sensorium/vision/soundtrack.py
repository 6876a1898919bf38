"""A video's audio track: YAMNet sound events, then speech (Whisper) when YAMNet hears any.

The decoding and the transcription belong to the speech capability: the caller (VisionService)
passes them in as `decode()` and `transcribe(samples)`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.yamnet import SAMPLE_RATE, YAMNET
from sensorium.speech.schemas import Transcription
from sensorium.vision.runs import Run
from sensorium.vision.schemas import AudioTrack, SoundEvent, SpokenSegment

SOUND_EVENT_THRESHOLD = 0.3
MIN_TRACK_SECONDS = 0.05
#: YAMNet classes that mean someone is speaking (Whisper is skipped when none of them scores)
SPEECH_CLASSES = ("Speech", "Child speech, kid speaking", "Conversation", "Narration, monologue",
                  "Male speech, man speaking", "Female speech, woman speaking", "Speech synthesizer",
                  "Babbling", "Whispering", "Shout", "Yell", "Singing", "Rapping", "Chant")
SPEECH_GATE = 0.1

Decode = Callable[[], np.ndarray]  # -> 16 kHz mono float32 samples
Transcribe = Callable[[np.ndarray], Transcription]


def _sound_events(wave: np.ndarray, duration: float, run: Run, out: AudioTrack) -> float | None:
    """Fill `out.sound_events`; return the highest speech score, or None when YAMNet did not run."""
    if YAMNET.name not in {s.name for s in run.registry.specs()}:
        run.notes.append("Sound events need the yamnet model, which is not registered.")
        return None
    speech_score = None
    with run.stage("sound_events"), run.model(YAMNET) as yam:
        if yam is not None:
            analysis = yam.analyze(wave)
            events = yam.sound_events(wave, threshold=SOUND_EVENT_THRESHOLD, analysis=analysis)
            out.sound_events = [SoundEvent(label=e["label"], start=e["start"], end=min(e["end"], duration),
                                           score=e["score"]) for e in events]
            idx = [i for i, n in enumerate(yam.class_names) if n in SPEECH_CLASSES]
            speech_score = float(analysis[0][:, idx].max()) if idx and len(analysis[0]) else 0.0
    return speech_score


def _speech(wave: np.ndarray, transcribe: Transcribe, run: Run, out: AudioTrack) -> None:
    with run.stage("speech"):
        try:
            tr = transcribe(wave)
        except SensoriumError as exc:
            if exc.code != ErrorCode.MODEL_NOT_LOADED:
                raise
            run.notes.append(f"Speech was not transcribed: {exc.message}")
            return
        out.transcription = tr.transcription
        out.language = tr.language if tr.has_speech else None
        out.language_probability = tr.language_probability if tr.has_speech else None
        out.has_speech = tr.has_speech
        out.segments = [SpokenSegment(start=s.start, end=s.end, text=s.text) for s in tr.segments]
        run.used(tr.model)


def analyze_track(decode: Decode, transcribe: Transcribe, run: Run) -> AudioTrack:
    """The `audio` section: sound events, then the transcript (skipped when YAMNet hears no speech)."""
    out = AudioTrack(transcription=None, language=None, sound_events=None)
    try:
        with run.stage("audio_decode"):
            wave = decode()
    except SensoriumError as exc:
        if exc.code == ErrorCode.VALIDATION_ERROR:
            raise
        out.error = exc.message
        run.notes.append(f"The audio track could not be decoded: {exc.message}")
        return out
    out.duration = duration = round(len(wave) / SAMPLE_RATE, 3)
    speech_score = _sound_events(wave, duration, run, out)
    if speech_score is not None and speech_score < SPEECH_GATE:
        out.transcription, out.language, out.language_probability = "", None, None
        out.has_speech, out.segments = False, []
        out.speech_check = f"YAMNet heard no speech (max speech score {speech_score:.2f}); Whisper was not run."
        return out
    _speech(wave, transcribe, run, out)
    return out
