"""Video analysis: sampled frames through the image detectors, a summary over time, the audio track.

    analyze_video_file(path, registry, settings, VideoOptions(num_frames=5, frame_sampling="uniform"))

* Frames: `uniform` = centres of n equal slices (seek to keyframe + forward decode), `keyframes` =
  the opening frame and the strongest real scene changes found from the picture content
  (media.video.detect_scenes). Each frame gets objects, people (count, faces + expressions), OCR
  text, colours, motion and a one-sentence description.
* Summary: objects and people appearing and leaving (first/last sampled time, peak count), text
  shown, scene changes, motion, a fluent overview.
* Audio (when the container has an audio track): Whisper transcription with language detection
  (`sensorium.speech.transcribe.transcribe`) and YAMNet sound events.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media import scenes
from sensorium.media import video as vid
from sensorium.models.registry import ModelRegistry
from sensorium.vision import describe as words
from sensorium.vision.image import ImageOptions, _Run, analyze_bgr

log = logging.getLogger(__name__)

MAX_FRAMES = 100
FRAME_SIDE = 1280  # frames are analysed at most this size (boxes are reported in video pixels)
YAMNET = "yamnet"
SOUND_EVENT_THRESHOLD = 0.3
OCR_DET_SIDE = 640
SAME_FRAME_CHANGE = 2.0  # HSV thumbnail difference below which two frames count as the same picture
#: YAMNet classes that mean someone is speaking (Whisper is skipped when none of them scores)
SPEECH_CLASSES = ("Speech", "Child speech, kid speaking", "Conversation", "Narration, monologue",
                  "Male speech, man speaking", "Female speech, woman speaking", "Speech synthesizer",
                  "Babbling", "Whispering", "Shout", "Yell", "Singing", "Rapping", "Chant")
SPEECH_GATE = 0.1


@dataclass
class VideoOptions:
    num_frames: int = 5
    prompt: str | None = None
    include_timestamps: bool = True
    frame_sampling: str = "uniform"
    max_length: int = 200
    audio: bool = True
    ocr: bool = True
    use_llm: bool = True


def options_to_params(opts: VideoOptions) -> dict[str, Any]:
    return asdict(opts)


def options_from_params(params: dict[str, Any]) -> VideoOptions:
    return VideoOptions(**params)


def validate_options(opts: VideoOptions) -> VideoOptions:
    if not isinstance(opts.num_frames, int) or opts.num_frames < 1 or opts.num_frames > MAX_FRAMES:
        raise SensoriumError(
            ErrorCode.VALIDATION_ERROR,
            f"num_frames must be between 1 and {MAX_FRAMES} (got {opts.num_frames}).",
            details={"param": "num_frames", "min": 1, "max": MAX_FRAMES},
        )
    if opts.frame_sampling not in vid.SAMPLING_MODES:
        raise SensoriumError(
            ErrorCode.VALIDATION_ERROR,
            f"Unknown frame_sampling {opts.frame_sampling!r}: use 'uniform' or 'keyframes'.",
            details={"param": "frame_sampling", "allowed": list(vid.SAMPLING_MODES)},
        )
    if opts.max_length < 1:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, "max_length must be at least 1.",
                             details={"param": "max_length"})
    return opts


# ------------------------------------------------------------------------------------------------
def _frame_entry(sf: vid.SampledFrame, f: dict[str, Any], opts: VideoOptions) -> dict[str, Any]:
    people = f.get("people") or {}
    faces = [{k: x.get(k) for k in ("box", "expression", "expression_scores", "smiling")}
             for x in (people.get("faces") or [])]
    entry: dict[str, Any] = {"frame_number": sf.index}
    if opts.include_timestamps:
        entry["timestamp"] = round(sf.timestamp, 3)
    entry["description"] = words.describe_findings(f, opts.max_length, kind="frame")
    entry["objects"] = f.get("objects") or []
    entry["object_counts"] = f.get("object_counts") or {}
    entry["people"] = {"count": people.get("count", 0), "faces": faces}
    text = f.get("text")
    entry["text"] = [t["text"] for t in (text.get("lines") or [])] if text and text.get("lines") is not None else None
    entry["colors"] = [c["name"] for c in ((f.get("colors") or {}).get("dominant") or [])][:3]
    entry["brightness"] = (f.get("quality") or {}).get("brightness")
    motion = sf.extra.get("motion")
    entry["motion"] = {"value": motion, "label": scenes.motion_label(motion)} if motion is not None else None
    entry["scene_change"] = bool(sf.scene_change)
    if sf.score is not None:
        entry["scene_change_score"] = sf.score
    return entry


def _fmt_t(t: float) -> str:
    if t < 60:
        return f"{t:.1f} s"
    m, s = divmod(t, 60)
    return f"{int(m)}:{s:04.1f}"


def summarize(frames: list[dict[str, Any]], duration: float, cuts: list[dict[str, Any]] | None,
              sampling: str, times: list[float] | None = None) -> dict[str, Any]:
    """What happens over time, from the sampled frames (`times`: their timestamps in seconds)."""
    times = [round(t, 3) for t in times] if times is not None else [fr.get("timestamp", 0.0) for fr in frames]
    tracks: dict[str, dict[str, Any]] = {}
    for fr, t in zip(frames, times, strict=True):
        counts = dict(fr["object_counts"])
        for label, n in counts.items():
            tr = tracks.setdefault(label, {"label": label, "first_seen": t, "last_seen": t, "max_count": 0, "frames": 0,
                                           "_counts": []})
            tr["last_seen"] = t
            tr["max_count"] = max(tr["max_count"], n)
            tr["frames"] += 1
            tr["_counts"].append(n)
    for tr in tracks.values():
        tr["typical_count"] = Counter(tr.pop("_counts")).most_common(1)[0][0]
    events: list[dict[str, Any]] = []
    prev: dict[str, int] = {}
    for i, (fr, t) in enumerate(zip(frames, times, strict=True)):
        cur = dict(fr["object_counts"])
        for label in sorted(set(cur) | set(prev)):
            a, b = prev.get(label, 0), cur.get(label, 0)
            if i == 0:
                if b:
                    events.append({"timestamp": t, "event": "present", "label": label, "count": b})
            elif a == 0 and b > 0:
                events.append({"timestamp": t, "event": "appears", "label": label, "count": b})
            elif a > 0 and b == 0:
                events.append({"timestamp": t, "event": "leaves", "label": label, "count": a})
            elif a != b:
                events.append({"timestamp": t, "event": "count_changes", "label": label, "from": a, "to": b})
        prev = cur
    texts: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    for fr, t in zip(frames, times, strict=True):
        for line in fr.get("text") or []:
            key = line.strip().lower()
            if key in seen:
                seen[key]["last_seen"] = t
            else:
                seen[key] = {"text": line, "first_seen": t, "last_seen": t}
                texts.append(seen[key])
    people_counts = [fr["people"]["count"] for fr in frames]
    expr = [f.get("expression") for fr in frames for f in fr["people"]["faces"] if f.get("expression")]
    motions = [fr["motion"]["value"] for fr in frames if fr.get("motion")]
    summary: dict[str, Any] = {
        "objects": sorted(tracks.values(), key=lambda x: (x["first_seen"], -x["max_count"])),
        "events": events,
        "people": {
            "max_count": max(people_counts) if people_counts else 0,
            "counts": people_counts,
            "expressions": dict(Counter(expr).most_common()) if expr else {},
        },
        "text": texts,
        "scene_changes": cuts if cuts is not None else None,
        "motion": {
            "mean": round(float(np.mean(motions)), 2) if motions else None,
            "label": scenes.motion_label(float(np.mean(motions))) if motions else None,
        },
    }
    summary["scene_change_method"] = (
        "content (HSV thumbnail difference over every frame)" if sampling == "keyframes"
        else "between sampled frames only (use frame_sampling=keyframes to scan every frame)"
    )
    summary["text_summary"] = _overview(summary, duration, frames)
    return summary


def _overview(summary: dict[str, Any], duration: float, frames: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    tracks = summary["objects"]
    present = [t for t in tracks if t["frames"] == len(frames)]
    dur = f"{duration:.0f}-second" if duration >= 1.5 else f"{duration:.1f}-second"
    if present:
        parts.append(f"A {dur} video showing " + words.join_words([words.counted(t["label"], t["typical_count"]) for t in present[:4]]) + " throughout.")
    elif tracks:
        parts.append(f"A {dur} video.")
    else:
        parts.append(f"A {dur} video with no recognizable objects or people in the sampled frames.")
    for ev in summary["events"]:
        if ev["event"] == "appears":
            parts.append(f"{words.cap(words.counted(ev['label'], ev['count']))} appear{'s' if ev['count'] == 1 else ''} at {_fmt_t(ev['timestamp'])}.")
        elif ev["event"] == "leaves":
            parts.append(f"The {words.plural(ev['label'], ev['count'])} {'is' if ev['count'] == 1 else 'are'} gone by {_fmt_t(ev['timestamp'])}.")
        elif ev["event"] == "present" and not any(t["label"] == ev["label"] for t in present):
            parts.append(f"It opens with {words.counted(ev['label'], ev['count'])}.")
        elif ev["event"] == "count_changes":
            parts.append(f"At {_fmt_t(ev['timestamp'])} there {'is' if ev['to'] == 1 else 'are'} {words.counted(ev['label'], ev['to'])}.")
        if len(parts) >= 8:
            parts.append("(More changes in `events`.)")
            break
    cuts = summary.get("scene_changes")
    if cuts:
        parts.append(f"The scene changes {len(cuts)} time{'s' if len(cuts) != 1 else ''} (at "
                     + ", ".join(_fmt_t(c["timestamp"]) for c in cuts[:5]) + (", ..." if len(cuts) > 5 else "") + ").")
    if summary["text"]:
        shown = "; ".join(f'"{t["text"]}"' for t in summary["text"][:3])
        parts.append(f"Text shown: {shown}.")
    return " ".join(parts)


def _aggregate_findings(frames: list[dict[str, Any]], frame_findings: list[dict[str, Any]]) -> dict[str, Any]:
    """One findings dict for the whole video (peak counts, union of text) for prompt answers."""
    best_by_label: dict[str, tuple[int, list[dict[str, Any]]]] = {}
    for f in frame_findings:
        for label, n in (f.get("object_counts") or {}).items():
            if n > best_by_label.get(label, (0, []))[0]:
                best_by_label[label] = (n, [o for o in f["objects"] if o["label"] == label])
    objects = [o for _, objs in best_by_label.values() for o in objs]
    peak_people = max(frame_findings, key=lambda f: (f.get("people") or {}).get("count", 0)) if frame_findings else {}
    lines, seen = [], set()
    for fr in frames:
        for t in fr.get("text") or []:
            if t.lower() not in seen:
                seen.add(t.lower())
                lines.append({"text": t})
    ocr_ran = any(fr.get("text") is not None for fr in frames)
    mid = frame_findings[len(frame_findings) // 2] if frame_findings else {}
    return {
        "objects": objects,
        "object_counts": {k: v[0] for k, v in best_by_label.items()},
        "people": (peak_people.get("people") or {"count": 0}),
        "text": {"lines": lines} if ocr_ran else {"lines": None},
        "colors": mid.get("colors"),
        "quality": mid.get("quality"),
        "image": mid.get("image"),
    }


def _answer_video(question: str, agg: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    q = question.lower()
    audio = result.get("audio")
    if re.search(r"\b(said|say|says|saying|speech|spoken|talk\w*|speak\w*|transcri\w*|words spoken|hear|heard|sound\w*|audio|noise|music)\b", q) \
            and not re.search(r"\b(text|written|sign)\b", q):
        if audio is None:
            return {"answer": "The video has no audio track.", "answerable": True, "basis": "audio"}
        if re.search(r"\b(sound\w*|noise|music|hear|heard)\b", q) and not re.search(r"\b(said|say|speech|talk)", q):
            ev = audio.get("sound_events")
            if ev is None:
                return {"answer": "Sound events were not analyzed (YAMNet is not available).", "answerable": False, "basis": "audio"}
            labels = Counter(e["label"] for e in ev)
            return {"answer": ("Sounds heard: " + words.join_words(list(labels)[:6]) + ".") if labels else "No distinct sound events were detected.",
                    "answerable": True, "basis": "audio"}
        text = (audio.get("transcription") or "").strip()
        return {"answer": f'The speech says: "{text}"' if text else "No speech was detected in the audio track.",
                "answerable": True, "basis": "audio"}
    if re.search(r"\bwhen\b", q):
        label, _ = words.find_subject(q)
        if label:
            tr = [t for t in result["summary"]["objects"] if t["label"] == label]
            if not tr:
                return {"answer": f"No {label} was seen in the sampled frames.", "answerable": True, "basis": "objects"}
            t = tr[0]
            return {"answer": f"{words.cap(words.article(label))} is seen from {_fmt_t(t['first_seen'])} to {_fmt_t(t['last_seen'])} (sampled frames).",
                    "answerable": True, "basis": "objects"}
        if re.search(r"scene|cut", q):
            cuts = result["summary"].get("scene_changes")
            if not cuts:
                return {"answer": "No scene change was found." if cuts is not None else
                        "Scene changes are only scanned with frame_sampling=keyframes.", "answerable": cuts is not None, "basis": "scenes"}
            return {"answer": "Scene changes at " + ", ".join(_fmt_t(c["timestamp"]) for c in cuts) + ".", "answerable": True, "basis": "scenes"}
    if re.search(r"\b(describe|what happens|what is happening|what's happening|summar\w*|what is (in|this)|what do you see)\b", q):
        return {"answer": result.get("description") or result["summary"]["text_summary"], "answerable": True, "basis": "summary"}
    ans = words.answer_question(question, agg, kind="video")
    return ans


# ------------------------------------------------------------------------------------------------
def analyze_audio_track(path: Path, registry: ModelRegistry, settings: Settings, run: _Run,
                        *, check: Callable[[], None] | None = None) -> dict[str, Any]:
    from sensorium.media.audio import load_audio
    from sensorium.speech.transcribe import SR, TranscribeOptions, transcribe

    out: dict[str, Any] = {"transcription": None, "language": None, "sound_events": None}
    try:
        with run.stage("audio_decode"):
            wave = load_audio(path, SR, max_seconds=settings.max_media_duration_seconds, check=check,
                              min_seconds=0.05)
    except SensoriumError as exc:
        if exc.code == ErrorCode.VALIDATION_ERROR:
            raise
        out["error"] = exc.message
        run.notes.append(f"The audio track could not be decoded: {exc.message}")
        return out
    out["duration"] = round(len(wave) / SR, 3)
    speech_score: float | None = None
    spec_names = {s.name for s in registry.specs()}
    if YAMNET in spec_names:
        with run.stage("sound_events"), run.model(YAMNET) as yam:
            if yam is not None:
                analysis = yam.analyze(wave)
                events = yam.sound_events(wave, threshold=SOUND_EVENT_THRESHOLD, analysis=analysis)
                out["sound_events"] = [{"label": e["label"], "start": e["start"],
                                        "end": min(e["end"], out["duration"]), "score": e["score"]} for e in events]
                idx = [i for i, n in enumerate(yam.class_names) if n in SPEECH_CLASSES]
                speech_score = float(analysis[0][:, idx].max()) if idx and len(analysis[0]) else 0.0
    else:
        run.notes.append("Sound events need the yamnet model, which is not registered.")
    if speech_score is not None and speech_score < SPEECH_GATE:
        out.update(transcription="", language=None, language_probability=None, has_speech=False, segments=[])
        out["speech_check"] = f"YAMNet heard no speech (max speech score {speech_score:.2f}); Whisper was not run."
        return out
    with run.stage("speech"):
        try:
            tr = transcribe(wave, registry, settings, TranscribeOptions(language=None), check=check).model_dump()
            out["transcription"] = tr["transcription"]
            out["language"] = tr["language"] if tr["has_speech"] else None
            out["language_probability"] = tr["language_probability"] if tr["has_speech"] else None
            out["has_speech"] = tr["has_speech"]
            out["segments"] = [{k: s.get(k) for k in ("start", "end", "text")} for s in tr["segments"]]
            if tr["model"] not in run.models:
                run.models.append(tr["model"])
        except SensoriumError as exc:
            if exc.code != ErrorCode.MODEL_NOT_LOADED:
                raise
            run.notes.append(f"Speech was not transcribed: {exc.message}")
    return out


def analyze_video_file(
    path: Path,
    registry: ModelRegistry,
    settings: Settings,
    opts: VideoOptions,
    *,
    progress: Callable[[float], None] | None = None,
    check: Callable[[], None] | None = None,
) -> dict[str, Any]:
    validate_options(opts)
    t0 = time.perf_counter()
    run = _Run(registry)
    with run.stage("probe"):
        info = vid.probe_video(path)
    if info.duration > settings.max_media_duration_seconds:
        raise SensoriumError(
            ErrorCode.VALIDATION_ERROR,
            f"The video lasts {info.duration:.0f}s; the limit is {settings.max_media_duration_seconds:.0f}s "
            "(MAX_MEDIA_DURATION_SECONDS).",
        )
    if info.width * info.height > settings.max_image_pixels:
        raise SensoriumError(ErrorCode.FILE_TOO_LARGE,
                             f"The video frames are {info.width}x{info.height}, over MAX_IMAGE_PIXELS.")
    cuts_out: list[dict[str, Any]] | None = None
    stats_scanned: int | None = None
    with run.stage("sample_frames"):
        if opts.frame_sampling == "keyframes":
            cuts, images, stats = scenes.detect_scenes(path, keep=max(0, opts.num_frames - 1),
                                                    keep_max_side=FRAME_SIDE, check=check)
            sampled = scenes.sample_from_scan(path, opts.num_frames, cuts, images, stats, info,
                                           max_side=FRAME_SIDE, check=check)
            cuts_out = [{"timestamp": c.timestamp, "frame_number": c.index, "score": c.score} for c in cuts]
            stats_scanned = stats["frames_scanned"]
        else:
            sampled = scenes.sample_frames(path, opts.num_frames, "uniform", max_side=FRAME_SIDE, info=info, check=check)
    if progress:
        progress(0.15)
    frame_opts = ImageOptions(faces=True, face_mesh=False, pose=False, ocr=opts.ocr, nsfw=False, colors=True,
                              use_llm=False, max_length=opts.max_length, faces_need_person=True,
                              ocr_det_side=OCR_DET_SIDE)
    frames: list[dict[str, Any]] = []
    findings_list: list[dict[str, Any]] = []
    prev: tuple[np.ndarray, dict[str, Any]] | None = None
    for i, sf in enumerate(sampled):
        if check:
            check()
        scale = info.width / sf.image.shape[1] if sf.image.shape[1] else 1.0
        # a frame practically identical to the previous one shows the same text: reuse its OCR
        same = prev is not None and opts.ocr and _frame_change(prev[0], sf.image) < SAME_FRAME_CHANGE
        o = frame_opts if not same else ImageOptions(**{**asdict(frame_opts), "ocr": False})
        f = analyze_bgr(sf.image, registry, o, run=run, scale=scale)
        if same and prev is not None:
            f["text"] = prev[1].get("text")
        prev = (sf.image, f)
        f["image"] = {"width": info.width, "height": info.height}
        findings_list.append(f)
        frames.append(_frame_entry(sf, f, opts))
        if progress:
            progress(0.15 + 0.6 * (i + 1) / len(sampled))
    if cuts_out is None:
        # uniform sampling: strong content changes between consecutive samples
        between = []
        for a, b in zip(sampled, sampled[1:], strict=False):
            score = _frame_change(a.image, b.image)
            if score >= scenes.CUT_THRESHOLD:
                between.append({"between": [round(a.timestamp, 3), round(b.timestamp, 3)], "score": round(score, 2)})
        content_changes = between
    else:
        content_changes = None
    duration = info.duration or (sampled[-1].timestamp if sampled else 0.0)
    result: dict[str, Any] = {}
    result["frames"] = frames
    summary = summarize(frames, duration, cuts_out, opts.frame_sampling, [sf.timestamp for sf in sampled])
    if content_changes is not None:
        summary["content_changes"] = content_changes
    result["summary"] = summary
    if info.has_audio and opts.audio:
        if progress:
            progress(0.8)
        result["audio"] = analyze_audio_track(path, registry, settings, run, check=check)
        tx = (result["audio"].get("transcription") or "").strip()
        if tx:
            shown = tx if len(tx) <= 120 else tx[:117].rsplit(" ", 1)[0] + "…"
            summary["text_summary"] += f' Speech: "{shown}"'
        events = result["audio"].get("sound_events") or []
        if events:
            labels = list(dict.fromkeys(e["label"] for e in sorted(events, key=lambda e: -e["score"])))[:4]
            summary["text_summary"] += " Sounds: " + words.join_words(labels).lower() + "."
    result["duration"] = round(duration, 3)
    result["fps"] = round(info.fps, 3)
    result["resolution"] = info.resolution
    result["width"], result["height"] = info.width, info.height
    result["frame_count"] = info.frame_count
    result["frame_sampling"] = opts.frame_sampling
    result["codec"] = info.codec
    result["has_audio"] = info.has_audio
    # overall description and prompt answer
    description = summary["text_summary"]
    source = "findings"
    agg = _aggregate_findings(frames, findings_list)
    answer = None
    if opts.use_llm and settings.llm_configured:
        from sensorium.models.llm import VisionLLM

        try:
            llm = VisionLLM.from_settings(settings)
            imgs = [sf.image for sf in sampled[:: max(1, len(sampled) // 4)]][:4]
            ctx = {**agg, "summary": summary["text_summary"], "audio": result.get("audio", {}).get("transcription") if result.get("audio") else None}
            with run.stage("llm"):
                description = llm.describe(imgs, ctx, max_length=max(opts.max_length, 300), kind="video")
                if opts.prompt:
                    answer = {"answer": llm.answer(imgs, ctx, opts.prompt, kind="video"), "answerable": True, "basis": "llm"}
            source = "llm"
            run.models.append(f"llm:{settings.llm_model}")
        except SensoriumError as exc:
            run.notes.append(f"The vision LLM endpoint failed ({exc.message}); the description comes from the findings.")
    result["description"] = description
    result["description_source"] = source
    if opts.prompt:
        if answer is None:
            answer = _answer_video(opts.prompt, agg, result)
        result["answer"] = answer["answer"]
        result["answer_details"] = {"answerable": answer["answerable"], "basis": answer["basis"]}
    result["notes"] = run.notes
    decoded_until = None
    if any("stream_ended_before" in sf.extra for sf in sampled):
        decoded_until = max(sf.timestamp for sf in sampled)
    elif stats_scanned is not None and info.frame_count and stats_scanned < 0.9 * info.frame_count:
        decoded_until = stats_scanned / info.fps
    if decoded_until is not None:
        result["notes"].append(
            f"Decoding stopped at about {decoded_until:.1f} s of the stated {info.duration:.1f} s: the file looks "
            "truncated or damaged; later frames are missing."
        )
    if len(sampled) < opts.num_frames:
        result["notes"].append(
            f"{len(sampled)} distinct frames were returned for num_frames={opts.num_frames} "
            f"(the video has {info.frame_count} frames{', or fewer scenes' if opts.frame_sampling == 'keyframes' else ''})."
        )
    result["models"] = run.models
    run.timings["total"] = round((time.perf_counter() - t0) * 1000, 1)
    result["timings_ms"] = run.timings
    if progress:
        progress(1.0)
    return result


def _frame_change(a: np.ndarray, b: np.ndarray) -> float:
    import cv2

    def thumb(x: np.ndarray) -> np.ndarray:
        h, w = x.shape[:2]
        th = max(2, int(round(h * vid.THUMB / max(1, w))))
        return cv2.cvtColor(cv2.resize(x, (vid.THUMB, th), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2HSV).astype(np.int16)

    return scenes._content_score(thumb(a), thumb(b))
