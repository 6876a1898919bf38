"""A video over time: per-frame entries, the summary (objects appearing and leaving, text shown,
scene changes, motion, a fluent overview) and the findings aggregated over the sampled frames."""

from __future__ import annotations

from collections import Counter

import numpy as np

from sensorium.media import scenes
from sensorium.media.video import SampledFrame
from sensorium.vision import describe as words
from sensorium.vision.answer import fmt_time
from sensorium.vision.schemas import (
    Findings,
    FrameAnalysis,
    FrameFace,
    FrameMotion,
    FramePeople,
    MotionSummary,
    ObjectTrack,
    People,
    SceneChange,
    SummaryPeople,
    TextFindings,
    TextLine,
    TextSeen,
    TimelineEvent,
    VideoSummary,
    given,
)

MAX_OVERVIEW_SENTENCES = 8


def frame_entry(sf: SampledFrame, f: Findings, *, include_timestamps: bool, max_length: int) -> FrameAnalysis:
    """The `frames[]` item of one analysed frame."""
    faces = [FrameFace(box=x.box, expression=x.expression, expression_scores=x.expression_scores,
                       smiling=given(x.smiling)) for x in (f.people.faces or [])]
    text = given(f.text)
    quality = given(f.quality)
    motion = sf.extra.get("motion")
    entry = FrameAnalysis(
        frame_number=sf.index,
        description=words.describe_findings(f, max_length, kind="frame"),
        objects=f.objects,
        object_counts=f.object_counts,
        people=FramePeople(count=f.people.count, faces=faces),
        text=[t.text for t in text.lines] if text and text.lines is not None else None,
        colors=words.color_names(f)[:3],
        brightness=quality.brightness if quality else None,
        motion=FrameMotion(value=motion, label=scenes.motion_label(motion)) if motion is not None else None,
        scene_change=bool(sf.scene_change),
    )
    if include_timestamps:
        entry.timestamp = round(sf.timestamp, 3)
    if sf.score is not None:
        entry.scene_change_score = sf.score
    return entry


def _tracks(frames: list[FrameAnalysis], times: list[float]) -> list[ObjectTrack]:
    seen: dict[str, tuple[float, float, int, list[int]]] = {}  # label -> first, last, frames, counts
    for fr, t in zip(frames, times, strict=True):
        for label, n in fr.object_counts.items():
            first, _, k, counts = seen.get(label, (t, t, 0, []))
            seen[label] = (first, t, k + 1, [*counts, n])
    tracks = [ObjectTrack(label=label, first_seen=first, last_seen=last, max_count=max(counts), frames=k,
                          typical_count=Counter(counts).most_common(1)[0][0])
              for label, (first, last, k, counts) in seen.items()]
    return sorted(tracks, key=lambda x: (x.first_seen, -x.max_count))


def _events(frames: list[FrameAnalysis], times: list[float]) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    prev: dict[str, int] = {}
    for i, (fr, t) in enumerate(zip(frames, times, strict=True)):
        cur = dict(fr.object_counts)
        for label in sorted(set(cur) | set(prev)):
            a, b = prev.get(label, 0), cur.get(label, 0)
            if i == 0:
                if b:
                    events.append(TimelineEvent(timestamp=t, event="present", label=label, count=b))
            elif a == 0 and b > 0:
                events.append(TimelineEvent(timestamp=t, event="appears", label=label, count=b))
            elif a > 0 and b == 0:
                events.append(TimelineEvent(timestamp=t, event="leaves", label=label, count=a))
            elif a != b:
                events.append(TimelineEvent(timestamp=t, event="count_changes", label=label, from_count=a, to=b))
        prev = cur
    return events


def _texts(frames: list[FrameAnalysis], times: list[float]) -> list[TextSeen]:
    texts: list[TextSeen] = []
    seen: dict[str, TextSeen] = {}
    for fr, t in zip(frames, times, strict=True):
        for line in fr.text or []:
            key = line.strip().lower()
            if key in seen:
                seen[key].last_seen = t
            else:
                seen[key] = TextSeen(text=line, first_seen=t, last_seen=t)
                texts.append(seen[key])
    return texts


def _event_sentence(ev: TimelineEvent, present: list[ObjectTrack]) -> str | None:
    count = given(ev.count) or 0
    if ev.event == "appears":
        verb = "appears" if count == 1 else "appear"
        return f"{words.cap(words.counted(ev.label, count))} {verb} at {fmt_time(ev.timestamp)}."
    if ev.event == "leaves":
        return (f"The {words.plural(ev.label, count)} {'is' if count == 1 else 'are'} gone by "
                f"{fmt_time(ev.timestamp)}.")
    if ev.event == "present" and not any(t.label == ev.label for t in present):
        return f"It opens with {words.counted(ev.label, count)}."
    if ev.event == "count_changes":
        to = given(ev.to) or 0
        return f"At {fmt_time(ev.timestamp)} there {'is' if to == 1 else 'are'} {words.counted(ev.label, to)}."
    return None


def overview(tracks: list[ObjectTrack], events: list[TimelineEvent], cuts: list[SceneChange] | None,
             texts: list[TextSeen], duration: float, n_frames: int) -> str:
    """'A 5-second video showing a bus throughout. Two people appear at 1.5 s. ...'"""
    parts: list[str] = []
    present = [t for t in tracks if t.frames == n_frames]
    dur = f"{duration:.0f}-second" if duration >= 1.5 else f"{duration:.1f}-second"
    if present:
        shown = words.join_words([words.counted(t.label, t.typical_count) for t in present[:4]])
        parts.append(f"A {dur} video showing {shown} throughout.")
    elif tracks:
        parts.append(f"A {dur} video.")
    else:
        parts.append(f"A {dur} video with no recognizable objects or people in the sampled frames.")
    for ev in events:
        sentence = _event_sentence(ev, present)
        if sentence:
            parts.append(sentence)
        if len(parts) >= MAX_OVERVIEW_SENTENCES:
            parts.append("(More changes in `events`.)")
            break
    if cuts:
        parts.append(f"The scene changes {len(cuts)} time{'s' if len(cuts) != 1 else ''} (at "
                     + ", ".join(fmt_time(c.timestamp) for c in cuts[:5]) + (", ..." if len(cuts) > 5 else "") + ").")
    if texts:
        shown = "; ".join(f'"{t.text}"' for t in texts[:3])
        parts.append(f"Text shown: {shown}.")
    return " ".join(parts)


def summarize(frames: list[FrameAnalysis], duration: float, cuts: list[SceneChange] | None,
              sampling: str, times: list[float]) -> VideoSummary:
    """What happens over time, from the sampled frames (`times`: their timestamps in seconds)."""
    times = [round(t, 3) for t in times]
    tracks, events, texts = _tracks(frames, times), _events(frames, times), _texts(frames, times)
    people_counts = [fr.people.count for fr in frames]
    expr = [f.expression for fr in frames for f in fr.people.faces if f.expression]
    motions = [fr.motion.value for fr in frames if fr.motion]
    return VideoSummary(
        objects=tracks,
        events=events,
        people=SummaryPeople(max_count=max(people_counts) if people_counts else 0, counts=people_counts,
                             expressions=dict(Counter(expr).most_common()) if expr else {}),
        text=texts,
        scene_changes=cuts,
        motion=MotionSummary(mean=round(float(np.mean(motions)), 2) if motions else None,
                             label=scenes.motion_label(float(np.mean(motions))) if motions else None),
        scene_change_method=(
            "content (HSV thumbnail difference over every frame)" if sampling == "keyframes"
            else "between sampled frames only (use frame_sampling=keyframes to scan every frame)"),
        text_summary=overview(tracks, events, cuts, texts, duration, len(frames)),
    )


def aggregate_findings(frames: list[FrameAnalysis], frame_findings: list[Findings]) -> Findings:
    """One findings for the whole video (peak counts, union of text) for prompt answers."""
    best_by_label: dict[str, tuple[int, list]] = {}
    for f in frame_findings:
        for label, n in f.object_counts.items():
            if n > best_by_label.get(label, (0, []))[0]:
                best_by_label[label] = (n, [o for o in f.objects if o.label == label])
    lines: list[TextLine] = []
    seen: set[str] = set()
    for fr in frames:
        for t in fr.text or []:
            if t.lower() not in seen:
                seen.add(t.lower())
                lines.append(TextLine(text=t))
    ocr_ran = any(fr.text is not None for fr in frames)
    if not frame_findings:
        return Findings(objects=[], object_counts={}, people=People(count=0, faces=None, poses=None),
                        text=TextFindings(lines=lines if ocr_ran else None), colors=None, quality=None)
    peak = max(frame_findings, key=lambda f: f.people.count)
    mid = frame_findings[len(frame_findings) // 2]
    return Findings(
        objects=[o for _, objs in best_by_label.values() for o in objs],
        object_counts={k: v[0] for k, v in best_by_label.items()},
        people=peak.people,
        text=TextFindings(lines=lines if ocr_ran else None),
        colors=given(mid.colors),
        quality=given(mid.quality),
        image=mid.image,
    )
