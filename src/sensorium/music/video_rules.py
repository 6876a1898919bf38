"""The rule set that maps a video's measured signals to the music it needs (documented in docs/music.md).

Energy (0-1) is a weighted mean of the available normalized signals:

    motion_n = clip(motion / 12)            weight 0.40   (median frame change, 0-255 per 1/30 s)
    cuts_n   = clip(cuts_per_minute / 30)   weight 0.35
    loud_n   = clip((LUFS + 40) / 30)       weight 0.25   (only when the video has audio)
    then -0.10 when the frames are dark (brightness < 0.25), +0.05 when 3+ people are on screen

    energy_level: Low < 0.30 <= Medium < 0.60 <= High

Tempo: the video's own music tempo when YAMNet hears music (score >= 0.3) and a tempo was found;
else Fast when energy >= 0.60 or cuts_per_minute >= 24, Slow when energy < 0.30, Medium otherwise.

Valence (-1..1) = 0.9 * (brightness - 0.45) + 0.4 * (clip(colourfulness / 60) - 0.4)
                  + 0.5 * (happy - sad - angry - fear faces) / faces + 0.4 * speech sentiment, clipped.

Mood = energy x valence: high energy (>= 0.5): energetic (valence >= 0.1), tense (< -0.1), driving;
low energy: peaceful (>= 0.1), melancholic (< -0.1), reflective. Genres per mood: `GENRES`.

Targets for ranking: tempo (Slow 0.15, Medium 0.5, Fast 0.9, or the measured tempo), energy = the
energy, mode = major when valence >= 0.1 / minor when < -0.1 (no target between), brightness =
clip(1.3 * frame brightness).
"""

from __future__ import annotations

import numpy as np

from sensorium.music.labels import tempo_class, tempo_norm
from sensorium.music.ranking import Targets
from sensorium.music.schemas import Energy, Tempo, VideoMusicAnalysis, VideoSignals

GENRES = {
    "energetic": ["Electronic", "Pop", "Dance"],
    "tense": ["Rock", "Electronic", "Soundtrack"],
    "driving": ["Rock", "Hip hop", "Funk"],
    "peaceful": ["Ambient", "Classical", "Folk"],
    "melancholic": ["Classical (piano)", "Ambient", "Jazz"],
    "reflective": ["Jazz", "Ambient", "Acoustic"],
}
TEMPO_TARGET = {"Slow": 0.15, "Medium": 0.5, "Fast": 0.9}
BPM_RANGE = {"Slow": "60-90 BPM", "Medium": "90-120 BPM", "Fast": "120-160 BPM"}
POSITIVE, NEGATIVE = ("happy", "surprise"), ("sad", "angry", "fear", "disgust")


def energy_of(s: VideoSignals, rules: list[str]) -> float:
    parts = [(float(np.clip(s.motion / 12, 0, 1)), 0.40), (float(np.clip(s.cuts_per_minute / 30, 0, 1)), 0.35)]
    if s.audio_loudness_lufs is not None and np.isfinite(s.audio_loudness_lufs):
        parts.append((float(np.clip((s.audio_loudness_lufs + 40) / 30, 0, 1)), 0.25))
    energy = sum(v * w for v, w in parts) / sum(w for _, w in parts)
    rules.append(f"energy {energy:.2f} = motion {s.motion:.1f}, {s.cuts_per_minute:.0f} cuts/min"
                 + (f", audio {s.audio_loudness_lufs:.0f} LUFS" if len(parts) == 3 else ", no audio"))
    if s.brightness < 0.25:
        energy -= 0.10
        rules.append(f"dark frames (brightness {s.brightness:.2f}): energy -0.10")
    if s.people >= 3:
        energy += 0.05
        rules.append(f"{s.people} people on screen: energy +0.05")
    return float(np.clip(energy, 0, 1))


def valence_of(s: VideoSignals, rules: list[str]) -> float:
    v = 0.9 * (s.brightness - 0.45) + 0.4 * (float(np.clip(s.colorfulness / 60, 0, 1)) - 0.4)
    faces = sum(s.expressions.values())
    if faces:
        pos = sum(s.expressions.get(e, 0) for e in POSITIVE)
        neg = sum(s.expressions.get(e, 0) for e in NEGATIVE)
        v += 0.5 * (pos - neg) / faces
        rules.append(f"faces: {pos} positive, {neg} negative of {faces}")
    if s.sentiment is not None:
        v += 0.4 * s.sentiment
        rules.append(f"speech sentiment {s.sentiment:+.2f}")
    v = float(np.clip(v, -1, 1))
    rules.append(f"valence {v:+.2f} from brightness {s.brightness:.2f} and colourfulness {s.colorfulness:.0f}")
    return v


def mood_of(energy: float, valence: float) -> str:
    if energy >= 0.5:
        return "energetic" if valence >= 0.1 else "tense" if valence < -0.1 else "driving"
    return "peaceful" if valence >= 0.1 else "melancholic" if valence < -0.1 else "reflective"


def apply_rules(s: VideoSignals, description: str | None = None) -> VideoMusicAnalysis:
    """The music the video needs, with the rules that fired."""
    rules: list[str] = []
    energy = energy_of(s, rules)
    level: Energy = "Low" if energy < 0.30 else "High" if energy >= 0.60 else "Medium"
    tempo: Tempo
    if s.audio_tempo and (s.music_score or 0) >= 0.3:
        tempo = tempo_class(s.audio_tempo)  # type: ignore[assignment]
        rules.append(f"the video's own music runs at {s.audio_tempo:.0f} BPM: tempo {tempo}")
    else:
        tempo = "Fast" if energy >= 0.60 or s.cuts_per_minute >= 24 else "Slow" if energy < 0.30 else "Medium"
        rules.append(f"tempo {tempo} from energy {energy:.2f} and {s.cuts_per_minute:.0f} cuts/min")
    valence = valence_of(s, rules)
    mood = mood_of(energy, valence)
    genres = GENRES[mood]
    key = "a major key" if valence >= 0.1 else "a minor key" if valence < -0.1 else "any key"
    tone = "bright" if s.brightness >= 0.5 else "dark" if s.brightness < 0.3 else "warm"
    rec = (f"{tempo} ({BPM_RANGE[tempo]}), {mood} {genres[0].lower()} or {genres[1].lower()} music in {key}, "
           f"{level.lower()} energy, {tone} sound")
    keywords = list(dict.fromkeys([mood, tempo.lower(), f"{level.lower()} energy", tone,
                                   *[o for o in list(s.objects)[:4]], *(["speech"] if s.speech_ratio > 0.2 else [])]))
    return VideoMusicAnalysis(
        description=description or describe_signals(s), music_recommendation=rec, keywords=keywords, mood=mood,
        genre_suggestions=genres, tempo=tempo, energy_level=level, energy_score=round(energy, 3),
        valence=round(valence, 3), rules=rules, signals=s)


def targets_of(a: VideoMusicAnalysis) -> Targets:
    """Ranking targets from the analysis (see the module docstring)."""
    t = Targets()
    s = a.signals
    if s.audio_tempo and (s.music_score or 0) >= 0.3:
        t.set("tempo", tempo_norm(s.audio_tempo), f"the video's music ({s.audio_tempo:.0f} BPM)")
    else:
        t.set("tempo", TEMPO_TARGET[a.tempo], f"{a.tempo} pace ({s.cuts_per_minute:.0f} cuts/min)")
    t.set("energy", a.energy_score, f"{a.energy_level} energy (motion {s.motion:.1f})")
    if a.valence >= 0.1:
        t.set("mode", 1.0, f"{a.mood} mood")
    elif a.valence < -0.1:
        t.set("mode", 0.0, f"{a.mood} mood")
    t.set("brightness", float(np.clip(1.3 * s.brightness, 0, 1)), f"frame brightness {s.brightness:.2f}")
    return t


def describe_signals(s: VideoSignals) -> str:
    """A plain description of the video from its signals (when no vision endpoint writes one)."""
    motion = "still" if s.motion < 1 else "slow" if s.motion < 4 else "moderate" if s.motion < 10 else "fast"
    light = "dark" if s.brightness < 0.3 else "bright" if s.brightness > 0.6 else "evenly lit"
    colour = "colourful" if s.colorfulness > 45 else "muted" if s.colorfulness < 20 else "moderately colourful"
    out = (f"A {s.duration:.0f}-second video with {motion} motion and {s.cuts_per_minute:.0f} cuts per minute; "
           f"{light}, {colour} frames")
    things = [f"{n} {k}" if n > 1 else k for k, n in list(s.objects.items())[:4]]
    out += (f" showing {', '.join(things)}." if things else ".")
    if s.speech_ratio > 0.1:
        out += f" Speech in {100 * s.speech_ratio:.0f}% of the audio"
        out += f': "{s.transcript[:100]}".' if s.transcript else "."
    return out
