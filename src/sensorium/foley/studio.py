"""The foley studio steps on a task folder, shared by the job handlers and the CLI.

A task folder holds `input.<ext>` (the uploaded video) and, as the steps run:
`detection.json` (events, people, surface, summary), `tracks.npz` (boxes/skeletons for drawing),
`footsteps.wav` (the generated track), `mixed.mp4` (video + new audio), `annotated.mp4`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley import render, synth
from sensorium.foley.detect import MAX_STRIDE, Detection, DetectOptions, detect_footsteps
from sensorium.foley.export import events_csv, events_document
from sensorium.foley.gait import METHODS
from sensorium.foley.surface import estimate_surface

SURFACE_CHOICES = ("auto", "vision", *synth.SURFACES)
DETECTION_FILE = "detection.json"
TRACKS_FILE = "tracks.npz"
OUTPUTS = {"annotated": "annotated.mp4", "audio": "footsteps.wav", "mixed": "mixed.mp4"}

Progress = Callable[[float, str], None]


def _bad(msg: str, param: str) -> SensoriumError:
    return SensoriumError(ErrorCode.VALIDATION_ERROR, msg, details={"param": param})


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Normalise detection/sound parameters; VALIDATION_ERROR names the bad one."""
    out = dict(params)
    try:
        stride = int(out.get("stride", 1))
    except (TypeError, ValueError):
        raise _bad(f"stride must be an integer from 1 to {MAX_STRIDE}.", "stride") from None
    if not 1 <= stride <= MAX_STRIDE:
        raise _bad(f"stride must be an integer from 1 to {MAX_STRIDE} (got {stride}).", "stride")
    out["stride"] = stride
    surface = str(out.get("surface") or "auto").lower()
    if surface not in SURFACE_CHOICES:
        raise _bad(f"surface must be one of {', '.join(SURFACE_CHOICES)} (got {surface!r}).", "surface")
    out["surface"] = surface
    method = str(out.get("method") or "envelope")
    if method not in METHODS:
        raise _bad(f"method must be one of {', '.join(METHODS)} (got {method!r}).", "method")
    out["method"] = method
    mode = str(out.get("mode") or "mix")
    if mode not in render.MODES:
        raise _bad(f"mode must be one of {', '.join(render.MODES)} (got {mode!r}).", "mode")
    out["mode"] = mode
    return out


def detect(video: Path, workdir: Path | None, registry: Any, settings: Any, params: dict[str, Any],
           progress: Progress | None = None, check: Callable[[], None] | None = None) -> tuple[dict[str, Any], Detection]:
    """Footsteps + surface; writes detection.json and tracks.npz into `workdir` when given."""
    p = validate_params(params)
    det = detect_footsteps(video, registry, DetectOptions(stride=p["stride"], method=p["method"]),
                           progress=(lambda f, s: progress(f * 0.95, s)) if progress else None, check=check)
    if progress:
        progress(0.96, "estimating the surface")
    if p["surface"] in ("auto", "vision"):
        surf = estimate_surface(det.background, det.events, det.video["width"], det.video["height"],
                                settings=settings, use_vision=p["surface"] == "vision")
    else:
        surf = {"surface": p["surface"], "source": "user", "reason": "chosen by the user", "features": {}}
    doc = det.to_dict()
    doc["surface"] = surf
    summary = det.summary()
    summary["surface"] = surf["surface"]
    summary["surface_reason"] = surf["reason"]
    doc["summary"] = summary
    doc["timings"] = det.timings
    if workdir is not None:
        (workdir / DETECTION_FILE).write_text(json.dumps(doc))
        det.save_tracks(workdir / TRACKS_FILE)
    if progress:
        progress(1.0, "done")
    return doc, det


def load_detection(workdir: Path) -> dict[str, Any]:
    f = workdir / DETECTION_FILE
    if not f.is_file():
        raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                             "Footsteps have not been detected for this task yet: call POST /api/process/{task_id} "
                             "and wait until GET /api/status/{task_id} reports it done.")
    return json.loads(f.read_text())


def footstep_audio(video: Path, doc: dict[str, Any], params: dict[str, Any], *, out_wav: Path | None = None,
                   out_video: Path | None = None, seed: int | None = None,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Synthesize the footstep track at the video's audio rate; optionally mix + mux it."""
    p = validate_params(params)
    surface = p["surface"] if p["surface"] not in ("auto", "vision") else doc["surface"]["surface"]
    pack = synth.SamplePack.open(p["sample_pack"]) if p.get("sample_pack") else None
    sr = render.audio_rate(video)
    duration = float(doc["video"]["duration"])
    if progress:
        progress(0.05, "synthesizing footsteps")
    steps, info = synth.render_track(doc["events"], duration, sr, surface, width=float(doc["video"]["width"]),
                                     seed=int(seed if seed is not None else p.get("seed", 0) or 0), sample_pack=pack)
    n = int(round(duration * sr))
    steps = steps[:, :n] if steps.shape[1] >= n else np.pad(steps, ((0, 0), (0, n - steps.shape[1])))
    result: dict[str, Any] = {**info, "mode": p["mode"], "duration": duration}
    if out_wav is not None:
        from sensorium.media.audio import write_wav

        write_wav(out_wav, steps, sr)
    if out_video is not None:
        if progress:
            progress(0.4, "mixing and muxing")
        original = render.load_original(video, sr, n)
        mixed = render.mix_audio(original, steps, sr, p["mode"])
        result["original_audio"] = original is not None
        result.update(render.mux(video, mixed, sr, out_video))
    if progress:
        progress(1.0, "done")
    return result


def annotate(video: Path, doc: dict[str, Any], tracks: dict[int, dict[str, np.ndarray]], out: Path,
             progress: Progress | None = None) -> dict[str, Any]:
    return render.render_annotated(video, doc, tracks, out,
                                   progress=(lambda f: progress(f, "drawing the annotated video")) if progress else None)


def run_foley(video: Path | str, out: Path | str | None, surface: str = "auto", annotate_to: Path | str | None = None,
              csv: Path | str | None = None, json_out: Path | str | None = None, stride: int = 1,
              progress: Progress | None = None, *, mode: str = "mix", sample_pack: Path | str | None = None,
              registry: Any = None, settings: Any = None) -> dict[str, Any]:
    """The whole studio in one call (CLI): detect, then audio + mux, annotated video, exports."""
    from sensorium.config import Settings
    from sensorium.models.catalog import build_registry

    video = Path(video)
    if not video.is_file():
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Video {str(video)!r} not found.")
    settings = settings or Settings()
    registry = registry or build_registry(settings)
    params = {"stride": stride, "surface": surface, "mode": mode, "sample_pack": str(sample_pack) if sample_pack else None}
    t0 = time.perf_counter()

    def stage(a: float, b: float) -> Progress | None:
        if progress is None:
            return None
        return lambda f, s: progress(a + (b - a) * f, s)

    doc, det = detect(video, None, registry, settings, params, stage(0, 0.7))
    result: dict[str, Any] = {"summary": doc["summary"], "surface": doc["surface"], "outputs": {}}
    if out is not None:
        result["audio"] = footstep_audio(video, doc, params, out_video=Path(out), progress=stage(0.7, 0.85))
        result["outputs"]["video"] = str(out)
    if annotate_to is not None:
        annotate(video, doc, det.tracks, Path(annotate_to), progress=stage(0.85, 0.99))
        result["outputs"]["annotated"] = str(annotate_to)
    if csv is not None:
        Path(csv).write_text(events_csv(doc["events"]))
        result["outputs"]["csv"] = str(csv)
    if json_out is not None:
        Path(json_out).write_text(json.dumps(events_document(doc), indent=1))
        result["outputs"]["json"] = str(json_out)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    if progress:
        progress(1.0, "done")
    return result
