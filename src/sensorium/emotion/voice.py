"""The voice modality: prosody of an utterance mapped to arousal, then to emotion cues (a rule set).

Pure: 16 kHz mono samples (and the utterance's text, for the speaking rate) in, features and scores out.

Measured per utterance:
* pitch: librosa pYIN (70-400 Hz, 40 ms hop) on the frames with voicing probability >= 0.05: median
  in Hz and variability in semitones (IQR/1.349 of 12*log2(f0), robust to octave slips);
* energy: RMS in dB relative to the whole recording's median speech level (the microphone's gain
  cancels out; a single utterance on its own gets 0);
* speaking rate: syllables per second, syllables estimated from the text (vowel groups per word);
* pauses: share of the utterance below the recording's median level - 25 dB.

The rule set (docs/emotion.md): each cue becomes a value in [-1, 1] and arousal is their mean.

    pitch variability  (st - 3.0) / 2.0      monotone 1 st -> -1, lively 5 st -> +1
    relative energy    dB / 6.0              6 dB above the speaker's median -> +1
    speaking rate      (sps - 4.0) / 1.5     2.5 syllables/s -> -1, 5.5 -> +1
    pauses             (0.2 - share) / 0.2   no pause -> +1, 40 % pauses -> -1

Arousal raises anger, surprise, fear and joy and lowers sadness and neutral (AROUSAL_GAIN per
emotion); a calm voice (|arousal| below CALM = 0.3) leans neutral (NEUTRAL_BONUS on its logit).
Valence is not read from the voice: prosody alone does not tell joy from anger reliably, so the
voice gives no sentiment.
These rules are NOT tuned on labelled emotional speech (none is available offline here).
"""

from __future__ import annotations

import re

import numpy as np

from sensorium.emotion.text_model import EMOTIONS, softmax

SR = 16000
HOP = 640  # 40 ms: utterance-level pitch statistics need no finer grid (halves pYIN's cost)
FRAME = 1024
FMIN, FMAX = 70.0, 400.0
PAUSE_DB = 25.0
VOICED_PROB = 0.05
CALM = 0.3
NEUTRAL_BONUS = 0.6
AROUSAL_GAIN = {"anger": 1.2, "surprise": 1.0, "fear": 0.7, "joy": 0.7, "disgust": 0.0, "neutral": -0.6,
                "sadness": -1.2}
_VOWELS = re.compile(r"[aeiouy]+", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z']+")


def syllables(text: str) -> int:
    """Vowel groups per word (at least one per word; a final silent 'e' does not count)."""
    count = 0
    for word in _WORD.findall(text):
        w = word.lower().rstrip("'s")
        groups = len(_VOWELS.findall(w))
        if w.endswith("e") and groups > 1 and not w.endswith(("le", "ee")):
            groups -= 1
        count += max(1, groups)
    return count


def frame_db(audio: np.ndarray) -> np.ndarray:
    import librosa

    if len(audio) < FRAME:
        audio = np.pad(audio, (0, FRAME - len(audio)))
    rms = librosa.feature.rms(y=audio, frame_length=FRAME, hop_length=HOP)[0]
    return 20 * np.log10(np.maximum(rms, 1e-5))


def speech_level(audio: np.ndarray) -> float:
    """Median frame level (dB) of the louder half of the frames: the recording's speaking level."""
    db = frame_db(audio)
    loud = db[db >= np.median(db)]
    return float(np.median(loud)) if len(loud) else float(np.median(db))


def prosody(segment: np.ndarray, text: str, reference_db: float | None) -> dict[str, float] | None:
    """Prosody features of one utterance, or None when it is too short (< 0.3 s) to measure."""
    import librosa

    if len(segment) < int(0.3 * SR):
        return None
    seg = segment.astype(np.float32)
    f0, _, prob = librosa.pyin(seg, fmin=FMIN, fmax=FMAX, sr=SR, frame_length=FRAME, hop_length=HOP, fill_na=None)
    # pYIN's own voiced/unvoiced decision drops most frames of some synthetic voices (Piper): a frame
    # counts as voiced when its voicing probability reaches VOICED_PROB, and the spread is an IQR
    f0 = f0[(prob >= VOICED_PROB) & np.isfinite(f0)]
    db = frame_db(seg)
    level = float(np.median(db[db >= np.median(db)]))
    ref = level if reference_db is None else reference_db
    seconds = len(seg) / SR
    feats = {
        "duration": round(seconds, 3),
        "voiced_share": round(float(len(f0)) / max(len(db), 1), 3),
        "pitch_hz": round(float(np.median(f0)), 1) if len(f0) else 0.0,
        "pitch_variability_st": round(semitone_spread(f0), 3),
        "energy_db": round(level - ref, 2),
        "rate_sps": round(syllables(text) / seconds, 3),
        "pause_share": round(float(np.mean(db < ref - PAUSE_DB)), 3),
    }
    feats["arousal"] = round(arousal(feats), 3)
    return feats


def semitone_spread(f0: np.ndarray) -> float:
    """Robust standard deviation (IQR / 1.349) of the pitch in semitones; 0 with fewer than 3 frames."""
    if len(f0) < 3:
        return 0.0
    st = 12 * np.log2(f0 / 100.0)
    q1, q3 = np.percentile(st, [25, 75])
    return float((q3 - q1) / 1.349)


def arousal(f: dict[str, float]) -> float:
    cues = []
    if f["voiced_share"] > 0.05:
        cues.append((f["pitch_variability_st"] - 3.0) / 2.0)
    cues.append(f["energy_db"] / 6.0)
    if f["rate_sps"] > 0:
        cues.append((f["rate_sps"] - 4.0) / 1.5)
    cues.append((0.2 - f["pause_share"]) / 0.2)
    return float(np.mean(np.clip(cues, -1.0, 1.0)))


def emotion_scores(arousal_value: float) -> np.ndarray:
    """[7] emotion probabilities from arousal in [-1, 1]; a calm voice (|arousal| < CALM) leans neutral."""
    logits = np.array([AROUSAL_GAIN[e] * arousal_value for e in EMOTIONS])
    fade = min(1.0, max(0.0, (1.5 * CALM - abs(arousal_value)) / (0.5 * CALM)))  # 1 up to CALM, 0 from 1.5 CALM
    logits[EMOTIONS.index("neutral")] += NEUTRAL_BONUS * fade
    return softmax(logits)
