"""Frames -> what the scene should sound like (pure: findings and pixels in, phrases and words out).

The per-frame visual findings (objects, people, colours, brightness) come from the vision capability;
this module merges them, adds motion cues, maps objects to sound phrases (`OBJECT_SOUNDS`) and writes
the `audio_description`. With a vision LLM client the description is written by the endpoint instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.models.llm import VisionLLM
from sensorium.sound.schemas import MAX_FRAMES, FrameDescription, Motion, SoundPhrase, VisualSummary
from sensorium.sound.text_query import phrases_of
from sensorium.sound.vocabulary import OBJECT_SOUNDS, VEHICLES

#: one frame's findings, as the vision capability reports them (`objects`, `people`, `colors`, `quality`)
Findings = dict[str, Any]
Phrases = list[tuple[str, float]]


def check_frame_count(n: int) -> None:
    if n < 1:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "At least one frame is needed.",
                             details={"param": "frames"})
    if n > MAX_FRAMES:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"At most {MAX_FRAMES} frames are accepted; got {n}.",
                             details={"param": "frames"})


def _gray_small(bgr: np.ndarray) -> np.ndarray:
    import cv2

    g = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return cv2.resize(g, (64, 48), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _area(o: dict[str, Any]) -> float:
    x1, y1, x2, y2 = o["box"]
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)


def motion_cues(frames_bgr: Sequence[np.ndarray], findings: Sequence[Findings]) -> Motion:
    """Frame-difference energy and per-label displacement of the largest box between frames."""
    if len(frames_bgr) < 2:
        return Motion(frame_difference=None, moving=[], level="unknown")
    smalls = [_gray_small(f) for f in frames_bgr]
    diffs = [float(np.abs(a - b).mean()) for a, b in zip(smalls, smalls[1:], strict=False)]
    moving: dict[str, float] = {}
    for fa, fb, ia in zip(findings, findings[1:], frames_bgr, strict=False):
        width = float(max(ia.shape[1], 1))
        for label in {o["label"] for o in fa.get("objects") or []} & {o["label"] for o in fb.get("objects") or []}:
            ba = max((o for o in fa["objects"] if o["label"] == label), key=_area)
            bb = max((o for o in fb["objects"] if o["label"] == label), key=_area)
            ca = (ba["box"][0] + ba["box"][2]) / 2
            cb = (bb["box"][0] + bb["box"][2]) / 2
            shift = abs(cb - ca) / width
            moving[label] = max(moving.get(label, 0.0), shift)
    mean_diff = float(np.mean(diffs))
    level = "static" if mean_diff < 0.02 else "some movement" if mean_diff < 0.08 else "fast movement"
    return Motion(frame_difference=round(mean_diff, 4), level=level,
                  moving=sorted(k for k, v in moving.items() if v >= 0.03))


def _salience(findings: Sequence[Findings], frame_sizes: Sequence[tuple[int, int]]
              ) -> tuple[dict[str, float], dict[str, int]]:
    """Per label: salience (confidence x area, summed over its boxes; best frame) and largest count."""
    salience: dict[str, float] = {}
    counts: dict[str, int] = {}
    for f, (w, h) in zip(findings, frame_sizes, strict=False):
        frame_area = float(max(w * h, 1))
        per_label: dict[str, list[dict[str, Any]]] = {}
        for o in f.get("objects") or []:
            per_label.setdefault(o["label"], []).append(o)
        for label, objs in per_label.items():
            counts[label] = max(counts.get(label, 0), len(objs))
            s = sum(float(o.get("score", 0.5)) * (0.05 + min(1.0, _area(o) / frame_area)) for o in objs)
            salience[label] = max(salience.get(label, 0.0), s)
    return salience, counts


def _scene_cue(findings: Sequence[Findings], mean_b: float | None) -> str:
    """A weak ambience guess for frames without any sounding object."""
    if mean_b is not None and mean_b < 0.25:
        return "quiet night ambience, crickets"
    colours = [c.get("name", "") for f in findings for c in ((f.get("colors") or {}).get("dominant") or [])[:2]]
    if any("green" in c for c in colours):
        return "outdoor nature ambience, birds and rustling leaves"
    if any("blue" in c for c in colours):
        return "wind outdoors"
    return "quiet room tone"


def sound_phrases(findings: Sequence[Findings], motion: Motion,
                  frame_sizes: Sequence[tuple[int, int]]) -> tuple[Phrases, VisualSummary]:
    """Weighted sound phrases from merged findings, and the merged visual summary."""
    salience, counts = _salience(findings, frame_sizes)
    phrases: dict[str, float] = {}

    def add(p: str, weight: float) -> None:
        phrases[p] = max(phrases.get(p, 0.0), weight)

    for label, s in sorted(salience.items(), key=lambda kv: -kv[1]):
        for rank, p in enumerate(OBJECT_SOUNDS.get(label, [])):
            add(p, s * (1.0 if rank == 0 else 0.7))
    vehicles = [v for v in VEHICLES if v in salience]
    if vehicles and len(vehicles) + sum(counts.get(v, 0) for v in vehicles) >= 3:
        add("busy city traffic", max(salience[v] for v in vehicles))
    n_people = max(counts.get("person", 0), max((int((f.get("people") or {}).get("count") or 0)
                                                 for f in findings), default=0))
    if n_people >= 5:
        add("crowd chatter", salience.get("person", 0.3))
    moving = set(motion.moving)
    if "person" in moving:
        add("footsteps", salience.get("person", 0.3) * 1.1)
    for v in vehicles:
        if v in moving:
            add(f"{v} passing by", salience[v])
    brightness = [float((f.get("quality") or {}).get("brightness", 0.5)) for f in findings if f.get("quality")]
    mean_b = float(np.mean(brightness)) if brightness else None
    if not phrases:  # no sounding objects: fall back on weak scene cues
        add(_scene_cue(findings, mean_b), 0.3)
    total = sum(phrases.values()) or 1.0
    ranked = sorted(((p, w / total) for p, w in phrases.items()), key=lambda kv: -kv[1])[:8]
    summary = VisualSummary(objects={k: counts[k] for k in sorted(counts, key=lambda k: -salience[k])},
                            people=n_people, motion=motion,
                            brightness=round(mean_b, 3) if mean_b is not None else None)
    return ranked, summary


def describe_sounds(phrases: Sequence[tuple[str, float]]) -> str:
    """"Sounds of traffic, a bus engine and people talking." from weighted phrases."""
    if not phrases:
        return "Quiet ambience."
    items = []
    for p, _ in phrases[:6]:
        words = p.split()
        countable = words[-1] in ("engine", "horn", "bell", "flush", "dryer", "oven") or p.endswith("passing by")
        items.append(("a " + p) if countable and not p.startswith(("a ", "the ")) else p)
    body = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return f"Sounds of {body}."


def llm_description(llm: VisionLLM, frames: Sequence[np.ndarray], summary: VisualSummary) -> str | None:
    """Audio description written by the OpenAI-compatible vision endpoint (up to 3 frames + findings)."""
    picks = list(frames) if len(frames) <= 3 else [frames[0], frames[len(frames) // 2], frames[-1]]
    text = (f"Detector findings over {len(frames)} frame(s) (JSON): "
            f"{json.dumps(summary.model_dump(), default=str)}\n\n"
            "You are a sound designer. In one sentence that starts with 'Sounds of', list the sounds one "
            "would hear in this scene (ambience, sources, actions), most prominent first, at most 200 "
            "characters. Name sounds, not pictures.")
    out = llm.chat(llm.build_request(picks, text, max_tokens=120)).strip().strip('"')
    return out[:300] or None


def describe_frames(frames_bgr: Sequence[np.ndarray], findings: Sequence[Findings],
                    llm: VisionLLM | None = None) -> tuple[FrameDescription, Phrases]:
    """The audio description of 1-20 frames and the weighted phrases to search for it.

    With `llm` the endpoint writes the description (its phrases lead, the findings' phrases follow at
    half weight); if it fails, the findings' description stays and `notes` says why.
    """
    motion = motion_cues(frames_bgr, findings)
    sizes = [(f.shape[1], f.shape[0]) for f in frames_bgr]
    phrases, summary = sound_phrases(findings, motion, sizes)
    description = describe_sounds(phrases)
    source = "findings"
    notes: list[str] = []
    if llm is not None:
        try:
            text = llm_description(llm, frames_bgr, summary)
            if text:
                description, source = text, "llm"
                llm_phrases = phrases_of(re.sub(r"^\s*sounds? of\s+", "", text, flags=re.I))
                phrases = [(p, 1.0 if i == 0 else 0.6) for i, p in enumerate(llm_phrases)] + \
                    [(p, w * 0.5) for p, w in phrases]
        except SensoriumError as exc:
            notes.append(f"The vision endpoint failed ({exc.message}); the description comes from the findings.")
    desc = FrameDescription(audio_description=description, description_source=source,
                            sound_phrases=[SoundPhrase(phrase=p, weight=round(w, 4)) for p, w in phrases],
                            visual_summary=summary, notes=notes)
    return desc, phrases
