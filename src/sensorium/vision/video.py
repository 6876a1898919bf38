"""Video analysis: sampled frames through the image detectors, a summary over time, the audio track.

    analyze_video(path, registry, settings, VideoOptions(num_frames=5), soundtrack=..., llm=...)

* Frames: `uniform` = centres of n equal slices (seek to keyframe + forward decode), `keyframes` =
  the opening frame and the strongest real scene changes found from the picture content
  (media.scenes.detect_scenes). Each frame gets objects, people (count, faces + expressions), OCR
  text, colours, motion and a one-sentence description.
* Summary (`timeline.py`): objects and people appearing and leaving (first/last sampled time, peak
  count), text shown, scene changes, motion, a fluent overview.
* Audio (when the container has an audio track): `soundtrack(run)`, given by the caller (the
  service: YAMNet sound events and the speech capability's transcription, see `soundtrack.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media import scenes
from sensorium.media import video as vid
from sensorium.models.llm import VisionLLM
from sensorium.models.registry import ModelRegistry
from sensorium.vision import describe as words
from sensorium.vision.answer import answer_video
from sensorium.vision.image import analyze_bgr
from sensorium.vision.runs import Run, side_pool
from sensorium.vision.schemas import (
    Answer,
    AnswerDetails,
    AudioTrack,
    ContentChange,
    Findings,
    FrameAnalysis,
    ImageInfo,
    ImageOptions,
    SceneChange,
    VideoAnalysis,
    VideoOptions,
    VideoSummary,
    given,
)
from sensorium.vision.timeline import aggregate_findings, frame_entry, summarize

FRAME_SIDE = 1280  # frames are analysed at most this size (boxes are reported in video pixels)
OCR_DET_SIDE = 640
SAME_FRAME_CHANGE = 2.0  # HSV thumbnail difference below which two frames count as the same picture
LLM_FRAMES = 4
Progress = Callable[[float], None]
Check = Callable[[], None]
Soundtrack = Callable[[Run], AudioTrack]


@dataclass
class _Sampling:
    frames: list[vid.SampledFrame]
    cuts: list[SceneChange] | None  # keyframes sampling: every cut found
    scanned: int | None  # keyframes sampling: frames decoded by the scan


def _probe(path: Path, settings: Settings, run: Run) -> vid.VideoInfo:
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
    return info


def _sample(path: Path, opts: VideoOptions, info: vid.VideoInfo, run: Run, check: Check | None) -> _Sampling:
    with run.stage("sample_frames"):
        if opts.frame_sampling != "keyframes":
            return _Sampling(scenes.sample_frames(path, opts.num_frames, "uniform", max_side=FRAME_SIDE, info=info,
                                                  check=check), None, None)
        cuts, images, stats = scenes.detect_scenes(path, keep=max(0, opts.num_frames - 1),
                                                   keep_max_side=FRAME_SIDE, check=check)
        sampled = scenes.sample_from_scan(path, opts.num_frames, cuts, images, stats, info,
                                          max_side=FRAME_SIDE, check=check)
        return _Sampling(sampled, [SceneChange(timestamp=c.timestamp, frame_number=c.index, score=c.score)
                                   for c in cuts], stats["frames_scanned"])


def frame_change(a: np.ndarray, b: np.ndarray) -> float:
    """How different two BGR frames look (HSV thumbnail difference, as the scene detector measures it)."""
    import cv2

    def thumb(x: np.ndarray) -> np.ndarray:
        h, w = x.shape[:2]
        th = max(2, int(round(h * vid.THUMB / max(1, w))))
        small = cv2.resize(x, (vid.THUMB, th), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_BGR2HSV).astype(np.int16)

    return scenes._content_score(thumb(a), thumb(b))


def _analyze_frames(sampled: list[vid.SampledFrame], info: vid.VideoInfo, opts: VideoOptions, run: Run,
                    progress: Progress | None, check: Check | None) -> tuple[list[FrameAnalysis], list[Findings]]:
    frame_opts = ImageOptions(faces=True, face_mesh=False, pose=False, ocr=opts.ocr, nsfw=False, colors=True,
                              use_llm=False, max_length=opts.max_length, faces_need_person=True,
                              ocr_det_side=OCR_DET_SIDE)
    same_opts = frame_opts.model_copy(update={"ocr": False})
    frames: list[FrameAnalysis] = []
    findings: list[Findings] = []
    prev: tuple[np.ndarray, Findings] | None = None
    for i, sf in enumerate(sampled):
        if check:
            check()
        scale = info.width / sf.image.shape[1] if sf.image.shape[1] else 1.0
        # a frame practically identical to the previous one shows the same text: reuse its OCR
        same = prev is not None and opts.ocr and frame_change(prev[0], sf.image) < SAME_FRAME_CHANGE
        f = analyze_bgr(sf.image, run, same_opts if same else frame_opts, scale=scale)
        if same and prev is not None:
            f.text = prev[1].text
        prev = (sf.image, f)
        f.image = ImageInfo(width=info.width, height=info.height)
        findings.append(f)
        frames.append(frame_entry(sf, f, include_timestamps=opts.include_timestamps, max_length=opts.max_length))
        if progress:
            progress(0.15 + 0.6 * (i + 1) / len(sampled))
    return frames, findings


def _content_changes(sampled: list[vid.SampledFrame]) -> list[ContentChange]:
    """Uniform sampling: strong content changes between consecutive samples."""
    out = []
    for a, b in zip(sampled, sampled[1:], strict=False):
        score = frame_change(a.image, b.image)
        if score >= scenes.CUT_THRESHOLD:
            out.append(ContentChange(between=[round(a.timestamp, 3), round(b.timestamp, 3)], score=round(score, 2)))
    return out


def _mention_audio(summary: VideoSummary, audio: AudioTrack) -> None:
    """The transcript and the loudest sounds end the overview."""
    tx = (audio.transcription or "").strip()
    if tx:
        shown = tx if len(tx) <= 120 else tx[:117].rsplit(" ", 1)[0] + "…"
        summary.text_summary += f' Speech: "{shown}"'
    events = audio.sound_events or []
    if events:
        labels = list(dict.fromkeys(e.label for e in sorted(events, key=lambda e: -e.score)))[:4]
        summary.text_summary += " Sounds: " + words.join_words(labels).lower() + "."


def _describe(result: VideoAnalysis, agg: Findings, sampled: list[vid.SampledFrame], opts: VideoOptions,
              run: Run, llm: VisionLLM | None) -> None:
    """The overall description and the prompt's answer: by the vision LLM when given, else from the findings."""
    description, answer = result.summary.text_summary, None
    source: Literal["findings", "llm"] = "findings"
    audio = given(result.audio)
    if opts.use_llm and llm is not None:
        try:
            imgs = [sf.image for sf in sampled[:: max(1, len(sampled) // LLM_FRAMES)]][:LLM_FRAMES]
            ctx = {**agg.model_dump(mode="json"), "summary": result.summary.text_summary,
                   "audio": audio.transcription if audio else None}
            with run.stage("llm"):
                description = llm.describe(imgs, ctx, max_length=max(opts.max_length, 300), kind="video")
                if opts.prompt:
                    answer = Answer(answer=llm.answer(imgs, ctx, opts.prompt, kind="video"), answerable=True,
                                    basis="llm")
            source = "llm"
            run.models.append(f"llm:{llm.model}")
        except SensoriumError as exc:
            run.notes.append(f"The vision LLM endpoint failed ({exc.message}); "
                             "the description comes from the findings.")
    result.description, result.description_source = description, source
    if opts.prompt:
        if answer is None:
            answer = answer_video(opts.prompt, agg, result.summary, audio, description)
        result.answer = answer.answer
        result.answer_details = AnswerDetails(answerable=answer.answerable, basis=answer.basis)


def _decoding_notes(s: _Sampling, info: vid.VideoInfo, opts: VideoOptions) -> list[str]:
    notes = []
    decoded_until = None
    if any("stream_ended_before" in sf.extra for sf in s.frames):
        decoded_until = max(sf.timestamp for sf in s.frames)
    elif s.scanned is not None and info.frame_count and s.scanned < 0.9 * info.frame_count:
        decoded_until = s.scanned / info.fps
    if decoded_until is not None:
        notes.append(
            f"Decoding stopped at about {decoded_until:.1f} s of the stated {info.duration:.1f} s: the file looks "
            "truncated or damaged; later frames are missing."
        )
    if len(s.frames) < opts.num_frames:
        notes.append(
            f"{len(s.frames)} distinct frames were returned for num_frames={opts.num_frames} "
            f"(the video has {info.frame_count} frames"
            f"{', or fewer scenes' if opts.frame_sampling == 'keyframes' else ''})."
        )
    return notes


def _analyze(path: Path, settings: Settings, opts: VideoOptions, run: Run, soundtrack: Soundtrack | None,
             llm: VisionLLM | None, progress: Progress | None, check: Check | None) -> VideoAnalysis:
    info = _probe(path, settings, run)
    s = _sample(path, opts, info, run, check)
    if progress:
        progress(0.15)
    frames, findings = _analyze_frames(s.frames, info, opts, run, progress, check)
    duration = info.duration or (s.frames[-1].timestamp if s.frames else 0.0)
    summary = summarize(frames, duration, s.cuts, opts.frame_sampling, [sf.timestamp for sf in s.frames])
    if s.cuts is None:
        summary.content_changes = _content_changes(s.frames)
    result = VideoAnalysis(frames=frames, summary=summary, duration=round(duration, 3), fps=round(info.fps, 3),
                           resolution=info.resolution, width=info.width, height=info.height,
                           frame_count=info.frame_count, frame_sampling=opts.frame_sampling, codec=info.codec,
                           has_audio=info.has_audio, description="", description_source="findings", notes=[])
    if info.has_audio and opts.audio and soundtrack is not None:
        if progress:
            progress(0.8)
        result.audio = soundtrack(run)
        _mention_audio(summary, result.audio)
    _describe(result, aggregate_findings(frames, findings), s.frames, opts, run, llm)
    result.notes = run.notes + _decoding_notes(s, info, opts)
    return result


def analyze_video(
    path: Path,
    registry: ModelRegistry,
    settings: Settings,
    opts: VideoOptions,
    *,
    soundtrack: Soundtrack | None = None,
    llm: VisionLLM | None = None,
    pool: Executor | None = None,
    progress: Progress | None = None,
    check: Check | None = None,
) -> VideoAnalysis:
    """The `video_analysis` result; `soundtrack(run)` analyzes the audio track when there is one."""
    opts.checked()
    t0 = time.perf_counter()
    with side_pool(pool) as side:
        run = Run(registry, side)
        result = _analyze(path, settings, opts, run, soundtrack, llm, progress, check)
    result.models = run.models
    result.timings_ms = run.total(t0)
    if progress:
        progress(1.0)
    return result
