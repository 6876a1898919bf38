"""Put the modality readings together: fused utterances, the timeline, the overall summary, face tracks.

Pure: readings in, an `EmotionResult` out (the service gathers the readings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sensorium.emotion import voice as voice_rules
from sensorium.emotion.face import FaceReading, scores_between, sentiment_from_emotions, track_faces
from sensorium.emotion.fusion import FUSION_WEIGHTS, SENTIMENT_WEIGHTS, as_dict, fuse, summary, timeline_times, top
from sensorium.emotion.schemas import (
    EmotionResult,
    FaceTrack,
    Modalities,
    ModalityResult,
    Overall,
    Source,
    TimelinePoint,
    Utterance,
)
from sensorium.emotion.text_model import EMOTIONS, SENTIMENTS, TextEmotion


@dataclass
class Readings:
    """Everything measured on one input; `faces` is None when the face modality did not run."""

    source: Source
    duration: float | None
    language: str | None
    spans: list[tuple[float | None, float | None]]  # per utterance
    texts: list[str]
    text: list[TextEmotion | None]
    voice: list[dict[str, float] | None]
    speakers: list[str | None]
    faces: list[FaceReading] | None
    face_reason: str
    voice_reason: str
    face_step: float
    timeline_step: float | None
    speaker_count: int | None = None
    notes: list[str] = field(default_factory=list)


def _unavailable(reason: str) -> ModalityResult:
    return ModalityResult(available=False, reason=reason)


def _text_part(t: TextEmotion | None) -> ModalityResult:
    if t is None:
        return _unavailable("no words")
    return ModalityResult(available=True, emotion=t.emotion, emotion_scores=t.emotion_scores,
                          sentiment=t.sentiment, sentiment_scores=t.sentiment_scores)


def _face_part(r: Readings, start: float | None, end: float | None) -> tuple[ModalityResult, np.ndarray | None]:
    if r.faces is None or start is None or end is None:
        return _unavailable(r.face_reason), None
    scores, frames = scores_between(r.faces, start, end, r.face_step)
    if scores is None:
        return _unavailable("no face seen during the utterance"), None
    sent = sentiment_from_emotions(scores)
    return ModalityResult(available=True, emotion=top(scores, EMOTIONS), emotion_scores=as_dict(scores, EMOTIONS),
                          sentiment=top(sent, SENTIMENTS), sentiment_scores=as_dict(sent, SENTIMENTS),
                          frames=frames), scores


def _voice_part(r: Readings, feats: dict[str, float] | None) -> tuple[ModalityResult, np.ndarray | None]:
    if feats is None:
        return _unavailable(r.voice_reason if r.source != "text" else "text input"), None
    scores = voice_rules.emotion_scores(feats["arousal"])
    return ModalityResult(available=True, emotion=top(scores, EMOTIONS), emotion_scores=as_dict(scores, EMOTIONS),
                          features=feats), scores


def _vec(d: dict[str, float] | None, labels: Sequence[str]) -> np.ndarray | None:
    return None if d is None else np.array([d[k] for k in labels])


def utterances(r: Readings) -> tuple[list[Utterance], list[np.ndarray], list[np.ndarray]]:
    out, emos, sents = [], [], []
    for i, ((start, end), text) in enumerate(zip(r.spans, r.texts, strict=True)):
        t = r.text[i]
        face, face_scores = _face_part(r, start, end)
        voice, voice_scores = _voice_part(r, r.voice[i])
        text_emo = _vec(t.emotion_scores, EMOTIONS) if t else None
        text_sen = _vec(t.sentiment_scores, SENTIMENTS) if t else None
        emo = fuse({"text": text_emo, "face": face_scores, "voice": voice_scores}, FUSION_WEIGHTS)
        sen = fuse({"text": text_sen, "face": _vec(face.sentiment_scores, SENTIMENTS)}, SENTIMENT_WEIGHTS)
        if emo is None:
            emo = np.full(len(EMOTIONS), 1 / len(EMOTIONS))
        if sen is None:
            sen = np.full(len(SENTIMENTS), 1 / len(SENTIMENTS))
        out.append(Utterance(index=i, start=start, end=end, speaker=r.speakers[i], text=text,
                             emotion=top(emo, EMOTIONS), emotion_scores=as_dict(emo, EMOTIONS),
                             sentiment=top(sen, SENTIMENTS), sentiment_scores=as_dict(sen, SENTIMENTS),
                             modalities=Modalities(text=_text_part(t), face=face, voice=voice)))
        emos.append(emo)
        sents.append(sen)
    return out, emos, sents


def timeline(r: Readings, utts: list[Utterance]) -> list[TimelinePoint]:
    if r.duration is None or r.timeline_step is None:  # text: one point per sentence
        return [TimelinePoint(time=float(u.index), emotion=u.emotion, scores=u.emotion_scores, sources=["text"])
                for u in utts]
    points = []
    step = r.timeline_step
    for t in timeline_times(r.duration, step):
        parts: dict[str, np.ndarray | None] = {}
        for u in utts:
            if u.start is not None and u.end is not None and u.start - step / 2 <= t < u.end + step / 2:
                parts["text"] = _vec(u.modalities.text.emotion_scores, EMOTIONS)
                parts["voice"] = _vec(u.modalities.voice.emotion_scores, EMOTIONS)
                break
        if r.faces:
            parts["face"], _ = scores_between(r.faces, t - step / 2, t + step / 2, r.face_step)
        vec = fuse(parts, FUSION_WEIGHTS)
        if vec is not None:
            points.append(TimelinePoint(time=t, emotion=top(vec, EMOTIONS), scores=as_dict(vec, EMOTIONS),
                                        sources=sorted(k for k, v in parts.items() if v is not None)))
    return points


def face_tracks(readings: list[FaceReading] | None) -> list[FaceTrack]:
    out = []
    for tr in track_faces(readings or []):
        mean = tr.mean()
        out.append(FaceTrack(track=tr.id, first_seen=round(tr.readings[0].time, 3),
                             last_seen=round(tr.last.time, 3), frames=len(tr.readings),
                             emotion=top(mean, EMOTIONS), emotion_scores=as_dict(mean, EMOTIONS)))
    return out


def build_result(r: Readings) -> EmotionResult:
    utts, emos, sents = utterances(r)
    points = timeline(r, utts)
    if utts:
        weights = [(u.end - u.start) if u.start is not None and u.end is not None else 1.0 for u in utts]
        dist, sdist = summary(emos, weights, EMOTIONS), summary(sents, weights, SENTIMENTS)
    else:  # no speech: the faces alone
        vecs = [_vec(p.scores, EMOTIONS) for p in points]
        dist = summary(vecs, [1.0] * len(vecs), EMOTIONS)
        sdist = summary([sentiment_from_emotions(v) for v in vecs], [1.0] * len(vecs), SENTIMENTS)
    overall = Overall(emotion=max(dist, key=dist.get) if dist else None,
                      sentiment=max(sdist, key=sdist.get) if sdist else None,
                      distribution=dist, sentiment_distribution=sdist)
    return EmotionResult(source=r.source, duration=r.duration, language=r.language, utterances=utts,
                         overall=overall, timeline=points, timeline_step=r.timeline_step,
                         faces=face_tracks(r.faces), speakers=r.speaker_count, fusion_weights=dict(FUSION_WEIGHTS),
                         notes=r.notes)
