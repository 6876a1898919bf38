"""What a track is, in words: the YAMNet profile restricted to AudioSet's music classes, the descriptor
words derived from the audio features, and the generated text description that MiniLM embeds.

Music classes come from the AudioSet ontology shipped next to YAMNet (`audioset_ontology.json`):
genres = descendants of "Music genre", moods = children of "Music mood", instruments = descendants of
"Musical instrument". Without the ontology file a built-in list of the common ones is used.

Descriptor scales (absolute, so a track's words do not change when the library grows):
* tempo class: Slow < 90 BPM <= Medium <= 120 BPM < Fast; `tempo_norm` = (BPM - 60) / 100, clipped 0-1;
* energy = 0.7 * clip((RMS dBFS + 40) / 28) + 0.3 * clip(onsets per s / 6);
* brightness = log2(centroid / 250 Hz) / 4, clipped 0-1 (250 Hz -> 0, 4 kHz -> 1);
* mood words from energy x mode: high+major "energetic, upbeat, happy"; high+minor "intense, driving,
  dark"; low+major "calm, peaceful, gentle"; low+minor "sad, melancholic, dark" (middle: "moderate").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensorium.music.features import AudioFeatures

FALLBACK = {
    "genre": ["Pop music", "Hip hop music", "Rock music", "Rhythm and blues", "Soul music", "Reggae", "Country",
              "Funk", "Folk music", "Jazz", "Disco", "Classical music", "Electronic music", "Blues",
              "New-age music", "Ambient music", "Techno", "House music", "Drum and bass", "Heavy metal"],
    "mood": ["Happy music", "Funny music", "Sad music", "Tender music", "Exciting music", "Angry music",
             "Scary music"],
    "instrument": ["Piano", "Guitar", "Electric guitar", "Acoustic guitar", "Drum kit", "Drum", "Violin, fiddle",
                   "Bowed string instrument", "Orchestra", "Synthesizer", "Vibraphone", "Saxophone", "Trumpet",
                   "Bass guitar", "Organ", "Flute", "Harp", "Choir", "Percussion", "Keyboard (musical)"],
}
ROOTS = {"genre": "Music genre", "mood": "Music mood", "instrument": "Musical instrument"}
TOP = {"genre": 3, "mood": 2, "instrument": 3}
MIN_SCORE = 0.05


@dataclass
class MusicClasses:
    """Indices into YAMNet's 521 classes, per group."""

    names: list[str]
    groups: dict[str, list[int]] = field(default_factory=dict)

    @property
    def all_music(self) -> list[int]:
        return sorted({i for idx in self.groups.values() for i in idx} | {self.names.index("Music")}
                      if "Music" in self.names else {i for idx in self.groups.values() for i in idx})


def music_classes(class_names: list[str], ontology: Path | None) -> MusicClasses:
    """The YAMNet classes of each music group (from the ontology when readable)."""
    groups: dict[str, set[str]] = {g: set(v) for g, v in FALLBACK.items()}
    if ontology is not None and ontology.is_file():
        try:
            nodes = json.loads(ontology.read_text(encoding="utf-8"))
            by_id = {n["id"]: n for n in nodes}
            by_name = {n["name"]: n for n in nodes}
            for group, root in ROOTS.items():
                todo = list(by_name[root]["child_ids"]) if root in by_name else []
                found: set[str] = set()
                while todo:
                    node = by_id.get(todo.pop())
                    if node is None or node["name"] in found:
                        continue
                    found.add(node["name"])
                    if group != "mood":
                        todo.extend(node.get("child_ids", []))
                groups[group] = found or groups[group]
        except (OSError, ValueError, KeyError):
            pass
    index = {n: i for i, n in enumerate(class_names)}
    return MusicClasses(names=class_names,
                        groups={g: sorted(index[n] for n in names if n in index) for g, names in groups.items()})


def music_profile(scores: np.ndarray) -> np.ndarray:
    """Per-track profile over the 521 classes: mean of frame scores blended with their 90th percentile
    (a whole track: sections count, single frames do not dominate)."""
    if scores.ndim == 1 or len(scores) == 1:
        return np.asarray(scores, dtype=np.float32).reshape(-1)
    return (0.5 * scores.mean(axis=0) + 0.5 * np.percentile(scores, 90, axis=0)).astype(np.float32)


def top_labels(profile: np.ndarray, classes: MusicClasses) -> dict[str, list[dict[str, float | str]]]:
    """The strongest genres, moods and instruments ({label, score}), weak ones left out."""
    out: dict[str, list[dict[str, float | str]]] = {}
    for group, idx in classes.groups.items():
        ranked = sorted(idx, key=lambda i: -float(profile[i]))[:TOP[group]]
        out[group] = [{"label": classes.names[i], "score": round(float(profile[i]), 3)} for i in ranked
                      if profile[i] >= MIN_SCORE]
    return out


def tempo_class(bpm: float) -> str:
    return "Slow" if bpm < 90 else "Fast" if bpm > 120 else "Medium"


def tempo_norm(bpm: float) -> float:
    return float(np.clip((bpm - 60.0) / 100.0, 0, 1))


def energy_of(f: AudioFeatures) -> float:
    return float(0.7 * np.clip((f.rms_db + 40) / 28, 0, 1) + 0.3 * np.clip(f.onset_density / 6, 0, 1))


def brightness_of(f: AudioFeatures) -> float:
    return float(np.clip(math.log2(max(f.centroid_hz, 1.0) / 250.0) / 4.0, 0, 1))


def mood_words(energy: float, mode: str) -> list[str]:
    if energy >= 0.6:
        return ["energetic", "upbeat", "happy"] if mode == "major" else ["intense", "driving", "dark"]
    if energy < 0.4:
        return ["calm", "peaceful", "gentle"] if mode == "major" else ["sad", "melancholic", "dark"]
    return ["moderate", "warm"] if mode == "major" else ["moderate", "moody"]


def describe_track(title: str, artists: list[str], album: str | None, f: AudioFeatures,
                   labels: dict[str, list[dict[str, float | str]]]) -> str:
    """The track's text description (what text queries are matched against)."""
    energy, bright = energy_of(f), brightness_of(f)
    words = mood_words(energy, f.mode)
    pace = {"Slow": "slow", "Medium": "mid-tempo", "Fast": "fast"}[tempo_class(f.tempo)]
    level = "loud high-energy" if energy >= 0.6 else "quiet low-energy" if energy < 0.4 else "medium-energy"
    tone = "bright" if bright >= 0.5 else "dark, mellow" if bright < 0.3 else "warm"
    parts = [f"A {pace}, {words[0]} track at {f.tempo:.0f} BPM in {f.key} {f.mode}: {level}, {tone} sound, "
             f"{'strong beat' if f.beat_strength >= 3 else 'soft pulse'}; feels {', '.join(words)}."]
    for group, lead in (("genre", "Genre"), ("mood", "Mood"), ("instrument", "Instruments")):
        names = [str(x["label"]) for x in labels.get(group, [])]
        if names:
            parts.append(f"{lead}: {', '.join(names)}.")
    by = f" by {', '.join(artists)}" if artists else ""
    parts.append(f'"{title}"{by}' + (f" from {album}." if album else "."))
    return " ".join(parts)
