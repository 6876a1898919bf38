"""The foley studio steps on one video, shared by the service's job handlers and its one-shot run:

* `detect`: footsteps (`detect.py`) + the floor surface (`surface.py`) -> a `DetectionDocument`;
* `footstep_audio`: the synthesized footstep track, optionally mixed with the original sound and
  muxed into the video;
* `annotate`: the annotated video.

Pure steps: a video, the models and typed options in; typed results and the files asked for out.
Task records, jobs and where the files live are the service's business.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley import render, synth
from sensorium.foley.detect import Detection, DetectOptions, detect_footsteps
from sensorium.foley.schemas import (
    MAX_STRIDE,
    METHODS,
    MODES,
    SURFACE_CHOICES,
    AnnotatedResult,
    AudioParams,
    AudioResult,
    DetectionDocument,
    DetectionSummary,
    ProcessParams,
    SurfaceEstimate,
)
from sensorium.foley.surface import estimate_surface
from sensorium.media.encode import audio_rate, mux_audio
from sensorium.models.registry import ModelRegistry

Progress = Callable[[float, str], None]


def _bad(msg: str, param: str) -> SensoriumError:
    return SensoriumError(ErrorCode.VALIDATION_ERROR, msg, details={"param": param})


def parse_options(*, stride: int | str = 1, surface: str | None = "auto", method: str | None = "envelope",
                  mode: str | None = "mix") -> tuple[ProcessParams, AudioParams]:
    """Options given as text (CLI) -> the typed options; VALIDATION_ERROR names the bad one."""
    try:
        n = int(stride)
    except (TypeError, ValueError):
        raise _bad(f"stride must be an integer from 1 to {MAX_STRIDE}.", "stride") from None
    if not 1 <= n <= MAX_STRIDE:
        raise _bad(f"stride must be an integer from 1 to {MAX_STRIDE} (got {n}).", "stride")
    surf = str(surface or "auto").lower()
    if surf not in SURFACE_CHOICES:
        raise _bad(f"surface must be one of {', '.join(SURFACE_CHOICES)} (got {surf!r}).", "surface")
    meth = str(method or "envelope")
    if meth not in METHODS:
        raise _bad(f"method must be one of {', '.join(METHODS)} (got {meth!r}).", "method")
    md = str(mode or "mix")
    if md not in MODES:
        raise _bad(f"mode must be one of {', '.join(MODES)} (got {md!r}).", "mode")
    return (ProcessParams.model_validate({"stride": n, "surface": surf, "method": meth}),
            AudioParams.model_validate({"mode": md, "surface": surf}))


def detect(video: Path, registry: ModelRegistry, params: ProcessParams, *, progress: Progress | None = None,
           check: Callable[[], None] | None = None) -> tuple[DetectionDocument, Detection]:
    """Footsteps + surface. `surface=vision` asks the registry's vision endpoint (rules when none)."""
    det = detect_footsteps(video, registry, DetectOptions(stride=params.stride, method=params.method),
                           progress=(lambda f, s: progress(f * 0.95, s)) if progress else None, check=check)
    if progress:
        progress(0.96, "estimating the surface")
    if params.surface in ("auto", "vision"):
        vision = params.surface == "vision"
        surf = estimate_surface(det.background, det.events, det.video["width"], det.video["height"],
                                llm=registry.vision_llm() if vision else None, use_vision=vision)
    else:
        surf = SurfaceEstimate(surface=params.surface, source="user", reason="chosen by the user", features={})
    summary = DetectionSummary(**det.summary(), surface=surf.surface, surface_reason=surf.reason)
    doc = DetectionDocument.model_validate({**det.to_dict(), "surface": surf, "summary": summary,
                                            "timings": det.timings})
    if progress:
        progress(1.0, "done")
    return doc, det


def footstep_audio(video: Path, doc: DetectionDocument, params: AudioParams, *, sample_pack: Path | None = None,
                   out_wav: Path | None = None, out_video: Path | None = None,
                   progress: Progress | None = None) -> AudioResult:
    """Synthesize the footstep track at the video's audio rate; optionally mix + mux it."""
    surface = params.surface if params.surface not in (None, "auto", "vision") else doc.surface.surface
    pack = synth.SamplePack.open(sample_pack) if sample_pack else None
    sr = audio_rate(video)
    duration = float(doc.video.duration)
    if progress:
        progress(0.05, "synthesizing footsteps")
    steps, info = synth.render_track(doc.event_dicts(), duration, sr, surface, width=float(doc.video.width),
                                     seed=params.seed, sample_pack=pack)
    n = int(round(duration * sr))
    steps = steps[:, :n] if steps.shape[1] >= n else np.pad(steps, ((0, 0), (0, n - steps.shape[1])))
    result = AudioResult(**info.model_dump(), mode=params.mode, duration=duration)
    if out_wav is not None:
        from sensorium.media.audio import write_wav

        write_wav(out_wav, steps, sr)
    if out_video is not None:
        if progress:
            progress(0.4, "mixing and muxing")
        original = render.load_original(video, sr, n)
        mixed = render.mix_audio(original, steps, sr, params.mode)
        result.original_audio = original is not None
        result.video = mux_audio(video, mixed, sr, out_video)
        result.audio_codec = "aac"
    if progress:
        progress(1.0, "done")
    return result


def annotate(video: Path, doc: DetectionDocument, tracks: dict[int, dict[str, np.ndarray]], out: Path,
             progress: Progress | None = None) -> AnnotatedResult:
    draw_progress = (lambda f: progress(f, "drawing the annotated video")) if progress else None
    return render.render_annotated(video, doc.model_dump(), tracks, out, progress=draw_progress)
